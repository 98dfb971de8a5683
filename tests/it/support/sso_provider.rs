//! A real OpenID provider for the single sign-on tests: the npm package
//! `oidc-provider` (a certified implementation) run by node from
//! tests/fixtures/sso/provider.mjs on 127.0.0.1, with clients `gate` and `other`
//! and the accounts `alice-sub` (alice@example.com) and `mallory-sub`
//! (mallory@example.com). .ci/run installs the package into
//! target/ci-tools/oidc-provider; GATE_OIDC_PROVIDER_MODULES names another
//! node_modules directory.

use std::io::{BufRead, BufReader, Lines, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The `gate` client's secret at the provider.
pub const CLIENT_SECRET: &str = "gate-test-client-secret-4711";
/// The pinned version .ci/run installs.
const PACKAGE: &str = "oidc-provider@9.13.3";

pub struct Provider {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    pub port: u16,
    host: &'static str,
}

impl Provider {
    /// Start the provider; it waits for [`Provider::serve`] to say where the
    /// broker's callback is.
    pub fn start() -> Provider {
        Provider::start_with(&[])
    }

    /// A provider that keeps e-mail and name out of ID tokens: only its
    /// UserInfo endpoint has them.
    pub fn start_with_claims_in_userinfo() -> Provider {
        Provider::start_with(&["--claims-in-userinfo"])
    }

    /// A provider whose issuer is `http://localhost:PORT`: another site than
    /// the broker on 127.0.0.1, as a real provider is.
    pub fn start_as_localhost() -> Provider {
        let mut provider = Provider::start_with(&["--as-localhost"]);
        provider.host = "localhost";
        provider
    }

    fn start_with(args: &[&str]) -> Provider {
        let modules = modules();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sso/provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(&modules)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run node ({e}): install Node.js 20 or later (apt-get install nodejs npm)")
            });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let port = first
            .strip_prefix("listening ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the OpenID provider did not start: {first:?}"));
        Provider {
            child,
            lines,
            port,
            host: "127.0.0.1",
        }
    }

    /// The issuer URL (`http://127.0.0.1:PORT`, or `http://localhost:PORT`).
    pub fn issuer(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// Register `redirect_uri` for the clients and start answering.
    pub fn serve(&mut self, redirect_uri: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{redirect_uri}").unwrap();
        let line = self.lines.next().and_then(Result::ok).unwrap_or_default();
        assert_eq!(line, "ready", "the OpenID provider did not get ready");
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The node_modules directory holding oidc-provider; a missing one fails the test
/// with what to install.
fn modules() -> PathBuf {
    let modules = std::env::var_os("GATE_OIDC_PROVIDER_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/oidc-provider/node_modules")
        });
    assert!(
        modules.join("oidc-provider/package.json").is_file(),
        "the OpenID provider for the SSO tests is not installed at {}: run .ci/run, or \
         `npm install --prefix target/ci-tools/oidc-provider {PACKAGE}`, or set \
         GATE_OIDC_PROVIDER_MODULES to a node_modules directory that has it",
        modules.display()
    );
    modules
}

/// One answer the [`Agent`] got.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Every `Set-Cookie` of the answer.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect()
    }

    /// The value this answer sets cookie `name` to, if it sets it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|cookie| {
            let value = cookie.strip_prefix(&format!("{name}="))?;
            Some(value.split(';').next().unwrap_or("").to_string())
        })
    }
}

/// A browser in tests: one request at a time, redirects followed by hand,
/// cookies kept per host (paths ignored), and every provider page logging in
/// as `login_as` (an account of the provider, or `deny`).
pub struct Agent {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    /// (host:port, cookie name) -> value.
    jar: std::collections::BTreeMap<(String, String), String>,
    pub login_as: String,
}

impl Default for Agent {
    fn default() -> Self {
        Agent::new()
    }
}

impl Agent {
    pub fn new() -> Agent {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Agent {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            jar: Default::default(),
            login_as: "alice-sub".into(),
        }
    }

    /// GET `url` with this agent's cookies for its host; keeps what it sets.
    pub fn get(&mut self, url: &str) -> Answer {
        let host = host_of(url);
        let cookies: Vec<String> = self
            .jar
            .iter()
            .filter(|((h, _), _)| *h == host)
            .map(|((_, name), value)| format!("{name}={value}"))
            .collect();
        let mut call = self.http.get(url).header("x-login-as", &self.login_as);
        if !cookies.is_empty() {
            call = call.header("cookie", cookies.join("; "));
        }
        let answer = self.runtime.block_on(async {
            let response = call.send().await.expect("the server answers");
            Answer {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: response.text().await.unwrap(),
            }
        });
        for cookie in answer.set_cookies() {
            let first = cookie.split(';').next().unwrap_or("");
            let Some((name, value)) = first.split_once('=') else {
                continue;
            };
            let key = (host.clone(), name.trim().to_string());
            if value.is_empty() || cookie.to_ascii_lowercase().contains("max-age=0") {
                self.jar.remove(&key);
            } else {
                self.jar.insert(key, value.to_string());
            }
        }
        answer
    }

    /// Follow redirects from `url` until one leads to a URL starting with
    /// `stop`, and return that URL without opening it.
    pub fn follow_until(&mut self, url: &str, stop: &str) -> String {
        let mut url = url.to_string();
        for _ in 0..12 {
            let answer = self.get(&url);
            assert!(
                (300..400).contains(&answer.status),
                "{url} answered {} instead of a redirect: {}",
                answer.status,
                answer.body
            );
            let location = answer.header("location");
            url = if location.starts_with('/') {
                format!("http://{}{location}", host_of(&url))
            } else {
                location.to_string()
            };
            if url.starts_with(stop) {
                return url;
            }
        }
        panic!("no redirect to {stop}");
    }

    /// The value of cookie `name` this agent holds for `url`'s host.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.jar.get(&(host_of(url), name.to_string())).cloned()
    }

    /// Set cookie `name` for `url`'s host by hand.
    pub fn set_cookie(&mut self, url: &str, name: &str, value: &str) {
        self.jar
            .insert((host_of(url), name.to_string()), value.to_string());
    }
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or("").to_string()
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}
