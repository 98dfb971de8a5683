//! [`Secret`]: a credential the program holds (a broker token, a webhook secret)
//! that must never reach a log, a message or debug output by accident.
//!
//! Formatting always prints [`MASK`]; the value is only reachable through
//! [`Secret::expose`], so every use is greppable. No `Serialize`, no `PartialEq`
//! (compare secrets in constant time where they are checked, not here).

use super::MASK;
use std::fmt;

/// A value whose `Debug` and `Display` print `****`.
#[derive(Clone, Default)]
pub struct Secret<T>(T);

/// The common case: a secret string (token, password, signing secret).
pub type SecretString = Secret<String>;

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The secret itself. Call only where it is used (a header, a HMAC key).
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Secret<T> {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)] // read only through Debug, which is the point of the test
    struct Settings {
        url: String,
        token: SecretString,
    }

    #[test]
    fn formatting_never_shows_the_value() {
        let token = SecretString::new("xoxb-real".into());
        assert_eq!(format!("{token}"), "****");
        assert_eq!(format!("{token:?}"), "****");
        let settings = Settings {
            url: "https://x".into(),
            token,
        };
        assert!(!format!("{settings:?}").contains("xoxb"));
        assert!(format!("{settings:#?}").contains("token: ****"));
    }

    #[test]
    fn the_value_is_reachable_on_purpose() {
        let token: Secret<String> = "abc".to_string().into();
        assert_eq!(token.expose(), "abc");
        assert_eq!(token.into_inner(), "abc");
    }
}
