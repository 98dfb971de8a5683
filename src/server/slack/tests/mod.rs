//! The Slack channel in a real in-process broker, against a fake Slack Web API
//! (and a fake Socket Mode WebSocket) on 127.0.0.1 that records every call.

mod blocks;
mod config;
mod failures;
mod fake;
mod http;
mod socket;

pub use fake::{FakeSlack, Scripted};

use crate::approval::BrokerClient;
use crate::approval::protocol::{NewRequest, RequestView};
use crate::identity::Requester;
use crate::paths::Home;
use crate::server::config::slack::{Secret, SlackSecrets};
use crate::server::{config as broker_config, serve};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

pub const SIGNING_SECRET: &str = "test-signing-secret";
pub const BOT_TOKEN: &str = "xoxb-test-bot";
pub const APP_TOKEN: &str = "xapp-test-app";

/// alice (U0ALICE) and bob (U0BOB) approve; carol (U0CAROL) asks; dave (U0DAVE)
/// is known but approves nothing.
pub fn config_toml(api_url: &str, mode: &str) -> String {
    format!(
        r#"version = 1
[people.alice]
slack = "U0ALICE"
[people.bob]
slack = "U0BOB"
[people.carol]
slack = "U0CAROL"
[people.dave]
slack = "U0DAVE"
[groups]
sre = ["alice", "bob", "carol"]
[defaults]
approvers = ["group:sre"]
[channels.slack]
channel = "C0GATE"
api_url = "{api_url}"
mode = "{mode}"
"#
    )
}

/// A real broker, in process, with the Slack channel pointed at a fake Slack.
pub struct Harness {
    pub url: String,
    pub slack: FakeSlack,
    pub client: BrokerClient,
    mode: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), crate::error::Error>>>,
    dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start(mode: &str) -> Harness {
        let slack = FakeSlack::start().await;
        Harness::with_slack(slack, mode).await
    }

    pub async fn with_slack(slack: FakeSlack, mode: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let (url, stop, server) = launch(dir.path(), &slack, mode).await;
        Harness {
            client: BrokerClient::new(&url).unwrap(),
            url,
            slack,
            mode: mode.to_string(),
            stop: Some(stop),
            server: Some(server),
            dir,
        }
    }

    /// Stop the broker, wait for it, and start it again on the same home.
    pub async fn restart(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap().unwrap();
        let (url, stop, server) = launch(self.dir.path(), &self.slack, &self.mode).await;
        self.client = BrokerClient::new(&url).unwrap();
        (self.url, self.stop, self.server) = (url, Some(stop), Some(server));
    }

    /// Create a request by `user` for `argv`; its view and requester token.
    pub async fn create(&self, user: &str, argv: &[&str], quorum: u32) -> (RequestView, String) {
        let created = self
            .client
            .create(&request(user, argv, quorum))
            .await
            .unwrap();
        (created.request, created.requester_token)
    }

    /// The request as the broker holds it now.
    pub async fn view(&self, id: &str, token: &str) -> RequestView {
        self.client.get(id, token, None, None).await.unwrap()
    }

    /// POST a signed interaction callback, as Slack would; the HTTP status.
    pub async fn click(&self, user: &str, action: &str, id: &str) -> u16 {
        let body = form(&click_payload(user, action, id));
        let timestamp = now().to_string();
        let signature = sign(SIGNING_SECRET, &timestamp, &body);
        self.post_interaction(&body, Some(&timestamp), Some(&signature))
            .await
    }

    pub async fn post_interaction(
        &self,
        body: &str,
        timestamp: Option<&str>,
        signature: Option<&str>,
    ) -> u16 {
        let mut call = reqwest::Client::new()
            .post(format!("{}/slack/interactions", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(timestamp) = timestamp {
            call = call.header("x-slack-request-timestamp", timestamp);
        }
        if let Some(signature) = signature {
            call = call.header("x-slack-signature", signature);
        }
        call.send().await.unwrap().status().as_u16()
    }
}

type Launched = (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), crate::error::Error>>,
);

/// Serve a broker on `dir` as its home, its Slack channel on `slack`.
async fn launch(dir: &std::path::Path, slack: &FakeSlack, mode: &str) -> Launched {
    let home = Home {
        data: dir.to_path_buf(),
        config: dir.to_path_buf(),
        cache: dir.join("cache"),
    };
    let mut config = broker_config::parse(&config_toml(&slack.url, mode), "b.toml").unwrap();
    config.require_enrollment = broker_config::RequireEnrollment(false);
    // The broker's own policy: restarts may break glass; the rest is as asked.
    let org = "version = 1\ndefault = \"allow\"\n[[rule]]\nname = \"restarts\"\n\
               action = \"approve\"\nmatch = \"systemctl restart **\"\nbreak_glass = true\n";
    config.policy = broker_config::OrgPolicy::parse(org, "org.toml").unwrap();
    let slack_config = config.channels.slack.as_mut().unwrap();
    slack_config.secrets = Some(SlackSecrets {
        bot_token: Secret::new(BOT_TOKEN),
        signing_secret: Some(Secret::new(SIGNING_SECRET)),
        app_token: Some(Secret::new(APP_TOKEN)),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let stop = async move {
            let _ = stopped.await;
        };
        serve(listener, config, &home, stop).await
    });
    (url, stop, server)
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn request(user: &str, argv: &[&str], quorum: u32) -> NewRequest {
    NewRequest {
        requester: Requester {
            user: user.into(),
            host: "build-7".into(),
            ci: None,
            agent: None,
        },
        argv: argv.iter().map(|a| a.to_string()).collect(),
        cwd: "/srv".into(),
        executable: "/usr/bin/kubectl".into(),
        action_digest: "cd".repeat(32),
        rules: vec!["production changes".into()],
        rule_reason: "production needs a second pair of eyes".into(),
        approvers: vec![],
        quorum,
        timeout_seconds: 0,
        reason: Some("rotating the payments namespace".into()),
        require_reason: false,
        break_glass_allowed: false,
        break_glass: false,
        id_token: None,
    }
}

/// A `block_actions` payload for a click on a gate button.
pub fn click_payload(user: &str, action: &str, id: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": user, "username": "someone" },
        "channel": { "id": "C0GATE" },
        "message": { "ts": "1700000000.000001" },
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [{ "action_id": action, "value": id, "type": "button" }],
    })
}

/// The form body Slack sends: `payload=<url-encoded JSON>`.
pub fn form(payload: &Value) -> String {
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

pub fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!("v0={}", hex::encode(bytes))
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The blocks of a message body, by type.
pub fn block_types(body: &Value) -> Vec<String> {
    body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_string())
        .collect()
}

/// All the text in a message body, for `contains` checks.
pub fn all_text(body: &Value) -> String {
    body.to_string()
}
