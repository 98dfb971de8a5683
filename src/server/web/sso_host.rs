//! What single sign-on ([`crate::server::sso`]) needs from the web pages: the
//! sign-in form with its "Sign in with SSO" link, and a session started for the
//! person the provider signed in, exactly as an approver token starts one.

use super::page::{self, Place};
use super::reply::{html, set_header};
use super::{Web, session};
use crate::server::sso::{self, Host, Sso};
use crate::server::state::Broker;
use axum::http::{StatusCode, header};
use axum::response::Response;

impl Web {
    /// The sign-in form for `place`, offering single sign-on when it is configured.
    pub fn signin_page(&self, place: Place<'_>, error: Option<&str>) -> String {
        let link = self.sso.as_ref().map(|_| {
            let next = match place {
                Place::Landing => format!("{}/", self.base),
                Place::Request(id) => format!("{}/r/{id}", self.base),
                Place::Dashboard => format!("{}/dashboard", self.base),
            };
            sso::login_link(&self.base, &next)
        });
        page::signin(&self.base, place, error, link.as_deref())
    }
}

impl Host for Web {
    fn sso(&self) -> Option<&Sso> {
        self.sso.as_ref()
    }

    fn broker(&self) -> &Broker {
        &self.broker
    }

    fn base(&self) -> &str {
        &self.base
    }

    fn secure(&self) -> bool {
        self.secure
    }

    fn start_session(&self, person: &str, next: &str) -> Response {
        let (cookie, _) = match self.sessions.create(person) {
            Ok(created) => created,
            Err(e) => {
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page::message("Sign-in failed", &e),
                );
            }
        };
        // A page that moves on, not a redirect: the session cookie is
        // SameSite=Strict, and browsers hold it back on a redirect that began at
        // the provider's site.
        let mut response = html(StatusCode::OK, page::moving_on(person, next));
        set_header(
            &mut response,
            header::SET_COOKIE,
            &session::set_cookie(&cookie, self.secure),
        );
        response
    }

    fn message(&self, code: StatusCode, title: &str, text: &str) -> Response {
        html(code, page::message(title, text))
    }
}
