//! Sign-ins under way: what `GET /sso/login` sent the browser to the provider
//! with (`state`, `nonce`, the PKCE verifier, where to go afterwards), kept on the
//! server and found again by the short-lived pre-login cookie the browser carries
//! back to `/sso/callback`. Each is taken once, on the first callback that names
//! its cookie, whatever that callback holds: a replayed or forged callback finds
//! nothing. Also where a sign-in may lead afterwards ([`safe_next`]).
//!
//! Like sessions, only SHA-256 of the cookie is kept, in memory.

use crate::server::token;
use axum::http::{HeaderMap, header};
use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The pre-login cookie.
pub const COOKIE: &str = "gate_sso";
/// How long a sign-in at the provider may take.
pub const LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The most sign-ins kept under way at once, so that nobody who can reach the
/// broker fills its memory with `GET /sso/login`.
const MAX_PENDING: usize = 10_000;

/// One sign-in under way.
#[derive(Clone)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    /// PKCE `code_verifier` (RFC 7636): 32 random bytes, base64url.
    pub verifier: String,
    /// A checked same-origin path ([`safe_next`]).
    pub next: String,
    expires: SystemTime,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Pending {
    /// S256 `code_challenge` of the verifier.
    pub fn challenge(&self) -> String {
        Base64UrlUnpadded::encode_string(&Sha256::digest(self.verifier.as_bytes()))
    }
}

#[derive(Debug, Default)]
pub struct PendingSignins {
    /// SHA-256 of the cookie value -> the sign-in.
    map: Mutex<HashMap<[u8; 32], Pending>>,
}

impl PendingSignins {
    /// Start a sign-in that will lead to `next`: the new cookie value and the
    /// sign-in's secrets.
    pub fn start(&self, next: String) -> Result<(String, Pending), String> {
        let random = || token::random::<32>().map(|b| Base64UrlUnpadded::encode_string(&b));
        let cookie = random()?;
        let pending = Pending {
            state: random()?,
            nonce: random()?,
            verifier: random()?,
            next,
            expires: SystemTime::now() + LIFETIME,
        };
        let mut map = self.map.lock().expect("pending sign-ins lock");
        let now = SystemTime::now();
        map.retain(|_, pending| pending.expires > now);
        if map.len() >= MAX_PENDING {
            return Err("too many sign-ins are under way; try again in a few minutes".into());
        }
        map.insert(token::hash(&cookie), pending.clone());
        Ok((cookie, pending))
    }

    /// Take the live sign-in named by the request's cookie: it is gone afterwards.
    pub fn take(&self, headers: &HeaderMap) -> Option<Pending> {
        let cookie = cookie_value(headers)?;
        let mut map = self.map.lock().expect("pending sign-ins lock");
        map.remove(&token::hash(&cookie))
            .filter(|pending| pending.expires > SystemTime::now())
    }
}

/// Whether `sent` is the sign-in's `state`, compared in constant time.
pub fn state_matches(pending: &Pending, sent: &str) -> bool {
    token::same(&token::hash(sent), &token::hash(&pending.state))
}

/// Whether the ID token's `nonce` is the sign-in's, compared in constant time.
pub fn nonce_matches(pending: &Pending, sent: &str) -> bool {
    token::same(&token::hash(sent), &token::hash(&pending.nonce))
}

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

/// `Set-Cookie` for a sign-in under way. `SameSite=Lax`: the provider sends the
/// browser back with a top-level GET from its own site, which `Strict` would
/// strip the cookie from. Only `/sso/` under `base` sees it.
pub fn set_cookie(value: &str, base: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Lax; Path={base}/sso/; Max-Age={}{secure}",
        LIFETIME.as_secs()
    )
}

/// `Set-Cookie` that drops the pre-login cookie.
pub fn clear_cookie(base: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; HttpOnly; SameSite=Lax; Path={base}/sso/; Max-Age=0{secure}")
}

/// `next` when it is a path on this broker under `base` (`/`, `/r/ID`, …), else
/// the landing page: never another site (`//evil.example`, `https://…`,
/// `/\evil.example`), never a header or attribute breaker.
pub fn safe_next(next: Option<&str>, base: &str) -> String {
    let landing = format!("{base}/");
    let Some(next) = next else { return landing };
    let on_this_site = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 512
        && next.starts_with(&landing)
        && next.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'\\' | b'"' | b'\'' | b'<' | b'>' | b'`')
        });
    if on_this_site {
        next.to_string()
    } else {
        landing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_paths_on_this_broker_are_followed() {
        assert_eq!(safe_next(Some("/r/abc123"), ""), "/r/abc123");
        assert_eq!(safe_next(None, ""), "/");
        assert_eq!(safe_next(Some("/gate/r/1"), "/gate"), "/gate/r/1");
        for evil in [
            "//evil.example",
            "//evil.example/r/1",
            "https://evil.example/",
            "/\\evil.example",
            "evil",
            "/r/1\r\nSet-Cookie: x=1",
            "/r/\"><script>",
            "",
        ] {
            assert_eq!(safe_next(Some(evil), ""), "/", "{evil:?}");
        }
        assert_eq!(safe_next(Some("/other/r/1"), "/gate"), "/gate/");
    }

    #[test]
    fn a_sign_in_is_taken_once_and_carries_a_s256_challenge() {
        let pending = PendingSignins::default();
        let (cookie, started) = pending.start("/".into()).unwrap();
        assert!(state_matches(&started, &started.state));
        assert!(!state_matches(&started, "forged"));
        assert!(nonce_matches(&started, &started.nonce));
        assert_eq!(started.challenge().len(), 43);
        let mut headers = HeaderMap::new();
        let value = format!("a=b; {COOKIE}={cookie}");
        headers.insert(header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(pending.take(&headers).unwrap().state, started.state);
        assert!(pending.take(&headers).is_none());
        assert!(!format!("{started:?}").contains(&started.verifier));
    }

    #[test]
    fn the_challenge_is_rfc7636s_example() {
        // RFC 7636, appendix B.
        let pending = Pending {
            state: String::new(),
            nonce: String::new(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            next: String::new(),
            expires: SystemTime::now(),
        };
        assert_eq!(
            pending.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
