//! How an enrolled installation signs what it sends the broker, shared by both
//! sides: the four headers, the canonical string the signature covers, and the
//! time window a signature is good for. Pure apart from [`sign`]'s clock and
//! random nonce; verifying keys, names and seen nonces is the broker's job.
//!
//! The canonical string is seven lines joined by `\n` (no trailing newline):
//!
//! ```text
//! gate-request-v1
//! POST                                  method, upper case
//! /v1/requests                          path as the API defines it, no query
//! laptop-7                              Gate-Installation
//! 1767225600                            Gate-Timestamp (unix seconds)
//! 6f1c...                               Gate-Nonce
//! e3b0c442...                           hex SHA-256 of the exact body bytes
//! ```
//!
//! `Gate-Signature` is the ed25519 signature over those bytes, base64url without
//! padding.

use base64ct::{Base64UrlUnpadded, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const INSTALLATION_HEADER: &str = "gate-installation";
pub const TIMESTAMP_HEADER: &str = "gate-timestamp";
pub const NONCE_HEADER: &str = "gate-nonce";
pub const SIGNATURE_HEADER: &str = "gate-signature";

/// How far a signature's timestamp may be from the broker's clock, either way.
pub const WINDOW: Duration = Duration::from_secs(300);

const CONTEXT: &str = "gate-request-v1";

/// The signature headers of one request, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub installation: String,
    pub timestamp: u64,
    pub nonce: String,
    pub signature: String,
}

impl SignedHeaders {
    /// The headers as (name, value) pairs.
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            (INSTALLATION_HEADER, self.installation.clone()),
            (TIMESTAMP_HEADER, self.timestamp.to_string()),
            (NONCE_HEADER, self.nonce.clone()),
            (SIGNATURE_HEADER, self.signature.clone()),
        ]
    }
}

/// What the signature covers.
pub fn canonical(
    method: &str,
    path: &str,
    installation: &str,
    timestamp: u64,
    nonce: &str,
    body: &[u8],
) -> String {
    let body = hex::encode(Sha256::digest(body));
    let method = method.to_ascii_uppercase();
    format!("{CONTEXT}\n{method}\n{path}\n{installation}\n{timestamp}\n{nonce}\n{body}")
}

/// Sign a request now, with a fresh random nonce.
pub fn sign(
    key: &SigningKey,
    installation: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<SignedHeaders, String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| format!("the system's random source failed: {e}"))?;
    let timestamp = unix_seconds(SystemTime::now());
    Ok(sign_at(
        key,
        installation,
        method,
        path,
        body,
        timestamp,
        &hex::encode(nonce),
    ))
}

/// Sign a request at `timestamp` with `nonce`.
pub fn sign_at(
    key: &SigningKey,
    installation: &str,
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: u64,
    nonce: &str,
) -> SignedHeaders {
    let text = canonical(method, path, installation, timestamp, nonce, body);
    let signature = key.sign(text.as_bytes());
    SignedHeaders {
        installation: installation.to_string(),
        timestamp,
        nonce: nonce.to_string(),
        signature: Base64UrlUnpadded::encode_string(&signature.to_bytes()),
    }
}

/// Whether `headers` carry a valid signature by `key` over this request.
pub fn verify(
    key: &VerifyingKey,
    headers: &SignedHeaders,
    method: &str,
    path: &str,
    body: &[u8],
) -> bool {
    let mut bytes = [0u8; 64];
    match Base64UrlUnpadded::decode(&headers.signature, &mut bytes) {
        Ok(decoded) if decoded.len() == 64 => {}
        _ => return false,
    }
    let text = canonical(
        method,
        path,
        &headers.installation,
        headers.timestamp,
        &headers.nonce,
        body,
    );
    key.verify(text.as_bytes(), &Signature::from_bytes(&bytes))
        .is_ok()
}

/// Whether a signature made at `timestamp` is still (or already) good at `now`.
pub fn within_window(timestamp: u64, now: SystemTime) -> bool {
    unix_seconds(now).abs_diff(timestamp) <= WINDOW.as_secs()
}

/// A nonce as the broker accepts it: 16 to 64 characters of `[A-Za-z0-9_-]`.
pub fn valid_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An installation name: 1 to 63 characters of `[A-Za-z0-9._-]`, starting with
/// a letter or digit (it is shown to approvers as the requester's host).
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.len() <= 63
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

pub fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn the_canonical_string_names_every_part_of_the_request() {
        let text = canonical("post", "/v1/requests", "laptop-7", 1767225600, "n0nce", b"");
        assert_eq!(
            text,
            "gate-request-v1\nPOST\n/v1/requests\nlaptop-7\n1767225600\nn0nce\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_signature_covers_method_path_name_time_nonce_and_body() {
        let signed = sign_at(&key(1), "a", "POST", "/v1/requests", b"{}", 100, "n");
        let public = key(1).verifying_key();
        assert!(verify(&public, &signed, "POST", "/v1/requests", b"{}"));
        assert!(!verify(&public, &signed, "POST", "/v1/requests", b"{ }"));
        assert!(!verify(
            &public,
            &signed,
            "POST",
            "/v1/requests/x/claim",
            b"{}"
        ));
        assert!(!verify(&public, &signed, "GET", "/v1/requests", b"{}"));
        assert!(!verify(
            &key(2).verifying_key(),
            &signed,
            "POST",
            "/v1/requests",
            b"{}"
        ));
        for changed in [
            SignedHeaders {
                installation: "b".into(),
                ..signed.clone()
            },
            SignedHeaders {
                timestamp: 101,
                ..signed.clone()
            },
            SignedHeaders {
                nonce: "m".into(),
                ..signed.clone()
            },
            SignedHeaders {
                signature: "not base64!".into(),
                ..signed.clone()
            },
        ] {
            assert!(!verify(&public, &changed, "POST", "/v1/requests", b"{}"));
        }
    }

    #[test]
    fn the_timestamp_window_is_five_minutes_either_way() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        assert!(within_window(10_000, now));
        assert!(within_window(10_000 - 300, now));
        assert!(within_window(10_000 + 300, now));
        assert!(!within_window(10_000 - 301, now));
        assert!(!within_window(10_000 + 301, now));
        assert!(!within_window(0, now));
    }

    #[test]
    fn names_and_nonces_have_their_shapes() {
        assert!(valid_name("laptop-7") && valid_name("ci.runner_2"));
        for bad in ["", "-x", "a b", "a/b", "é", &"a".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_nonce(&"a".repeat(32)));
        assert!(!valid_nonce("short") && !valid_nonce(&"a\n".repeat(10)));
    }

    #[test]
    fn fresh_signatures_use_fresh_nonces() {
        let a = sign(&key(1), "a", "POST", "/p", b"").unwrap();
        let b = sign(&key(1), "a", "POST", "/p", b"").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert!(valid_nonce(&a.nonce));
    }
}
