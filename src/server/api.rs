//! The `/v1` HTTP API (axum): routes, bearer-token authentication, and turning
//! every bad input into a 4xx [`ApiError`] that names the field. The rules are in
//! `rules`, the state in `state`; handlers only connect them.

use super::rules::{self, Refusal, Request};
use super::state::Broker;
use super::token;
use crate::approval::protocol::{
    API_PREFIX, ApiError, Created, DecideBody, ErrorBody, MAX_WAIT_SECONDS, NewRequest,
    RequestList, RequestView,
};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request as HttpRequest, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

type Shared = State<Arc<Broker>>;
type Answer<T> = Result<T, Refusal>;

pub fn router(broker: Arc<Broker>) -> Router {
    let api = Router::new()
        .route("/requests", post(create).get(pending))
        .route("/requests/{id}", get(read))
        .route("/requests/{id}/decision", post(decide))
        .route("/requests/{id}/cancel", post(cancel))
        .route("/requests/{id}/claim", post(claim))
        .route("/pubkey", get(pubkey))
        .route("/health", get(health));
    Router::new()
        .nest(API_PREFIX, api)
        .fallback(|| async { Refusal::new(404, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            Refusal::new(
                405,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(broker)
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ApiError {
            error: ErrorBody {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        (status, Json(body)).into_response()
    }
}

async fn create(State(broker): Shared, Body(new): Body<NewRequest>) -> Answer<Response> {
    let (requester_token, request) = broker.create(new).await?;
    let created = Created {
        requester_token,
        request: request.view.clone(),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn read(
    State(broker): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Answer<Json<RequestView>> {
    let secret = bearer(&headers)?;
    let poll = LongPoll::parse(query)?;
    let request = broker.get(&id).await?.ok_or_else(not_found)?;
    let requester = token::same(&token::hash(secret), &request.token_hash);
    if !requester && broker.approver(secret).await?.is_none() {
        return Err(unauthorized());
    }
    let request = match poll.since {
        Some(since) => broker.wait_request(request, since, poll.wait).await,
        None => request,
    };
    Ok(Json(request.view.clone()))
}

async fn pending(
    State(broker): Shared,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Answer<Json<RequestList>> {
    let person = approver(&broker, &headers).await?;
    let poll = LongPoll::parse(query)?;
    if poll
        .status
        .as_deref()
        .is_some_and(|status| status != "pending")
    {
        return Err(Refusal::field(
            "status",
            "only status=pending can be listed",
        ));
    }
    let (version, requests) = broker.wait_pending(&person, poll.since, poll.wait).await;
    Ok(Json(RequestList { version, requests }))
}

async fn decide(
    State(broker): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body<DecideBody>,
) -> Answer<Json<RequestView>> {
    let person = approver(&broker, &headers).await?;
    let (config, key) = (&broker.config, &broker.key);
    let decided = broker
        .change(&id, |request| {
            rules::vote(request, &person, &body, SystemTime::now(), config, key)
        })
        .await?;
    Ok(Json(decided.view.clone()))
}

async fn cancel(
    State(broker): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer<Json<RequestView>> {
    requester_change(&broker, &id, &headers, rules::cancel).await
}

async fn claim(
    State(broker): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer<Json<RequestView>> {
    let now = SystemTime::now();
    requester_change(&broker, &id, &headers, |request| rules::claim(request, now)).await
}

/// A change only the request's own requester token may make.
async fn requester_change(
    broker: &Broker,
    id: &str,
    headers: &HeaderMap,
    rule: impl FnOnce(&Request) -> Result<Request, Refusal>,
) -> Answer<Json<RequestView>> {
    let hash = token::hash(bearer(headers)?);
    let changed = broker
        .change(id, |request| {
            if !token::same(&hash, &request.token_hash) {
                return Err(unauthorized());
            }
            rule(request)
        })
        .await?;
    Ok(Json(changed.view.clone()))
}

async fn pubkey(State(broker): Shared) -> Json<serde_json::Value> {
    let pem = crate::audit::key::public_key_pem(&broker.key.verifying_key());
    Json(serde_json::json!({ "public_key_pem": pem }))
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The person behind the request's approver token.
async fn approver(broker: &Broker, headers: &HeaderMap) -> Answer<String> {
    let secret = bearer(headers)?;
    broker.approver(secret).await?.ok_or_else(unauthorized)
}

fn bearer(headers: &HeaderMap) -> Answer<&str> {
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

fn unauthorized() -> Refusal {
    Refusal::new(
        401,
        "unauthorized",
        "missing or unknown token: pass Authorization: Bearer TOKEN",
    )
}

fn not_found() -> Refusal {
    Refusal::new(404, "not_found", "no request with this id")
}

/// `?wait=SECONDS&since=VERSION&status=...`.
struct LongPoll {
    wait: Duration,
    since: Option<u64>,
    status: Option<String>,
}

impl LongPoll {
    fn parse(
        query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
    ) -> Answer<LongPoll> {
        let Query(mut query) = query.map_err(|e| Refusal::field("query", e.body_text()))?;
        let number = |name: &str, text: Option<String>| -> Answer<Option<u64>> {
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
struct Body<T>(T);

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
            refusal.code = "unsupported_media_type";
            return Err(refusal);
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| {
                let message = format!("the body is larger than {BODY_LIMIT} bytes");
                Refusal::new(413, "too_large", message)
            })?;
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(deserializer)
            .map(Body)
            .map_err(|err| {
                let path = err.path().to_string();
                let inner = err.into_inner();
                let message = inner.to_string();
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
            })
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
