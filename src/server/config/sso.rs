//! `[sso]` in broker.toml: single sign-on to the web pages with OpenID Connect.
//! Which provider (`issuer`), the client the broker is registered as there, the
//! scopes it asks for, which ID-token claim names a person, and which e-mail
//! domains may sign in at all.
//!
//! Only reads and checks the file; the sign-in flow is `crate::server::sso`.
//! The client secret is best named by `client_secret_env` and read when the broker
//! starts; [`Secret`] keeps it out of every `Debug` output.

use super::oidc::is_trusted_url;
use super::slack::Secret;
use crate::policy::read::{Reader, Value};

const KEYS: &[&str] = &[
    "issuer",
    "client_id",
    "client_secret",
    "client_secret_env",
    "scopes",
    "claim",
    "allowed_email_domains",
];
const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile"];

/// Which ID-token claim says who signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoClaim {
    /// `email` (verified unless the provider leaves `email_verified` out),
    /// matched to `people.NAME.email`, ignoring case.
    Email,
    /// `sub`, the provider's stable id for the account, matched to `people.NAME.oidc`.
    Subject,
}

impl SsoClaim {
    pub fn as_str(self) -> &'static str {
        match self {
            SsoClaim::Email => "email",
            SsoClaim::Subject => "sub",
        }
    }
}

/// Where the client secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSecret {
    /// Written in broker.toml.
    Inline(Secret),
    /// The environment variable that holds it, read when the broker starts.
    Env(String),
}

/// `[sso]` as read.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoConfig {
    /// The provider's issuer identifier, exactly its ID tokens' `iss` (no trailing `/`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Always starts with `openid`.
    pub scopes: Vec<String>,
    pub claim: SsoClaim,
    /// Lowercase domains; empty: any.
    pub allowed_email_domains: Vec<String>,
}

impl SsoConfig {
    /// The client secret, from the file or through `lookup` (the environment);
    /// the error names the missing variable.
    pub fn secret_from(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<Secret, String> {
        match &self.client_secret {
            ClientSecret::Inline(secret) => Ok(secret.clone()),
            ClientSecret::Env(name) => lookup(name)
                .filter(|value| !value.trim().is_empty())
                .map(|value| Secret::new(value.trim()))
                .ok_or_else(|| {
                    format!(
                        "sso: environment variable {name} is not set; export it with the \
                         OpenID Connect client secret (client_secret_env in [sso])"
                    )
                }),
        }
    }
}

/// Read `[sso]`; `None` when it has errors (recorded in `reader`).
pub(super) fn read(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<SsoConfig> {
    let table = reader.table(value, "sso")?;
    reader.reject_unknown_keys(table, KEYS, "[sso]");
    let before = reader.errors.len();
    let issuer = match table.get("issuer") {
        Some(found) => issuer(reader, found),
        None => {
            let hint = "add issuer = \"https://login.example.com\", the provider's issuer URL";
            reader.error(value.span(), "[sso] needs \"issuer\"", Some(hint.into()));
            None
        }
    };
    let client_id = match table.get("client_id") {
        Some(found) => non_empty(reader, found, "client_id"),
        None => {
            let hint = "add client_id = \"...\", the id the provider gave the broker's client";
            reader.error(value.span(), "[sso] needs \"client_id\"", Some(hint.into()));
            None
        }
    };
    let client_secret = match (table.get("client_secret"), table.get("client_secret_env")) {
        (Some(inline), None) => non_empty(reader, inline, "client_secret")
            .map(|text| ClientSecret::Inline(Secret::new(text))),
        (None, Some(env)) => non_empty(reader, env, "client_secret_env").map(ClientSecret::Env),
        (Some(inline), Some(_)) => {
            let hint = "keep client_secret_env and remove client_secret";
            let message = "[sso] has both client_secret and client_secret_env";
            reader.error(inline.span(), message, Some(hint.into()));
            None
        }
        (None, None) => {
            let hint =
                "add client_secret_env = \"GATE_SSO_CLIENT_SECRET\" and export the secret in it";
            let message = "[sso] needs client_secret_env (or client_secret)";
            reader.error(value.span(), message, Some(hint.into()));
            None
        }
    };
    let scopes = match table.get("scopes") {
        Some(found) => scopes(reader, found),
        None => Some(DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()),
    };
    let claim = match table.get("claim") {
        None => Some(SsoClaim::Email),
        Some(found) => match reader.string(found, "claim")?.as_str() {
            "email" => Some(SsoClaim::Email),
            "sub" => Some(SsoClaim::Subject),
            other => {
                let message = format!("claim \"{other}\" cannot name a person");
                let hint = "use \"email\" (matches people.NAME.email) or \"sub\" (matches people.NAME.oidc)";
                reader.error(found.span(), message, Some(hint.into()));
                None
            }
        },
    };
    let allowed_email_domains = match table.get("allowed_email_domains") {
        Some(found) => domains(reader, found),
        None => Some(Vec::new()),
    };
    if reader.errors.len() > before {
        return None;
    }
    Some(SsoConfig {
        issuer: issuer?,
        client_id: client_id?,
        client_secret: client_secret?,
        scopes: scopes?,
        claim: claim?,
        allowed_email_domains: allowed_email_domains?,
    })
}

fn issuer(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<String> {
    let text = reader.string(value, "issuer")?;
    if is_trusted_url(&text) && !text.contains(['?', '#']) {
        return Some(text.trim_end_matches('/').to_string());
    }
    let message = format!("issuer \"{text}\" is not an https:// URL");
    let hint = "sign-in is only trusted over https (http only on 127.0.0.1 or localhost)";
    reader.error(value.span(), message, Some(hint.into()));
    None
}

fn non_empty(reader: &mut Reader<'_>, value: &Value<'_>, key: &str) -> Option<String> {
    let text = reader.string(value, key)?;
    if text.trim().is_empty() {
        reader.error(value.span(), format!("{key} must not be empty"), None);
        return None;
    }
    Some(text.trim().to_string())
}

fn scopes(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<Vec<String>> {
    let items = reader.strings(value, "scopes")?;
    let mut scopes: Vec<String> = Vec::new();
    for item in items {
        let scope = item.get_ref();
        if scope.is_empty()
            || !scope
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            let message = format!("scope \"{scope}\" is not a valid OAuth scope");
            reader.error(item.span(), message, None);
            return None;
        }
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    if !scopes.iter().any(|scope| scope == "openid") {
        scopes.insert(0, "openid".to_string());
    }
    Some(scopes)
}

fn domains(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<Vec<String>> {
    let items = reader.strings(value, "allowed_email_domains")?;
    let mut domains = Vec::new();
    for item in items {
        let domain = item.get_ref().trim().to_ascii_lowercase();
        let valid = !domain.is_empty()
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid {
            let message = format!("\"{}\" is not an e-mail domain", item.get_ref());
            let hint = "write the part after the @, e.g. \"example.com\"";
            reader.error(item.span(), message, Some(hint.into()));
            return None;
        }
        domains.push(domain);
    }
    Some(domains)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::parse;

    #[test]
    fn a_minimal_sso_section_gets_the_defaults() {
        let config = parse(
            "version = 1\n[sso]\nissuer = \"https://login.example.com/\"\nclient_id = \"gate\"\nclient_secret_env = \"SSO_SECRET\"\n",
            "broker.toml",
        )
        .unwrap();
        let sso = config.sso.unwrap();
        assert_eq!(sso.issuer, "https://login.example.com");
        assert_eq!(sso.scopes, ["openid", "email", "profile"]);
        assert_eq!(sso.claim, SsoClaim::Email);
        assert_eq!(sso.client_secret, ClientSecret::Env("SSO_SECRET".into()));
        let secret = sso.secret_from(|name| (name == "SSO_SECRET").then(|| "s3".into()));
        assert_eq!(secret.unwrap().expose(), "s3");
        let missing = sso.secret_from(|_| None).unwrap_err();
        assert!(missing.contains("SSO_SECRET"), "{missing}");
    }

    #[test]
    fn scopes_claim_and_domains_are_read() {
        let config = parse(
            "version = 1\n[sso]\nissuer = \"http://127.0.0.1:9000\"\nclient_id = \"gate\"\nclient_secret = \"s\"\nscopes = [\"email\", \"groups\"]\nclaim = \"sub\"\nallowed_email_domains = [\"Example.COM\"]\n",
            "broker.toml",
        )
        .unwrap();
        let sso = config.sso.unwrap();
        assert_eq!(sso.scopes, ["openid", "email", "groups"]);
        assert_eq!(sso.claim, SsoClaim::Subject);
        assert_eq!(sso.allowed_email_domains, ["example.com"]);
        assert_eq!(format!("{:?}", sso.client_secret), "Inline(****)");
    }

    #[test]
    fn an_oidc_subject_is_a_person_identity_of_one_person_only() {
        let config = parse(
            "version = 1\n[people.alice]\noidc = \"alice-sub\"\n",
            "broker.toml",
        )
        .unwrap();
        assert_eq!(config.people["alice"].oidc.as_deref(), Some("alice-sub"));
        let errors = parse(
            "version = 1\n[people.alice]\noidc = \"x\"\n[people.bob]\noidc = \"x\"\n",
            "broker.toml",
        )
        .unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message == "oidc identity \"x\" already belongs to \"alice\""),
            "{errors:?}"
        );
    }

    #[test]
    fn every_mistake_is_reported_at_its_line() {
        let errors = parse(
            "version = 1\n[sso]\nissuer = \"http://login.example.com\"\nclient_secret = \"a\"\nclient_secret_env = \"B\"\nclaim = \"upn\"\nallowed_email_domains = [\"@x\"]\nscope = []\n",
            "broker.toml",
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(|d| d.render(false)).collect();
        let text = text.join("\n");
        for expected in [
            "broker.toml:3:",
            "not an https:// URL",
            "needs \"client_id\"",
            "both client_secret and client_secret_env",
            "claim \"upn\"",
            "\"@x\" is not an e-mail domain",
            "unknown key \"scope\"",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }
}
