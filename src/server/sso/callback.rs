//! `GET /sso/callback`: the browser back from the provider. Takes the sign-in
//! its pre-login cookie names (once), checks `state` (and `iss` when sent),
//! redeems the code, verifies the ID token and finds the person it names, then
//! lets the web pages start a session; else a page saying why, and no session.

use super::identity::{self, Refused};
use super::pending::{self, Pending};
use super::provider::{self, Client, Metadata};
use super::{Host, Sso, not_configured};
use crate::server::config::SsoConfig;
use crate::server::config::slack::Secret;
use crate::server::config::sso::SsoClaim;
use crate::server::oidc::{self, Unverified};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use std::time::SystemTime;

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

pub async fn callback<H: Host>(
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
    taken: Option<Pending>,
    query: CallbackQuery,
) -> Response {
    if let Some(error) = query.error {
        let error = provider::error_code(&error);
        crate::serve_log!("gate serve: sso: the provider ended a sign-in with {error}");
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
    crate::serve_log!("gate serve: web: {person} signed in with single sign-on");
    host.start_session(&person, &pending.next)
}

/// Redeem `code` and find the person its ID token names.
async fn verify<H: Host>(
    host: &H,
    sso: &Sso,
    pending: &Pending,
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
    crate::serve_log!("gate serve: sso: sign-in refused: {why}");
    let text = format!("Single sign-on did not sign you in: {why}.");
    host.message(code, "Not signed in", &text)
}
