//! How a list of broker URLs is written (`[channels.api] url`, and the same
//! text in `GATE_SERVER`): separated by commas and/or whitespace, each
//! `http://` or `https://`. Pure; `crate::approval::brokers` builds on it.

/// What is wrong with a broker URL that is not `http(s)://`.
pub const MUST_BE_HTTP: &str = "the broker URL must start with http:// or https://";

/// The URLs of `text`, separated by commas and/or whitespace; empty items are
/// skipped.
pub fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
}

/// Why `url` cannot be a broker's base URL, if it cannot.
pub fn problem(url: &str) -> Option<&'static str> {
    let http = url.starts_with("http://") || url.starts_with("https://");
    (!http).then_some(MUST_BE_HTTP)
}
