//! The broker's web approval pages, outside `/v1`: `GET /` (sign-in form, or the
//! requests waiting for the signed-in person), `GET /r/ID` (sign-in form, or the
//! request with its decision form), `POST /signin` and `POST /r/ID/signin`
//! (approver token -> session cookie), `POST /r/ID/decision`, and `POST /signout`
//! and `POST /r/ID/signout`. One session (cookie `Path=/`) serves every page.
//!
//! A vote from here is recorded with channel "web" through [`Broker::vote`], under
//! exactly the API's rules; what the pages offer comes from the same rules
//! ([`rules::may_vote`]). Every form post must carry the session's CSRF token and,
//! when the browser sends `Origin`, come from the broker's public origin. Files:
//! `landing` (the page at `/`, signing in and out), `session` (sessions, cookies,
//! CSRF and origin checks), `page` (the HTML), `style` (its stylesheet), `clock`
//! (the time left, counting down), `reply` (responses with the security headers),
//! `sso_host` (single sign-on's hooks: `/sso/login`, `/sso/callback`, and the
//! sign-in form's "Sign in with SSO" link, in `crate::server::sso`),
//! `dashboard` (the compliance dashboard under `/dashboard`, same sessions).

mod clock;
mod dashboard;
mod landing;
mod page;
mod reply;
mod session;
mod sso_host;
mod style;

use super::input::BODY_LIMIT;
use super::rules::{self, Request};
use super::state::Broker;
use crate::approval::protocol::{Choice, ErrorCode, Status};
use crate::server::sso::Sso;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use landing::{SigninForm, SignoutForm};
use page::Place;
use reply::{html, html_with_script, set_header, status, urlencode};
use serde::Deserialize;
use session::{Session, Sessions};
use std::sync::Arc;
use std::time::SystemTime;

#[derive(Debug)]
struct Web {
    broker: Arc<Broker>,
    sessions: Sessions,
    /// Cookies get `Secure` when people reach the broker over https.
    secure: bool,
    /// The path of `public_url` ("" at the root): links and forms start with it.
    base: String,
    /// `[sso]`: single sign-on, when configured.
    sso: Option<Sso>,
}

type Shared = State<Arc<Web>>;

pub fn router(broker: Arc<Broker>, sso: Option<Sso>) -> Router {
    let origin = session::public_origin(&broker.public_url);
    let web = Web {
        secure: broker.public_url.starts_with("https://"),
        base: broker.public_url[origin.len()..]
            .trim_end_matches('/')
            .to_string(),
        broker,
        sessions: Sessions::default(),
        sso,
    };
    let web = Arc::new(web);
    Router::new()
        .route("/", get(landing::show))
        .route("/signin", post(landing::signin))
        .route("/signout", post(landing::signout))
        .route("/r/{id}", get(show))
        .route("/r/{id}/signin", post(signin))
        .route("/r/{id}/decision", post(decide))
        .route("/r/{id}/signout", post(signout))
        .merge(crate::server::sso::routes::<Web>())
        .with_state(web.clone())
        .merge(dashboard::router(web))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// A request id from the path. Only URL-safe ids reach a handler: the id is
/// written into relative form actions and the Location header, where `/`, `..`
/// or `//host` would point elsewhere. Anything else is the 404 page.
struct PageId(String);

impl<S: Send + Sync> FromRequestParts<S> for PageId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id))
                if !id.is_empty()
                    && id.len() <= 64
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Ok(PageId(id))
            }
            _ => Err(not_found()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
    csrf: Option<String>,
}

async fn show(State(web): Shared, PageId(id): PageId, headers: HeaderMap) -> Response {
    match web.sessions.find(&headers) {
        None => html(StatusCode::OK, web.signin_page(Place::Request(&id), None)),
        Some(session) => web.render(&id, &session, None, StatusCode::OK).await,
    }
}

async fn signin(
    State(web): Shared,
    PageId(id): PageId,
    headers: HeaderMap,
    form: Result<Form<SigninForm>, FormRejection>,
) -> Response {
    web.sign_in(Place::Request(&id), &headers, form).await
}

async fn decide(
    State(web): Shared,
    PageId(id): PageId,
    headers: HeaderMap,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Response {
    let Some(session) = web.sessions.find(&headers) else {
        let text = "Your session has ended; sign in again to decide.";
        return html(
            StatusCode::UNAUTHORIZED,
            web.signin_page(Place::Request(&id), Some(text)),
        );
    };
    if !session::origin_allowed(&headers, &web.broker.public_url) {
        return foreign_origin();
    }
    let Ok(Form(form)) = form else {
        let text = "The form could not be read; reload the page and try again.";
        return web
            .render(&id, &session, Some(text.into()), StatusCode::BAD_REQUEST)
            .await;
    };
    if !session::csrf_matches(&session, form.csrf.as_deref()) {
        let text = "This form is stale or did not come from this page; nothing was decided. Reload the page and try again.";
        return web
            .render(&id, &session, Some(text.into()), StatusCode::FORBIDDEN)
            .await;
    }
    let verdict = match form.verdict.as_str() {
        "approve" => Choice::Approve,
        "deny" => Choice::Deny,
        _ => {
            let text = "Choose Approve or Deny.";
            return web
                .render(&id, &session, Some(text.into()), StatusCode::BAD_REQUEST)
                .await;
        }
    };
    let reason = Some(form.reason.trim().to_string()).filter(|reason| !reason.is_empty());
    if verdict == Choice::Deny && reason.is_none() {
        // As `gate deny` and the inbox: the requester is told why, so a deny says why.
        let text = "A deny needs a reason: write why in the Reason box (the requester \
                    sees it) and press Deny again; nothing was decided.";
        return web
            .render(&id, &session, Some(text.into()), StatusCode::BAD_REQUEST)
            .await;
    }
    match web
        .broker
        .vote(&id, &session.person, verdict, reason, "web")
        .await
    {
        Ok(_) => web.see_request(&id),
        Err(refusal) => {
            web.render(&id, &session, Some(refusal.message), status(refusal.status))
                .await
        }
    }
}

async fn signout(
    State(web): Shared,
    PageId(id): PageId,
    headers: HeaderMap,
    form: Result<Form<SignoutForm>, FormRejection>,
) -> Response {
    web.sign_out(Place::Request(&id), &headers, form).await
}

impl Web {
    /// The request page for `session`, with `error` on top, answered with `code`.
    async fn render(
        &self,
        id: &str,
        session: &Session,
        error: Option<String>,
        code: StatusCode,
    ) -> Response {
        let request = match self.broker.get(id).await {
            Ok(Some(request)) => request,
            Ok(None) => return not_found(),
            Err(refusal) => {
                return html(
                    status(refusal.status),
                    page::message("Error", &refusal.message),
                );
            }
        };
        let now = SystemTime::now();
        let viewer = page::Viewer {
            person: &session.person,
            csrf: &session.csrf,
            may_decide: may_decide(&request, &session.person, now),
            error,
        };
        let nonce = if request.view.status == Status::Pending {
            clock::nonce().ok()
        } else {
            None
        };
        let body = page::request(&self.base, &request.view, &viewer, now, nonce.as_deref());
        answer(code, body, nonce.as_deref())
    }

    /// 303 to the request's page (after a form post).
    fn see_request(&self, id: &str) -> Response {
        self.see(Place::Request(id))
    }

    /// 303 to `place` (after a form post).
    fn see(&self, place: Place<'_>) -> Response {
        let location = match place {
            Place::Landing => format!("{}/", self.broker.public_url),
            Place::Request(id) => format!("{}/r/{}", self.broker.public_url, urlencode(id)),
            Place::Dashboard => format!("{}/dashboard", self.broker.public_url),
        };
        let mut response = html(StatusCode::SEE_OTHER, String::new());
        set_header(&mut response, header::LOCATION, &location);
        response
    }
}

/// A page, with the CSP allowing its clock script when it has one. Without a
/// nonce (none could be made) the page carries no script and still shows the
/// server's time left.
fn answer(code: StatusCode, body: String, nonce: Option<&str>) -> Response {
    match nonce {
        Some(nonce) => html_with_script(code, body, nonce),
        None => html(code, body),
    }
}

/// Whether `person` may vote on `request` now, else why not, in the page's
/// words. The rules are the vote's own ([`rules::may_vote`]), which decide again
/// on the vote itself; this only chooses what the page offers.
fn may_decide(request: &Request, person: &str, now: SystemTime) -> Result<(), String> {
    let status = request.view.status;
    rules::may_vote(request, person, now).map_err(|refusal| match refusal.code {
        _ if status != Status::Pending => format!("This request is {}.", status.as_str()),
        ErrorCode::SelfApproval => {
            "This is your own request: another approver must decide it.".to_string()
        }
        ErrorCode::NotAnApprover => format!("{person} is not an approver of this request."),
        ErrorCode::AlreadyVoted => "You have voted; waiting for the other approvers.".to_string(),
        _ => format!("{}.", refusal.message),
    })
}

fn not_found() -> Response {
    let text = "No request has this id. It may be mistyped, or from another broker.";
    html(
        StatusCode::NOT_FOUND,
        page::message("Request not found", text),
    )
}

fn foreign_origin() -> Response {
    let text = "This form was posted from another site; nothing was done. Open the approval page directly.";
    html(StatusCode::FORBIDDEN, page::message("Refused", text))
}
