//! One trusted issuer's signing keys: fetched from its JWKS (found through its
//! discovery document unless `jwks_url` is set), kept in memory, and fetched
//! again when a token names a key id the cache does not hold, at most once per
//! [`REFETCH_EVERY`], so a rotated key works within seconds while a stream of
//! made-up key ids cannot make the broker hit the issuer per request.

use super::TokenError;
use crate::error::http_cause;
use crate::server::config::oidc::is_trusted_url;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use std::time::{Duration, Instant};

/// The shortest time between two fetches of one issuer's keys.
pub const REFETCH_EVERY: Duration = Duration::from_secs(30);
/// The largest discovery document or JWKS accepted.
const MAX_DOCUMENT: usize = 256 * 1024;

/// The keys of one issuer, as last fetched.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
}

impl KeyCache {
    /// The key named `kid`, fetching the keys of `issuer` (from `jwks_url`, else
    /// where its discovery document says) first when it is not known and the
    /// last fetch is old enough.
    pub async fn key(
        &mut self,
        kid: &str,
        issuer: &str,
        jwks_url: Option<&str>,
        http: &reqwest::Client,
    ) -> Result<Jwk, TokenError> {
        if let Some(key) = self.find(kid) {
            return Ok(key);
        }
        let may_fetch = self.fetched.is_none_or(|at| at.elapsed() >= REFETCH_EVERY);
        if !may_fetch {
            return Err(TokenError::UnknownKeyId(kid.to_string()));
        }
        // Counted before the fetch: a failing issuer is not asked again at once either.
        self.fetched = Some(Instant::now());
        match fetch(issuer, jwks_url, http).await {
            Ok(keys) => self.keys = keys,
            Err(problem) if self.keys.is_empty() => {
                return Err(TokenError::KeysUnavailable(problem));
            }
            Err(problem) => {
                crate::serve_log!(
                    "gate serve: oidc: cannot refresh the keys of {issuer}: {problem}"
                )
            }
        }
        self.find(kid)
            .ok_or_else(|| TokenError::UnknownKeyId(kid.to_string()))
    }

    fn find(&self, kid: &str) -> Option<Jwk> {
        self.keys
            .iter()
            .find(|key| key.common.key_id.as_deref() == Some(kid))
            .cloned()
    }
}

async fn fetch(
    issuer: &str,
    jwks_url: Option<&str>,
    http: &reqwest::Client,
) -> Result<Vec<Jwk>, String> {
    let jwks_url = match jwks_url {
        Some(url) => url.to_string(),
        None => discover(issuer, http).await?,
    };
    let document = get_json(http, &jwks_url).await?;
    let keys = document
        .get("keys")
        .and_then(|keys| keys.as_array())
        .ok_or_else(|| format!("{jwks_url} has no \"keys\" array"))?;
    // Keys of other types (or that this build cannot read) are skipped, not fatal:
    // a token signed with one of them is refused as an unknown key id.
    Ok(keys
        .iter()
        .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
        .filter(|key| {
            matches!(
                key.algorithm,
                AlgorithmParameters::RSA(_) | AlgorithmParameters::EllipticCurve(_)
            )
        })
        .collect())
}

/// `jwks_uri` from `{issuer}/.well-known/openid-configuration`, whose `issuer`
/// must be the configured one (OpenID Connect Discovery 1.0, section 4.3).
async fn discover(issuer: &str, http: &reqwest::Client) -> Result<String, String> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let document = get_json(http, &url).await?;
    let named = document.get("issuer").and_then(|v| v.as_str());
    if named.map(|n| n.trim_end_matches('/')) != Some(issuer) {
        return Err(format!("{url} names issuer {named:?}, not \"{issuer}\""));
    }
    let jwks = document
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("{url} has no jwks_uri"))?;
    if !is_trusted_url(jwks) {
        return Err(format!("{url} points at keys over plain http ({jwks})"));
    }
    Ok(jwks.to_string())
}

pub async fn get_json(http: &reqwest::Client, url: &str) -> Result<serde_json::Value, String> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {}", http_cause(&e)))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("{url}: {}", http_cause(&e)))?;
    if body.len() > MAX_DOCUMENT {
        return Err(format!("{url} sent more than {MAX_DOCUMENT} bytes"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url} is not JSON: {e}"))
}
