//! The property: a generated secret, in any shape gate knows and in any position
//! a requester can put it (an argv element, a `sh -c` line in either quoting, an
//! `env NAME=value` word, the `--reason` text), survives none of the texts the
//! pipeline records or shows: the redacted argv, the redacted normalised
//! commands (`gate check`'s list) and the redacted reason.

use super::builtin;
use crate::guard::shell_join;
use crate::policy::normalise;
use proptest::prelude::*;

/// Random alphanumerics of realistic lengths, as generated keys and passwords are.
fn secret(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9]{{{min},{max}}}")).expect("valid regex")
}

const PROVIDER_PREFIXES: &[&str] = &[
    "sk-",
    "sk-proj-",
    "sk-ant-api03-",
    "sk_live_",
    "rk_test_",
    "AIza",
    "glpat-",
    "hvs.",
    "npm_",
    "hf_",
    "ghp_",
    "xoxb-",
    "github_pat_",
    "dckr_pat_",
    "gsk_",
    "pplx-",
    "xai-",
    "lin_api_",
    "figd_",
    "HRKU-",
    "r8_",
    "tskey-auth-",
    "GOCSPX-",
    "sntrys_",
    "ntn_",
];

/// Programs and the option that takes their password, with the spellings they accept.
const PASSWORD_OPTIONS: &[(&[&str], &str, Spellings)] = &[
    (&["docker", "login", "-u", "me"], "-p", Spellings::ShortBoth),
    (&["podman", "login"], "--password", Spellings::LongBoth),
    (&["redis-cli", "-h", "cache"], "-a", Spellings::ShortBoth),
    (
        &["ldapsearch", "-x", "-D", "cn=admin"],
        "-w",
        Spellings::ShortBoth,
    ),
    (
        &["sqlcmd", "-S", "db", "-U", "sa"],
        "-P",
        Spellings::ShortBoth,
    ),
    (&["mongosh", "-u", "admin"], "-p", Spellings::ShortBoth),
    (&["gpg", "--batch"], "--passphrase", Spellings::LongBoth),
    (&["openssl", "enc", "-aes-256-cbc"], "-k", Spellings::Next),
    (&["zip", "-r"], "-P", Spellings::ShortBoth),
    (&["7z", "a"], "-p", Spellings::Attached),
    (&["mysql", "-uroot"], "-p", Spellings::Attached),
    (&["sshpass"], "-p", Spellings::ShortBoth),
    (&["curl", "-s"], "--oauth2-bearer", Spellings::LongBoth),
    (&["forge", "create"], "--private-key", Spellings::LongBoth),
    (&["app"], "--client-secret", Spellings::LongBoth),
    (&["influx", "query"], "-token", Spellings::Next),
    (&["keytool", "-list"], "-storepass", Spellings::Next),
];

#[derive(Debug, Clone, Copy)]
enum Spellings {
    Next,
    Attached,
    ShortBoth,
    LongBoth,
}

const SECRET_VARIABLES: &[&str] = &[
    "MYSQL_PWD",
    "DB_PASS",
    "SSHPASS",
    "APP_SECRET",
    "STRIPE_KEY",
    "SMTP_PASSWORD",
    "db_password",
    "GITHUB_TOKEN",
    "apiKey",
    "PGPASSWORD",
    "LDAP_BIND_PW",
];

/// One secret in one shape: the words of a command holding it.
fn shapes() -> impl Strategy<Value = (Vec<String>, String)> {
    let provider = (prop::sample::select(PROVIDER_PREFIXES), secret(40, 64))
        .prop_map(|(prefix, s)| (vec!["echo".into(), format!("{prefix}{s}")], s));
    let option = (
        prop::sample::select(PASSWORD_OPTIONS),
        secret(6, 40),
        0..3usize,
    )
        .prop_map(|((program, flag, spellings), s, pick)| {
            let mut words: Vec<String> = program.iter().map(|w| w.to_string()).collect();
            let attached = match spellings {
                Spellings::Next => false,
                Spellings::Attached => true,
                Spellings::ShortBoth | Spellings::LongBoth => pick == 0,
            };
            match (attached, spellings) {
                (true, Spellings::LongBoth) => words.push(format!("{flag}={s}")),
                (true, _) => words.push(format!("{flag}{s}")),
                (false, _) => words.extend([flag.to_string(), s.clone()]),
            }
            words.push("target".into());
            (words, s)
        });
    let variable = (prop::sample::select(SECRET_VARIABLES), secret(8, 40))
        .prop_map(|(name, s)| (vec!["env".into(), format!("{name}={s}"), "make".into()], s));
    let url_user = secret(20, 48).prop_map(|s| {
        let url = format!("https://{s}@github.com/org/repo.git");
        (vec!["git".into(), "clone".into(), url], s)
    });
    let signed = (
        prop::sample::select(&["X-Amz-Signature", "sig", "token", "X-Goog-Signature"][..]),
        secret(16, 64),
    )
        .prop_map(|(param, s)| {
            let url = format!("https://files.example.com/a/b?v=1&{param}={s}&e=60");
            (vec!["curl".into(), "-fsSL".into(), url], s)
        });
    let cookie = secret(16, 48).prop_map(|s| {
        let words = [
            "curl",
            "-H",
            &format!("Cookie: theme=dark; session={s}"),
            "https://x",
        ];
        (words.map(String::from).to_vec(), s)
    });
    let pair = (
        prop::sample::select(
            &[
                ("smbclient", "-U", '%'),
                ("curl", "-u", ':'),
                ("http", "-a", ':'),
            ][..],
        ),
        secret(6, 32),
    )
        .prop_map(|((program, flag, sep), s)| {
            let words = [program, flag, &format!("alice{sep}{s}"), "target"];
            (words.map(String::from).to_vec(), s)
        });
    let dollar = secret(12, 32).prop_map(|s| {
        let s = format!("Q{s}z");
        (vec!["app".into(), format!("--password=${s}")], s)
    });
    prop_oneof![
        provider, option, variable, url_user, signed, cookie, pair, dollar
    ]
}

/// A shell line with words in double quotes where they need quoting.
fn double_quoted(words: &[String]) -> String {
    let quote = |w: &String| {
        if w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
        {
            w.clone()
        } else {
            let escaped: String = w
                .chars()
                .flat_map(|c| match c {
                    '"' | '\\' | '$' | '`' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("\"{escaped}\"")
        }
    };
    words.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// Every text the pipeline records or shows for `argv` with `reason`.
fn outputs(argv: &[String], reason: &str) -> Vec<String> {
    let r = builtin();
    let mut out = r.redact_argv(argv);
    for command in normalise(argv) {
        out.extend(r.redact_argv(&command.argv));
    }
    out.push(r.redact(reason));
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 192,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_generated_secret_survives_any_position((words, secret) in shapes()) {
        let positions: Vec<Vec<String>> = vec![
            words.clone(),
            vec!["sh".into(), "-c".into(), shell_join(&words)],
            vec!["bash".into(), "-lc".into(), format!("cd /srv && {}", double_quoted(&words))],
            vec!["sudo".into(), "-u".into(), "svc".into(), "env".into(), "LANG=C".into()]
                .into_iter()
                .chain(words.iter().cloned())
                .collect(),
        ];
        for argv in &positions {
            // Free text: a program's own options count where a command starts,
            // as in the Markdown an agent writes.
            let reason = format!("needed for the release: `{}`; {}", words.join(" "), words.join(" "));
            let r = builtin();
            let once = r.redact_argv(argv);
            prop_assert_eq!(r.redact_argv(&once), once.clone(), "not idempotent");
            for text in outputs(argv, &reason) {
                prop_assert!(!text.contains(&secret), "{secret} survived in {text:?} from {argv:?}");
            }
        }
    }
}
