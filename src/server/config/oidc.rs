//! `[[oidc]]` in broker.toml: the OIDC issuers whose CI ID tokens the broker
//! trusts, the audience their tokens must carry, where their keys are, and which
//! claims name the job's actor, repository, ref and workflow.
//!
//! Only reads and checks the file; fetching keys and verifying tokens is
//! `crate::server::oidc`.

use crate::policy::read::{Reader, Value};
use toml::de::{DeTable, DeValue};

const KEYS: &[&str] = &["issuer", "audience", "jwks_url", "system", "claims"];
const CLAIM_KEYS: &[&str] = &["actor", "repository", "ref", "workflow"];
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const GITLAB_ISSUER: &str = "https://gitlab.com";

/// The CI system an issuer signs tokens for; it picks the default claim names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiSystem {
    Github,
    Gitlab,
}

impl CiSystem {
    pub fn as_str(self) -> &'static str {
        match self {
            CiSystem::Github => "github",
            CiSystem::Gitlab => "gitlab",
        }
    }

    /// Which claims name the actor, repository, ref and workflow in this
    /// system's tokens.
    pub fn default_claims(self) -> ClaimNames {
        let names = |actor: &str, repository: &str, git_ref: &str, workflow: &str| ClaimNames {
            actor: actor.to_string(),
            repository: repository.to_string(),
            git_ref: git_ref.to_string(),
            workflow: workflow.to_string(),
        };
        match self {
            CiSystem::Github => names("actor", "repository", "ref", "workflow"),
            CiSystem::Gitlab => names("user_login", "project_path", "ref", "ci_config_ref_uri"),
        }
    }
}

/// The claim that carries each part of the job's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    pub actor: String,
    pub repository: String,
    pub git_ref: String,
    pub workflow: String,
}

/// One trusted issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcIssuerConfig {
    /// Exactly the token's `iss`.
    pub issuer: String,
    /// The token's `aud` must contain it; `None`: the broker's `public_url`.
    pub audience: Option<String>,
    /// Where the issuer's JWKS is; `None`: its discovery document says.
    pub jwks_url: Option<String>,
    pub system: CiSystem,
    pub claims: ClaimNames,
}

/// Read `[[oidc]]`; issuers with errors are recorded and left out.
pub(super) fn read(reader: &mut Reader<'_>, value: &Value<'_>) -> Vec<OidcIssuerConfig> {
    let DeValue::Array(items) = value.get_ref() else {
        let hint = "write each trusted issuer as [[oidc]]".to_string();
        reader.error(
            value.span(),
            "\"oidc\" must be an array of tables",
            Some(hint),
        );
        return Vec::new();
    };
    let mut issuers: Vec<OidcIssuerConfig> = Vec::new();
    for item in items {
        let Some(table) = reader.table(item, "oidc") else {
            continue;
        };
        let Some(issuer) = read_issuer(reader, item, table) else {
            continue;
        };
        if issuers.iter().any(|known| known.issuer == issuer.issuer) {
            let message = format!("issuer \"{}\" is listed twice", issuer.issuer);
            let hint = "keep one [[oidc]] table per issuer".to_string();
            reader.error(item.span(), message, Some(hint));
            continue;
        }
        issuers.push(issuer);
    }
    issuers
}

fn read_issuer(
    reader: &mut Reader<'_>,
    item: &Value<'_>,
    table: &DeTable<'_>,
) -> Option<OidcIssuerConfig> {
    reader.reject_unknown_keys(table, KEYS, "[[oidc]]");
    let Some(issuer_value) = table.get("issuer") else {
        let hint = format!("add issuer = \"{GITHUB_ISSUER}\" (the tokens' exact `iss`)");
        reader.error(item.span(), "[[oidc]] is missing \"issuer\"", Some(hint));
        return None;
    };
    let issuer = url(reader, issuer_value, "issuer")?;
    let audience = match table.get("audience") {
        Some(value) => Some(non_empty(reader, value, "audience")?),
        None => None,
    };
    let jwks_url = match table.get("jwks_url") {
        Some(value) => Some(url(reader, value, "jwks_url")?),
        None => None,
    };
    let system = match table.get("system") {
        Some(value) => system(reader, value)?,
        None => match known_system(&issuer) {
            Some(system) => system,
            None => {
                let message = format!("cannot tell which CI system issuer \"{issuer}\" is");
                let hint = "add system = \"github\" or system = \"gitlab\"".to_string();
                reader.error(issuer_value.span(), message, Some(hint));
                return None;
            }
        },
    };
    let mut claims = system.default_claims();
    if let Some(value) = table.get("claims") {
        let names = reader.table(value, "claims")?;
        reader.reject_unknown_keys(names, CLAIM_KEYS, "[oidc.claims]");
        for (key, slot) in [
            ("actor", &mut claims.actor),
            ("repository", &mut claims.repository),
            ("ref", &mut claims.git_ref),
            ("workflow", &mut claims.workflow),
        ] {
            if let Some(value) = names.get(key) {
                *slot = non_empty(reader, value, key)?;
            }
        }
    }
    Some(OidcIssuerConfig {
        issuer,
        audience,
        jwks_url,
        system,
        claims,
    })
}

/// github.com's and gitlab.com's issuers, and GitHub Enterprise Server's
/// `https://HOST/_services/token`.
fn known_system(issuer: &str) -> Option<CiSystem> {
    if issuer == GITHUB_ISSUER || issuer.ends_with("/_services/token") {
        Some(CiSystem::Github)
    } else if issuer == GITLAB_ISSUER {
        Some(CiSystem::Gitlab)
    } else {
        None
    }
}

fn system(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<CiSystem> {
    match reader.string(value, "system")?.as_str() {
        "github" => Some(CiSystem::Github),
        "gitlab" => Some(CiSystem::Gitlab),
        other => {
            let message = format!("system \"{other}\" is not a CI system gate knows");
            let hint = "use \"github\" or \"gitlab\"".to_string();
            reader.error(value.span(), message, Some(hint));
            None
        }
    }
}

fn non_empty(reader: &mut Reader<'_>, value: &Value<'_>, key: &str) -> Option<String> {
    let text = reader.string(value, key)?;
    if text.trim().is_empty() {
        reader.error(value.span(), format!("{key} must not be empty"), None);
        return None;
    }
    Some(text)
}

/// An https URL; plain http only on the loopback interface, where nothing on the
/// network can stand in for the issuer.
fn url(reader: &mut Reader<'_>, value: &Value<'_>, key: &str) -> Option<String> {
    let text = reader.string(value, key)?;
    if is_trusted_url(&text) {
        return Some(text.trim_end_matches('/').to_string());
    }
    let message = format!("{key} \"{text}\" is not an https:// URL");
    let hint = "an issuer's keys are only trusted over https (http only on 127.0.0.1 or localhost)";
    reader.error(value.span(), message, Some(hint.to_string()));
    None
}

/// Whether keys or discovery at `url` can be trusted in transit.
pub fn is_trusted_url(url: &str) -> bool {
    if url.contains(char::is_whitespace) {
        return false;
    }
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(host, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            host
        } else {
            ""
        }
    });
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::parse;

    #[test]
    fn github_and_gitlab_issuers_get_their_claims_by_default() {
        let config = parse(
            r#"
version = 1
[[oidc]]
issuer = "https://token.actions.githubusercontent.com"
audience = "https://gate.example.com"

[[oidc]]
issuer = "https://gitlab.com"
claims = { workflow = "job_project_path" }
"#,
            "broker.toml",
        )
        .unwrap();
        let [github, gitlab] = &config.oidc[..] else {
            panic!("{:?}", config.oidc)
        };
        assert_eq!(github.system, CiSystem::Github);
        assert_eq!(github.claims, CiSystem::Github.default_claims());
        assert_eq!(github.audience.as_deref(), Some("https://gate.example.com"));
        assert_eq!(github.jwks_url, None);
        assert_eq!(gitlab.system, CiSystem::Gitlab);
        assert_eq!(gitlab.claims.actor, "user_login");
        assert_eq!(gitlab.claims.workflow, "job_project_path");
        assert_eq!(gitlab.audience, None);
    }

    #[test]
    fn plain_http_unknown_systems_and_keys_are_errors() {
        let errors = parse(
            r#"
version = 1
[[oidc]]
issuer = "http://issuer.example.com"

[[oidc]]
issuer = "https://ci.example.com"

[[oidc]]
issuer = "https://token.actions.githubusercontent.com"
audiences = "x"
"#,
            "broker.toml",
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(|d| d.message.clone()).collect();
        assert!(
            text.iter().any(|m| m.contains("not an https:// URL")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|m| m.contains("cannot tell which CI system")),
            "{text:?}"
        );
        assert!(text.iter().any(|m| m.contains("audiences")), "{text:?}");
    }

    #[test]
    fn loopback_http_is_trusted_and_nothing_else_plain() {
        assert!(is_trusted_url("http://127.0.0.1:8080/jwks"));
        assert!(is_trusted_url("http://localhost"));
        assert!(is_trusted_url(
            "https://token.actions.githubusercontent.com"
        ));
        assert!(!is_trusted_url("http://127.0.0.1.evil.example/"));
        assert!(!is_trusted_url("http://localhost:80@evil.example/"));
        assert!(!is_trusted_url("ftp://127.0.0.1/"));
    }
}
