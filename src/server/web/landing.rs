//! The landing page `/` (the sign-in form, or the requests waiting for the
//! signed-in person) and signing in and out, which every page does the same way:
//! one approver-token check, one session for `/` and every `/r/ID`.

use super::page::{self, Place};
use super::reply::{html, set_header, status};
use super::{Shared, Web, answer, clock, foreign_origin, session};
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use session::Session;
use std::time::SystemTime;

#[derive(Debug, Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    pub token: String,
}

#[derive(Debug, Deserialize)]
pub struct SignoutForm {
    pub csrf: Option<String>,
}

pub async fn show(State(web): Shared, headers: HeaderMap) -> Response {
    match web.sessions.find(&headers) {
        None => html(StatusCode::OK, web.signin_page(Place::Landing, None)),
        Some(session) => web.waiting(&session, None, StatusCode::OK),
    }
}

pub async fn signin(
    State(web): Shared,
    headers: HeaderMap,
    form: Result<Form<SigninForm>, FormRejection>,
) -> Response {
    web.sign_in(Place::Landing, &headers, form).await
}

pub async fn signout(
    State(web): Shared,
    headers: HeaderMap,
    form: Result<Form<SignoutForm>, FormRejection>,
) -> Response {
    web.sign_out(Place::Landing, &headers, form).await
}

impl Web {
    /// Sign in with the form's approver token (the same rules from `/` and from
    /// a request's page); a session cookie and back to `place`, or the form again
    /// with why not.
    pub async fn sign_in(
        &self,
        place: Place<'_>,
        headers: &HeaderMap,
        form: Result<Form<SigninForm>, FormRejection>,
    ) -> Response {
        if !session::origin_allowed(headers, &self.broker.public_url) {
            return foreign_origin();
        }
        let token = form.map(|Form(form)| form.token).unwrap_or_default();
        let person = match self.broker.approver(token.trim()).await {
            Ok(Some(person)) if !token.trim().is_empty() => person,
            Ok(_) => {
                let text = "That token is not a valid approver token; create one with `gate serve token create NAME`.";
                return html(
                    StatusCode::UNAUTHORIZED,
                    self.signin_page(place, Some(text)),
                );
            }
            Err(refusal) => {
                return html(
                    status(refusal.status),
                    self.signin_page(place, Some(&refusal.message)),
                );
            }
        };
        let (cookie, _) = match self.sessions.create(&person) {
            Ok(created) => created,
            Err(e) => {
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page::message("Sign-in failed", &e),
                );
            }
        };
        crate::serve_log!("gate serve: web: {person} signed in");
        let mut response = self.see(place);
        set_header(
            &mut response,
            header::SET_COOKIE,
            &session::set_cookie(&cookie, self.secure),
        );
        response
    }

    /// End the session named by the cookie, when the form carries its CSRF
    /// token; back to `place`.
    pub async fn sign_out(
        &self,
        place: Place<'_>,
        headers: &HeaderMap,
        form: Result<Form<SignoutForm>, FormRejection>,
    ) -> Response {
        let Some(session) = self.sessions.find(headers) else {
            return self.see(place);
        };
        let csrf = form.ok().and_then(|Form(form)| form.csrf);
        if !session::origin_allowed(headers, &self.broker.public_url) {
            return foreign_origin();
        }
        if !session::csrf_matches(&session, csrf.as_deref()) {
            let text =
                "This form is stale or did not come from this page; reload the page and try again.";
            let text = Some(text.to_string());
            return match place {
                Place::Landing | Place::Dashboard => {
                    self.waiting(&session, text, StatusCode::FORBIDDEN)
                }
                Place::Request(id) => self.render(id, &session, text, StatusCode::FORBIDDEN).await,
            };
        }
        self.sessions.remove(headers);
        let mut response = self.see(place);
        set_header(
            &mut response,
            header::SET_COOKIE,
            &session::clear_cookie(self.secure),
        );
        response
    }

    /// The landing page for `session`: the requests its person may still vote on.
    fn waiting(&self, session: &Session, error: Option<String>, code: StatusCode) -> Response {
        let now = SystemTime::now();
        let requests = self.broker.open_to(&session.person, now);
        let views: Vec<_> = requests.iter().map(|request| &request.view).collect();
        let nonce = if views.is_empty() {
            None
        } else {
            clock::nonce().ok()
        };
        let body = page::landing(
            &self.base,
            &session.person,
            &session.csrf,
            &views,
            error.as_deref(),
            now,
            nonce.as_deref(),
        );
        answer(code, body, nonce.as_deref())
    }
}
