//! Credentials in URLs: passwords, tokens used as the user name, signed query
//! parameters, and HTTP headers that carry a credential.

use super::{assert_masked, assert_untouched, redact, redact_argv};

const T: &str = "Xk9fQ2mLp8ZrT4vN7bWc";

#[test]
fn a_token_as_the_user_name() {
    assert_masked(
        &["git", "clone", &format!("https://{T}@github.com/o/r.git")],
        T,
    );
    assert_masked(
        &[
            "git",
            "clone",
            &format!("https://{T}:x-oauth-basic@github.com/o/r"),
        ],
        T,
    );
    assert_masked(
        &[
            "pip",
            "install",
            "--index-url",
            &format!("https://{T}@pypi.example.com/simple"),
            "x",
        ],
        T,
    );
    assert_masked(
        &[
            "git",
            "remote",
            "add",
            "o",
            &format!("https://oauth2:{T}@gitlab.com/o/r"),
        ],
        T,
    );
    assert_eq!(
        redact(&format!("git clone https://{T}@github.com/o/r")),
        "git clone https://****@github.com/o/r"
    );
    assert_untouched(&["git", "clone", "ssh://git@github.com/o/r"]);
    assert_untouched(&["git", "clone", "https://deploy-bot-2024@example.com/r"]);
    assert_untouched(&["curl", "https://firstname.lastname@example.com/"]);
}

#[test]
fn signed_url_parameters() {
    for url in [
        format!(
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Signature={T}&X-Amz-Expires=60"
        ),
        format!("https://b.s3.amazonaws.com/k?X-Amz-Security-Token={T}"),
        format!("https://acct.blob.core.windows.net/c/b?sv=2022&sp=r&sig={T}"),
        format!("https://storage.googleapis.com/b/o?X-Goog-Signature={T}"),
        format!("https://d.cloudfront.net/f?Expires=1&Signature={T}&Key-Pair-Id=K"),
        format!("https://api.example.com/v1?token={T}"),
        format!("https://api.example.com/v1?access_token={T}&page=2"),
        format!("https://maps.example.com/api?key={T}"),
    ] {
        assert_masked(&["curl", "-fsSL", &url], T);
        assert_masked(&["wget", &url, "-O", "out"], T);
    }
    assert_untouched(&["curl", "https://example.com/search?q=key&page=2&sort=asc"]);
}

#[test]
fn credential_headers() {
    for header in [
        format!("Cookie: session={T}"),
        format!("cookie: a=1; session={T}"),
        format!("Set-Cookie: sid={T}; Path=/"),
        format!("Authorization: Bearer {T}"),
        format!("Authorization: Basic {T}"),
        format!("X-Api-Key: {T}"),
        format!("PRIVATE-TOKEN: {T}"),
    ] {
        assert_masked(&["curl", "-H", &header, "https://x"], T);
        assert_masked(&["wget", &format!("--header={header}"), "https://x"], T);
    }
    assert_masked(&["curl", "-b", &format!("session={T}"), "https://x"], T);
    assert_masked(
        &[
            "curl",
            &format!("--cookie=session={T}; theme=dark"),
            "https://x",
        ],
        T,
    );
    assert_masked(&["http", "example.org", &format!("Cookie:session={T}")], T);
    assert_untouched(&[
        "curl",
        "-b",
        "cookies.txt",
        "-c",
        "cookies.txt",
        "https://x",
    ]);
    assert_untouched(&["curl", "-H", "Content-Type: application/json", "https://x"]);
}

#[test]
fn npm_registry_credentials() {
    assert_masked(
        &[
            "sh",
            "-c",
            &format!("echo //registry.npmjs.org/:_authToken={T} > .npmrc"),
        ],
        T,
    );
    assert_masked(
        &[
            "npm",
            "config",
            "set",
            &format!("//npm.example.com/:_authToken={T}"),
        ],
        T,
    );
    assert_masked(&["echo", &format!("//npm.example.com/:_auth={T}")], T);
    assert_masked(&["echo", &format!("//npm.example.com/:_password={T}")], T);
}

#[test]
fn a_header_split_into_words_by_the_shell() {
    let out = redact_argv(&["curl", "-H", "Cookie:", "session=abc123", "https://x"]);
    assert_eq!(out[3], "****");
    let out = redact_argv(&[
        "curl",
        "-H",
        "Authorization:",
        "Bearer",
        "abc123",
        "https://x",
    ]);
    assert_eq!(out[3..5], ["Bearer", "****"]);
    assert!(!redact("curl -H password: abc123 https://x").contains("abc123"));
}
