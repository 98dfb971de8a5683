//! A real `gate serve` for tests: started on 127.0.0.1 port 0 in a test context's
//! GATE_HOME, with blocking HTTP helpers, approver tokens, restart, and its log.

use crate::support::common::{TestContext, gate_bin, stderr, stdout};
use crate::support::fixtures::{BROKER_POLICY_BREAK_GLASS, accepting_unsigned};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub struct Broker {
    home: PathBuf,
    config: PathBuf,
    child: Child,
    port: u16,
    log: Arc<Log>,
    /// Extra environment for the broker process (channel secrets), kept for restarts.
    env: Vec<(String, String)>,
}

/// The broker's stderr so far, with a signal for each new line.
#[derive(Default)]
struct Log {
    text: Mutex<String>,
    grew: Condvar,
}

/// An HTTP answer: status and the JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// The `Retry-After` header, when there is one.
    pub retry_after: Option<String>,
}

impl Reply {
    /// The API error code, for 4xx answers.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
}

impl Broker {
    /// Write `config_toml` (mode 0600) beside the context's home and start the broker.
    pub fn start(ctx: &TestContext, config_toml: &str) -> Broker {
        Broker::start_with_env(ctx, config_toml, &[])
    }

    /// Like `start`, with extra environment variables (e.g. channel secrets).
    pub fn start_with_env(ctx: &TestContext, config_toml: &str, env: &[(&str, &str)]) -> Broker {
        let config = write_config(ctx, config_toml);
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, port, log) = spawn(&ctx.home(), &config, &env);
        Broker {
            home: ctx.home(),
            config,
            child,
            port,
            log,
            env,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything the broker wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log.text.lock().unwrap().clone()
    }

    /// Wait (up to 10 s) until the broker's stderr contains `needle`; false if it never does.
    pub fn log_has(&self, needle: &str) -> bool {
        let text = self.log.text.lock().unwrap();
        let (text, _) = self
            .log
            .grew
            .wait_timeout_while(text, Duration::from_secs(10), |text| !text.contains(needle))
            .unwrap();
        text.contains(needle)
    }

    /// Stop the broker (SIGTERM, waiting for it) and start it again on the same home.
    pub fn restart(&mut self) {
        self.stop();
        let (child, port, log) = spawn(&self.home, &self.config, &self.env);
        (self.child, self.port, self.log) = (child, port, log);
    }

    /// Another broker process on the same home (so the same signing key) and
    /// config, on a port of its own: a replica when the config names a shared
    /// `[store]`.
    pub fn replica(&self) -> Broker {
        self.replica_on("127.0.0.1:0")
    }

    /// Stop the broker and start it again on the same home and the same port, as
    /// a restarted service would be: clients that were waiting can reconnect.
    pub fn restart_same_port(&mut self) {
        self.stop();
        let listen = format!("127.0.0.1:{}", self.port);
        let (child, port, log) = spawn_on(&self.home, &self.config, &listen, &self.env);
        (self.child, self.port, self.log) = (child, port, log);
    }

    /// A second `gate serve` over this broker's home, config and store, listening
    /// on `listen` (`127.0.0.1:0` for any port): a replica, the way several
    /// brokers sharing one database look without PostgreSQL. It loads the
    /// pending requests the store holds when it starts.
    pub fn replica_on(&self, listen: &str) -> Broker {
        let (child, port, log) = spawn_on(&self.home, &self.config, listen, &self.env);
        Broker {
            home: self.home.clone(),
            config: self.config.clone(),
            child,
            port,
            log,
            env: self.env.clone(),
        }
    }

    /// Kill the broker outright (SIGKILL), as a crashed replica: no graceful
    /// shutdown, connections reset.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Send SIGTERM and wait for the broker to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().expect("wait for gate serve")
    }

    /// The config file the broker was started with.
    pub fn config_path(&self) -> &std::path::Path {
        &self.config
    }

    /// The broker's GATE_HOME.
    pub fn home(&self) -> &std::path::Path {
        &self.home
    }

    fn gate(&self) -> Command {
        let mut command = Command::new(gate_bin());
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GATE_HOME", &self.home)
            .env("NO_COLOR", "1");
        command
    }

    /// Pin the broker's key for gate: its PEM (mode 0600) beside the context's
    /// home, as broker.pub; its path, for GATE_SERVER_KEY.
    pub fn pin_key(&self, ctx: &TestContext) -> PathBuf {
        ctx.write_private("broker.pub", &self.pubkey_pem())
    }

    /// The broker's public key PEM, from `gate serve pubkey`.
    pub fn pubkey_pem(&self) -> String {
        let out = self.gate().args(["serve", "pubkey"]).output().unwrap();
        assert!(out.status.success(), "serve pubkey: {}", stderr(&out));
        stdout(&out)
    }

    /// A new approver token for `person`, from `gate serve token create`.
    pub fn token(&self, person: &str) -> String {
        let out = self.token_create(person);
        assert!(out.status.success(), "token create: {}", stderr(&out));
        stdout(&out).trim().to_string()
    }

    /// `gate serve token create PERSON` against this broker's config and store.
    pub fn token_create(&self, person: &str) -> std::process::Output {
        let config = self.config.to_str().unwrap();
        self.gate()
            .args(["serve", "token", "create", person, "--config", config])
            .output()
            .unwrap()
    }

    /// Send `body` (raw text, as JSON) with an optional bearer token. Blocking; safe
    /// to call from several threads at once (each call has its own runtime).
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Reply {
        self.call_with(method, path, token, body, &[])
    }

    /// [`Broker::call`] with extra headers (an installation's signature, say).
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, String)],
    ) -> Reply {
        Broker::call_at_with(&self.url(), method, path, token, body, headers)
    }

    /// [`Broker::call`] to the broker at `base`, from any thread.
    pub fn call_at(
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        Broker::call_at_with(base, method, path, token, body, &[])
    }

    fn call_at_with(
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, String)],
    ) -> Reply {
        let url = format!("{base}{path}");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // reqwest is built without a default TLS provider; plain HTTP still needs one set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let mut call = http.request(method, url).timeout(Duration::from_secs(90));
        if let Some(token) = token {
            call = call.bearer_auth(token);
        }
        if let Some(body) = body {
            call = call
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        for (name, value) in headers {
            call = call.header(*name, value);
        }
        runtime.block_on(async {
            let response = call.send().await.expect("broker answers");
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .map(str::to_string);
            let bytes = response.bytes().await.expect("body");
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            Reply {
                status,
                body,
                retry_after,
            }
        })
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.call("POST", path, token, Some(&body.to_string()))
    }

    /// Create a request; (its id, the requester token, the whole reply body).
    pub fn create(&self, request: &Value) -> (String, String, Value) {
        let reply = self.post("/v1/requests", None, request);
        assert_eq!(reply.status, 201, "create: {:?}", reply.body);
        let id = reply.body["request"]["id"].as_str().unwrap().to_string();
        let token = reply.body["requester_token"].as_str().unwrap().to_string();
        (id, token, reply.body)
    }

    /// `gate serve enroll ARGS` on the broker's home and config.
    pub fn serve_enroll(&self, args: &[&str]) -> std::process::Output {
        let config = self.config.to_str().unwrap();
        self.gate()
            .args(["serve", "enroll"])
            .args(args)
            .args(["--config", config])
            .output()
            .unwrap()
    }

    /// A one-time enrollment code for installation `name`, from `gate serve enroll`.
    pub fn enrollment_code(&self, name: &str, expires: &str) -> String {
        let out = self.serve_enroll(&[name, "--expires", expires]);
        assert!(out.status.success(), "serve enroll: {}", stderr(&out));
        stdout(&out).trim().to_string()
    }

    /// Cast a verdict ("approve" or "deny") with an approver token.
    pub fn decide(&self, id: &str, token: &str, verdict: &str) -> Reply {
        let body = json!({ "verdict": verdict, "channel": "cli" });
        self.post(&format!("/v1/requests/{id}/decision"), Some(token), &body)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1 that nobody listens on now (bound, then let go).
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// The URL of a broker that is not there: connections to it are refused.
pub fn dead_url() -> String {
    format!("http://127.0.0.1:{}", unused_port())
}

/// Start `gate serve` and wait for its listening line; the rest of stderr is
/// collected in the background.
fn spawn(
    home: &std::path::Path,
    config: &std::path::Path,
    env: &[(String, String)],
) -> (Child, u16, Arc<Log>) {
    spawn_on(home, config, "127.0.0.1:0", env)
}

fn spawn_on(
    home: &std::path::Path,
    config: &std::path::Path,
    listen: &str,
    env: &[(String, String)],
) -> (Child, u16, Arc<Log>) {
    let mut command = serve_command(home, config, listen);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    spawn_command(command)
}

/// Write `config_toml` (mode 0600) beside the context's home, as broker.toml,
/// and [`BROKER_POLICY_BREAK_GLASS`] beside it for a config that names it.
/// Unless the config sets `require_enrollment` itself, the broker accepts
/// unsigned requests ([`accepting_unsigned`]).
///
/// With `GATE_TEST_STORE=postgres` (as .ci/run sets for a second run of the
/// broker suites), a config without `[store]` keeps its state in a new database
/// of the test process's PostgreSQL cluster instead of the SQLite file.
pub fn write_config(ctx: &TestContext, config_toml: &str) -> PathBuf {
    ctx.write_private("broker-policy.toml", BROKER_POLICY_BREAK_GLASS);
    let mut config = accepting_unsigned(config_toml);
    if std::env::var("GATE_TEST_STORE").as_deref() == Ok("postgres") && !config.contains("[store]")
    {
        let cluster = crate::support::postgres::cluster()
            .expect("GATE_TEST_STORE=postgres needs PostgreSQL installed");
        config.push_str(&format!(
            "\n[store]\nurl = \"{}\"\n",
            cluster.database().url
        ));
    }
    ctx.write_private("broker.toml", &config)
}

/// `gate serve` on `listen` with a clean environment.
pub fn serve_command(home: &std::path::Path, config: &std::path::Path, listen: &str) -> Command {
    let mut command = Command::new(gate_bin());
    command
        .args(["serve", "--listen", listen, "--config"])
        .arg(config)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GATE_HOME", home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

fn spawn_command(mut command: Command) -> (Child, u16, Arc<Log>) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gate serve");
    let log = Arc::new(Log::default());
    let (port_tx, port_rx) = mpsc::channel();
    let reader = BufReader::new(child.stderr.take().unwrap());
    let sink = log.clone();
    std::thread::spawn(move || {
        const PREFIX: &str = "gate serve: listening on http://127.0.0.1:";
        for line in reader.lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix(PREFIX) {
                let _ = port_tx.send(port.parse::<u16>().ok());
            }
            let mut text = sink.text.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
            sink.grew.notify_all();
        }
        let _ = port_tx.send(None);
    });
    let port = port_rx.recv_timeout(Duration::from_secs(30)).ok().flatten();
    let Some(port) = port else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("gate serve did not start: {}", log.text.lock().unwrap());
    };
    (child, port, log)
}
