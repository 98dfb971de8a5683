//! Web sessions for the approval page: who signed in (with an approver token),
//! until when, and the CSRF token their forms must carry; the cookie that names
//! a session; and the origin check on every form post.
//!
//! The cookie holds 32 random bytes; the server keeps only their SHA-256, so a
//! leaked memory dump or log holds no usable cookie. Sessions live in memory: a
//! broker restart signs everyone out, which is the safe direction.

use crate::server::token;
use axum::http::{HeaderMap, header};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

pub const COOKIE: &str = "gate_session";
/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// One signed-in person.
#[derive(Clone)]
pub struct Session {
    pub person: String,
    pub expires: SystemTime,
    /// Every form posted in this session carries it (hex, 32 random bytes).
    pub csrf: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("person", &self.person)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub struct Sessions {
    /// SHA-256 of the cookie value -> session.
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// Sign `person` in: the new cookie value and the session.
    pub fn create(&self, person: &str) -> Result<(String, Session), String> {
        let cookie = hex::encode(token::random::<32>()?);
        let session = Session {
            person: person.to_string(),
            expires: SystemTime::now() + LIFETIME,
            csrf: hex::encode(token::random::<32>()?),
        };
        let mut map = self.map.lock().expect("sessions lock");
        let now = SystemTime::now();
        map.retain(|_, session| session.expires > now);
        map.insert(token::hash(&cookie), session.clone());
        Ok((cookie, session))
    }

    /// The live session named by the request's cookie, if any.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let cookie = cookie_value(headers)?;
        let map = self.map.lock().expect("sessions lock");
        map.get(&token::hash(&cookie))
            .filter(|session| session.expires > SystemTime::now())
            .cloned()
    }

    /// Sign out the session named by the request's cookie.
    pub fn remove(&self, headers: &HeaderMap) {
        if let Some(cookie) = cookie_value(headers) {
            self.map
                .lock()
                .expect("sessions lock")
                .remove(&token::hash(&cookie));
        }
    }
}

/// Our cookie's value from the `Cookie` headers.
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
}

/// `Set-Cookie` for a new session; `Secure` when the broker is reached over https.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        LIFETIME.as_secs()
    )
}

/// `Set-Cookie` that ends the session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// The form's CSRF token is the session's, compared in constant time.
pub fn csrf_matches(session: &Session, sent: Option<&str>) -> bool {
    let Some(sent) = sent else { return false };
    token::same(&token::hash(sent), &token::hash(&session.csrf))
}

/// A form post is ours: its `Origin` header, when the browser sends one, is the
/// broker's public origin.
pub fn origin_allowed(headers: &HeaderMap, public_url: &str) -> bool {
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .is_ok_and(|origin| origin.eq_ignore_ascii_case(public_origin(public_url))),
    }
}

/// `scheme://host[:port]` of the public URL.
pub fn public_origin(public_url: &str) -> &str {
    let after_scheme = public_url.find("://").map_or(0, |at| at + 3);
    let end = public_url[after_scheme..]
        .find('/')
        .map_or(public_url.len(), |at| after_scheme + at);
    &public_url[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        assert_eq!(
            public_origin("https://gate.example.com/base"),
            "https://gate.example.com"
        );
        assert_eq!(
            public_origin("http://127.0.0.1:8787"),
            "http://127.0.0.1:8787"
        );
        let mut headers = HeaderMap::new();
        assert!(origin_allowed(&headers, "http://127.0.0.1:1"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:1"),
        );
        assert!(origin_allowed(&headers, "http://127.0.0.1:1"));
        assert!(!origin_allowed(&headers, "http://127.0.0.1:2"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!origin_allowed(&headers, "http://127.0.0.1:1"));
    }

    #[test]
    fn sessions_are_found_by_cookie_and_signed_out() {
        let sessions = Sessions::default();
        let (cookie, session) = sessions.create("alice").unwrap();
        assert_eq!(cookie.len(), 64);
        let mut headers = HeaderMap::new();
        let value = format!("other=1; {COOKIE}={cookie}");
        headers.insert(header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(sessions.find(&headers).unwrap().person, "alice");
        assert!(csrf_matches(&session, Some(&session.csrf)));
        assert!(!csrf_matches(&session, Some("x")));
        assert!(!csrf_matches(&session, None));
        sessions.remove(&headers);
        assert!(sessions.find(&headers).is_none());
    }
}
