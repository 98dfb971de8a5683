//! The organisation's policy as the broker serves it (`GET /v1/policy`): the
//! policy text with its version (the SHA-256 of the text), signed with the
//! broker's key so a gate in managed mode uses only a policy its pinned broker
//! vouched for. A policy whose signature does not verify is never used.

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
    /// Hex SHA-256 of `text`.
    pub version: String,
    pub text: String,
    /// When this version came into force at the broker (RFC 3339).
    pub since: String,
    /// When the broker served it (RFC 3339): how old a cached copy is.
    pub served_at: String,
}

/// A payload, serialised, and the broker's signature over those exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPolicy {
    pub payload: String,
    /// Hex ed25519 signature over [`POLICY_CONTEXT`] and `payload`.
    pub signature: String,
}

/// Hex SHA-256 of a policy text: its version everywhere gate names one.
pub fn policy_version(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl SignedPolicy {
    pub fn sign(payload: &PolicyPayload, key: &SigningKey) -> SignedPolicy {
        let text = serde_json::to_string(payload).expect("a policy payload always serialises");
        SignedPolicy {
            signature: hex::encode(key.sign(&message(&text)).to_bytes()),
            payload: text,
        }
    }

    /// The payload, when the signature verifies with `key` and the version is
    /// the text's digest; otherwise one line saying what is wrong.
    pub fn verify(&self, key: &VerifyingKey) -> Result<PolicyPayload, String> {
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
        if payload.version != policy_version(&payload.text) {
            return Err("the organisation policy's version is not the digest of its text".into());
        }
        Ok(payload)
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
            text: text.into(),
            since: "2026-11-30T00:00:00Z".into(),
            served_at: "2026-11-30T01:00:00Z".into(),
        }
    }

    #[test]
    fn a_signed_policy_verifies_with_its_key_only() {
        let signed = SignedPolicy::sign(&payload("version = 1\n"), &key(1));
        assert_eq!(
            signed.verify(&key(1).verifying_key()).unwrap().text,
            "version = 1\n"
        );
        assert!(signed.verify(&key(2).verifying_key()).is_err());
    }

    #[test]
    fn an_altered_text_or_version_is_refused() {
        let signed = SignedPolicy::sign(&payload("version = 1\n"), &key(1));
        let mut altered = signed.clone();
        altered.payload = altered.payload.replace("version = 1", "version = 2");
        assert!(altered.verify(&key(1).verifying_key()).is_err());
        // Signed, but the version is not the text's digest.
        let mut lying = payload("version = 1\n");
        lying.text = "version = 1\ndefault = \"allow\"\n".into();
        let signed = SignedPolicy::sign(&lying, &key(1));
        let err = signed.verify(&key(1).verifying_key()).unwrap_err();
        assert!(err.contains("not the digest"), "{err}");
    }

    #[test]
    fn a_decision_signature_is_not_a_policy_signature() {
        let text = serde_json::to_string(&payload("version = 1\n")).unwrap();
        let as_decision =
            key(1).sign(&[crate::approval::decision::DECISION_CONTEXT, text.as_bytes()].concat());
        let forged = SignedPolicy {
            payload: text,
            signature: hex::encode(as_decision.to_bytes()),
        };
        assert!(forged.verify(&key(1).verifying_key()).is_err());
    }
}
