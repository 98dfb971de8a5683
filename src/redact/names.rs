//! Which names say their value is a secret: variables (`DB_PASS`, `MYSQL_PWD`,
//! `SSHPASS`), keys (`db.password`, `_authToken`, `'password'`), options
//! (`--db-password`, `-storepass`, `--oauth2-bearer`) and URL parameters (`sig`,
//! `X-Amz-Signature`).
//!
//! Plain functions, not regexes: the detectors find a candidate `NAME=` cheaply
//! and ask here, so one table of words decides for every position. Names are
//! compared ASCII case-insensitively and split on `_`, `.` and `-`.

/// Whole name segments that hold a secret when they end a name (`DB_PASS`,
/// `MYSQL_PWD`, `AWS_KEY`). Sources: the variables of libpq, the MySQL and
/// Redis clients, sshpass, and the `*_SECRET`/`*_KEY` habit of twelve-factor apps.
pub(super) const LAST_SEGMENTS: &[&str] = &[
    "pass",
    "pwd",
    "pw",
    "passwd",
    "password",
    "passphrase",
    "secret",
    "token",
    "key",
    "apikey",
    "pat",
    "psk",
    "auth",
    "cookie",
    "creds",
    "sig",
    "signature",
];

/// Endings that hold a secret even glued to a word (`PGPASSWORD`, `SSHPASS`,
/// `GITHUBTOKEN`, `clientSecret`, `apiKey`).
pub(super) const ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "pass",
];

/// Words a name may contain anywhere and still be a secret (`*PASSWORD*`).
pub(super) const ANYWHERE: &[&str] = &["password", "passwd", "passphrase"];

/// Names that end like a secret but are not one.
const NOT_SECRET: &[&str] = &["pwd", "oldpwd", "bypass", "compass", "multipass", "surpass"];

/// Whether a variable, key or field called `name` holds a secret.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let lower = lower.trim_matches(|c| c == '_' || c == '.' || c == '-');
    if lower.is_empty() || NOT_SECRET.contains(&lower) {
        return false;
    }
    if ANYWHERE.iter().any(|word| lower.contains(word)) {
        return true;
    }
    let last = lower.rsplit(['_', '.', '-']).next().unwrap_or(lower);
    if NOT_SECRET.contains(&last) && last != "pwd" {
        return false;
    }
    // `PWD` alone is the working directory; `MYSQL_PWD` is a password.
    let segmented = last.len() < lower.len();
    (LAST_SEGMENTS.contains(&last) && (segmented || !matches!(last, "pwd" | "pw" | "sig")))
        || ENDINGS.iter().any(|end| last.ends_with(end))
}

/// URL query parameters that carry a signature or a bearer credential, beyond
/// secret-looking names. Sources: AWS SigV4 presigned URLs, Google Cloud Storage
/// V4 signed URLs, Azure SAS tokens, CloudFront signed URLs, OAuth 2.0 (RFC 6749).
pub(super) const URL_PARAMETERS: &[&str] = &[
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "x-amz-credential",
    "code",
    "access_token",
    "id_token",
    "refresh_token",
    "client_secret",
    "key",
    "apikey",
    "api_key",
    "session",
    "sessionid",
    "auth",
];

/// Whether the URL query parameter `name` carries a secret.
pub(crate) fn is_secret_parameter(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    URL_PARAMETERS.contains(&lower.as_str()) || is_secret_name(&lower)
}

/// Two-word option endings that name a key (`--private-key`, `--api-key`,
/// `--account-key`); a bare `--key` is usually a file and `--sort-key` a field.
pub(super) const KEY_KINDS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "account",
    "master",
    "encryption",
    "shared",
    "auth",
    "client",
    "hmac",
    "storage",
    "admin",
    "license",
];

/// Last words of an option that takes a secret (`--password`, `--auth-token`,
/// `--oauth2-bearer`, `--client-secret`, gpg's `--passphrase`).
pub(super) const FLAG_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "bearer",
    "psk",
];

/// Java and OpenSSL single-dash options that take a secret (keytool, jarsigner, openssl).
pub(super) const JAVA_FLAGS: &[&str] = &[
    "storepass",
    "keypass",
    "srcstorepass",
    "deststorepass",
    "srckeypass",
    "destkeypass",
    "passin",
    "passout",
];

/// Whether the option `flag` (with its dashes, without `=value`) takes a secret.
pub(crate) fn is_secret_flag(flag: &str) -> bool {
    let Some(name) = flag.strip_prefix('-') else {
        return false;
    };
    let name = name.strip_prefix('-').unwrap_or(name).to_ascii_lowercase();
    if name.len() < 3 || name.starts_with("no-") || name.starts_with('-') {
        return false;
    }
    if JAVA_FLAGS.contains(&name.as_str()) {
        return true;
    }
    let mut words = name.rsplit(['-', '_']);
    let last = words.next().unwrap_or("");
    let before = words.next();
    if last == "key" {
        return before.is_some_and(|kind| KEY_KINDS.contains(&kind));
    }
    if matches!(last, "pass") {
        // `--pass`, `--db-pass`; not `--bypass`, `--multipass`.
        return true;
    }
    FLAG_ENDINGS
        .iter()
        .any(|end| last.ends_with(end) && !NOT_SECRET.contains(&last))
}

/// Options whose value is `USER:PASSWORD` for any program (skopeo's and podman's `--creds`).
pub(crate) fn is_credentials_flag(flag: &str) -> bool {
    let lower = flag.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "--creds" | "--src-creds" | "--dest-creds" | "--credentials" | "--proxy-user"
    )
}
