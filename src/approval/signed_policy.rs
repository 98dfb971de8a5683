//! The organisation's policy as the broker serves it (`GET /v1/policy`): the
//! policy text, and its version (the SHA-256 of the text) signed with the
//! broker's key, so a gate in managed mode uses only a policy its pinned broker
//! vouched for. A policy whose signature does not verify is never used.
//!
//! The signature covers a small payload naming the text's digest, not the text:
//! checking a cached copy costs the one hash of the text every decision needs
//! anyway (it is the version records name) and a signature over a few bytes.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Prefixed to the payload before signing, so a policy signature can never pass
/// for a decision's (and the other way round).
pub const POLICY_CONTEXT: &[u8] = b"gate-policy-v1\n";

/// What the broker signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyPayload {
    /// Always `"gate-policy"`.
    pub kind: String,
    /// Hex SHA-256 of the policy text.
    pub version: String,
    /// When this version came into force at the broker (RFC 3339).
    pub since: String,
    /// When the broker served it (RFC 3339): how old a cached copy is.
    pub served_at: String,
}

/// A payload, serialised, the broker's signature over those exact bytes, and
/// the policy text the payload names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPolicy {
    pub payload: String,
    /// Hex ed25519 signature over [`POLICY_CONTEXT`] and `payload`.
    pub signature: String,
    pub text: String,
}

/// A policy whose signature and digest verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPolicy {
    pub payload: PolicyPayload,
    pub text: String,
}

/// Hex SHA-256 of a policy text: its version everywhere gate names one.
pub fn policy_version(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl SignedPolicy {
    /// Sign `payload`, which must name `text`'s digest.
    pub fn sign(payload: &PolicyPayload, text: &str, key: &SigningKey) -> SignedPolicy {
        let json = serde_json::to_string(payload).expect("a policy payload always serialises");
        SignedPolicy {
            signature: hex::encode(key.sign(&message(&json)).to_bytes()),
            payload: json,
            text: text.to_string(),
        }
    }

    /// The payload and text, when the signature verifies with `key` and the text
    /// is the one the payload names; otherwise one line saying what is wrong.
    pub fn verify(self, key: &VerifyingKey) -> Result<VerifiedPolicy, String> {
        let bad = || {
            "the organisation policy's signature does not verify with the pinned broker key \
             (forged, altered, or signed by another broker)"
                .to_string()
        };
        let bytes = hex::decode(&self.signature).map_err(|_| bad())?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| bad())?;
        key.verify(&message(&self.payload), &Signature::from_bytes(&bytes))
            .map_err(|_| bad())?;
        let payload: PolicyPayload = serde_json::from_str(&self.payload)
            .map_err(|e| format!("the organisation policy is malformed: {e}"))?;
        if payload.kind != "gate-policy" {
            return Err(format!(
                "the signed document is a {:?}, not an organisation policy",
                payload.kind
            ));
        }
        if payload.version != policy_version(&self.text) {
            return Err("the organisation policy's text is not the one its signature names".into());
        }
        Ok(VerifiedPolicy {
            payload,
            text: self.text,
        })
    }
}

fn message(payload: &str) -> Vec<u8> {
    [POLICY_CONTEXT, payload.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn payload(text: &str) -> PolicyPayload {
        PolicyPayload {
            kind: "gate-policy".into(),
            version: policy_version(text),
            since: "2026-11-30T00:00:00Z".into(),
            served_at: "2026-11-30T01:00:00Z".into(),
        }
    }

    fn signed(text: &str) -> SignedPolicy {
        SignedPolicy::sign(&payload(text), text, &key(1))
    }

    #[test]
    fn a_signed_policy_verifies_with_its_key_only() {
        let signed = signed("version = 1\n");
        let verified = signed.clone().verify(&key(1).verifying_key()).unwrap();
        assert_eq!(verified.text, "version = 1\n");
        assert_eq!(verified.payload.version, policy_version("version = 1\n"));
        assert!(signed.verify(&key(2).verifying_key()).is_err());
    }

    #[test]
    fn an_altered_text_or_payload_is_refused() {
        let mut altered = signed("version = 1\n");
        altered.text = "version = 1\ndefault = \"allow\"\n".into();
        let err = altered.verify(&key(1).verifying_key()).unwrap_err();
        assert!(err.contains("not the one its signature names"), "{err}");
        let mut altered = signed("version = 1\n");
        altered.payload = altered.payload.replace("2026-11-30T01", "2030-11-30T01");
        assert!(altered.verify(&key(1).verifying_key()).is_err());
    }

    #[test]
    fn a_decision_signature_is_not_a_policy_signature() {
        let json = serde_json::to_string(&payload("version = 1\n")).unwrap();
        let context = crate::approval::decision::DECISION_CONTEXT;
        let as_decision = key(1).sign(&[context, json.as_bytes()].concat());
        let forged = SignedPolicy {
            payload: json,
            signature: hex::encode(as_decision.to_bytes()),
            text: "version = 1\n".into(),
        };
        assert!(forged.verify(&key(1).verifying_key()).is_err());
    }
}
