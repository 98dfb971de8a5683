//! Variables whose names say they hold a secret, as assignments before a
//! command, inside `env`, `export`, `docker run -e`, `-D` properties and helm values.

use super::{assert_masked, assert_untouched, redact, redact_argv};

const V: &str = "s3cretValue9";

#[test]
fn secret_names_in_every_case_and_shape() {
    for name in [
        "MYSQL_PWD",
        "DB_PASS",
        "SSHPASS",
        "PGPASSWORD",
        "APP_SECRET",
        "STRIPE_KEY",
        "AWS_KEY",
        "SMTP_PASSWORD_VALUE",
        "PASSWORD",
        "db_password",
        "GitHubToken",
        "apiKey",
        "NPM_TOKEN",
        "REDISCLI_AUTH",
        "LDAP_BIND_PW",
        "WIFI_PSK",
        "SESSION_COOKIE",
        "vault.token",
        "ansible_become_pass",
        "ACCOUNT_CREDS",
        "clientSecret",
    ] {
        let word = format!("{name}={V}");
        assert_masked(&["env", &word, "run"], V);
        assert_masked(&["docker", "run", "-e", &word, "img"], V);
        assert!(!redact(&format!("export {word}")).contains(V), "{name}");
        assert!(
            !redact(&format!("{word} make deploy")).contains(V),
            "{name}"
        );
        assert!(!redact(&format!("{name}='{V}' make")).contains(V), "{name}");
    }
}

#[test]
fn properties_and_values_files() {
    assert_masked(&["mvn", "deploy", &format!("-Dserver.password={V}")], V);
    assert_masked(&["gradle", "publish", &format!("-PsigningPassword={V}")], V);
    assert_masked(
        &[
            "helm",
            "install",
            "x",
            "--set",
            &format!("db.password={V},replicas=2"),
        ],
        V,
    );
    assert_masked(
        &[
            "mount",
            "-t",
            "cifs",
            "-o",
            &format!("username=bob,password={V}"),
            "//s/x",
            "/m",
        ],
        V,
    );
    assert_masked(
        &["psql", &format!("host=db user=app password={V} dbname=x")],
        V,
    );
    assert_masked(&["app", &format!("Server=db;User Id=sa;Password={V};")], V);
}

#[test]
fn references_in_shell_lines_stay_visible_literals_do_not() {
    assert_eq!(
        redact("GITHUB_TOKEN=$GITHUB_TOKEN gh pr list"),
        "GITHUB_TOKEN=$GITHUB_TOKEN gh pr list"
    );
    assert_eq!(redact("TOKEN=\"${TOKEN}\" make"), "TOKEN=\"${TOKEN}\" make");
    assert_eq!(redact("TOKEN='$notavar' make"), "TOKEN=**** make");
    assert_eq!(
        redact_argv(&["env", "DB_PASS=$ecret", "run"])[1],
        "DB_PASS=****"
    );
    assert_eq!(
        redact_argv(&["sh", "-c", "DB_PASS=$DB_PASS run"])[2],
        "DB_PASS=$DB_PASS run"
    );
}

#[test]
fn names_that_only_look_like_secrets() {
    assert_untouched(&["env", "PWD=/home/me", "OLDPWD=/tmp", "PATH=/usr/bin", "ls"]);
    assert_untouched(&["env", "KEYBOARD=us", "MONKEY=banana", "PASSENGER=x", "run"]);
    assert_untouched(&["make", "SKIP_BYPASS=1", "COMPASS=n", "TOKENIZER=bpe"]);
}
