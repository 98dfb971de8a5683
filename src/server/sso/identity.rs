//! From an ID token whose signature, `iss`, `aud`, `exp` and `nbf` hold
//! ([`crate::server::oidc::decode`]) to a person: the checks that belong to a
//! sign-in (`nonce`, `azp`, `iat`, a verified e-mail, an allowed domain) and the
//! mapping of the configured claim to one `[people]` entry.
//!
//! Pure: takes the claims, the sign-in's nonce, the config and the people, and
//! touches nothing else, so every refusal is unit-tested.

use super::pending::{Pending, nonce_matches};
use crate::policy::Person;
use crate::server::config::SsoConfig;
use crate::server::config::sso::SsoClaim;
use crate::server::oidc::{Claims, LEEWAY};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The oldest `iat` accepted: the token is redeemed right after it is issued.
const MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// Why a verified token signs nobody in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The token does not belong to this sign-in (nonce, azp, iat): a fault, or
    /// an attack.
    Invalid(String),
    /// The account is not allowed, or is nobody in `[people]`.
    Unknown(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Invalid(text) | Refused::Unknown(text) => f.write_str(text),
        }
    }
}

/// The person `claims` sign in, after the sign-in's own checks.
pub fn person(
    claims: &Claims,
    pending: &Pending,
    config: &SsoConfig,
    people: &BTreeMap<String, Person>,
    now: SystemTime,
) -> Result<String, Refused> {
    belongs_to_signin(claims, pending, config, now)?;
    let email = claims.get("email").and_then(|v| v.as_str());
    let verified = claims.get("email_verified").and_then(email_verified);
    if !config.allowed_email_domains.is_empty() {
        let domain = email
            .filter(|_| verified != Some(false))
            .and_then(|email| email.rsplit_once('@'))
            .map(|(_, domain)| domain.to_ascii_lowercase());
        if !domain.is_some_and(|d| config.allowed_email_domains.contains(&d)) {
            return Err(Refused::Unknown(format!(
                "this account's e-mail is not verified in one of the allowed domains ({})",
                config.allowed_email_domains.join(", ")
            )));
        }
    }
    let found: Vec<&String> = match config.claim {
        SsoClaim::Email => {
            let Some(email) = email else {
                return Err(Refused::Unknown(
                    "the provider sent no e-mail address for this account; ask for the \"email\" scope, or map people by \"sub\"".into(),
                ));
            };
            if verified == Some(false) {
                return Err(Refused::Unknown(format!(
                    "the provider has not verified the e-mail address {email}"
                )));
            }
            people
                .iter()
                .filter(|(_, p)| {
                    p.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
                .map(|(name, _)| name)
                .collect()
        }
        SsoClaim::Subject => {
            let sub = claims.get("sub").and_then(|v| v.as_str()).unwrap_or("");
            people
                .iter()
                .filter(|(_, p)| !sub.is_empty() && p.oidc.as_deref() == Some(sub))
                .map(|(name, _)| name)
                .collect()
        }
    };
    match found[..] {
        [name] => Ok(name.clone()),
        [] => Err(Refused::Unknown(unknown(claims, config.claim))),
        _ => Err(Refused::Unknown(format!(
            "this account matches several people in the broker config; give each person their own {}",
            identity_key(config.claim)
        ))),
    }
}

/// The checks that tie a token to this sign-in, after the signature's.
fn belongs_to_signin(
    claims: &Claims,
    pending: &Pending,
    config: &SsoConfig,
    now: SystemTime,
) -> Result<(), Refused> {
    let invalid = |text: &str| Err(Refused::Invalid(format!("the ID token {text}")));
    match claims.get("nonce").and_then(|v| v.as_str()) {
        Some(nonce) if nonce_matches(pending, nonce) => {}
        Some(_) => return invalid("carries another sign-in's nonce"),
        None => return invalid("carries no nonce"),
    }
    let audiences = match claims.get("aud") {
        Some(serde_json::Value::Array(list)) => list.len(),
        _ => 1,
    };
    match claims.get("azp").and_then(|v| v.as_str()) {
        Some(azp) if azp != config.client_id => {
            return invalid("was issued to another client (azp)");
        }
        None if audiences > 1 => {
            return invalid("names several audiences but no authorized party (azp)");
        }
        _ => {}
    }
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    match claims.get("iat").and_then(|v| v.as_u64()) {
        None => invalid("carries no issue time (iat)"),
        Some(iat) if iat > now + LEEWAY => invalid("was issued in the future (iat)"),
        Some(iat) if iat + MAX_AGE.as_secs() + LEEWAY < now => {
            invalid("was issued too long ago (iat)")
        }
        Some(_) => Ok(()),
    }
}

/// `email_verified` as a boolean; some providers send the string "true".
fn email_verified(value: &serde_json::Value) -> Option<bool> {
    match value {
        serde_json::Value::Bool(flag) => Some(*flag),
        serde_json::Value::String(text) => Some(text == "true"),
        _ => None,
    }
}

fn identity_key(claim: SsoClaim) -> &'static str {
    match claim {
        SsoClaim::Email => "email",
        SsoClaim::Subject => "oidc",
    }
}

fn unknown(claims: &Claims, claim: SsoClaim) -> String {
    let value = claims
        .get(claim.as_str())
        .and_then(|v| v.as_str())
        .unwrap_or("");
    format!(
        "{value} is not a person of this broker: an administrator adds {} = \"{value}\" to their [people.NAME] entry",
        identity_key(claim)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::slack::Secret;
    use crate::server::config::sso::ClientSecret;
    use crate::server::sso::pending::PendingSignins;
    use serde_json::json;

    fn config(claim: SsoClaim, domains: &[&str]) -> SsoConfig {
        SsoConfig {
            issuer: "https://login.example.com".into(),
            client_id: "gate".into(),
            client_secret: ClientSecret::Inline(Secret::new("s")),
            scopes: vec!["openid".into()],
            claim,
            allowed_email_domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn people() -> BTreeMap<String, Person> {
        let alice = Person {
            email: Some("Alice@Example.com".into()),
            oidc: Some("alice-sub".into()),
            ..Person::default()
        };
        BTreeMap::from([("alice".to_string(), alice)])
    }

    fn claims(pending: &Pending, extra: serde_json::Value) -> Claims {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "sub": "alice-sub", "aud": "gate", "iat": now, "nonce": pending.nonce,
            "email": "alice@example.com", "email_verified": true,
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        claims.as_object().unwrap().clone()
    }

    fn check(
        extra: serde_json::Value,
        claim: SsoClaim,
        domains: &[&str],
    ) -> Result<String, Refused> {
        let (_, pending) = PendingSignins::default().start("/".into()).unwrap();
        let claims = claims(&pending, extra);
        person(
            &claims,
            &pending,
            &config(claim, domains),
            &people(),
            SystemTime::now(),
        )
    }

    #[test]
    fn email_and_sub_each_find_their_person() {
        assert_eq!(check(json!({}), SsoClaim::Email, &[]).unwrap(), "alice");
        assert_eq!(check(json!({}), SsoClaim::Subject, &[]).unwrap(), "alice");
        assert_eq!(
            check(
                json!({"email_verified": "true"}),
                SsoClaim::Email,
                &["example.com"]
            )
            .unwrap(),
            "alice"
        );
    }

    #[test]
    fn a_token_of_another_sign_in_or_client_is_invalid() {
        let invalid = |extra, why: &str| match check(extra, SsoClaim::Email, &[]) {
            Err(Refused::Invalid(text)) => assert!(text.contains(why), "{text}"),
            other => panic!("{other:?}"),
        };
        invalid(json!({"nonce": "another"}), "nonce");
        invalid(json!({"nonce": null}), "no nonce");
        invalid(json!({"azp": "other-client"}), "azp");
        invalid(json!({"aud": ["gate", "other"]}), "azp");
        invalid(json!({"iat": null}), "iat");
        invalid(json!({"iat": 1_000_000_000u64}), "too long ago");
        invalid(json!({"iat": 9_000_000_000u64}), "future");
        assert!(
            check(
                json!({"aud": ["gate", "x"], "azp": "gate"}),
                SsoClaim::Email,
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_unverified_and_foreign_accounts_sign_nobody_in() {
        let unknown = |extra, claim, domains: &[&str], why: &str| match check(extra, claim, domains)
        {
            Err(Refused::Unknown(text)) => assert!(text.contains(why), "{text}"),
            other => panic!("{other:?}"),
        };
        unknown(
            json!({"email": "mallory@example.com"}),
            SsoClaim::Email,
            &[],
            "mallory@example.com is not a person",
        );
        unknown(
            json!({"sub": "mallory-sub"}),
            SsoClaim::Subject,
            &[],
            "oidc = \"mallory-sub\"",
        );
        unknown(
            json!({"email_verified": false}),
            SsoClaim::Email,
            &[],
            "not verified",
        );
        unknown(json!({"email": null}), SsoClaim::Email, &[], "no e-mail");
        unknown(
            json!({}),
            SsoClaim::Email,
            &["corp.example"],
            "allowed domains",
        );
        unknown(
            json!({"email_verified": false}),
            SsoClaim::Subject,
            &["example.com"],
            "allowed domains",
        );
    }
}
