//! The triggers decide which detector groups a text compiles: everyday words
//! must build none, and a group its triggers skip must have nothing to mask.

use crate::redact::rule::Mode;
use crate::redact::{BUILT_IN, names};
use proptest::prelude::*;

/// The groups `text` needs, by name.
fn needed(text: &str) -> Vec<&'static str> {
    let needed = BUILT_IN.index.needed(text);
    let groups = BUILT_IN.groups.iter().enumerate();
    groups
        .filter(|&(g, _)| needed.contains(g))
        .map(|(_, group)| group.name)
        .collect()
}

/// Fails if a group that `text` does not need would mask something in it: its
/// triggers are then too tight, and the redactor would let that secret through.
#[track_caller]
fn assert_skipped_groups_mask_nothing(text: &str) {
    let needed = BUILT_IN.index.needed(text);
    for (g, group) in BUILT_IN.groups.iter().enumerate() {
        if needed.contains(g) {
            continue;
        }
        let rules = BUILT_IN
            .rules(g)
            .as_ref()
            .expect("built-in patterns compile");
        for lazy in rules.candidates(text) {
            let rule = lazy.rule().expect("built-in patterns compile");
            for mode in [Mode::Shell, Mode::Literal] {
                assert!(
                    rule.mask(text, mode).is_none(),
                    "{} masks {text:?}, but its triggers skip it",
                    group.name
                );
            }
        }
    }
}

#[test]
fn everyday_words_build_no_detector() {
    for text in [
        "hello",
        "path",
        "keyboard",
        "https",
        "author",
        "https://example.org/docs/keyboard",
        "cat /etc/passwd",
        "ls -la ~/.ssh/keys",
        "kubectl get secret api-token -o name",
        "git log --oneline -- src/auth/",
        "git diff -- src/redact/names.rs",
        "grep -r password docs/",
        "find . -name *.key",
        "curl https://example.org/install.sh",
    ] {
        assert_eq!(needed(text), Vec::<&str>::new(), "{text}");
    }
}

#[test]
fn a_secret_word_in_its_place_builds_its_group() {
    for (text, group) in [
        ("--password=x", "secret-flags"),
        ("-storepass x", "secret-flags"),
        ("DB_PASS=x", "secret-assignment"),
        ("author=x", "secret-assignment"),
        ("password: x", "secret-fields"),
        ("https://u:p@h", "url-credentials"),
        ("https://h/?sig=x", "url-parameter"),
        ("Authorization: x", "headers"),
        ("got bearer x", "headers"),
        ("mysql -px", "password-options"),
        ("ghp_x", "github-token"),
        ("sk-proj-x", "openai"),
    ] {
        assert!(needed(text).contains(&group), "{text}: {:?}", needed(text));
    }
}

#[test]
fn every_trigger_word_is_lower_case() {
    for group in &BUILT_IN.groups {
        assert!(!group.triggers.is_empty(), "{} has no trigger", group.name);
        for trigger in &group.triggers {
            for word in trigger.word_list() {
                assert!(!word.is_empty(), "{}", group.name);
                assert_eq!(*word, word.to_ascii_lowercase(), "{}", group.name);
            }
        }
    }
}

/// Every name the tables call secret, in every position a detector reads.
#[test]
fn triggers_cover_every_name_in_every_position() {
    let tables = [
        names::LAST_SEGMENTS,
        names::ENDINGS,
        names::ANYWHERE,
        names::URL_PARAMETERS,
        names::FLAG_ENDINGS,
        names::JAVA_FLAGS,
    ];
    let kinds = names::KEY_KINDS.iter().map(|kind| format!("{kind}-key"));
    let names = tables.iter().flat_map(|t| t.iter().map(|n| n.to_string()));
    for name in names.chain(kinds) {
        for name in [
            name.clone(),
            name.to_ascii_uppercase(),
            format!("db_{name}"),
        ] {
            for text in [
                format!("curl 'https://h/p?{name}=v4lue&x=1'"),
                format!("https://h/p?a=1&{name}=v4lue"),
                format!("{name}=v4lue"),
                format!("export {name}=v4lue"),
                format!("java -D{name}=v4lue"),
                format!("helm --set a.{name}=v4lue,b=1"),
                format!("x --{name}=v4lue"),
                format!("x --{name} v4lue"),
                format!("x -{name} v4lue"),
                format!("x --db-{name}=v4lue"),
                format!(r#"{{"{name}": "v4lue"}}"#),
                format!(r#"{{'{name}' => 'v4lue'}}"#),
                format!(r#"sh -c "curl -d {{\"{name}\":\"v4lue\"}}""#),
                format!("{name}: v4lue"),
                format!(":{name} => v4lue"),
                format!("-H 'X-{name}: v4lue'"),
            ] {
                assert_skipped_groups_mask_nothing(&text);
            }
        }
    }
}

#[test]
fn triggers_cover_every_header_program_and_shape() {
    for text in [
        "curl -H 'Authorization: Bearer abc.def.ghi'",
        "Proxy-Authorization: Basic dXNlcjpwYXNz",
        "-H 'X-Api-Key: k123'",
        "-H 'x-auth-token: t'",
        "-H 'PRIVATE-TOKEN: glpat-xyz'",
        "-H 'x-vault-token: s.x'",
        "Cookie: a=1; b=2",
        "set-cookie: a=1",
        "got BEARER abcdefghijklmnop back",
        "mysql -uroot -phunter2 db",
        "/usr/bin/mariadb-dump -h h -p'a b' db",
        "sshpass -p hunter2 ssh host",
        "curl -u admin:pw https://x",
        "curl -s --user=admin:pw https://x",
        "git clone https://user:hunter2@example.com/r.git",
        "https://a8Kd0QzLm3Xp9Rt2Vw@github.com/o/r",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
        "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz",
        "xoxb-123456789012-abcdefABCDEF",
        "https://HOOKS.SLACK.COM/services/T000/B000/XXXX",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
    ] {
        assert_skipped_groups_mask_nothing(text);
    }
}

/// Pieces of the texts the detectors read: names, separators, programs, prefixes.
const PIECES: &[&str] = &[
    "password",
    "PASS",
    "pwd",
    "pw",
    "token",
    "Secret",
    "key",
    "apiKey",
    "auth",
    "cookie",
    "creds",
    "credential",
    "pat",
    "psk",
    "sig",
    "code",
    "session",
    "bearer",
    "Authorization",
    "x-api-key",
    "db_",
    "set-",
    "proxy-",
    "private-",
    "aws_secret_access_key",
    "=",
    ":",
    ": ",
    " => ",
    " ",
    "  ",
    "-",
    "--",
    "-D",
    "?",
    "&",
    "@",
    "://",
    "https",
    "\"",
    "'",
    "\\\"",
    "(",
    ",",
    ".",
    "/",
    "\n",
    "$",
    "mysql",
    "mariadb",
    "sshpass",
    "curl",
    "-p",
    "-u ",
    "--user",
    "hunter2",
    "a8Kd0QzLm3Xp9Rt2VwYb",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIA",
    "IOSFODNN7EXAMPLE",
    "ghp_",
    "0123456789abcdefghijABCDEFGHIJ012345",
    "github_pat_",
    "xoxb-",
    "hooks.slack.com/services/",
    "eyJ",
    "abcdefghij",
    "-----BEGIN ",
    "RSA PRIVATE KEY-----",
    "sk-proj-",
    "glpat-",
    "path",
    "keyboard",
    "author",
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_group_the_triggers_skip_has_anything_to_mask(
        pieces in prop::collection::vec(prop::sample::select(PIECES), 1..10)
    ) {
        assert_skipped_groups_mask_nothing(&pieces.concat());
    }
}
