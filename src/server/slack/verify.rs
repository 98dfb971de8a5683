//! Verifying Slack's signed HTTP callbacks (signing secret, "v0" HMAC-SHA256).
//!
//! The signature is checked in constant time over the raw body before anything
//! in the body is decoded. A timestamp more than five minutes away from now, in
//! either direction, is refused, and so is a signature already seen within that
//! window (a replay).

use crate::server::config::slack::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far a request's timestamp may be from now.
pub const WINDOW: Duration = Duration::from_secs(5 * 60);

/// Why a callback was refused (answered 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    Missing,
    Stale,
    Forged,
    Replayed,
}

impl Rejected {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::Missing => "missing signature headers",
            Rejected::Stale => "timestamp outside the 5-minute window",
            Rejected::Forged => "signature does not match",
            Rejected::Replayed => "signature already used",
        }
    }
}

/// Checks callbacks against one signing secret, remembering recent signatures.
#[derive(Debug)]
pub struct Verifier {
    secret: Secret,
    /// MAC bytes -> the request timestamp, for signatures still inside the window.
    /// Keyed on the bytes, not the header text: hex decodes either case, so the
    /// same MAC can be written several ways.
    seen: Mutex<HashMap<Vec<u8>, u64>>,
}

impl Verifier {
    pub fn new(secret: Secret) -> Verifier {
        Verifier {
            secret,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Accept `body` when `signature` (`X-Slack-Signature`) is the v0 signature of
    /// `timestamp` (`X-Slack-Request-Timestamp`) and `body`, the timestamp is within
    /// the window around `now`, and the signature is new.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), Rejected> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(Rejected::Missing);
        };
        let sent: u64 = timestamp.trim().parse().map_err(|_| Rejected::Missing)?;
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        if now.abs_diff(sent) > WINDOW.as_secs() {
            return Err(Rejected::Stale);
        }
        let given = signature
            .strip_prefix("v0=")
            .and_then(|hex| hex::decode(hex).ok())
            .ok_or(Rejected::Forged)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac.verify_slice(&given).map_err(|_| Rejected::Forged)?;
        let mut seen = self.seen.lock().expect("replay lock");
        seen.retain(|_, at| now.abs_diff(*at) <= WINDOW.as_secs());
        if seen.insert(given, sent).is_some() {
            return Err(Rejected::Replayed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's published example (api.slack.com/authentication/verifying-requests-from-slack).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn verifier() -> Verifier {
        Verifier::new(Secret::new(SECRET))
    }

    #[test]
    fn slacks_published_example_verifies_once() {
        let v = verifier();
        let now = at(1531420618);
        let check = |v: &Verifier| v.verify(Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), now);
        assert_eq!(check(&v), Ok(()));
        assert_eq!(check(&v), Err(Rejected::Replayed));
    }

    #[test]
    fn the_same_mac_written_in_capitals_is_still_a_replay() {
        let v = verifier();
        let now = at(1531420618);
        let upper = format!("v0={}", SIGNATURE["v0=".len()..].to_uppercase());
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), now),
            Ok(())
        );
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(&upper), BODY.as_bytes(), now),
            Err(Rejected::Replayed)
        );
    }

    #[test]
    fn forged_and_tampered_requests_are_refused() {
        let v = verifier();
        let now = at(1531420618);
        let forged = SIGNATURE.replace("a2114", "a2115");
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(&forged), BODY.as_bytes(), now),
            Err(Rejected::Forged)
        );
        let tampered = BODY.replace("roadrunner", "coyote");
        let result = v.verify(Some(TIMESTAMP), Some(SIGNATURE), tampered.as_bytes(), now);
        assert_eq!(result, Err(Rejected::Forged));
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some("a2114d57"), BODY.as_bytes(), now),
            Err(Rejected::Forged)
        );
        assert_eq!(
            v.verify(None, Some(SIGNATURE), BODY.as_bytes(), now),
            Err(Rejected::Missing)
        );
        assert_eq!(
            v.verify(Some(TIMESTAMP), None, BODY.as_bytes(), now),
            Err(Rejected::Missing)
        );
        // The genuine one still works: refusals record nothing.
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), now),
            Ok(())
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let v = verifier();
        let sent = 1531420618;
        let late = at(sent + WINDOW.as_secs() + 1);
        let early = at(sent - WINDOW.as_secs() - 1);
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), late),
            Err(Rejected::Stale)
        );
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), early),
            Err(Rejected::Stale)
        );
        let edge = at(sent + WINDOW.as_secs());
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), edge),
            Ok(())
        );
    }
}
