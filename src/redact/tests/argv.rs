//! The argv-aware pass on argv elements as gate receives them.

use super::redact_argv;

#[test]
fn flags_whose_next_element_is_the_secret() {
    assert_eq!(
        redact_argv(&["vault", "login", "--token", "s.abc", "--method=x"]),
        ["vault", "login", "--token", "****", "--method=x"]
    );
    assert_eq!(
        redact_argv(&["app", "--client-secret", "a b c", "--api-key", "k"]),
        ["app", "--client-secret", "****", "--api-key", "****"]
    );
    assert_eq!(
        redact_argv(&["x", "--password=pw"]),
        ["x", "--password=****"]
    );
}

#[test]
fn an_option_after_a_secret_flag_is_not_masked() {
    assert_eq!(
        redact_argv(&["psql", "--password", "--host", "db"]),
        ["psql", "--password", "--host", "db"]
    );
    assert_eq!(
        redact_argv(&["psql", "--no-password", "db"]),
        ["psql", "--no-password", "db"]
    );
    // No shell expands an argv element any more: `$TOKEN` there is the value.
    assert_eq!(
        redact_argv(&["x", "--token", "$TOKEN"]),
        ["x", "--token", "****"]
    );
}

#[test]
fn mysql_short_password_only_for_mysql_clients() {
    assert_eq!(
        redact_argv(&["sudo", "/usr/bin/mysql", "-uroot", "-phunter2", "db"]),
        ["sudo", "/usr/bin/mysql", "-uroot", "-p****", "db"]
    );
    assert_eq!(redact_argv(&["mysql", "-p", "db"]), ["mysql", "-p", "db"]);
    assert_eq!(
        redact_argv(&["mkdir", "-pv", "dir"]),
        ["mkdir", "-pv", "dir"]
    );
}

#[test]
fn sshpass_and_curl() {
    assert_eq!(
        redact_argv(&["sshpass", "-p", "pw", "ssh", "h"]),
        ["sshpass", "-p", "****", "ssh", "h"]
    );
    assert_eq!(
        redact_argv(&["sshpass", "-ppw", "ssh"]),
        ["sshpass", "-p****", "ssh"]
    );
    assert_eq!(
        redact_argv(&["curl", "-u", "me:pw", "--user=a:b", "-uc:d", "https://x"]),
        [
            "curl",
            "-u",
            "me:****",
            "--user=a:****",
            "-uc:****",
            "https://x"
        ]
    );
    assert_eq!(
        redact_argv(&["curl", "-u", "me", "https://x"]),
        ["curl", "-u", "me", "https://x"]
    );
    assert_eq!(
        redact_argv(&["ssh", "-p", "22", "h"]),
        ["ssh", "-p", "22", "h"]
    );
}

#[test]
fn shell_lines_inside_argv_are_redacted_as_text() {
    assert_eq!(
        redact_argv(&["sh", "-c", "GITHUB_TOKEN=abc gh pr merge 1"]),
        ["sh", "-c", "GITHUB_TOKEN=**** gh pr merge 1"]
    );
}
