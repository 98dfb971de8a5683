//! Talking to the OpenID provider: its discovery document
//! (`{issuer}/.well-known/openid-configuration`, kept for [`KEEP_METADATA`]), the
//! token request that turns an authorization code into an ID token, and the
//! UserInfo request for providers that keep the e-mail out of the ID token.
//!
//! Never logs or returns the code, the client secret or a token: errors name the
//! endpoint and what went wrong, and a provider's error at most by its `error` code.

use crate::error::http_cause;
use crate::server::config::oidc::is_trusted_url;
use crate::server::config::slack::Secret;
use crate::server::oidc::get_json;
use std::time::{Duration, Instant};

/// How long a fetched discovery document is used before it is fetched again.
pub const KEEP_METADATA: Duration = Duration::from_secs(3600);
/// How long after a failed fetch the next sign-in fails at once, so a provider
/// that is down is not asked once per `GET /sso/login`.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// The largest token response accepted.
const MAX_TOKEN_RESPONSE: usize = 256 * 1024;

/// What the broker uses from the provider's discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// Where the account's claims are, when the ID token lacks one.
    pub userinfo_endpoint: Option<String>,
    /// How the client authenticates at the token endpoint.
    pub auth: ClientAuth,
}

/// `client_secret_basic` unless the provider offers only `client_secret_post`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Basic,
    Post,
}

/// The discovery document, as last fetched.
#[derive(Debug, Default)]
pub struct MetadataCache {
    kept: Option<(Instant, Metadata)>,
    failed: Option<(Instant, String)>,
}

impl MetadataCache {
    /// The provider's metadata, fetched when none is kept or it is older than
    /// [`KEEP_METADATA`].
    pub async fn get(&mut self, issuer: &str, http: &reqwest::Client) -> Result<Metadata, String> {
        if let Some((at, metadata)) = &self.kept
            && at.elapsed() < KEEP_METADATA
        {
            return Ok(metadata.clone());
        }
        if let Some((at, problem)) = &self.failed
            && at.elapsed() < RETRY_AFTER_FAILURE
        {
            return Err(problem.clone());
        }
        match discover(issuer, http).await {
            Ok(metadata) => {
                self.kept = Some((Instant::now(), metadata.clone()));
                self.failed = None;
                Ok(metadata)
            }
            Err(problem) => {
                self.failed = Some((Instant::now(), problem.clone()));
                Err(problem)
            }
        }
    }
}

async fn discover(issuer: &str, http: &reqwest::Client) -> Result<Metadata, String> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let document = get_json(http, &url).await?;
    read_metadata(issuer, &url, &document)
}

/// The metadata in `document`, whose `issuer` must be exactly `issuer`
/// (OpenID Connect Discovery 1.0, section 4.3) and whose endpoints must be https.
pub fn read_metadata(
    issuer: &str,
    url: &str,
    document: &serde_json::Value,
) -> Result<Metadata, String> {
    let named = document.get("issuer").and_then(|v| v.as_str());
    if named.map(|n| n.trim_end_matches('/')) != Some(issuer) {
        return Err(format!(
            "{url} names issuer {named:?}, not \"{issuer}\" ([sso] issuer must be the provider's exact issuer)"
        ));
    }
    let endpoint = |key: &str| -> Result<String, String> {
        let found = document
            .get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{url} has no {key}"))?;
        if !is_trusted_url(found) {
            return Err(format!("{url} gives {key} over plain http ({found})"));
        }
        Ok(found.to_string())
    };
    let methods: Vec<&str> = document
        .get("token_endpoint_auth_methods_supported")
        .and_then(|v| v.as_array())
        .map(|list| list.iter().filter_map(|v| v.as_str()).collect())
        // The default of OpenID Connect Discovery 1.0.
        .unwrap_or_else(|| vec!["client_secret_basic"]);
    let auth = if methods.contains(&"client_secret_basic") {
        ClientAuth::Basic
    } else if methods.contains(&"client_secret_post") {
        ClientAuth::Post
    } else {
        return Err(format!(
            "{url}: the provider offers neither client_secret_basic nor client_secret_post \
             at its token endpoint ({methods:?})"
        ));
    };
    if let Some(challenges) = document
        .get("code_challenge_methods_supported")
        .and_then(|v| v.as_array())
        && !challenges.iter().any(|m| m.as_str() == Some("S256"))
    {
        return Err(format!("{url}: the provider does not offer PKCE with S256"));
    }
    Ok(Metadata {
        authorization_endpoint: endpoint("authorization_endpoint")?,
        token_endpoint: endpoint("token_endpoint")?,
        jwks_uri: endpoint("jwks_uri")?,
        userinfo_endpoint: match document.get("userinfo_endpoint") {
            Some(_) => Some(endpoint("userinfo_endpoint")?),
            None => None,
        },
        auth,
    })
}

/// The client as registered at the provider.
#[derive(Debug)]
pub struct Client<'a> {
    pub id: &'a str,
    pub secret: &'a Secret,
    pub redirect_uri: &'a str,
}

/// What the token endpoint gave.
#[derive(Debug)]
pub struct Tokens {
    pub id_token: Secret,
    /// For the UserInfo endpoint only.
    pub access_token: Option<Secret>,
}

/// Exchange `code` (with the PKCE `verifier`) for the ID token.
pub async fn redeem(
    http: &reqwest::Client,
    metadata: &Metadata,
    client: &Client<'_>,
    code: &str,
    verifier: &str,
) -> Result<Tokens, String> {
    let endpoint = &metadata.token_endpoint;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri),
        ("code_verifier", verifier),
    ];
    let mut call = http.post(endpoint).header("accept", "application/json");
    match metadata.auth {
        // RFC 6749, section 2.3.1: each part form-encoded before base64.
        ClientAuth::Basic => {
            call = call.basic_auth(
                form_encode(client.id),
                Some(form_encode(client.secret.expose())),
            );
        }
        ClientAuth::Post => {
            form.push(("client_id", client.id));
            form.push(("client_secret", client.secret.expose()));
        }
    }
    let body = serde_urlencoded::to_string(&form)
        .map_err(|e| format!("cannot write the token request: {e}"))?;
    let response = call
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{endpoint}: {}", http_cause(&e)))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("{endpoint}: {}", http_cause(&e)))?;
    if bytes.len() > MAX_TOKEN_RESPONSE {
        return Err(format!(
            "{endpoint} sent more than {MAX_TOKEN_RESPONSE} bytes"
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if !status.is_success() {
        let error = json
            .get("error")
            .and_then(|v| v.as_str())
            .map(error_code)
            .unwrap_or_default();
        return Err(format!("{endpoint} refused the code ({status} {error})"));
    }
    let text = |key: &str| json.get(key).and_then(|v| v.as_str()).map(Secret::new);
    Ok(Tokens {
        id_token: text("id_token")
            .ok_or_else(|| format!("{endpoint} answered without an id_token"))?,
        access_token: text("access_token"),
    })
}

/// The account's claims from the UserInfo endpoint (a JSON answer only).
pub async fn userinfo(
    http: &reqwest::Client,
    endpoint: &str,
    access_token: &Secret,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let response = http
        .get(endpoint)
        .bearer_auth(access_token.expose())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("{endpoint}: {}", http_cause(&e)))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("{endpoint}: {}", http_cause(&e)))?;
    if !status.is_success() || bytes.len() > MAX_TOKEN_RESPONSE {
        return Err(format!("{endpoint} answered {status}"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|_| format!("{endpoint} did not answer with JSON claims"))
}

/// An OAuth `error` code, safe to print: the characters RFC 6749 allows, at most 64.
pub fn error_code(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '<' | '>' | '&'))
        .take(64)
        .collect()
}

fn form_encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|pair| pair[1..].to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(extra: serde_json::Value) -> serde_json::Value {
        let mut base = json!({
            "issuer": "https://login.example.com",
            "authorization_endpoint": "https://login.example.com/auth",
            "token_endpoint": "https://login.example.com/token",
            "jwks_uri": "https://login.example.com/jwks",
        });
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        base
    }

    #[test]
    fn discovery_is_read_and_checked() {
        let url = "https://login.example.com/.well-known/openid-configuration";
        let issuer = "https://login.example.com";
        let metadata = read_metadata(issuer, url, &document(json!({}))).unwrap();
        assert_eq!(metadata.auth, ClientAuth::Basic);
        assert_eq!(metadata.token_endpoint, "https://login.example.com/token");
        let post = json!({"token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post"]});
        assert_eq!(
            read_metadata(issuer, url, &document(post)).unwrap().auth,
            ClientAuth::Post
        );
        let wrong = read_metadata("https://other.example.com", url, &document(json!({})));
        assert!(wrong.unwrap_err().contains("names issuer"));
        let plain = json!({"token_endpoint": "http://login.example.com/token"});
        assert!(
            read_metadata(issuer, url, &document(plain))
                .unwrap_err()
                .contains("plain http")
        );
        let no_pkce = json!({"code_challenge_methods_supported": ["plain"]});
        assert!(
            read_metadata(issuer, url, &document(no_pkce))
                .unwrap_err()
                .contains("PKCE")
        );
    }

    #[test]
    fn basic_credentials_are_form_encoded_and_errors_cut_to_a_code() {
        assert_eq!(form_encode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
        assert_eq!(error_code("invalid_grant<script>"), "invalid_grantscript");
    }
}
