//! Turning HTTP input into typed values or field-named refusals: the JSON body
//! extractor (every serde, JSON, size or content-type problem is a 4xx
//! [`ApiError`](crate::approval::protocol::ApiError) naming the field), the
//! long-poll query, and the bearer token.

use super::rules::Refusal;
use crate::approval::protocol::ErrorCode;
use crate::approval::protocol::MAX_WAIT_SECONDS;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request as HttpRequest};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::time::Duration;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The refusal for a missing or unknown bearer token.
pub fn unauthorized() -> Refusal {
    Refusal::new(
        401,
        ErrorCode::Unauthorized,
        "missing or unknown token: pass Authorization: Bearer TOKEN",
    )
}

/// A request id from the path; a path axum cannot decode is 404 `not_found`
/// (no request has such an id), never axum's plain-text rejection.
pub struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refusal> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Id(id)),
            Err(_) => Err(Refusal::new(
                404,
                ErrorCode::NotFound,
                "no request with this id",
            )),
        }
    }
}

/// The query string as axum hands it over, rejection included.
pub type RawQuery = Result<Query<HashMap<String, String>>, QueryRejection>;

/// The secret of an `Authorization: Bearer ...` header.
pub fn bearer(headers: &HeaderMap) -> Result<&str, Refusal> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            let (scheme, secret) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(secret)
        })
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .ok_or_else(unauthorized)
}

/// `?wait=SECONDS&since=VERSION&status=...`.
pub struct LongPoll {
    pub wait: Duration,
    pub since: Option<u64>,
    pub status: Option<String>,
}

impl LongPoll {
    pub fn parse(query: RawQuery) -> Result<LongPoll, Refusal> {
        let Query(mut query) = query.map_err(|e| Refusal::field("query", e.body_text()))?;
        let number = |name: &str, text: Option<String>| -> Result<Option<u64>, Refusal> {
            text.map(|text| {
                text.parse::<u64>().map_err(|_| {
                    Refusal::field(
                        name,
                        format!("{name} must be a whole number, not \"{text}\""),
                    )
                })
            })
            .transpose()
        };
        let wait = number("wait", query.remove("wait"))?
            .unwrap_or(0)
            .min(MAX_WAIT_SECONDS);
        let since = number("since", query.remove("since"))?;
        let status = query.remove("status");
        if let Some(name) = query.keys().next() {
            return Err(Refusal::field(
                name,
                format!("unknown query parameter \"{name}\""),
            ));
        }
        Ok(LongPoll {
            wait: Duration::from_secs(wait),
            // Waiting needs a version to wait past; `wait` alone waits for the next change.
            since,
            status,
        })
    }
}

/// A JSON body whose every rejection is a 400 [`ApiError`] naming the field.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Refusal;

    async fn from_request(request: HttpRequest, state: &S) -> Result<Self, Refusal> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            let mut refusal = Refusal::field(
                "content-type",
                "send the body as JSON with Content-Type: application/json",
            );
            refusal.status = 415;
            refusal.code = ErrorCode::UnsupportedMediaType;
            return Err(refusal);
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| {
                let message = format!("the body is larger than {BODY_LIMIT} bytes");
                Refusal::new(413, ErrorCode::TooLarge, message)
            })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            let field = named_field(&message)
                .map(|name| match path.as_str() {
                    "." => name.to_string(),
                    // An unknown field is already the last step of the path.
                    known if known.rsplit('.').next() == Some(name) => known.to_string(),
                    parent => format!("{parent}.{name}"),
                })
                .or_else(|| (path != ".").then_some(path))
                .unwrap_or_else(|| "body".to_string());
            Refusal::field(&field, format!("invalid request body: {message}"))
        })?;
        // One JSON value and nothing after it.
        deserializer
            .end()
            .map_err(|err| Refusal::field("body", format!("invalid request body: {err}")))?;
        Ok(Body(value))
    }
}

/// The field serde names in "unknown field `x`" and "missing field `x`".
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::{bearer, named_field};
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_required() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            bearer(&headers).ok().map(str::to_string)
        };
        assert_eq!(with("Bearer gate_x").as_deref(), Some("gate_x"));
        assert_eq!(with("bearer gate_x").as_deref(), Some("gate_x"));
        assert_eq!(with("Basic gate_x"), None);
        assert_eq!(with("Bearer "), None);
        assert!(bearer(&HeaderMap::new()).is_err());
    }

    #[test]
    fn serde_messages_give_their_field() {
        assert_eq!(
            named_field("unknown field `quorom`, expected one of"),
            Some("quorom")
        );
        assert_eq!(named_field("missing field `cwd` at line 1"), Some("cwd"));
        assert_eq!(named_field("invalid type: string"), None);
    }
}
