//! The extractors the requester's routes use: [`Signed`] (a JSON body and who
//! signed it) and [`Caller`] alone (claim, cancel). Both read the exact body
//! bytes and the signature headers and authenticate before anything else, so an
//! unenrolled requester is refused whatever it sent.

use super::super::input::{BODY_LIMIT, Body};
use super::super::rules::Refusal;
use super::super::state::Broker;
use crate::approval::protocol::{API_PREFIX, ErrorCode};
use crate::approval::signature::{
    INSTALLATION_HEADER, NONCE_HEADER, SIGNATURE_HEADER, SignedHeaders, TIMESTAMP_HEADER,
    valid_name, valid_nonce,
};
use crate::identity::Requester;
use axum::extract::{FromRequest, Request as HttpRequest};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Who sent a requester's call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Signed by this enrolled installation, verified.
    Enrolled(String),
    /// Unsigned, accepted because the broker does not require enrollment.
    Unverified,
    /// Unsigned on a broker that requires enrollment, let through only where a
    /// CI job's OIDC ID token stands in for it: a new request that carries one
    /// (the broker then admits it only if the token verifies), and the claim or
    /// cancel of a request whose CI identity the broker verified. Every handler
    /// that sees this must hold the caller to exactly that.
    CiJob,
}

impl Caller {
    /// Record who asks as the broker knows it: a verified request's host is its
    /// installation's enrolled name, whatever it claimed; an unverified one
    /// keeps its claim, marked as such.
    pub fn stamp(&self, requester: &mut Requester) {
        requester.host = match self {
            Caller::Enrolled(name) => name.clone(),
            Caller::Unverified => format!("{} (unverified)", requester.host),
            Caller::CiJob => format!("{} (CI job, not enrolled)", requester.host),
        };
    }
}

/// A JSON body, and who signed the request carrying it.
#[derive(Debug)]
pub struct Signed<T>(pub Caller, pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Broker>> for Signed<T> {
    type Rejection = Refusal;

    async fn from_request(request: HttpRequest, broker: &Arc<Broker>) -> Result<Self, Refusal> {
        let (parts, bytes) = authenticated(request, broker).await?;
        let caller = parts.0;
        let request = HttpRequest::from_parts(parts.1, axum::body::Body::from(bytes));
        let Body(value) = Body::<T>::from_request(request, broker).await?;
        Ok(Signed(caller, value))
    }
}

impl FromRequest<Arc<Broker>> for Caller {
    type Rejection = Refusal;

    async fn from_request(request: HttpRequest, broker: &Arc<Broker>) -> Result<Self, Refusal> {
        let ((caller, _), _) = authenticated(request, broker).await?;
        Ok(caller)
    }
}

async fn authenticated(
    request: HttpRequest,
    broker: &Arc<Broker>,
) -> Result<((Caller, Parts), axum::body::Bytes), Refusal> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        let message = format!("the body is larger than {BODY_LIMIT} bytes");
        Refusal::new(413, ErrorCode::TooLarge, message)
    })?;
    let signed = signature_headers(&parts.headers)?;
    let path = api_path(parts.uri.path());
    let required = broker.config.require_enrollment.0;
    if signed.is_none() && required && ci_job_may_ask(parts.method.as_str(), &path, &bytes) {
        return Ok(((Caller::CiJob, parts), bytes));
    }
    let caller = broker
        .enrollments
        .authenticate(
            signed,
            parts.method.as_str(),
            &api_path(parts.uri.path()),
            &bytes,
            broker.config.require_enrollment.0,
        )
        .await
        .inspect_err(|refusal| {
            crate::serve_log!(
                "gate serve: refused {} {}: {} ({})",
                parts.method,
                api_path(parts.uri.path()),
                refusal.message,
                refusal.code
            );
        })?;
    Ok(((caller, parts), bytes))
}

/// Whether an unsigned call is one a CI job's ID token can stand in for: a new
/// request that carries an `id_token`, or the claim or cancel of a request (the
/// handler then checks that request's CI identity was verified).
fn ci_job_may_ask(method: &str, path: &str, body: &[u8]) -> bool {
    if method != "POST" {
        return false;
    }
    if path == format!("{API_PREFIX}/requests") {
        let carries_token = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("id_token")?.as_str().map(|t| !t.trim().is_empty()))
            .unwrap_or(false);
        return carries_token;
    }
    let Some(rest) = path.strip_prefix(&format!("{API_PREFIX}/requests/")) else {
        return false;
    };
    matches!(rest.split_once('/'), Some((id, "claim" | "cancel")) if !id.is_empty() && !id.contains('/'))
}

/// The path a signature covers: the API's own (`/v1/...`). Routes nested under
/// the prefix see their path without it.
fn api_path(path: &str) -> String {
    if path.starts_with(&format!("{API_PREFIX}/")) {
        path.to_string()
    } else {
        format!("{API_PREFIX}{path}")
    }
}

/// The signature headers: `None` when there are none at all; a refusal when
/// some are missing or malformed.
fn signature_headers(headers: &HeaderMap) -> Result<Option<SignedHeaders>, Refusal> {
    let names = [
        INSTALLATION_HEADER,
        TIMESTAMP_HEADER,
        NONCE_HEADER,
        SIGNATURE_HEADER,
    ];
    let values: Vec<Option<&str>> = names
        .iter()
        .map(|name| headers.get(*name).and_then(|value| value.to_str().ok()))
        .collect();
    if names.iter().all(|name| headers.get(*name).is_none()) {
        return Ok(None);
    }
    let bad = |message: String| Refusal::new(401, ErrorCode::BadSignature, message);
    if let Some(missing) = names.iter().zip(&values).find(|(_, v)| v.is_none()) {
        return Err(bad(format!(
            "a signed request needs all of the headers {}; {} is missing or not text",
            names.join(", "),
            missing.0
        )));
    }
    let [installation, timestamp, nonce, signature] =
        [values[0], values[1], values[2], values[3]].map(|v| v.unwrap_or_default().trim());
    if !valid_name(installation) {
        return Err(bad(format!(
            "{INSTALLATION_HEADER} is not an installation name"
        )));
    }
    let timestamp = timestamp
        .parse::<u64>()
        .map_err(|_| bad(format!("{TIMESTAMP_HEADER} must be unix seconds")))?;
    if !valid_nonce(nonce) {
        return Err(bad(format!(
            "{NONCE_HEADER} must be 16 to 64 characters of letters, digits, '-' and '_'"
        )));
    }
    Ok(Some(SignedHeaders {
        installation: installation.to_string(),
        timestamp,
        nonce: nonce.to_string(),
        signature: signature.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn no_headers_is_unsigned_and_some_headers_are_refused() {
        assert_eq!(signature_headers(&HeaderMap::new()).unwrap(), None);
        let mut headers = HeaderMap::new();
        headers.insert(INSTALLATION_HEADER, HeaderValue::from_static("laptop"));
        let refusal = signature_headers(&headers).unwrap_err();
        assert_eq!(
            (refusal.status, refusal.code),
            (401, ErrorCode::BadSignature)
        );
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_static("12"));
        headers.insert(NONCE_HEADER, HeaderValue::from_static("0123456789abcdef"));
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_static("sig"));
        let signed = signature_headers(&headers).unwrap().unwrap();
        assert_eq!(
            (signed.installation.as_str(), signed.timestamp),
            ("laptop", 12)
        );
    }

    #[test]
    fn the_signed_path_is_the_api_path() {
        assert_eq!(api_path("/requests"), "/v1/requests");
        assert_eq!(api_path("/v1/requests/x/claim"), "/v1/requests/x/claim");
    }

    #[test]
    fn the_host_is_the_enrolled_name_or_marked_unverified() {
        let mut requester = Requester {
            user: "carol".into(),
            host: "prod-db-1".into(),
            ci: None,
            agent: None,
        };
        Caller::Enrolled("laptop-7".into()).stamp(&mut requester);
        assert_eq!(requester.host, "laptop-7");
        Caller::Unverified.stamp(&mut requester);
        assert_eq!(requester.host, "laptop-7 (unverified)");
    }
}
