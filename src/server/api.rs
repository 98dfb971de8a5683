//! The `/v1` HTTP API (axum): routes, who may call each one, and refusals as
//! JSON [`ApiError`]s. Decoding input is `input`'s job, the rules are in `rules`,
//! the state in `state`; handlers only connect them.

use super::enrollment::{Caller, Signed};
use super::input::{BODY_LIMIT, Body, Id, LongPoll, RawQuery, bearer, unauthorized};
use super::rules::{self, Refusal, Request};
use super::state::Broker;
use super::token;
use crate::approval::protocol::ErrorCode;
use crate::approval::protocol::{
    API_PREFIX, ApiError, Created, DecideBody, EnrollBody, Enrolled, ErrorBody, NewRequest,
    OidcInfo, OidcIssuer, PolicyHistory, PublishBody, RequestList, RequestView,
};
use crate::approval::signed_policy::{PolicyPayload, SignedPolicy};
use crate::server::config::OrgPolicy;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use std::time::SystemTime;

/// The channels a vote over this API may claim.
const TOKEN_CHANNELS: &[&str] = &["api", "cli", "inbox"];

type Shared = State<Arc<Broker>>;
type Answer<T> = Result<T, Refusal>;

pub fn router(broker: Arc<Broker>) -> Router {
    let api = Router::new()
        .route("/requests", post(create).get(pending))
        .route("/requests/{id}", get(read))
        .route("/requests/{id}/decision", post(decide))
        .route("/requests/{id}/cancel", post(cancel))
        .route("/requests/{id}/claim", post(claim))
        .route("/policy", get(policy).post(publish))
        .route("/policy/history", get(policy_history))
        .route("/enroll", post(enroll))
        .route("/audit/records", post(forward))
        .route("/audit/head", post(head))
        .route("/pubkey", get(pubkey))
        .route("/oidc", get(oidc))
        .route("/health", get(health))
        .route("/ready", get(ready));
    Router::new()
        .route("/metrics", get(metrics))
        .nest(API_PREFIX, api)
        .fallback(|| async { Refusal::new(404, ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            Refusal::new(
                405,
                ErrorCode::MethodNotAllowed,
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(broker)
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self
            .retry_after
            .map(|after| after.as_secs().max(1).to_string());
        let body = ApiError {
            error: ErrorBody {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after.and_then(|s| s.parse().ok()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds);
        }
        response
    }
}

/// A new request, signed by an enrolled installation (or, where the broker does
/// not require enrollment, unsigned): who asks is recorded as the broker knows it.
async fn create(
    State(broker): Shared,
    Signed(caller, mut new): Signed<NewRequest>,
) -> Answer<Response> {
    caller.stamp(&mut new.requester);
    let ci_job = caller == Caller::CiJob;
    let (requester_token, request) = broker.create_as(new, ci_job).await?;
    let created = Created {
        requester_token,
        request: request.view.clone(),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn enroll(State(broker): Shared, Body(body): Body<EnrollBody>) -> Answer<Response> {
    let enrolled: Enrolled = broker.enrollments.enroll(body).await?;
    Ok((StatusCode::CREATED, Json(enrolled)).into_response())
}

/// `POST /v1/audit/records`: an installation forwards its signed audit records.
async fn forward(
    State(broker): Shared,
    Signed(caller, body): Signed<crate::approval::protocol::ForwardBody>,
) -> Answer<Json<crate::approval::protocol::ChainHead>> {
    let enrolled = match caller {
        Caller::Enrolled(name) => Some(name),
        Caller::Unverified => None,
        Caller::CiJob => return Err(not_enrolled_refusal()),
    };
    let now = rules::rfc3339(SystemTime::now());
    let offered = body.records.len() as u64;
    let taken = broker.ledger.ingest(enrolled, body, now).await;
    match &taken {
        Ok(_) => broker.metrics.forwarded(offered, 0),
        Err(refusal) if refusal.code == ErrorCode::ChainBroken => broker.metrics.forwarded(0, 1),
        Err(_) => {}
    }
    Ok(Json(taken?))
}

/// `POST /v1/audit/head`: the newest record the broker holds of an installation
/// (an enrolled caller may ask only for its own).
async fn head(
    State(broker): Shared,
    Signed(caller, query): Signed<crate::approval::protocol::HeadQuery>,
) -> Answer<Json<crate::approval::protocol::ChainHead>> {
    if let Caller::Enrolled(name) = &caller
        && *name != query.installation
    {
        return Err(Refusal::field(
            "installation",
            format!("installation \"{name}\" may ask only for its own head"),
        ));
    }
    Ok(Json(broker.ledger.head(query.installation).await?))
}

async fn read(
    State(broker): Shared,
    Id(id): Id,
    headers: HeaderMap,
    query: RawQuery,
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
    query: RawQuery,
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
    Id(id): Id,
    headers: HeaderMap,
    Body(mut body): Body<DecideBody>,
) -> Answer<Json<RequestView>> {
    let person = approver(&broker, &headers).await?;
    // A token proves a token, not a Slack click or a web session: those channels
    // record their own votes.
    let channel = body.channel.get_or_insert_with(|| "api".to_string());
    if !TOKEN_CHANNELS.contains(&channel.as_str()) {
        let message = format!("channel must be one of {}", TOKEN_CHANNELS.join(", "));
        return Err(Refusal::field("channel", message));
    }
    let decided = broker
        .vote(&id, &person, body.verdict, body.reason, channel.as_str())
        .await?;
    Ok(Json(decided.view.clone()))
}

async fn cancel(
    State(broker): Shared,
    Id(id): Id,
    headers: HeaderMap,
    caller: Caller,
) -> Answer<Json<RequestView>> {
    ci_job_owns(&broker, &caller, &id).await?;
    requester_change(&broker, &id, &headers, rules::cancel).await
}

/// An unenrolled CI job may claim or cancel only a request the broker admitted
/// on its verified ID token.
async fn ci_job_owns(broker: &Arc<Broker>, caller: &Caller, id: &str) -> Answer<()> {
    if *caller != Caller::CiJob {
        return Ok(());
    }
    let request = broker.get(id).await?.ok_or_else(not_found)?;
    if request.view.ci_identity.is_none() {
        return Err(not_enrolled_refusal());
    }
    Ok(())
}

fn not_enrolled_refusal() -> Refusal {
    Refusal::new(
        401,
        ErrorCode::NotEnrolled,
        format!(
            "this broker only accepts requests signed by an enrolled installation; {}",
            super::enrollment::HOW_TO_ENROLL
        ),
    )
}

async fn claim(
    State(broker): Shared,
    Id(id): Id,
    headers: HeaderMap,
    caller: Caller,
) -> Answer<Json<RequestView>> {
    ci_job_owns(&broker, &caller, &id).await?;
    let now = SystemTime::now();
    requester_change(&broker, &id, &headers, |request| rules::claim(request, now)).await
}

/// A change only the request's own requester token may make.
async fn requester_change(
    broker: &Arc<Broker>,
    id: &str,
    headers: &HeaderMap,
    rule: impl Fn(&Request) -> Result<Request, Refusal>,
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

/// The organisation policy in force, signed with the broker's key.
async fn policy(State(broker): Shared) -> Json<SignedPolicy> {
    let in_force = broker.policy_in_force();
    let payload = PolicyPayload {
        kind: "gate-policy".into(),
        version: in_force.org.version.clone(),
        since: in_force.since.clone(),
        served_at: rules::rfc3339(SystemTime::now()),
    };
    Json(SignedPolicy::sign(
        &payload,
        &in_force.org.text,
        &broker.key,
    ))
}

/// A new version, checked (it parses and its own `[[test]]` cases pass) before
/// it becomes a request for `[policy] admins`.
async fn publish(
    State(broker): Shared,
    headers: HeaderMap,
    Body(body): Body<PublishBody>,
) -> Answer<Response> {
    let person = approver(&broker, &headers).await?;
    let label = "the published policy";
    let org = OrgPolicy::parse(&body.text, label).map_err(|errors| {
        let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
        Refusal::field(
            "text",
            format!(
                "the policy does not parse ({} problems); first: {first}",
                errors.len()
            ),
        )
    })?;
    let failing: Vec<String> = org
        .policy
        .run_tests()
        .into_iter()
        .filter(|outcome| !outcome.passed())
        .map(|outcome| {
            format!(
                "line {}: {} -> expected {}, got {}",
                outcome.case.line,
                outcome.case.command,
                outcome.case.expect.as_str(),
                outcome.actual.as_str()
            )
        })
        .collect();
    if !failing.is_empty() {
        return Err(Refusal::field(
            "text",
            format!("the policy's own tests fail: {}", failing.join("; ")),
        ));
    }
    let request = broker.publish_policy(&person, org, body.reason).await?;
    let created = Created {
        // Nobody claims a publication: the token is never shown.
        requester_token: String::new(),
        request: request.view.clone(),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Every published version and who published and approved it (approvers only).
async fn policy_history(State(broker): Shared, headers: HeaderMap) -> Answer<Json<PolicyHistory>> {
    approver(&broker, &headers).await?;
    let versions = broker
        .policy_history()
        .await?
        .into_iter()
        .map(|version| version.view)
        .collect();
    Ok(Json(PolicyHistory {
        in_force: broker.policy_in_force().org.version.clone(),
        versions,
    }))
}

async fn pubkey(State(broker): Shared) -> Json<serde_json::Value> {
    let pem = crate::keys::public_key_pem(&broker.key.verifying_key());
    Json(serde_json::json!({ "public_key_pem": pem }))
}

/// The trusted issuers and the audience each one's tokens must carry: public
/// (a job fetches it before it has any credential), and nothing in it is secret.
async fn oidc(State(broker): Shared) -> Json<OidcInfo> {
    let issuers = broker
        .oidc
        .audiences()
        .map(|(config, audience)| OidcIssuer {
            issuer: config.issuer.clone(),
            system: config.system.as_str().to_string(),
            audience: audience.to_string(),
        })
        .collect();
    Json(OidcInfo { issuers })
}

/// Liveness: the process answers.
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the store answers too (503 otherwise, so a load balancer sends
/// requests to another replica).
async fn ready(State(broker): Shared) -> Response {
    match broker.store_ready().await {
        Ok(()) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(detail) => {
            crate::serve_log!("gate serve: not ready: {detail}");
            let body = serde_json::json!({ "status": "unavailable", "detail": detail });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `GET /metrics`: the Prometheus text format (crate::server::metrics).
async fn metrics(State(broker): Shared) -> Response {
    let text = broker.metrics.render(broker.pending_count());
    let mut response = text.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    response
}

/// The person behind the request's approver token.
async fn approver(broker: &Broker, headers: &HeaderMap) -> Answer<String> {
    let secret = bearer(headers)?;
    broker.approver(secret).await?.ok_or_else(unauthorized)
}

fn not_found() -> Refusal {
    Refusal::new(404, ErrorCode::NotFound, "no request with this id")
}
