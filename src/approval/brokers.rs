//! The broker URLs a client may use: one broker, or several replicas of one
//! broker that share its store and signing key (`GATE_SERVER="https://a,https://b"`,
//! `[channels.api] url = ["https://a", "https://b"]`).
//!
//! Owns the checked list; how it is written is `crate::policy::broker_urls`.
//! Never talks to a broker: which URL is tried when is `super::client`'s business.

use crate::policy::broker_urls::{problem, split};

/// One or more broker base URLs, in the order they are tried; never empty,
/// each `http://` or `https://`, without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brokers(Vec<String>);

/// A URL in a broker list that cannot be a broker's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadBrokerUrl {
    pub url: String,
    pub problem: &'static str,
}

impl std::fmt::Display for BadBrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad broker URL \"{}\": {}", self.url, self.problem)
    }
}

impl std::error::Error for BadBrokerUrl {}

impl Brokers {
    /// The brokers of `text` (`GATE_SERVER`, `--server`); `None` when it names none.
    pub fn parse(text: &str) -> Result<Option<Brokers>, BadBrokerUrl> {
        Brokers::from_items([text])
    }

    /// The brokers of several items, each of which may itself be a list
    /// (a policy's `url` array); `None` when they name none.
    pub fn from_items<'a>(
        items: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<Brokers>, BadBrokerUrl> {
        let mut urls = Vec::new();
        for url in items.into_iter().flat_map(split) {
            if let Some(problem) = problem(url) {
                let url = url.to_string();
                return Err(BadBrokerUrl { url, problem });
            }
            urls.push(url.trim_end_matches('/').to_string());
        }
        Ok((!urls.is_empty()).then_some(Brokers(urls)))
    }

    /// The URLs, in the order they are tried.
    pub fn urls(&self) -> &[String] {
        &self.0
    }

    /// The first URL: the one a single-broker setup names.
    pub fn first(&self) -> &str {
        &self.0[0]
    }
}

/// The URLs joined by `", "`, which [`Brokers::parse`] reads back.
impl std::fmt::Display for Brokers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<String> {
        Brokers::parse(text).unwrap().unwrap().urls().to_vec()
    }

    #[test]
    fn one_url_is_a_list_of_one() {
        assert_eq!(urls(" https://a:8443/ "), ["https://a:8443"]);
    }

    #[test]
    fn commas_and_whitespace_separate_urls() {
        let want = ["https://a:8443", "http://b", "https://c"];
        assert_eq!(urls("https://a:8443,http://b, https://c"), want);
        assert_eq!(urls("https://a:8443 http://b\n\thttps://c,"), want);
        let back = Brokers::parse("https://a:8443,http://b,https://c")
            .unwrap()
            .unwrap();
        assert_eq!(Brokers::parse(&back.to_string()).unwrap().unwrap(), back);
    }

    #[test]
    fn nothing_but_separators_names_no_broker() {
        assert_eq!(Brokers::parse(" , ").unwrap(), None);
        assert_eq!(Brokers::from_items(["", " "]).unwrap(), None);
    }

    #[test]
    fn a_bad_url_in_the_list_is_named() {
        let err = Brokers::parse("https://a, ftp://b, https://c").unwrap_err();
        assert_eq!(err.url, "ftp://b");
        assert!(err.to_string().contains("\"ftp://b\""), "{err}");
    }

    #[test]
    fn items_may_themselves_be_lists() {
        let got = Brokers::from_items(["https://a,https://b", "https://c"]).unwrap();
        assert_eq!(got.unwrap().urls(), ["https://a", "https://b", "https://c"]);
    }
}
