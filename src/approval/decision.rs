//! The broker's signed decision: what it says, the exact bytes it signs, and the
//! checks gate makes before it runs anything on the strength of one.
//!
//! The payload travels as the exact JSON text that was signed, so a verifier never
//! re-serialises anything: it checks the signature over `DECISION_CONTEXT` followed
//! by the payload bytes, and only then decodes them.

use base64ct::{Base64UrlUnpadded, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// Domain separation: a decision signature can never be mistaken for (or made
/// from) any other signature the broker's key produces.
pub const DECISION_CONTEXT: &[u8] = b"gate-decision-v1\n";

/// An approver's choice, and what a decision says: approve or deny. The wire
/// calls it `verdict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Approve,
    Deny,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Approve => "approve",
            Choice::Deny => "deny",
        }
    }

    /// "approved" or "denied", for telling people what someone did.
    pub fn past_tense(self) -> &'static str {
        match self {
            Choice::Approve => "approved",
            Choice::Deny => "denied",
        }
    }
}

/// The payload format this gate writes and accepts.
pub const DECISION_VERSION: u32 = 2;

/// What the broker decided about one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionPayload {
    /// Format version, [`DECISION_VERSION`].
    pub v: u32,
    pub request_id: String,
    /// The action digest of the request; gate recomputes its own and compares.
    pub action_digest: String,
    /// The command the approvers were shown (secrets redacted); gate compares it
    /// with its own redaction of what it is about to run.
    pub argv: Vec<String>,
    /// The working directory the approvers were shown.
    pub cwd: String,
    /// The rules the request was decided under: the broker's own evaluation and
    /// any stricter ones the requester's policy added.
    pub rules: Vec<String>,
    /// SHA-256 (hex) of the broker's policy text the request was evaluated under.
    pub policy_version: String,
    pub verdict: Choice,
    /// Who decided (for a denial, the person who denied), with their channel.
    pub approvers: Vec<DecidedBy>,
    pub break_glass: bool,
    /// RFC 3339 UTC.
    pub decided_at: String,
    /// RFC 3339 UTC: an approval must be used (the command started) before this.
    pub expires_at: String,
    /// The requester's CI identity as the broker verified it from an OIDC ID
    /// token. Absent (and not written, so the signed bytes of a decision on an
    /// unverified request are what they always were) when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_identity: Option<VerifiedCi>,
}

/// A CI job identity taken from an ID token whose signature, issuer, audience
/// and lifetime the broker checked. Every field is the issuer's statement, not
/// the job's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifiedCi {
    /// The token's issuer (`iss`).
    pub issuer: String,
    /// The token's subject (`sub`), e.g. `repo:acme/app:ref:refs/heads/main`.
    pub subject: String,
    /// The CI system the issuer belongs to: `github` or `gitlab`.
    pub system: String,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
    /// The git ref the job runs on, e.g. `refs/heads/main` or `main`.
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub workflow: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecidedBy {
    pub name: String,
    pub channel: String,
}

/// A decision as it travels: the exact signed JSON text and the hex signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedDecision {
    pub payload: String,
    /// Hex ed25519 signature over `DECISION_CONTEXT || payload`.
    pub signature: String,
}

/// Why a decision was not accepted. Each is a reason to run nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionError {
    BadSignature,
    Malformed(String),
    WrongRequest { expected: String, found: String },
    WrongAction,
    NotApproved(Choice),
    Expired { expires_at: String },
}

impl std::fmt::Display for DecisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecisionError::BadSignature => f.write_str(
                "the decision's signature does not verify with the pinned broker key \
                 (forged, altered, or signed by another broker)",
            ),
            DecisionError::Malformed(detail) => write!(f, "the decision is malformed: {detail}"),
            DecisionError::WrongRequest { expected, found } => write!(
                f,
                "the decision is for request {found}, not {expected} (replayed from another request)"
            ),
            DecisionError::WrongAction => f.write_str(
                "the decision approves a different action (argv, working directory or \
                 executable differ from this command)",
            ),
            DecisionError::NotApproved(verdict) => {
                write!(f, "the signed decision says {}", verdict.as_str())
            }
            DecisionError::Expired { expires_at } => {
                write!(f, "the approval expired at {expires_at}")
            }
        }
    }
}

impl SignedDecision {
    /// Serialise `payload` and sign those exact bytes.
    pub fn sign(payload: &DecisionPayload, key: &SigningKey) -> SignedDecision {
        let text = serde_json::to_string(payload).expect("a decision payload always serialises");
        let signature = key.sign(&signed_message(&text));
        SignedDecision {
            payload: text,
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Check the signature, then decode the payload. Says nothing about which
    /// request or action it is for: see [`SignedDecision::verify_approval`].
    pub fn verify(&self, key: &VerifyingKey) -> Result<DecisionPayload, DecisionError> {
        let bytes = hex::decode(&self.signature).map_err(|_| DecisionError::BadSignature)?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| DecisionError::BadSignature)?;
        key.verify(
            &signed_message(&self.payload),
            &Signature::from_bytes(&bytes),
        )
        .map_err(|_| DecisionError::BadSignature)?;
        let payload: DecisionPayload = serde_json::from_str(&self.payload)
            .map_err(|e| DecisionError::Malformed(e.to_string()))?;
        if payload.v != DECISION_VERSION {
            return Err(DecisionError::Malformed(format!(
                "version {} (this gate reads version {DECISION_VERSION}: upgrade the older of \
                 gate and the broker)",
                payload.v
            )));
        }
        Ok(payload)
    }

    /// Everything gate checks before running on an approval: the signature, that
    /// it is for this request and this exact action, that it approves, and that it
    /// has not expired at `now`.
    pub fn verify_approval(
        &self,
        key: &VerifyingKey,
        request_id: &str,
        action_digest: &str,
        now: SystemTime,
    ) -> Result<DecisionPayload, DecisionError> {
        let payload = self.verify(key)?;
        if payload.request_id != request_id {
            return Err(DecisionError::WrongRequest {
                expected: request_id.to_string(),
                found: payload.request_id,
            });
        }
        if payload.action_digest != action_digest {
            return Err(DecisionError::WrongAction);
        }
        if payload.verdict != Choice::Approve {
            return Err(DecisionError::NotApproved(payload.verdict));
        }
        let expires = humantime::parse_rfc3339(&payload.expires_at)
            .map_err(|e| DecisionError::Malformed(format!("expires_at: {e}")))?;
        if now >= expires {
            return Err(DecisionError::Expired {
                expires_at: payload.expires_at,
            });
        }
        Ok(payload)
    }

    /// Read back what [`SignedDecision::to_compact`] wrote; `None` when it is not
    /// that shape. Says nothing about the signature: see [`SignedDecision::verify`].
    pub fn from_compact(text: &str) -> Option<SignedDecision> {
        let (payload, signature) = text.split_once('.')?;
        let payload = Base64UrlUnpadded::decode_vec(payload).ok()?;
        Some(SignedDecision {
            payload: String::from_utf8(payload).ok()?,
            signature: signature.to_string(),
        })
    }

    /// One string for the audit record: base64url of the exact signed payload, a
    /// dot, and the hex signature (docs/audit-format.md).
    pub fn to_compact(&self) -> String {
        format!(
            "{}.{}",
            Base64UrlUnpadded::encode_string(self.payload.as_bytes()),
            self.signature
        )
    }
}

fn signed_message(payload: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(DECISION_CONTEXT.len() + payload.len());
    message.extend_from_slice(DECISION_CONTEXT);
    message.extend_from_slice(payload.as_bytes());
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn payload(verdict: Choice) -> DecisionPayload {
        DecisionPayload {
            v: DECISION_VERSION,
            request_id: "req1".into(),
            action_digest: "ab".repeat(32),
            argv: vec!["kubectl".into(), "delete".into()],
            cwd: "/srv".into(),
            rules: vec!["prod".into()],
            policy_version: "cd".repeat(32),
            verdict,
            approvers: vec![DecidedBy {
                name: "alice".into(),
                channel: "cli".into(),
            }],
            break_glass: false,
            decided_at: "2026-01-01T00:00:00.000Z".into(),
            expires_at: "2026-01-01T00:10:00.000Z".into(),
            ci_identity: None,
        }
    }

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn a_signed_approval_verifies_for_its_request_and_action() {
        let signed = SignedDecision::sign(&payload(Choice::Approve), &key(1));
        let now = at("2026-01-01T00:05:00Z");
        let got = signed
            .verify_approval(&key(1).verifying_key(), "req1", &"ab".repeat(32), now)
            .unwrap();
        assert_eq!(got, payload(Choice::Approve));
    }

    #[test]
    fn another_key_is_refused() {
        let signed = SignedDecision::sign(&payload(Choice::Approve), &key(2));
        let err = signed.verify(&key(1).verifying_key()).unwrap_err();
        assert_eq!(err, DecisionError::BadSignature);
    }

    #[test]
    fn an_edited_payload_is_refused() {
        let mut signed = SignedDecision::sign(&payload(Choice::Deny), &key(1));
        signed.payload = signed.payload.replace("\"deny\"", "\"approve\"");
        assert!(signed.payload.contains("\"approve\""));
        let err = signed.verify(&key(1).verifying_key()).unwrap_err();
        assert_eq!(err, DecisionError::BadSignature);
    }

    #[test]
    fn a_garbled_signature_is_refused() {
        let mut signed = SignedDecision::sign(&payload(Choice::Approve), &key(1));
        signed.signature.truncate(10);
        assert_eq!(
            signed.verify(&key(1).verifying_key()).unwrap_err(),
            DecisionError::BadSignature
        );
    }

    #[test]
    fn wrong_request_wrong_action_denial_and_expiry_are_refused() {
        let vk = key(1).verifying_key();
        let digest = "ab".repeat(32);
        let now = at("2026-01-01T00:05:00Z");
        let approve = SignedDecision::sign(&payload(Choice::Approve), &key(1));
        assert!(matches!(
            approve.verify_approval(&vk, "req2", &digest, now),
            Err(DecisionError::WrongRequest { .. })
        ));
        assert_eq!(
            approve.verify_approval(&vk, "req1", &"cd".repeat(32), now),
            Err(DecisionError::WrongAction)
        );
        let late = at("2026-01-01T00:10:00Z");
        assert!(matches!(
            approve.verify_approval(&vk, "req1", &digest, late),
            Err(DecisionError::Expired { .. })
        ));
        let deny = SignedDecision::sign(&payload(Choice::Deny), &key(1));
        assert_eq!(
            deny.verify_approval(&vk, "req1", &digest, now),
            Err(DecisionError::NotApproved(Choice::Deny))
        );
        assert!(now + Duration::from_secs(1) < late);
    }

    #[test]
    fn signature_covers_the_context_prefix() {
        // A signature over the bare payload (no context) must not verify.
        let text = serde_json::to_string(&payload(Choice::Approve)).unwrap();
        let bare = SignedDecision {
            signature: hex::encode(key(1).sign(text.as_bytes()).to_bytes()),
            payload: text,
        };
        assert_eq!(
            bare.verify(&key(1).verifying_key()).unwrap_err(),
            DecisionError::BadSignature
        );
    }

    #[test]
    fn base64url_matches_rfc4648_vectors() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(Base64UrlUnpadded::encode_string(input.as_bytes()), output);
        }
        assert_eq!(Base64UrlUnpadded::encode_string(&[0xfb, 0xff]), "-_8");
    }
}
