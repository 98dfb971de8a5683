//! `[channels.teams]` in broker.toml: which environment variable holds the
//! Workflows webhook URL (a secret, never in the file) and how long one post may
//! take. Resolving the variable happens at start-up, in [`TeamsConfig::webhook`].

use crate::policy::read::{Reader, Value};
use std::time::Duration;

const KEYS: &[&str] = &["webhook_url_env", "timeout"];
const DEFAULT_ENV: &str = "TEAMS_WEBHOOK_URL";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const LONGEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A read `[channels.teams]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamsConfig {
    /// The environment variable holding the webhook URL.
    pub webhook_url_env: String,
    /// How long one POST to the webhook may take.
    pub timeout: Duration,
}

impl Default for TeamsConfig {
    fn default() -> Self {
        TeamsConfig {
            webhook_url_env: DEFAULT_ENV.to_string(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The webhook URL, read from the environment once; never printed in full.
#[derive(Clone)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn new(url: String) -> WebhookUrl {
        WebhookUrl(url)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only the host (and port): the path and query carry the webhook's signature.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.rsplit('@').next().unwrap_or_default()
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookUrl({}/****)", self.host())
    }
}

impl TeamsConfig {
    /// The webhook URL from the named environment variable, or the line that says
    /// what to set.
    pub fn webhook(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<WebhookUrl, String> {
        let env = &self.webhook_url_env;
        let url = lookup(env).filter(|url| !url.trim().is_empty()).ok_or_else(|| {
            format!(
                "[channels.teams]: environment variable {env} is not set; set it to the Teams Workflows webhook URL or remove [channels.teams]"
            )
        })?;
        let url = url.trim().to_string();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!(
                "[channels.teams]: {env} is not an http(s) URL; copy the whole URL from the Teams workflow"
            ));
        }
        Ok(WebhookUrl(url))
    }
}

/// Read `[channels.teams]`; `None` (with errors recorded) when it is not a table.
pub(crate) fn read(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<TeamsConfig> {
    let table = reader.table(value, "teams")?;
    reader.reject_unknown_keys(table, KEYS, "[channels.teams]");
    let mut config = TeamsConfig::default();
    if let Some(value) = table.get("webhook_url_env")
        && let Some(name) = reader.string(value, "webhook_url_env")
    {
        let valid =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            config.webhook_url_env = name;
        } else {
            let hint = "name the environment variable, e.g. \"TEAMS_WEBHOOK_URL\"; the URL itself is a secret and stays out of this file";
            let message = format!("webhook_url_env \"{name}\" is not an environment variable name");
            reader.error(value.span(), message, Some(hint.to_string()));
        }
    }
    if let Some(value) = table.get("timeout")
        && let Some(timeout) = reader.duration(value, "timeout")
    {
        if timeout.is_zero() || timeout > LONGEST_TIMEOUT {
            let hint = "a post that takes longer is retried; use e.g. \"10s\"";
            reader.error(
                value.span(),
                "timeout must be between 1s and 2m",
                Some(hint.to_string()),
            );
        } else {
            config.timeout = timeout;
        }
    }
    Some(config)
}

#[cfg(test)]
mod tests {
    use crate::server::config::parse;
    use std::time::Duration;

    #[test]
    fn defaults_and_overrides_read() {
        let config = parse("version = 1\n[channels.teams]\n", "b.toml").unwrap();
        let teams = config.channels.teams.unwrap();
        assert_eq!(teams.webhook_url_env, "TEAMS_WEBHOOK_URL");
        assert_eq!(teams.timeout, Duration::from_secs(10));
        let source =
            "version = 1\n[channels.teams]\nwebhook_url_env = \"OPS_TEAMS\"\ntimeout = \"3s\"\n";
        let teams = parse(source, "b.toml").unwrap().channels.teams.unwrap();
        assert_eq!(teams.webhook_url_env, "OPS_TEAMS");
        assert_eq!(teams.timeout, Duration::from_secs(3));
    }

    #[test]
    fn a_url_in_the_file_and_unknown_keys_are_errors() {
        let source = "version = 1\n[channels.teams]\nwebhook_url_env = \"https://x.example/hook\"\nwebhok = 1\n";
        let errors = parse(source, "b.toml").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, 3);
        assert!(
            errors[0]
                .message
                .contains("not an environment variable name")
        );
        assert!(errors[1].render(false).contains("unknown key \"webhok\""));
    }

    #[test]
    fn the_url_comes_from_the_environment_and_prints_only_its_host() {
        let teams = super::TeamsConfig::default();
        let missing = teams.webhook(|_| None).unwrap_err();
        assert!(
            missing.contains("TEAMS_WEBHOOK_URL is not set"),
            "{missing}"
        );
        let secret =
            "https://prod.westeurope.logic.azure.com:443/workflows/abc/triggers?sig=SECRET";
        let url = teams.webhook(|_| Some(secret.to_string())).unwrap();
        assert_eq!(url.host(), "prod.westeurope.logic.azure.com:443");
        assert!(!format!("{url:?}").contains("SECRET"));
    }
}
