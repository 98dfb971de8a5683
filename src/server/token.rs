//! Secrets the broker hands out: request ids, requester and approver tokens, and
//! the SHA-256 the store keeps instead of a token. A token is never logged.

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

/// 16 random bytes as 32 lowercase hex characters.
pub fn request_id() -> Result<String, String> {
    Ok(hex::encode(random::<16>()?))
}

/// `gate_` and 32 random bytes, base64url.
pub fn new_token() -> Result<String, String> {
    Ok(format!(
        "gate_{}",
        Base64UrlUnpadded::encode_string(&random::<32>()?)
    ))
}

/// The SHA-256 of a token, as stored and compared.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compare two hashes without stopping at the first difference.
pub fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| format!("the system's random source failed: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_have_their_shapes() {
        let id = request_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let token = new_token().unwrap();
        assert!(
            token.starts_with("gate_") && token.len() == 5 + 43,
            "{token}"
        );
        assert_ne!(new_token().unwrap(), token);
    }

    #[test]
    fn hashes_compare() {
        assert!(same(&hash("a"), &hash("a")));
        assert!(!same(&hash("a"), &hash("b")));
        assert_eq!(hex::encode(hash("abc"))[..8], *"ba7816bf");
    }
}
