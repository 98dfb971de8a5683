//! Flags as the programs read them: a rule that names a flag matches every
//! spelling the program accepts (clusters, order, long names, unique prefixes,
//! attached values, options that imply it, global options before a subcommand),
//! through `gate check --json`; for a sample, `gate --` with stand-in programs
//! proves a denied spelling runs nothing. `gate policy lint` says what a flag in
//! a pattern matches.

use crate::support::common::*;
use crate::support::fixtures::POLICY_SHAPES_GUARDED;

/// The shapes policy, and a namespace rule whose flag takes a value.
fn policy() -> String {
    format!(
        "{POLICY_SHAPES_GUARDED}\n[[rule]]\nname = \"production namespace\"\naction = \"deny\"\nmatch = \"kubectl ** -n prod **\"\n"
    )
}

#[test]
fn every_spelling_of_a_denied_flag_is_denied() {
    let ctx = TestContext::with_policy(&policy());
    expect_decisions(
        &ctx,
        "deny",
        &[
            &["rm", "-fr", "x"],
            &["rm", "-r", "-f", "x"],
            &["rm", "-Rf", "x"],
            &["rm", "--recursive", "--force", "x"],
            &["rm", "-r", "--force", "x"],
            &["rm", "--rec", "--forc", "x"],
            &["rm", "x", "-f", "-R"],
            &["rm", "-vfr", "x"],
            &["sh", "-c", "rm -f -r /srv"],
            &["sudo", "rm", "--force", "-R", "/srv"],
            &["kubectl", "get", "pods", "-nprod"],
            &["kubectl", "--namespace=prod", "get", "pods"],
            &["kubectl", "-n=prod", "logs", "api-0"],
        ],
    );
}

#[test]
fn every_spelling_of_an_approved_shape_needs_approval() {
    let ctx = TestContext::with_policy(&policy());
    expect_decisions(
        &ctx,
        "approve",
        &[
            &["git", "push", "-f"],
            &["git", "push", "origin", "main", "--force"],
            &["git", "push", "-uf", "origin", "main"],
            &["git", "push", "--force-with-lease", "origin", "main"],
            &[
                "git",
                "push",
                "--force-with-lease=main:abc",
                "origin",
                "main",
            ],
            &["git", "push", "--force-if-includes", "origin"],
            &["git", "push", "--mirror", "backup"],
            &["git", "push", "origin", "+main"],
            &["git", "push", "origin", "+HEAD:refs/heads/main"],
            &["git", "-C", "../repo", "push", "-f"],
            &["git", "--git-dir", ".git", "push", "--force"],
            &["git", "-c", "user.name=x", "push", "-f"],
            &["terraform", "-chdir=infra", "apply"],
            &["terraform", "-chdir=infra", "apply", "--auto-approve"],
            &["kubectl", "--context", "eu", "delete", "pod", "x"],
            &["kubectl", "-n", "dev", "delete", "pod", "x"],
            &["kubectl", "--kubeconfig=/tmp/k", "delete", "ns", "x"],
        ],
    );
}

#[test]
fn other_flags_and_lookalikes_stay_allowed() {
    let ctx = TestContext::with_policy(&policy());
    expect_decisions(
        &ctx,
        "allow",
        &[
            &["rm", "-f", "x"],
            &["rm", "-r", "x"],
            &["rm", "-i", "-v", "x"],
            &["git", "push", "-u", "origin", "main"],
            &["git", "push", "origin", "main:main"],
            &["git", "fetch", "-f", "origin"],
            &["git", "-C", "push", "status"],
            &["git", "commit", "-m", "--force"],
            &["terraform", "plan"],
            &["terraform", "-chdir=apply", "plan"],
            &["kubectl", "-n", "dev", "get", "pods"],
            &["kubectl", "get", "pods", "-n", "production"],
        ],
    );
}

#[test]
fn a_denied_spelling_runs_nothing_and_an_allowed_one_runs() {
    let ctx = TestContext::with_policy(&policy());
    let path = ctx.stand_ins(&["rm", "git", "kubectl"]);
    let shapes: &[&[&str]] = &[
        &["rm", "-fr", "/srv"],
        &["rm", "--recursive", "--force", "/srv"],
        &["rm", "-R", "-f", "/srv"],
        &["kubectl", "--namespace=prod", "get", "pods"],
    ];
    for argv in shapes {
        let out = ctx.run_with_path(&path, argv);
        assert_eq!(code(&out), 100, "{argv:?}: {}", stderr(&out));
    }
    // An approval nobody can give (no broker configured) runs nothing either.
    let out = ctx.run_with_path(&path, &["git", "-C", ".", "push", "origin", "+main"]);
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    let ran = ctx.stand_ins_ran();
    assert!(ran.is_empty(), "stand-ins ran: {ran:?}");
    let out = ctx.run_with_path(&path, &["rm", "-f", "x"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(ctx.stand_ins_ran(), ["rm"]);
}

#[test]
fn a_policy_declares_options_for_its_own_programs() {
    let ctx = TestContext::with_policy(
        r#"
version = 1
default = "allow"
opaque  = "approve"

[[options]]
program = "deployctl"
flags   = ["-e --env =", "-y --yes"]

[[rule]]
name   = "unattended production deploys"
action = "deny"
match  = "deployctl ** --env prod ** --yes **"
"#,
    );
    expect_decisions(
        &ctx,
        "deny",
        &[
            &["deployctl", "-eprod", "-y"],
            &["deployctl", "--yes", "--env=prod", "ship"],
            &["deployctl", "-ye", "prod"],
        ],
    );
    expect_decisions(
        &ctx,
        "allow",
        &[
            &["deployctl", "-e", "dev", "-y"],
            &["deployctl", "-e", "prod"],
        ],
    );
}

#[test]
fn lint_says_what_a_flag_in_a_pattern_matches() {
    let ctx = TestContext::with_policy(
        r#"
version = 1
default = "allow"

[[rule]]
name   = "no recursive force delete"
action = "deny"
match  = "rm ** -rf **"

[[rule]]
name   = "old glob"
action = "approve"
match  = "rm ** -[rR]* **"

[[rule]]
name   = "canonical"
action = "approve"
match  = "git push ** --force **"

[[rule]]
name   = "allow a tool gate does not know"
action = "allow"
match  = "mytool -ab **"
"#,
    );
    let out = ctx.run(&["policy", "lint"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("policy.toml:8:17: warning: rule \"no recursive force delete\": `-rf` is rm's --recursive --force"),
        "{err}"
    );
    assert!(err.contains("-r/-R/--recursive with -f/--force"), "{err}");
    assert!(
        err.contains("`-[rR]*` matches some spellings of rm's --recursive but not --recursive"),
        "{err}"
    );
    assert!(
        err.contains(
            "write `--recursive`, which matches every spelling of it (-r, -R, --recursive)"
        ),
        "{err}"
    );
    assert!(
        err.contains("does not know mytool: this allow rule matches `-ab` only as written"),
        "{err}"
    );
    // A flag written as its canonical name needs no note.
    assert!(!err.contains("rule \"canonical\""), "{err}");
    assert!(stdout(&out).contains("3 warnings"), "{}", stdout(&out));
}

#[test]
fn a_broken_options_entry_is_a_policy_error_with_its_position() {
    let ctx = TestContext::with_policy(
        "version = 1\n[[options]]\nprogram = \"deployctl\"\nflags = [\"-e --env =\", \"env\"]\n",
    );
    let out = ctx.run(&["check", "--", "deployctl"]);
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("policy.toml:4:"), "{err}");
    assert!(err.contains("`env` is not an option spelling"), "{err}");
}
