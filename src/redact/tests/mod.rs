//! Whole-redactor properties: policy patterns, idempotence, no panics, clean text.
//! One file per class of secret beside this one.

mod argv;
mod everyday;
mod fields;
mod flags;
mod property;
mod providers;
mod triggers;
mod urls;
mod variables;

use super::*;

fn builtin() -> Redactor {
    Redactor::new(&[]).unwrap()
}

/// One string through the redactor, as a shell line or free text.
pub(super) fn redact(text: &str) -> String {
    builtin().redact(text)
}

/// An argv through the redactor, as gate received it.
pub(super) fn redact_argv(argv: &[&str]) -> Vec<String> {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    builtin().redact_argv(&argv)
}

/// Asserts `secret` survives none of: the argv alone, the argv joined into a
/// `sh -c` line, and the joined line as text.
#[track_caller]
pub(super) fn assert_masked(argv: &[&str], secret: &str) {
    let masked = redact_argv(argv);
    assert!(
        !masked.iter().any(|a| a.contains(secret)),
        "argv leaked {secret:?}: {masked:?}"
    );
    let line = crate::guard::shell_join(&argv.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let wrapped = redact_argv(&["sh", "-c", &line]);
    assert!(
        !wrapped[2].contains(secret),
        "sh -c leaked {secret:?}: {}",
        wrapped[2]
    );
    let text = redact(&line);
    assert!(!text.contains(secret), "text leaked {secret:?}: {text}");
}

/// Asserts the argv, its `sh -c` line and its text come through unchanged.
#[track_caller]
pub(super) fn assert_untouched(argv: &[&str]) {
    let owned: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    assert_eq!(redact_argv(argv), owned, "argv changed");
    let line = crate::guard::shell_join(&owned);
    assert_eq!(redact(&line), line, "line changed");
}

/// Inputs chosen to stress boundaries: unicode, unterminated quotes and blocks,
/// masks next to secrets, empty values, several secrets in one line.
const TRICKY: &[&str] = &[
    "",
    "ls -la",
    "****",
    "--password",
    "--password=",
    "--password=****",
    "TOKEN=",
    "TOKEN=\"",
    "TOKEN='unterminated",
    "https://:@host",
    "https://u:p@",
    "x://a:b@c@d/e",
    "Authorization:",
    "Authorization: Bearer",
    "Bearer ****",
    "mysql -p",
    "mysql -p''",
    "sshpass -p",
    "-----BEGIN PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY----------END RSA PRIVATE KEY-----",
    "ééé TOKEN=ü€𝄞 ghp_ü",
    "a=1,b.password=2,c.token=3,d=4",
    "export A_TOKEN=x B_SECRET=y C_KEY=z; curl -u u:p https://u:p@h -H 'Authorization: Bearer abcdefghijklmnop'",
    "AKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPLE",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
    "\"password\":\"\"",
    "GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345",
];

#[test]
fn redaction_is_idempotent_on_tricky_inputs() {
    let r = builtin();
    for input in TRICKY {
        let once = r.redact(input);
        assert_eq!(r.redact(&once), once, "not idempotent for {input:?}");
    }
}

#[test]
fn redaction_never_panics_on_any_prefix_of_tricky_inputs() {
    let r = builtin();
    for input in TRICKY {
        for (i, _) in input.char_indices() {
            r.redact(&input[..i]);
            r.redact(&input[i..]);
        }
        let argv: Vec<String> = input.split(' ').map(String::from).collect();
        assert_eq!(r.redact_argv(&argv).len(), argv.len());
    }
}

#[test]
fn argv_redaction_is_idempotent() {
    let r = builtin();
    let argv: Vec<String> = ["curl", "-u", "me:pw", "--token", "t", "mysql", "-px"]
        .map(String::from)
        .to_vec();
    let once = r.redact_argv(&argv);
    assert_eq!(r.redact_argv(&once), once);
}

#[test]
fn ordinary_commands_are_left_alone() {
    let r = builtin();
    for text in [
        "ls -la /var/log",
        "kubectl get pods -n payments -o wide",
        "kubectl get secret db-password -o yaml",
        "git log --oneline 8b5a1c9f3e2d4b6a7c8d9e0f1a2b3c4d5e6f7a8b",
        "terraform apply -var region=eu-west-1 -target=module.db",
        "docker run --rm -v /src:/src rust:1.88 cargo test",
        "echo 'the deploy key is rotated monthly'",
        "sha256sum /tmp/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ] {
        assert_eq!(r.redact(text), text);
    }
}

#[test]
fn a_combined_line_masks_every_secret() {
    let line = "export GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345; \
                curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln' \
                https://bot:hunter2@api.example.com/x";
    let redacted = builtin().redact(line);
    for secret in ["ghp_0123", "eyJhbGci", "hunter2"] {
        assert!(!redacted.contains(secret), "{secret} leaked: {redacted}");
    }
    assert!(redacted.contains("GITHUB_TOKEN=****"));
    assert!(redacted.contains("https://bot:****@api.example.com/x"));
}

#[test]
fn policy_patterns_mask_the_secret_group_or_group_one_or_the_match() {
    let r = Redactor::new(&[
        r"acct-(?P<secret>\d{6})".to_string(),
        r"pin=(\d+)".to_string(),
        r"INTERNAL-[A-Z]{4}".to_string(),
    ])
    .unwrap();
    assert_eq!(
        r.redact("acct-123456 pin=42 INTERNAL-ABCD"),
        "acct-**** pin=**** ****"
    );
    assert_eq!(
        r.redact("acct-12 pin= INTERNAL-ab"),
        "acct-12 pin= INTERNAL-ab"
    );
}

#[test]
fn a_bad_policy_pattern_is_named_in_the_error() {
    let err = Redactor::new(&["ok".into(), "(unclosed".into()]).unwrap_err();
    assert_eq!(err.pattern, "(unclosed");
    assert!(err.message.contains("policy-pattern-2"), "{}", err.message);
    assert!(!err.message.contains('\n'));
    assert!(err.to_string().contains("(unclosed"));
}

#[test]
fn built_in_patterns_compile() {
    for (i, group) in BUILT_IN.groups.iter().enumerate() {
        let rules = BUILT_IN.rules(i).as_ref();
        let rules = rules.unwrap_or_else(|err| panic!("{}: {err:?}", group.name));
        // Each detector is compiled on its own when first needed: all must.
        for lazy in &rules.rules {
            assert!(lazy.rule().is_ok(), "{:?}", lazy.rule().err());
        }
    }
}

#[test]
fn clean_text_is_cheap() {
    let r = builtin();
    let start = std::time::Instant::now();
    for _ in 0..1000 {
        r.redact("ls -la /var/log");
    }
    // Generous bound (debug build, shared CI box): ~microseconds per call in practice.
    assert!(start.elapsed() < std::time::Duration::from_millis(500));
}
