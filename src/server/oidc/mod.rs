//! Verifying a CI job's OIDC ID token: the signature against the issuer's keys
//! (RS256 or ES256 only), the issuer, the audience, and the lifetime (`exp`,
//! `nbf`, with [`LEEWAY`]). A verified token's claims become the request's CI
//! identity ([`claims`]); any failure refuses the request, naming what failed.
//!
//! Never logs, stores or echoes a token: refusals name the check that failed and
//! at most the issuer or key id, which are public.

mod claims;
mod keys;

pub use claims::{Verified, apply, identity};
pub use keys::{KeyCache, get_json};

use crate::approval::protocol::{ErrorCode, IdToken};
use crate::server::config::OidcIssuerConfig;
use crate::server::rules::Refusal;
use base64ct::{Base64UrlUnpadded, Encoding};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::time::Duration;

/// A token's claims.
pub type Claims = serde_json::Map<String, serde_json::Value>;

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY: u64 = 30;
/// How long one fetch of an issuer's discovery document or keys may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed(String),
    UnsupportedAlgorithm(String),
    UnknownIssuer(String),
    WrongIssuer,
    WrongAudience(String),
    Expired,
    NotYetValid,
    UnknownKeyId(String),
    BadSignature,
    MissingClaim(String),
    /// The issuer's keys could not be fetched: not the token's fault.
    KeysUnavailable(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Malformed(detail) => write!(f, "the ID token is malformed: {detail}"),
            TokenError::UnsupportedAlgorithm(alg) => write!(
                f,
                "the ID token uses an unsupported algorithm ({alg}); only RS256 and ES256 are accepted"
            ),
            TokenError::UnknownIssuer(iss) => write!(
                f,
                "the ID token's issuer is wrong: {iss:?} is not a trusted issuer ([[oidc]] in the broker config)"
            ),
            TokenError::WrongIssuer => f.write_str("the ID token's issuer is wrong"),
            TokenError::WrongAudience(expected) => write!(
                f,
                "the ID token has the wrong audience: it must include {expected:?}"
            ),
            TokenError::Expired => f.write_str("the ID token has expired"),
            TokenError::NotYetValid => f.write_str("the ID token is not valid yet (nbf)"),
            TokenError::UnknownKeyId(kid) => write!(
                f,
                "the ID token's key id {kid:?} is unknown: the issuer does not publish such a key"
            ),
            TokenError::BadSignature => {
                f.write_str("the ID token's signature does not verify (bad signature)")
            }
            TokenError::MissingClaim(claim) => {
                write!(f, "the ID token lacks the required claim {claim:?}")
            }
            TokenError::KeysUnavailable(problem) => write!(
                f,
                "cannot verify the ID token: the issuer's keys could not be fetched ({problem})"
            ),
        }
    }
}

impl From<TokenError> for Refusal {
    fn from(err: TokenError) -> Refusal {
        let (status, code) = match err {
            TokenError::KeysUnavailable(_) => (503, ErrorCode::IdTokenUnverifiable),
            _ => (401, ErrorCode::InvalidIdToken),
        };
        let mut refusal = Refusal::new(status, code, err.to_string());
        refusal.field = Some("id_token".into());
        refusal
    }
}

/// The trusted issuers and their cached keys.
#[derive(Debug)]
pub struct Verifier {
    issuers: Vec<Trusted>,
    http: reqwest::Client,
}

#[derive(Debug)]
struct Trusted {
    config: OidcIssuerConfig,
    /// The configured audience, else the broker's public URL.
    audience: String,
    keys: tokio::sync::Mutex<KeyCache>,
}

impl Verifier {
    /// A verifier for `issuers`; an issuer without an audience gets `public_url`.
    pub fn new(issuers: &[OidcIssuerConfig], public_url: &str) -> Result<Verifier, String> {
        crate::approval::client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("[[oidc]]: cannot build the HTTP client: {e}"))?;
        let issuers = issuers
            .iter()
            .map(|config| Trusted {
                audience: config
                    .audience
                    .clone()
                    .unwrap_or_else(|| public_url.to_string()),
                config: config.clone(),
                keys: tokio::sync::Mutex::new(KeyCache::default()),
            })
            .collect();
        Ok(Verifier { issuers, http })
    }

    /// Each issuer with the audience its tokens must carry (`GET /v1/oidc`).
    pub fn audiences(&self) -> impl Iterator<Item = (&OidcIssuerConfig, &str)> {
        self.issuers
            .iter()
            .map(|trusted| (&trusted.config, trusted.audience.as_str()))
    }

    /// The CI identity `token` proves, or why it proves nothing.
    pub async fn verify(&self, token: &IdToken) -> Result<Verified, TokenError> {
        let jwt = token.expose();
        let unverified = Unverified::read(jwt)?;
        let trusted = self
            .issuers
            .iter()
            .find(|t| t.config.issuer == unverified.issuer.trim_end_matches('/'))
            .ok_or_else(|| TokenError::UnknownIssuer(unverified.issuer.clone()))?;
        let claims = decode(
            jwt,
            &unverified,
            &trusted.config.issuer,
            trusted.config.jwks_url.as_deref(),
            &trusted.audience,
            &trusted.keys,
            &self.http,
        )
        .await?;
        identity(&claims, &trusted.config)
    }
}

/// The claims of `jwt` once its signature verifies with one of `issuer`'s keys
/// (from `jwks_url`, else its discovery document) and its `iss`, `aud`
/// (containing `audience`), `exp`, `nbf` and `sub` hold. Shared by CI tokens and
/// web sign-in ([`crate::server::sso`]).
pub async fn decode(
    jwt: &str,
    unverified: &Unverified,
    issuer: &str,
    jwks_url: Option<&str>,
    audience: &str,
    keys: &tokio::sync::Mutex<KeyCache>,
    http: &reqwest::Client,
) -> Result<Claims, TokenError> {
    let kid = unverified
        .kid
        .clone()
        .ok_or_else(|| TokenError::UnknownKeyId("(none)".into()))?;
    let jwk = keys.lock().await.key(&kid, issuer, jwks_url, http).await?;
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|e| TokenError::KeysUnavailable(format!("key {kid:?} is unusable: {e}")))?;
    let mut validation = Validation::new(unverified.algorithm);
    validation.leeway = LEEWAY;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(jwt, &key, &validation)
        .map_err(|e| rejected(e.into_kind(), audience))?;
    Ok(data.claims)
}

fn rejected(kind: ErrorKind, audience: &str) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAudience => TokenError::WrongAudience(audience.to_string()),
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenError::UnsupportedAlgorithm("does not match the issuer's key".into())
        }
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim),
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) => TokenError::BadSignature,
        other => TokenError::Malformed(format!("{other:?}")),
    }
}

/// What the token says about itself before anything is verified: only used to
/// pick the issuer, the key and the algorithm, each then checked.
#[derive(Debug)]
pub struct Unverified {
    algorithm: Algorithm,
    kid: Option<String>,
    pub issuer: String,
}

impl Unverified {
    pub fn read(jwt: &str) -> Result<Unverified, TokenError> {
        let mut parts = jwt.split('.');
        let (Some(header), Some(payload), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed(
                "not three dot-separated parts".into(),
            ));
        };
        let header = segment(header, "header")?;
        let alg = header.get("alg").and_then(|v| v.as_str()).unwrap_or("");
        let algorithm = match alg {
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => return Err(TokenError::UnsupportedAlgorithm(format!("alg {other:?}"))),
        };
        let kid = header.get("kid").and_then(|v| v.as_str()).map(String::from);
        let issuer = segment(payload, "payload")?
            .get("iss")
            .and_then(|v| v.as_str())
            .map(String::from)
            .ok_or_else(|| TokenError::MissingClaim("iss".into()))?;
        Ok(Unverified {
            algorithm,
            kid,
            issuer,
        })
    }
}

fn segment(text: &str, what: &str) -> Result<serde_json::Value, TokenError> {
    let bytes = Base64UrlUnpadded::decode_vec(text)
        .map_err(|_| TokenError::Malformed(format!("the {what} is not base64url")))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| TokenError::Malformed(format!("the {what} is not JSON")))?;
    if !value.is_object() {
        return Err(TokenError::Malformed(format!(
            "the {what} is not an object"
        )));
    }
    Ok(value)
}
