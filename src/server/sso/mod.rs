//! Single sign-on to the web pages with OpenID Connect (`[sso]` in broker.toml):
//! the authorization code flow with PKCE (S256), `state` and `nonce`.
//!
//! `GET /sso/login?next=PATH` finds the provider's endpoints (discovery, cached),
//! keeps the sign-in's secrets on the server under a short-lived pre-login cookie
//! ([`pending`]) and sends the browser to the provider. `GET /sso/callback` takes
//! that sign-in (once), checks `state`, redeems the code with the PKCE verifier
//! ([`provider`]), verifies the ID token with the same code as CI tokens
//! ([`crate::server::oidc::decode`]: signature by the provider's JWKS, `iss`,
//! `aud` = client id, `exp`) and the sign-in's own claims (`nonce`, `azp`, `iat`),
//! takes the e-mail from the UserInfo endpoint when the ID token has none, maps
//! it to one `[people]` entry ([`identity`]) and lets the web pages start the
//! same session an approver token starts ([`Host::start_session`]), then goes to
//! `next`, a path on this broker only.
//!
//! Never logs, shows or stores the code, a token or the client secret; an
//! account that is nobody in `[people]` gets a page saying so and no session.
//!
//! Files: this one (the client, `/sso/login`), `callback`, `pending` (sign-ins
//! under way, where `next` may lead), `provider` (discovery, token and UserInfo
//! requests), `identity` (the sign-in's claim checks and the person, pure).

mod callback;
mod identity;
mod pending;
mod provider;

use crate::server::config::SsoConfig;
use crate::server::config::slack::Secret;
use crate::server::oidc::KeyCache;
use crate::server::state::Broker;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pending::PendingSignins;
use provider::{Metadata, MetadataCache};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// How long one call to the provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The web pages that sign-in serves: how they start a session and show a page.
pub trait Host: Send + Sync + 'static {
    /// `None` when `[sso]` is not configured.
    fn sso(&self) -> Option<&Sso>;
    fn broker(&self) -> &Broker;
    /// The path of `public_url` ("" at the root).
    fn base(&self) -> &str;
    /// Whether cookies get `Secure` (people reach the broker over https).
    fn secure(&self) -> bool;
    /// Sign `person` in with a new session and continue to `next`, a checked
    /// path on this broker.
    fn start_session(&self, person: &str, next: &str) -> Response;
    /// A page with only a message, with the pages' security headers.
    fn message(&self, code: StatusCode, title: &str, text: &str) -> Response;
}

/// The provider, the client the broker is there, and the sign-ins under way.
#[derive(Debug)]
pub struct Sso {
    config: SsoConfig,
    secret: Secret,
    /// `public_url` + `/sso/callback`.
    redirect_uri: String,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<MetadataCache>,
    keys: tokio::sync::Mutex<KeyCache>,
    pending: PendingSignins,
}

impl Sso {
    /// Sign-in with `config` for a broker at `public_url`; the client secret is
    /// read through `lookup` (the environment) when the config names a variable.
    /// Nothing is fetched until the first sign-in, so a provider that is down
    /// does not keep the broker from starting.
    pub fn new(
        config: &SsoConfig,
        public_url: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Sso, String> {
        crate::approval::client::install_crypto_provider();
        let secret = config.secret_from(lookup)?;
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("sso: cannot build the HTTP client: {e}"))?;
        Ok(Sso {
            config: config.clone(),
            secret,
            redirect_uri: format!("{}/sso/callback", public_url.trim_end_matches('/')),
            http,
            metadata: tokio::sync::Mutex::new(MetadataCache::default()),
            keys: tokio::sync::Mutex::new(KeyCache::default()),
            pending: PendingSignins::default(),
        })
    }

    async fn metadata(&self) -> Result<Metadata, String> {
        self.metadata
            .lock()
            .await
            .get(&self.config.issuer, &self.http)
            .await
    }
}

/// `/sso/login` and `/sso/callback`, for the web pages' router.
pub fn routes<H: Host>() -> Router<Arc<H>> {
    Router::new()
        .route("/sso/login", get(login::<H>))
        .route("/sso/callback", get(callback::callback::<H>))
}

/// The link the sign-in form offers: sign in with SSO and come back to `next`.
pub fn login_link(base: &str, next: &str) -> String {
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("{base}/sso/login?{query}")
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login<H: Host>(
    State(host): State<Arc<H>>,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let Some(sso) = host.sso() else {
        return not_configured(&*host);
    };
    let next = query.ok().and_then(|Query(query)| query.next);
    let next = pending::safe_next(next.as_deref(), host.base());
    let metadata = match sso.metadata().await {
        Ok(metadata) => metadata,
        Err(problem) => {
            crate::serve_log!("gate serve: sso: cannot reach the sign-in provider: {problem}");
            let text = "The single sign-on provider cannot be reached or is misconfigured; \
                        sign in with an approver token, or try again later.";
            return host.message(StatusCode::BAD_GATEWAY, "Sign-in unavailable", text);
        }
    };
    let (cookie, started) = match sso.pending.start(next) {
        Ok(started) => started,
        Err(problem) => {
            return host.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in unavailable",
                &problem,
            );
        }
    };
    let scope = sso.config.scopes.join(" ");
    let challenge = started.challenge();
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", sso.config.client_id.as_str()),
        ("redirect_uri", sso.redirect_uri.as_str()),
        ("scope", scope.as_str()),
        ("state", started.state.as_str()),
        ("nonce", started.nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    let endpoint = &metadata.authorization_endpoint;
    let joiner = if endpoint.contains('?') { '&' } else { '?' };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    set(
        headers,
        header::LOCATION,
        &format!("{endpoint}{joiner}{query}"),
    );
    set(
        headers,
        header::SET_COOKIE,
        &pending::set_cookie(&cookie, host.base(), host.secure()),
    );
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    response
}

fn not_configured<H: Host>(host: &H) -> Response {
    let text = "Single sign-on is not configured on this broker ([sso] in broker.toml); \
                sign in with an approver token.";
    host.message(StatusCode::NOT_FOUND, "Not configured", text)
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.append(name, value);
    }
}
