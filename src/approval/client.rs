//! The HTTP client for the broker's `/v1` API, used by the requester (`gate -- CMD`)
//! and the approver commands. Async (reqwest on tokio); callers own the runtime.
//!
//! A client may know several replicas of one broker ([`Brokers`]). Every call
//! goes to the one that answered last and, when that one does not answer (no
//! connection, a timeout, a 5xx), to the next, until one answers or all have
//! failed. An answer with a 4xx status is the broker's word and is never asked
//! of another replica. Nothing about what a broker says is trusted more for it:
//! decisions are still verified against the pinned key by the caller.

use super::brokers::Brokers;
use super::installation::Installation;
use super::protocol::{
    API_PREFIX, ApiError, ChainHead, Choice, Created, DecideBody, EnrollBody, Enrolled, ErrorCode,
    ForwardBody, HeadQuery, NewRequest, PolicyHistory, PublishBody, RequestList, RequestView,
};
use super::signature;
use super::signed_policy::SignedPolicy;
use crate::error::http_cause;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
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
    /// Several brokers were named and none answered; what each did, in the
    /// order they were tried.
    NoneAnswered { tried: Vec<Failure> },
}

/// One broker that did not answer, and how.
#[derive(Debug)]
pub struct Failure {
    pub url: String,
    pub detail: String,
}

impl Failure {
    fn of(base: &str, err: &ClientError) -> Failure {
        let detail = match err {
            ClientError::Unreachable { detail, .. } | ClientError::Protocol { detail, .. } => {
                detail.clone()
            }
            ClientError::Api { status, error } => format!("{status}: {}", error.error.message),
            ClientError::NoneAnswered { .. } => err.to_string(),
        };
        Failure {
            url: base.to_string(),
            detail,
        }
    }
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
        matches!(
            self,
            ClientError::Unreachable { .. } | ClientError::NoneAnswered { .. }
        )
    }

    /// Whether another replica should be asked instead: no answer, or a broker
    /// (or a proxy in front of it) failing on its side. A 4xx is an answer.
    pub fn fails_over(&self) -> bool {
        match self {
            ClientError::Unreachable { .. }
            | ClientError::Protocol { .. }
            | ClientError::NoneAnswered { .. } => true,
            ClientError::Api { status, .. } => *status >= 500,
        }
    }

    /// What is left when every broker failed: a single broker's own error, so
    /// one URL reads as it always did, else one error naming them all.
    fn from_failures(mut failures: Vec<(String, ClientError)>) -> ClientError {
        if failures.len() == 1 {
            return failures.pop().expect("one failure").1;
        }
        let tried = failures
            .iter()
            .map(|(base, err)| Failure::of(base, err))
            .collect();
        ClientError::NoneAnswered { tried }
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
            ClientError::NoneAnswered { tried } => {
                let each: Vec<String> = tried
                    .iter()
                    .map(|failure| format!("{}: {}", failure.url, failure.detail))
                    .collect();
                write!(f, "no gate broker answered ({})", each.join("; "))
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// A client for one broker, or for several replicas of it.
#[derive(Debug, Clone)]
pub struct BrokerClient {
    /// Base URLs, in the order they are first tried.
    bases: Vec<String>,
    /// The index in `bases` of the broker that answered last: the next call
    /// starts there. Shared by clones, which talk to the same brokers.
    current: Arc<AtomicUsize>,
    http: reqwest::Client,
    /// Signs requests, claims and cancels when this machine is enrolled.
    installation: Option<Installation>,
}

impl BrokerClient {
    /// A client for the broker at `urls` (e.g. `http://127.0.0.1:8787`), or for
    /// the replicas it lists (`https://a:8443,https://b:8443`).
    pub fn new(urls: &str) -> Result<BrokerClient, ClientError> {
        match Brokers::parse(urls) {
            Ok(Some(brokers)) => BrokerClient::of(&brokers),
            Ok(None) => Err(ClientError::Unreachable {
                url: urls.trim().to_string(),
                detail: "no broker URL given".into(),
            }),
            Err(bad) => Err(ClientError::Unreachable {
                url: bad.url,
                detail: bad.problem.into(),
            }),
        }
    }

    /// A client for `brokers`, tried in their order.
    pub fn of(brokers: &Brokers) -> Result<BrokerClient, ClientError> {
        install_crypto_provider();
        let bases = brokers.urls().to_vec();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("gate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: brokers.to_string(),
                detail: e.to_string(),
            })?;
        Ok(BrokerClient {
            bases,
            current: Arc::new(AtomicUsize::new(0)),
            http,
            installation: None,
        })
    }

    /// The same client, signing what a requester sends as `installation`.
    pub fn signed_by(mut self, installation: Option<Installation>) -> BrokerClient {
        self.installation = installation;
        self
    }

    /// The base URL of the broker in use: the one that answered last (the
    /// first one before any did).
    pub fn base(&self) -> &str {
        &self.bases[self.current.load(Ordering::Relaxed) % self.bases.len()]
    }

    /// Every base URL this client may use, in order, joined by `", "`.
    pub fn bases(&self) -> String {
        self.bases.join(", ")
    }

    /// `POST /v1/requests`.
    ///
    /// With several brokers, a create whose outcome is unknown (the connection
    /// dropped or timed out after the request was sent, or a 5xx) is sent to the
    /// next one: the request may then exist twice, and the first simply expires
    /// unanswered. Nothing is created twice otherwise; a 4xx is final.
    pub async fn create(&self, request: &NewRequest) -> Result<Created, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Protocol {
            url: self.url(self.base(), "/requests"),
            detail: e.to_string(),
        })?;
        self.call("/requests", |url, _| {
            Ok(self
                .signed_post(url, "/requests", body.clone())?
                .timeout(READ_GRACE * 3))
        })
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
            url: self.url(self.base(), path),
            detail: e.to_string(),
        })?;
        self.call(path, |url, _| {
            Ok(self
                .signed_post(url, path, bytes.clone())?
                .timeout(READ_GRACE * 3))
        })
        .await
    }

    /// `POST /v1/enroll`: register this installation's public key with a
    /// one-time code, at the first broker that answers.
    pub async fn enroll(&self, body: &EnrollBody) -> Result<Enrolled, ClientError> {
        self.call("/enroll", |url, _| {
            Ok(self.http.post(url).json(body).timeout(READ_GRACE * 3))
        })
        .await
    }

    /// `GET /v1/requests/{id}`, long-polling up to `wait` for a version above `since`.
    pub async fn get(
        &self,
        id: &str,
        token: &str,
        wait: Option<Duration>,
        since: Option<u64>,
    ) -> Result<RequestView, ClientError> {
        self.call(&format!("/requests/{id}"), |url, moved| {
            let call = self.http.get(url).bearer_auth(token);
            Ok(long_poll(call, wait, since, moved))
        })
        .await
    }

    /// `GET /v1/requests?status=pending`, long-polling for a broker version above `since`.
    pub async fn pending(
        &self,
        token: &str,
        wait: Option<Duration>,
        since: Option<u64>,
    ) -> Result<RequestList, ClientError> {
        self.call("/requests", |url, moved| {
            let call = self
                .http
                .get(url)
                .bearer_auth(token)
                .query(&[("status", "pending")]);
            Ok(long_poll(call, wait, since, moved))
        })
        .await
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
        let body = DecideBody {
            verdict,
            reason,
            channel: Some(channel.to_string()),
        };
        // A vote whose answer was lost and is sent again to another replica is
        // refused there as a second vote by the same person; it never counts twice.
        self.call(&format!("/requests/{id}/decision"), |url, _| {
            let call = self.http.post(url).bearer_auth(token).json(&body);
            Ok(call.timeout(READ_GRACE * 3))
        })
        .await
    }

    /// `POST /v1/requests/{id}/cancel` with the requester's token.
    pub async fn cancel(&self, id: &str, token: &str) -> Result<RequestView, ClientError> {
        let path = format!("/requests/{id}/cancel");
        self.call(&path, |url, _| {
            let call = self.signed_post(url, &path, Vec::new())?;
            Ok(call.bearer_auth(token).timeout(READ_GRACE))
        })
        .await
    }

    /// `POST /v1/requests/{id}/claim` with the requester's token: use the approval
    /// once. A second claim is refused (409), so an approval runs one command.
    /// A claim whose answer was lost and is sent again to another replica is
    /// refused there as already claimed: the command then does not run at all,
    /// which is the safe way to be wrong.
    pub async fn claim(&self, id: &str, token: &str) -> Result<RequestView, ClientError> {
        let path = format!("/requests/{id}/claim");
        self.call(&path, |url, _| {
            let call = self.signed_post(url, &path, Vec::new())?;
            Ok(call.bearer_auth(token).timeout(READ_GRACE))
        })
        .await
    }

    /// A POST of `body` (JSON, or nothing) to `url`, the API's `path` at one
    /// broker, signed by the installation when there is one. The signature
    /// covers the API path (`/v1/...`), whatever prefix the base URL adds in
    /// front of it, so it is signed afresh for each broker tried.
    fn signed_post(
        &self,
        url: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let mut call = self.http.post(url);
        if let Some(installation) = &self.installation {
            let signed = signature::sign(
                &installation.key,
                &installation.name,
                "POST",
                &format!("{API_PREFIX}{path}"),
                &body,
            )
            .map_err(|detail| ClientError::Unreachable {
                url: url.to_string(),
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
        self.call("/policy", |url, _| {
            Ok(self.http.get(url).timeout(READ_GRACE))
        })
        .await
    }

    /// `POST /v1/policy` with an approver's token: publish a new version.
    pub async fn publish_policy(
        &self,
        token: &str,
        body: &PublishBody,
    ) -> Result<Created, ClientError> {
        self.call("/policy", |url, _| {
            let call = self.http.post(url).bearer_auth(token).json(body);
            Ok(call.timeout(READ_GRACE * 3))
        })
        .await
    }

    /// `GET /v1/policy/history` with an approver's token.
    pub async fn policy_history(&self, token: &str) -> Result<PolicyHistory, ClientError> {
        self.call("/policy/history", |url, _| {
            Ok(self.http.get(url).bearer_auth(token).timeout(READ_GRACE))
        })
        .await
    }

    fn url(&self, base: &str, path: &str) -> String {
        format!("{base}{API_PREFIX}{path}")
    }

    /// Send the call `build` makes for the API's `path` to the broker in use;
    /// when it fails over ([`ClientError::fails_over`]), to the next, each at
    /// most once. The broker that answers is the one the next call starts with.
    /// `build` is told whether the broker is another than the one in use.
    async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        build: impl Fn(&str, bool) -> Result<reqwest::RequestBuilder, ClientError>,
    ) -> Result<T, ClientError> {
        let start = self.current.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        for step in 0..self.bases.len() {
            let index = (start + step) % self.bases.len();
            let base = &self.bases[index];
            let url = self.url(base, path);
            let result = match build(&url, step > 0) {
                Ok(call) => self.send(url, call).await,
                Err(err) => Err(err),
            };
            match result {
                Err(err) if err.fails_over() => failures.push((base.clone(), err)),
                answered => {
                    self.current.store(index, Ordering::Relaxed);
                    return answered;
                }
            }
        }
        Err(ClientError::from_failures(failures))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        url: String,
        call: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = call.send().await.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            detail: http_cause(&e),
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: url.clone(),
                detail: http_cause(&e),
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

/// `call` long-polling up to `wait` for a version above `since`. On a broker
/// just `moved` to, it asks for the current state at once instead: versions are
/// counted by each replica, so another one's `since` could hold back news.
fn long_poll(
    call: reqwest::RequestBuilder,
    wait: Option<Duration>,
    since: Option<u64>,
    moved: bool,
) -> reqwest::RequestBuilder {
    let (wait, since) = if moved { (None, None) } else { (wait, since) };
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

/// reqwest is built without a default TLS crypto provider; use ring's, once.
pub(crate) fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::protocol::ErrorBody;

    fn api(status: u16) -> ClientError {
        ClientError::Api {
            status,
            error: ApiError {
                error: ErrorBody {
                    code: ErrorCode::NotFound,
                    message: "no request with this id".into(),
                    field: None,
                },
            },
        }
    }

    fn unreachable(url: &str, detail: &str) -> ClientError {
        ClientError::Unreachable {
            url: url.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn only_a_broker_that_did_not_answer_fails_over() {
        assert!(unreachable("http://a/v1/requests", "timed out").fails_over());
        assert!(api(503).fails_over());
        assert!(api(500).fails_over());
        assert!(!api(404).fails_over(), "a 4xx is the broker's answer");
        assert!(!api(409).fails_over());
    }

    #[test]
    fn one_broker_failing_reads_as_it_always_did() {
        let only = vec![(
            "http://a".to_string(),
            unreachable("http://a/v1/requests", "Connection refused"),
        )];
        let err = ClientError::from_failures(only);
        assert_eq!(
            err.to_string(),
            "cannot reach the gate broker at http://a/v1/requests: Connection refused"
        );
    }

    #[test]
    fn every_broker_failing_names_each_in_one_line() {
        let failures = vec![
            (
                "https://a".to_string(),
                unreachable("https://a/v1/x", "Connection refused"),
            ),
            (
                "https://b".to_string(),
                unreachable("https://b/v1/x", "timed out"),
            ),
            ("https://c".to_string(), api(503)),
        ];
        let err = ClientError::from_failures(failures);
        assert!(err.is_unreachable());
        assert_eq!(
            err.to_string(),
            "no gate broker answered (https://a: Connection refused; https://b: timed out; \
             https://c: 503: no request with this id)"
        );
    }

    #[test]
    fn a_list_with_a_bad_url_names_it() {
        let err = BrokerClient::new("http://a:1, ftp://b").unwrap_err();
        assert!(err.to_string().contains("ftp://b"), "{err}");
        let client = BrokerClient::new("http://a:1/, http://b:2").unwrap();
        assert_eq!(client.base(), "http://a:1");
        assert_eq!(client.bases(), "http://a:1, http://b:2");
    }
}
