//! Detectors for secrets recognisable by where they stand: `--password=X`,
//! `GITHUB_TOKEN=X`, `Authorization: Bearer X`, `https://user:X@host`,
//! `mysql -pX`. The context is kept and only the value is masked.
//!
//! A value that is only a shell variable reference (`$TOKEN`) is left alone: it
//! names a secret without revealing it, and an approver wants to see it.

use super::Spec;
use super::names::{is_secret_flag, is_secret_name, is_secret_parameter};
use super::rule::{Mode, between_quotes, is_value, unless_variable};
use super::trigger::{Group, Trigger};
use regex::{Captures, Regex};
use std::ops::Range;
use std::sync::LazyLock;

/// An assigned value: quoted, or bare up to whitespace or shell punctuation. An
/// unterminated quote (truncated text) runs to the end rather than leaking.
pub(super) const VALUE: &str = r#"(?:"[^"]*"?|'[^']*'?|[^\s"'`;&|<>()]+)"#;

/// A value given as the next word: like [`VALUE`] but never an option (`-x`).
const NEXT_VALUE: &str = r#"(?:"[^"]*"?|'[^']*'?|[^\s"'`;&|<>()\-][^\s"'`;&|<>()]*)"#;

/// A field's value in JSON, YAML or a Python dict: quoted (also with escaped
/// quotes, inside a `sh -c "..."` line), or bare up to a separator.
const FIELD_VALUE: &str = r#"(?:\\"[^"\\]*(?:\\")?|"[^"]*"?|'[^']*'?|[^\s"'`,;&|<>(){}\[\]\\]+)"#;

/// Candidate options that may take a secret; [`is_secret_flag`] decides.
const FLAG: &str = r"--?[a-z0-9_-]*(?:pass|passwd|password|passphrase|token|secret|key|bearer|psk)";

/// Candidate names that may hold a secret; [`is_secret_name`] decides.
const NAME: &str =
    r"[a-z0-9_.]*(?:pass|pwd|pw|token|secret|key|auth|cookie|creds|pat|psk|sig)[a-z0-9_.]*";

/// Programs whose `-pSECRET` (attached) is a password: the MySQL and MariaDB clients.
pub(super) const MYSQL_CLIENTS: &[&str] = &[
    "mysql",
    "mysqldump",
    "mysqladmin",
    "mysqlimport",
    "mysqlshow",
    "mysqlcheck",
    "mysqlbinlog",
    "mysqlpump",
    "mariadb",
    "mariadb-dump",
    "mariadb-admin",
    "mariadb-import",
    "mariadb-show",
    "mariadb-check",
    "mariadb-binlog",
];

/// Text between a program name and a later option on the same simple command.
const SAME_COMMAND: &str = r"(?:\s+[^\s;&|]+)*?\s+";

/// Start of a program name in a shell line: line start, whitespace, a path or quote.
const PROGRAM_START: &str = r#"(?:^|[\s/"'(;&|])"#;

/// One of these is in every URL parameter name [`is_secret_parameter`] accepts:
/// its own list and every name [`is_secret_name`] accepts.
const PARAMETER_WORDS: &[&str] = &[
    "pass", "pw", "secret", "token", "key", "pat", "psk", "auth", "cookie", "cred", "sig", "code",
    "session",
];

/// One of these is in every option [`FLAG`] finds.
const FLAG_WORDS: &[&str] = &["pass", "token", "secret", "key", "bearer", "psk"];

/// One of these is in every name [`NAME`] finds.
const NAME_WORDS: &[&str] = &[
    "pass", "pw", "token", "secret", "key", "auth", "cookie", "creds", "pat", "psk", "sig",
];

/// One of these is in every field name the field detectors find.
const FIELD_WORDS: &[&str] = &[
    "pass", "pwd", "token", "secret", "key", "auth", "creds", "cookie", "sig",
];

/// The context detectors in the order they apply, grouped by the words they
/// need. The short words (`pat`, `key`, `auth`) also sit inside everyday words
/// (`path`, `keyboard`, `author`), so their groups also ask for the `-`, `=` or
/// `:` that an option, an assignment or a field cannot do without.
pub(super) fn groups() -> Vec<Group> {
    vec![
        Group::new(
            "url-credentials",
            &[Trigger::words(&["://"]).later(b"@")],
            url_credentials,
        ),
        Group::new(
            "url-parameter",
            &[Trigger::words(PARAMETER_WORDS).earlier(b"?&").later(b"=")],
            url_parameter,
        ),
        Group::new(
            "headers",
            &[
                Trigger::words(&["authorization", "api-key", "-token", "cookie"]).later(b":"),
                Trigger::words(&["bearer"]),
            ],
            headers,
        ),
        Group::new(
            "secret-flags",
            &[Trigger::words(FLAG_WORDS).in_option()],
            secret_flags,
        ),
        Group::new(
            "secret-assignment",
            &[Trigger::words(NAME_WORDS).later(b"=")],
            secret_assignment,
        ),
        Group::new(
            // `=` for Ruby's `=>`.
            "secret-fields",
            &[Trigger::words(FIELD_WORDS).later(b":=")],
            secret_fields,
        ),
        Group::new(
            "password-options",
            &[Trigger::words(&["mysql", "mariadb", "sshpass", "curl"]).later(b"-")],
            password_options,
        ),
    ]
}

fn url_credentials() -> Vec<Spec> {
    vec![
        Spec::new(
            "url-credentials",
            r#"[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:"']*:(?P<secret>[^\s/"']+)@"#,
            unless_variable,
        ),
        Spec::new(
            // `https://ghp_…@github.com`, `https://TOKEN:x-oauth-basic@host`: a
            // user name that looks generated is a token (git and GitHub accept both).
            "url-token-user",
            r#"[A-Za-z][A-Za-z0-9+.-]*://(?P<secret>[^\s/@:"'?#]{16,})(?::[^\s/@"']*)?@"#,
            random_user,
        ),
    ]
}

fn url_parameter() -> Vec<Spec> {
    vec![Spec::new(
        "url-parameter",
        // AWS SigV4 and GCS V4 presigned URLs, Azure SAS `sig=`, `?token=`.
        r#"[?&](?P<name>[A-Za-z0-9_.-]+)=(?P<secret>[^&#\s"'`<>]*)"#,
        parameter_value,
    )]
}

fn headers() -> Vec<Spec> {
    vec![
        Spec::new(
            "authorization-header",
            format!(
                r"(?i)(?:^|[^a-z0-9-])(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|digest|negotiate|bot|apikey)\s+)?(?P<secret>{VALUE})"
            ),
            unless_variable,
        ),
        Spec::new(
            "token-header",
            format!(
                r"(?i)(?:^|[^a-z0-9-])(?:x-api-key|x-auth-token|x-access-token|private-token|x-vault-token|api-key)\s*:\s*(?P<secret>{VALUE})"
            ),
            unless_variable,
        ),
        Spec::new(
            // The whole header value: `Cookie: a=1; b=2` holds several secrets.
            "cookie-header",
            r#"(?i)(?:^|[^a-z0-9-])(?:set-)?cookie\s*:\s*(?P<secret>[^"'\r\n]+)"#,
            unless_variable,
        ),
        Spec::new(
            "bearer-token",
            r"(?i)(?-u:\b)bearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{12,})",
            unless_variable,
        ),
    ]
}

fn secret_flags() -> Vec<Spec> {
    vec![
        Spec::new(
            "secret-flag",
            format!(r#"(?i)(?:^|[\s"'=(])(?P<flag>{FLAG})=(?P<secret>{VALUE})"#),
            flag_value,
        ),
        Spec::new(
            "secret-flag-next-word",
            format!(r#"(?i)(?:^|[\s"'(])(?P<flag>{FLAG})\s+(?P<secret>{NEXT_VALUE})"#),
            flag_value,
        ),
    ]
}

fn secret_assignment() -> Vec<Spec> {
    vec![Spec::new(
        // `DB_PASS=x`, `export API_KEY=x`, helm's `--set a.password=x`,
        // npm's `//registry/:_authToken=x`, Java's `-Ddb.password=x`.
        "secret-assignment",
        format!(r"(?i)(?:^|[^a-z0-9_.-]|-[DP])(?P<name>{NAME})=(?P<secret>{VALUE})"),
        assignment_value,
    )]
}

fn secret_fields() -> Vec<Spec> {
    vec![
        Spec::new(
            // `{"password": "x"}`, `{'api_key': 'x'}`, `\"token\":\"x\"` in a `sh -c`.
            "secret-field-quoted",
            format!(
                r#"(?i)(?:\\"|["'])(?P<name>[a-z0-9_.-]*(?:pass|pwd|token|secret|key|auth|creds|cookie|sig)[a-z0-9_.-]*)(?:\\"|["'])\s*(?::|=>)\s*(?P<secret>{FIELD_VALUE})"#
            ),
            field_value,
        ),
        Spec::new(
            // YAML, prose and Ruby: `password: x`, `api_key: x`, `:token => x` (a
            // space after the colon, so `image:tag` and `host:port` stay as they are).
            "secret-field",
            format!(
                r#"(?i)(?:^|[^a-z0-9_.-])(?P<name>[a-z0-9_.-]*(?:pass|pwd|token|secret|key|creds|cookie)[a-z0-9_.-]*)(?:\s*:\s+|\s*=>\s*)(?P<secret>{FIELD_VALUE})"#
            ),
            field_value,
        ),
    ]
}

fn password_options() -> Vec<Spec> {
    let mysql = MYSQL_CLIENTS.join("|");
    vec![
        Spec::new(
            "mysql-password",
            format!(r"{PROGRAM_START}(?:{mysql}){SAME_COMMAND}-p(?P<secret>{VALUE})"),
            unless_variable,
        ),
        Spec::new(
            "sshpass-password",
            format!(r"{PROGRAM_START}sshpass{SAME_COMMAND}-p\s*(?P<secret>{VALUE})"),
            unless_variable,
        ),
        Spec::new(
            "curl-user-password",
            format!(
                r#"{PROGRAM_START}curl{SAME_COMMAND}(?:-u|--user)(?:\s+|=)?["']?[^\s:"']*:(?P<secret>[^\s"']+)"#
            ),
            unless_variable,
        ),
    ]
}

/// Helm's `--set a=1,db.password=X,b=2`: a bare value ends where the next `,key=` starts.
static NEXT_HELM_KEY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^,[A-Za-z0-9_.\[\]-]+=").ok());

/// An assigned value, minus variable references and any following helm `,key=...`.
fn assignment_value(caps: &Captures<'_>, value: &str, mode: Mode) -> Option<Range<usize>> {
    let name = caps.name("name").map_or("", |m| m.as_str());
    if !is_secret_name(name) {
        return None;
    }
    value_up_to_next_key(value, mode)
}

/// An assigned value up to a following helm `,key=`, unless it is a reference.
pub(super) fn value_up_to_next_key(value: &str, mode: Mode) -> Option<Range<usize>> {
    let len = unless_variable_len(value, mode)?;
    if value.starts_with(['"', '\'']) {
        return Some(0..len);
    }
    let helm = NEXT_HELM_KEY.as_ref();
    let cut = value
        .char_indices()
        .filter(|&(_, c)| c == ',')
        .find(|&(i, _)| helm.is_some_and(|re| re.is_match(&value[i..])));
    Some(0..cut.map_or(len, |(i, _)| i))
}

fn unless_variable_len(value: &str, mode: Mode) -> Option<usize> {
    is_value(value, mode).then_some(value.len())
}

/// A flag's value, if the flag takes a secret (`--no-password` takes none).
fn flag_value(caps: &Captures<'_>, value: &str, mode: Mode) -> Option<Range<usize>> {
    let flag = caps.name("flag").map_or("", |m| m.as_str());
    if !is_secret_flag(flag) {
        return None;
    }
    value_up_to_next_key(value, mode)
}

/// A JSON, YAML or dict field's value, between its quotes, if the field names a secret.
fn field_value(caps: &Captures<'_>, value: &str, mode: Mode) -> Option<Range<usize>> {
    let name = caps.name("name").map_or("", |m| m.as_str());
    if !is_secret_name(name) || !is_value(value, mode) {
        return None;
    }
    Some(between_quotes(value))
}

/// A URL query parameter's value, if the parameter carries a secret.
fn parameter_value(caps: &Captures<'_>, value: &str, mode: Mode) -> Option<Range<usize>> {
    let name = caps.name("name").map_or("", |m| m.as_str());
    if !is_secret_parameter(name) || !is_value(value, mode) {
        return None;
    }
    Some(0..value.len())
}

/// A URL's user name when it looks generated rather than chosen by a person.
fn random_user(_: &Captures<'_>, user: &str, mode: Mode) -> Option<Range<usize>> {
    (is_value(user, mode) && looks_generated(user)).then_some(0..user.len())
}

/// Whether `text` looks machine-generated: long, and switching often between
/// lower case, upper case and digits (`a8Kd0QzL…`), unlike a user name
/// (`deploy-bot-2024`, `firstname.lastname`).
pub(crate) fn looks_generated(text: &str) -> bool {
    fn class(b: u8) -> u8 {
        match b {
            b'a'..=b'z' => 1,
            b'A'..=b'Z' => 2,
            b'0'..=b'9' => 3,
            _ => 0,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() < 16 {
        return false;
    }
    let switches = bytes
        .windows(2)
        .filter(|pair| {
            let (a, b) = (class(pair[0]), class(pair[1]));
            a != 0 && b != 0 && a != b
        })
        .count();
    switches * 5 >= bytes.len()
}

#[cfg(test)]
mod tests {
    use crate::redact::Redactor;

    fn redact(text: &str) -> String {
        Redactor::new(&[]).unwrap().redact(text)
    }

    fn assert_redacts(cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            assert_eq!(redact(input), *expected, "input: {input}");
        }
    }

    fn assert_untouched(cases: &[&str]) {
        for text in cases {
            assert_eq!(redact(text), *text, "should not be redacted: {text}");
        }
    }

    #[test]
    fn credentials_in_urls() {
        assert_redacts(&[
            (
                "git clone https://user:hunter2@example.com/r.git",
                "git clone https://user:****@example.com/r.git",
            ),
            (
                "psql postgres://app:s3cr3t@db:5432/x",
                "psql postgres://app:****@db:5432/x",
            ),
            ("mysql://root:p@ss@db/x", "mysql://root:****@db/x"),
            (
                "redis-cli -u redis://:hunter2@cache:6379",
                "redis-cli -u redis://:****@cache:6379",
            ),
        ]);
        assert_untouched(&[
            "curl https://example.com:8443/path?a=b",
            "git clone git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo",
            "postgres://app:$PGPASSWORD@db/x",
        ]);
    }

    #[test]
    fn authorization_headers() {
        assert_redacts(&[
            (
                "curl -H 'Authorization: Bearer abc.def.ghi'",
                "curl -H 'Authorization: Bearer ****'",
            ),
            (
                r#"curl -H "Authorization: token ghx123""#,
                r#"curl -H "Authorization: token ****""#,
            ),
            (
                "authorization:Basic dXNlcjpwYXNz",
                "authorization:Basic ****",
            ),
            ("-H 'X-Api-Key: k123'", "-H 'X-Api-Key: ****'"),
            ("-H 'PRIVATE-TOKEN: glpat-xyz'", "-H 'PRIVATE-TOKEN: ****'"),
            ("got bearer abcdefghijklmnop back", "got bearer **** back"),
        ]);
        assert_untouched(&[
            "curl -H 'Authorization: Bearer $TOKEN'",
            "curl -H 'Content-Type: application/json'",
            "the bearer of news",
        ]);
    }

    #[test]
    fn password_and_token_flags() {
        assert_redacts(&[
            ("mysql --password=hunter2 db", "mysql --password=**** db"),
            ("cli --password hunter2 x", "cli --password **** x"),
            ("x --passwd=a --pass=b", "x --passwd=**** --pass=****"),
            ("vault login --token=s.abc", "vault login --token=****"),
            ("x --token abc", "x --token ****"),
            (
                "az login --client-secret=abc",
                "az login --client-secret=****",
            ),
            ("x --api-key k --secret=s", "x --api-key **** --secret=****"),
            ("x --db-password=\"a b\" y", "x --db-password=**** y"),
            ("keytool -storepass changeit", "keytool -storepass ****"),
            (
                r#"sh -c "mysql --password=pw && ls""#,
                r#"sh -c "mysql --password=**** && ls""#,
            ),
        ]);
        assert_untouched(&[
            "psql --no-password db",
            "x --password --verbose",
            "x --token-file /run/token",
            "x --password-file=/run/pw",
            "x --passphrase-fd 0",
            "git commit --bypass-hooks",
        ]);
    }

    #[test]
    fn secret_assignments() {
        assert_redacts(&[
            (
                "GITHUB_TOKEN=abc gh pr list",
                "GITHUB_TOKEN=**** gh pr list",
            ),
            (
                "export AWS_SECRET_ACCESS_KEY=xyz",
                "export AWS_SECRET_ACCESS_KEY=****",
            ),
            ("db_password=x API_KEY=y", "db_password=**** API_KEY=****"),
            (
                "docker run -e NPM_TOKEN='a b' img",
                "docker run -e NPM_TOKEN=**** img",
            ),
            ("TOKEN='unterminated quote", "TOKEN=****"),
            (
                "curl 'https://x/api?access_token=abc&x=1'",
                "curl 'https://x/api?access_token=****&x=1'",
            ),
            (
                "kubectl create secret generic s --from-literal=password=pw",
                "kubectl create secret generic s --from-literal=password=****",
            ),
        ]);
        assert_untouched(&[
            "monkey=banana",
            "x --sort-key=name",
            "PWD=/home/me ls",
            "GITHUB_TOKEN=$GITHUB_TOKEN gh pr list",
            "TOKEN=${TOKEN} make",
            "TOKEN=$(vault read -field=t x) make",
        ]);
    }

    #[test]
    fn helm_values() {
        assert_redacts(&[
            (
                "helm install x --set secret.password=pw",
                "helm install x --set secret.password=****",
            ),
            (
                "helm upgrade x --set image.tag=v1,auth.token=t,replicas=2",
                "helm upgrade x --set image.tag=v1,auth.token=****,replicas=2",
            ),
            (
                "--set-string db.password=a,b",
                "--set-string db.password=****",
            ),
        ]);
        assert_untouched(&["helm upgrade x --set image.tag=v1,replicas=2"]);
    }

    #[test]
    fn json_fields() {
        assert_redacts(&[
            (
                r#"curl -d '{"user":"a","password":"pw"}'"#,
                r#"curl -d '{"user":"a","password":"****"}'"#,
            ),
            (
                r#"sh -c "curl -d {\"api_key\":\"k\"}""#,
                r#"sh -c "curl -d {\"api_key\":\"****\"}""#,
            ),
        ]);
        assert_untouched(&[r#"{"user":"a","token_ttl":"5m"}"#]);
    }

    #[test]
    fn mysql_short_password_only_after_a_mysql_client() {
        assert_redacts(&[
            ("mysql -uroot -phunter2 db", "mysql -uroot -p**** db"),
            (
                "/usr/bin/mysqldump -h h -p'a b' db",
                "/usr/bin/mysqldump -h h -p**** db",
            ),
            ("sh -c 'mariadb -pX db'", "sh -c 'mariadb -p**** db'"),
        ]);
        assert_untouched(&["mysql -u root -p db", "mkdir -pv dir", "ls; mkdir -pfoo"]);
    }

    #[test]
    fn sshpass_and_curl_user() {
        assert_redacts(&[
            ("sshpass -p hunter2 ssh host", "sshpass -p **** ssh host"),
            ("sshpass -phunter2 ssh host", "sshpass -p**** ssh host"),
            ("curl -u admin:pw https://x", "curl -u admin:**** https://x"),
            (
                "curl -s --user 'admin:pw' https://x",
                "curl -s --user 'admin:****' https://x",
            ),
        ]);
        assert_untouched(&["docker run -u 1000:1000 img", "sshpass -e ssh host"]);
    }
}
