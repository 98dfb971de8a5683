//! `[channels.slack]` in the broker config, and the Slack secrets it names.
//!
//! Secrets never live in the config file: the config names the environment
//! variables that hold them, read once when the broker starts. [`Secret`] keeps
//! them out of every `Debug` output.

use crate::policy::read::{Reader, Value};

const KEYS: &[&str] = &[
    "channel",
    "bot_token_env",
    "signing_secret_env",
    "app_token_env",
    "api_url",
    "mode",
];

/// How Slack reaches the broker with button clicks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Slack POSTs signed callbacks to `https://BROKER/slack/interactions`.
    #[default]
    Http,
    /// The broker holds a Socket Mode WebSocket open to Slack (no public URL).
    Socket,
}

/// The Slack channel's settings, as read from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    /// The Slack channel id messages are posted to (`C0123ABCD`).
    pub channel: String,
    pub bot_token_env: String,
    pub signing_secret_env: String,
    pub app_token_env: String,
    /// Base of the Slack Web API; tests point it at a fake server.
    pub api_url: String,
    pub mode: Mode,
    /// The secrets, once read from the environment (or set by a test).
    pub secrets: Option<SlackSecrets>,
}

/// A secret string whose `Debug` shows `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

/// The Slack secrets the broker needs for its mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackSecrets {
    /// `xoxb-...`: posts and updates messages.
    pub bot_token: Secret,
    /// Verifies HTTP interaction callbacks (HTTP mode).
    pub signing_secret: Option<Secret>,
    /// `xapp-...`: opens Socket Mode connections (socket mode).
    pub app_token: Option<Secret>,
}

impl SlackConfig {
    /// Read the secrets this mode needs through `lookup` (the environment); the
    /// error names the missing variable.
    pub fn secrets_from(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<SlackSecrets, String> {
        let need = |name: &str, what: &str| {
            lookup(name)
                .filter(|value| !value.trim().is_empty())
                .map(|value| Secret::new(value.trim()))
                .ok_or_else(|| {
                    format!(
                        "slack: environment variable {name} is not set; export it with the {what} (or name another variable in [channels.slack])"
                    )
                })
        };
        let bot_token = need(&self.bot_token_env, "bot token (xoxb-...)")?;
        let (signing_secret, app_token) = match self.mode {
            Mode::Http => (
                Some(need(&self.signing_secret_env, "signing secret")?),
                None,
            ),
            Mode::Socket => (
                None,
                Some(need(&self.app_token_env, "app-level token (xapp-...)")?),
            ),
        };
        Ok(SlackSecrets {
            bot_token,
            signing_secret,
            app_token,
        })
    }
}

/// Read `[channels.slack]`; `None` when it has errors (recorded in `reader`).
pub(crate) fn read(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<SlackConfig> {
    let table = reader.table(value, "channels.slack")?;
    reader.reject_unknown_keys(table, KEYS, "[channels.slack]");
    let before = reader.errors.len();
    let mut text = |key: &str, default: &str| match table.get(key) {
        Some(value) => reader.string(value, key).unwrap_or_default(),
        None => default.to_string(),
    };
    let channel = text("channel", "");
    let bot_token_env = text("bot_token_env", "SLACK_BOT_TOKEN");
    let signing_secret_env = text("signing_secret_env", "SLACK_SIGNING_SECRET");
    let app_token_env = text("app_token_env", "SLACK_APP_TOKEN");
    let api_url = text("api_url", "https://slack.com/api");
    let mode_text = text("mode", "http");
    if channel.trim().is_empty() {
        let hint = "add channel = \"C0123ABCD\", the id of the Slack channel to post to";
        reader.error(
            table.get("channel").map_or(value.span(), |v| v.span()),
            "[channels.slack] needs \"channel\"",
            Some(hint.into()),
        );
    }
    let mode = match mode_text.as_str() {
        "http" => Mode::Http,
        "socket" => Mode::Socket,
        other => {
            let span = table.get("mode").map_or(value.span(), |v| v.span());
            let hint =
                "use \"http\" (Slack calls the broker's public URL) or \"socket\" (Socket Mode)";
            reader.error(
                span,
                format!("unknown slack mode \"{other}\""),
                Some(hint.into()),
            );
            Mode::Http
        }
    };
    if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
        let span = table.get("api_url").map_or(value.span(), |v| v.span());
        let hint = "write the Slack Web API base, e.g. \"https://slack.com/api\"";
        reader.error(
            span,
            format!("api_url \"{api_url}\" is not an http(s) URL"),
            Some(hint.into()),
        );
    }
    (reader.errors.len() == before).then(|| SlackConfig {
        channel,
        bot_token_env,
        signing_secret_env,
        app_token_env,
        api_url: api_url.trim_end_matches('/').to_string(),
        mode,
        secrets: None,
    })
}
