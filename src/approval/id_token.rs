//! The CI job's OIDC ID token, sent with an approval request so the broker can
//! verify who the job is instead of taking its environment's word.
//!
//! - Any CI (GitLab's `id_tokens:`): the token is in `$GATE_ID_TOKEN`, or in the
//!   variable `$GATE_ID_TOKEN_ENV` names.
//! - GitHub Actions (`permissions: id-token: write`): the token is minted on
//!   demand from `$ACTIONS_ID_TOKEN_REQUEST_URL` with
//!   `$ACTIONS_ID_TOKEN_REQUEST_TOKEN`, for the audience the broker names at
//!   `GET /v1/oidc`.
//!
//! A token is a secret: it lives in an [`IdToken`] (whose `Debug` shows `****`)
//! and is never printed, logged or written anywhere. Without a token the request
//! goes as it always did, its CI fields a claim; the broker decides what that
//! is worth.

use super::brokers::Brokers;
use super::protocol::{API_PREFIX, IdToken, OidcInfo};
use std::collections::BTreeMap;
use std::time::Duration;

/// The variable a job puts its token in, unless `GATE_ID_TOKEN_ENV` names another.
pub const DEFAULT_VARIABLE: &str = "GATE_ID_TOKEN";
const VARIABLE_OVERRIDE: &str = "GATE_ID_TOKEN_ENV";
const GITHUB_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
const GITHUB_BEARER: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The job's ID token for the broker at `broker`, if the job has one. A job
/// that should have one but whose token cannot be had gets one line on stderr
/// and asks without it.
pub async fn acquire(broker: &Brokers, env: &BTreeMap<String, String>) -> Option<IdToken> {
    if let Some(token) = from_variable(env) {
        return Some(token);
    }
    let (url, bearer) = (value(env, GITHUB_URL)?, value(env, GITHUB_BEARER)?);
    match github(broker, url, bearer).await {
        Ok(token) => token,
        Err(problem) => {
            eprintln!("gate: no GitHub Actions ID token ({problem}); asking without one");
            None
        }
    }
}

/// The token a job put in its environment.
fn from_variable(env: &BTreeMap<String, String>) -> Option<IdToken> {
    let name = value(env, VARIABLE_OVERRIDE).unwrap_or(DEFAULT_VARIABLE);
    value(env, name).map(|jwt| IdToken::new(jwt.to_string()))
}

/// A token minted by GitHub Actions for the audience the broker's GitHub issuer
/// wants; `None` when the broker trusts no GitHub issuer. The first replica
/// that answers names it (they share one configuration).
async fn github(broker: &Brokers, url: &str, bearer: &str) -> Result<Option<IdToken>, String> {
    crate::approval::client::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .user_agent(concat!("gate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    let (info, response) = oidc_info(&http, broker).await?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let info: OidcInfo = response
        .error_for_status()
        .map_err(|e| format!("{info}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{info}: {e}"))?;
    let Some(issuer) = info.issuers.iter().find(|i| i.system == "github") else {
        return Ok(None);
    };
    let audience = serde_urlencoded::to_string([("audience", issuer.audience.as_str())])
        .map_err(|e| e.to_string())?;
    let separator = if url.contains('?') { '&' } else { '?' };
    // The request URL and its bearer are the runner's: named in errors by
    // variable, never by value.
    let response = http
        .get(format!("{url}{separator}{audience}"))
        .header(reqwest::header::AUTHORIZATION, format!("bearer {bearer}"))
        .send()
        .await
        .map_err(|_| format!("cannot reach ${GITHUB_URL}"))?;
    if !response.status().is_success() {
        return Err(format!(
            "${GITHUB_URL} answered {}; does the job have `permissions: id-token: write`?",
            response.status()
        ));
    }
    #[derive(serde::Deserialize)]
    struct Minted {
        value: String,
    }
    let minted: Minted = response
        .json()
        .await
        .map_err(|_| format!("${GITHUB_URL} did not answer {{\"value\": TOKEN}}"))?;
    Ok(Some(IdToken::new(minted.value)))
}

/// `GET /v1/oidc` at the first broker that answers (not with a 5xx): its URL
/// and the answer.
async fn oidc_info(
    http: &reqwest::Client,
    broker: &Brokers,
) -> Result<(String, reqwest::Response), String> {
    let mut unanswered = Vec::new();
    for base in broker.urls() {
        let info = format!("{base}{API_PREFIX}/oidc");
        match http.get(&info).send().await {
            Ok(response) if !response.status().is_server_error() => return Ok((info, response)),
            Ok(response) => unanswered.push(format!("{info}: {}", response.status())),
            Err(e) => unanswered.push(format!("{info}: {e}")),
        }
    }
    Err(format!("cannot ask {}", unanswered.join("; ")))
}

fn value<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The process environment, as far as it is UTF-8.
pub fn process_environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_token_variable_can_be_renamed_and_blank_is_none() {
        let default = env(&[("GATE_ID_TOKEN", "eyJ.a.b")]);
        assert_eq!(from_variable(&default).unwrap().expose(), "eyJ.a.b");
        let renamed = env(&[("GATE_ID_TOKEN_ENV", "MY_TOKEN"), ("MY_TOKEN", "eyJ.c.d")]);
        assert_eq!(from_variable(&renamed).unwrap().expose(), "eyJ.c.d");
        assert!(from_variable(&env(&[("GATE_ID_TOKEN", "  ")])).is_none());
        assert_eq!(
            format!("{:?}", from_variable(&default)),
            "Some(IdToken(****))"
        );
    }
}
