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

mod identity;
mod pending;
mod provider;

use crate::server::config::SsoConfig;
use crate::server::config::slack::Secret;
use crate::server::config::sso::SsoClaim;
use crate::server::oidc::{self, KeyCache, Unverified};
use crate::server::state::Broker;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use identity::Refused;
use pending::PendingSignins;
use provider::{Client, Metadata, MetadataCache};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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
        .route("/sso/callback", get(callback::<H>))
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
            eprintln!("gate serve: sso: cannot reach the sign-in provider: {problem}");
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

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

async fn callback<H: Host>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let Some(sso) = host.sso() else {
        return not_configured(&*host);
    };
    // Taken whatever follows: a sign-in is tried once.
    let taken = sso.pending.take(&headers);
    let mut response = match query {
        Ok(Query(query)) => finish(&*host, sso, taken, query).await,
        Err(_) => refuse(
            &*host,
            StatusCode::BAD_REQUEST,
            "the provider's answer could not be read",
        ),
    };
    let clear = pending::clear_cookie(host.base(), host.secure());
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn finish<H: Host>(
    host: &H,
    sso: &Sso,
    taken: Option<pending::Pending>,
    query: CallbackQuery,
) -> Response {
    if let Some(error) = query.error {
        let error = provider::error_code(&error);
        eprintln!("gate serve: sso: the provider ended a sign-in with {error}");
        let text = match error.as_str() {
            "access_denied" => "The sign-in was cancelled or the provider denied it \
                                (access_denied); nobody was signed in."
                .to_string(),
            _ => format!(
                "The sign-in provider answered with an error ({error}); nobody was signed in."
            ),
        };
        return host.message(StatusCode::FORBIDDEN, "Not signed in", &text);
    }
    let Some(pending) = taken else {
        return refuse(
            host,
            StatusCode::BAD_REQUEST,
            "this sign-in was already used, has expired, or was not started in this browser; \
             start again from the sign-in page",
        );
    };
    if !query
        .state
        .as_deref()
        .is_some_and(|state| pending::state_matches(&pending, state))
    {
        return refuse(
            host,
            StatusCode::BAD_REQUEST,
            "the provider's answer does not belong to the sign-in this browser started (state)",
        );
    }
    if let Some(iss) = query.iss
        && iss.trim_end_matches('/') != sso.config.issuer
    {
        // RFC 9207: an answer from another provider.
        return refuse(
            host,
            StatusCode::BAD_REQUEST,
            "the answer came from another provider (iss)",
        );
    }
    let Some(code) = query.code.filter(|code| !code.is_empty()) else {
        return refuse(
            host,
            StatusCode::BAD_REQUEST,
            "the provider's answer carries no code",
        );
    };
    let person = match verify(host, sso, &pending, &code).await {
        Ok(person) => person,
        Err((code, why)) => return refuse(host, code, &why),
    };
    eprintln!("gate serve: web: {person} signed in with single sign-on");
    host.start_session(&person, &pending.next)
}

/// Redeem `code` and find the person its ID token names.
async fn verify<H: Host>(
    host: &H,
    sso: &Sso,
    pending: &pending::Pending,
    code: &str,
) -> Result<String, (StatusCode, String)> {
    let unavailable = |problem: String| (StatusCode::BAD_GATEWAY, problem);
    let metadata = sso.metadata().await.map_err(unavailable)?;
    let client = Client {
        id: &sso.config.client_id,
        secret: &sso.secret,
        redirect_uri: &sso.redirect_uri,
    };
    let tokens = provider::redeem(&sso.http, &metadata, &client, code, &pending.verifier)
        .await
        .map_err(unavailable)?;
    let jwt = tokens.id_token.expose();
    let claims = async {
        let unverified = Unverified::read(jwt)?;
        oidc::decode(
            jwt,
            &unverified,
            &sso.config.issuer,
            Some(&metadata.jwks_uri),
            &sso.config.client_id,
            &sso.keys,
            &sso.http,
        )
        .await
    }
    .await
    .map_err(|err| match err {
        oidc::TokenError::KeysUnavailable(_) => (StatusCode::BAD_GATEWAY, err.to_string()),
        _ => (StatusCode::UNAUTHORIZED, err.to_string()),
    })?;
    let mut claims = claims;
    if needs_email(&sso.config) && !claims.contains_key("email") {
        add_userinfo_email(sso, &metadata, tokens.access_token.as_ref(), &mut claims)
            .await
            .map_err(unavailable)?;
    }
    let people = host.broker().policy_in_force().config.people.clone();
    identity::person(&claims, pending, &sso.config, &people, SystemTime::now()).map_err(|refused| {
        match refused {
            Refused::Invalid(why) => (StatusCode::UNAUTHORIZED, why),
            Refused::Unknown(why) => (StatusCode::FORBIDDEN, why),
        }
    })
}

fn needs_email(config: &SsoConfig) -> bool {
    config.claim == SsoClaim::Email || !config.allowed_email_domains.is_empty()
}

/// `email` and `email_verified` from the UserInfo endpoint, for providers that
/// keep them out of the ID token (OpenID Connect Core 5.4), when its `sub` is the
/// ID token's (Core 5.3.2). Without an endpoint or access token, nothing is added.
async fn add_userinfo_email(
    sso: &Sso,
    metadata: &Metadata,
    access_token: Option<&Secret>,
    claims: &mut oidc::Claims,
) -> Result<(), String> {
    let (Some(endpoint), Some(access_token)) = (&metadata.userinfo_endpoint, access_token) else {
        return Ok(());
    };
    let info = provider::userinfo(&sso.http, endpoint, access_token).await?;
    if info.get("sub").is_none() || info.get("sub") != claims.get("sub") {
        return Err(format!("{endpoint} answered for another account (sub)"));
    }
    for key in ["email", "email_verified"] {
        if let Some(value) = info.get(key) {
            claims.insert(key.to_string(), value.clone());
        }
    }
    Ok(())
}

/// The refusal page; the reason is logged too (it never holds a code or token).
fn refuse<H: Host>(host: &H, code: StatusCode, why: &str) -> Response {
    eprintln!("gate serve: sso: sign-in refused: {why}");
    let text = format!("Single sign-on did not sign you in: {why}.");
    host.message(code, "Not signed in", &text)
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
