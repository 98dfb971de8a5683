//! The HTTP client for the broker's `/v1` API, used by the requester (`gate -- CMD`)
//! and the approver commands. Async (reqwest on tokio); callers own the runtime.

use super::installation::Installation;
use super::protocol::{
    API_PREFIX, ApiError, ChainHead, Choice, Created, DecideBody, EnrollBody, Enrolled, ErrorCode,
    ForwardBody, HeadQuery, NewRequest, PolicyHistory, PublishBody, RequestList, RequestView,
};
use super::signature;
use super::signed_policy::SignedPolicy;
use serde::de::DeserializeOwned;
use std::sync::Once;
use std::time::Duration;

/// How long to wait for a connection before calling the broker unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Slack on top of a long-poll's own wait before a read counts as lost.
const READ_GRACE: Duration = Duration::from_secs(10);

/// What went wrong talking to the broker.
#[derive(Debug)]
pub enum ClientError {
    /// No answer: connection refused, DNS, TLS, timeout. The URL tried is named.
    Unreachable { url: String, detail: String },
    /// The broker answered with an error.
    Api { status: u16, error: ApiError },
    /// The broker answered with something that is not this API.
    Protocol { url: String, detail: String },
}

impl ClientError {
    /// The broker's error code (`already_decided`, `not_found`, ...), if it answered.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { error, .. } => Some(error.error.code),
            _ => None,
        }
    }

    /// The broker's own one-line explanation, if it answered.
    pub fn message(&self) -> Option<&str> {
        match self {
            ClientError::Api { error, .. } => Some(&error.error.message),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Unreachable { url, detail } => {
                write!(f, "cannot reach the gate broker at {url}: {detail}")
            }
            ClientError::Api { status, error } => {
                let body = &error.error;
                match &body.field {
                    Some(field) => {
                        write!(f, "broker refused ({status}, {field}): {}", body.message)
                    }
                    None => write!(f, "broker refused ({status}): {}", body.message),
                }
            }
            ClientError::Protocol { url, detail } => {
                write!(f, "unexpected answer from {url}: {detail}")
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// A client for one broker.
#[derive(Debug, Clone)]
pub struct BrokerClient {
    base: String,
    http: reqwest::Client,
    /// Signs requests, claims and cancels when this machine is enrolled.
    installation: Option<Installation>,
}

impl BrokerClient {
    /// A client for the broker at `base` (e.g. `http://127.0.0.1:8787`).
    pub fn new(base: &str) -> Result<BrokerClient, ClientError> {
        install_crypto_provider();
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Unreachable {
                url: base,
                detail: "the broker URL must start with http:// or https://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("gate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base.clone(),
                detail: e.to_string(),
            })?;
        Ok(BrokerClient {
            base,
            http,
            installation: None,
        })
    }

    /// The same client, signing what a requester sends as `installation`.
    pub fn signed_by(mut self, installation: Option<Installation>) -> BrokerClient {
        self.installation = installation;
        self
    }

    /// The broker's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /v1/requests`.
    pub async fn create(&self, request: &NewRequest) -> Result<Created, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Protocol {
            url: self.url("/requests"),
            detail: e.to_string(),
        })?;
        let call = self.signed_post("/requests", body)?;
        self.send(self.url("/requests"), call.timeout(READ_GRACE * 3))
            .await
    }

    /// `POST /v1/audit/records`: forward signed audit records; the broker's
    /// head after taking them.
    pub async fn forward(&self, body: &ForwardBody) -> Result<ChainHead, ClientError> {
        self.signed_json("/audit/records", body).await
    }

    /// `POST /v1/audit/head`: the newest record the broker holds of an installation.
    pub async fn audit_head(&self, installation: &str) -> Result<ChainHead, ClientError> {
        let query = HeadQuery {
            installation: installation.to_string(),
        };
        self.signed_json("/audit/head", &query).await
    }

    async fn signed_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Protocol {
            url: self.url(path),
            detail: e.to_string(),
        })?;
        let call = self.signed_post(path, bytes)?;
        self.send(self.url(path), call.timeout(READ_GRACE * 3))
            .await
    }

    /// `POST /v1/enroll`: register this installation's public key with a
    /// one-time code.
    pub async fn enroll(&self, body: &EnrollBody) -> Result<Enrolled, ClientError> {
        let url = self.url("/enroll");
        let call = self.http.post(&url).json(body).timeout(READ_GRACE * 3);
        self.send(url, call).await
    }

    /// `GET /v1/requests/{id}`, long-polling up to `wait` for a version above `since`.
    pub async fn get(
        &self,
        id: &str,
        token: &str,
        wait: Option<Duration>,
        since: Option<u64>,
    ) -> Result<RequestView, ClientError> {
        let url = self.url(&format!("/requests/{id}"));
        let call = self.http.get(&url).bearer_auth(token);
        self.send(url, long_poll(call, wait, since)).await
    }

    /// `GET /v1/requests?status=pending`, long-polling for a broker version above `since`.
    pub async fn pending(
        &self,
        token: &str,
        wait: Option<Duration>,
        since: Option<u64>,
    ) -> Result<RequestList, ClientError> {
        let url = self.url("/requests");
        let call = self
            .http
            .get(&url)
            .bearer_auth(token)
            .query(&[("status", "pending")]);
        self.send(url, long_poll(call, wait, since)).await
    }

    /// `POST /v1/requests/{id}/decision` with an approver's token.
    pub async fn decide(
        &self,
        id: &str,
        token: &str,
        verdict: Choice,
        reason: Option<String>,
        channel: &str,
    ) -> Result<RequestView, ClientError> {
        let url = self.url(&format!("/requests/{id}/decision"));
        let body = DecideBody {
            verdict,
            reason,
            channel: Some(channel.to_string()),
        };
        let call = self.http.post(&url).bearer_auth(token).json(&body);
        self.send(url, call.timeout(READ_GRACE * 3)).await
    }

    /// `POST /v1/requests/{id}/cancel` with the requester's token.
    pub async fn cancel(&self, id: &str, token: &str) -> Result<RequestView, ClientError> {
        let path = format!("/requests/{id}/cancel");
        let call = self.signed_post(&path, Vec::new())?.bearer_auth(token);
        self.send(self.url(&path), call.timeout(READ_GRACE)).await
    }

    /// `POST /v1/requests/{id}/claim` with the requester's token: use the approval
    /// once. A second claim is refused (409), so an approval runs one command.
    pub async fn claim(&self, id: &str, token: &str) -> Result<RequestView, ClientError> {
        let path = format!("/requests/{id}/claim");
        let call = self.signed_post(&path, Vec::new())?.bearer_auth(token);
        self.send(self.url(&path), call.timeout(READ_GRACE)).await
    }

    /// A POST of `body` (JSON, or nothing) to `path` under the API, signed by the
    /// installation when there is one. The signature covers the API path
    /// (`/v1/...`), whatever prefix the base URL adds in front of it.
    fn signed_post(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let url = self.url(path);
        let mut call = self.http.post(&url);
        if let Some(installation) = &self.installation {
            let signed = signature::sign(
                &installation.key,
                &installation.name,
                "POST",
                &format!("{API_PREFIX}{path}"),
                &body,
            )
            .map_err(|detail| ClientError::Unreachable {
                url: url.clone(),
                detail,
            })?;
            for (name, value) in signed.pairs() {
                call = call.header(name, value);
            }
        }
        if !body.is_empty() {
            call = call
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        Ok(call)
    }

    /// `GET /v1/policy`: the organisation policy in force, signed.
    pub async fn policy(&self) -> Result<SignedPolicy, ClientError> {
        let url = self.url("/policy");
        let call = self.http.get(&url).timeout(READ_GRACE);
        self.send(url, call).await
    }

    /// `POST /v1/policy` with an approver's token: publish a new version.
    pub async fn publish_policy(
        &self,
        token: &str,
        body: &PublishBody,
    ) -> Result<Created, ClientError> {
        let url = self.url("/policy");
        let call = self.http.post(&url).bearer_auth(token).json(body);
        self.send(url, call.timeout(READ_GRACE * 3)).await
    }

    /// `GET /v1/policy/history` with an approver's token.
    pub async fn policy_history(&self, token: &str) -> Result<PolicyHistory, ClientError> {
        let url = self.url("/policy/history");
        let call = self.http.get(&url).bearer_auth(token);
        self.send(url, call.timeout(READ_GRACE)).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        url: String,
        call: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = call.send().await.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            detail: describe(&e),
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: url.clone(),
                detail: describe(&e),
            })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
                url,
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(error) => Err(ClientError::Api {
                status: status.as_u16(),
                error,
            }),
            Err(_) => Err(ClientError::Protocol {
                url,
                detail: format!("HTTP {status} without a gate error body"),
            }),
        }
    }
}

fn long_poll(
    call: reqwest::RequestBuilder,
    wait: Option<Duration>,
    since: Option<u64>,
) -> reqwest::RequestBuilder {
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(wait) = wait {
        query.push(("wait", wait.as_secs().to_string()));
    }
    if let Some(since) = since {
        query.push(("since", since.to_string()));
    }
    call.query(&query)
        .timeout(wait.unwrap_or_default() + READ_GRACE)
}

/// The innermost cause, which is the informative part ("Connection refused").
fn describe(err: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    if err.is_timeout() {
        return "timed out".to_string();
    }
    source.to_string()
}

/// reqwest is built without a default TLS crypto provider; use ring's, once.
pub(crate) fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
