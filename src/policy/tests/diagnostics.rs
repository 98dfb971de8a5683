//! Snapshots of rendered diagnostics: what a user sees for broken policies.

use super::{errors, render_all};

fn rendered(source: &str) -> String {
    render_all(&errors(source))
}

#[test]
fn unknown_key_in_a_rule() {
    let source = r#"version = 1

[groups]
sre = []

[[rule]]
name   = "prod"
action = "approve"
match  = "kubectl ** delete **"
        aprovers = ["group:sre"]
"#;
    insta::assert_snapshot!(rendered(source));
}

#[test]
fn bad_glob_points_inside_the_string() {
    let source = "version = 1\n[[rule]]\nname = \"tf\"\naction = \"approve\"\nmatch = [\"terraform apply **\", \"terraform [destroy **\"]\n";
    insta::assert_snapshot!(rendered(source));
}

#[test]
fn many_errors_at_once() {
    let source = r#"version = 1
default = "alow"

[people.alice]
slack = "U01"
[people.bob]
slack = "U02"
[groups]
sre = ["alice", "bobb"]

[approval]
approvers = ["group:sre"]
timeout = "15 minutes or so"

[[rule]]
name = "wipe"
action = "deny"
match = "rm ** -rf /"
quorum = 2

[[rule]]
name = "wipe"
action = "approve"
match = "dd **"
approvers = ["alice"]
quorum = 2

[[test]]
command = "ls"
expect = "alow"
"#;
    insta::assert_snapshot!(rendered(source));
}

#[test]
fn colour_only_when_asked() {
    let found = errors("version = 3\n");
    let plain = found[0].render(false);
    let coloured = found[0].render(true);
    assert!(!plain.contains('\x1b'));
    assert!(coloured.contains("\x1b[1;31m^\x1b[0m"));
    insta::assert_snapshot!(plain);
}
