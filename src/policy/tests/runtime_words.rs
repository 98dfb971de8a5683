//! Words known only at run time: a command is opaque exactly when a rule could
//! match it differently depending on them, and the resolved executable is matched
//! as well as the name typed.

use super::policy;
use crate::policy::evaluate::{Search, decide};
use crate::policy::{Action, DEFAULT_POLICY, Policy, Request, normalise_line};

const GUARDED: &str = r#"
version = 1
default = "allow"
opaque = "approve"

[[rule]]
name = "no rm -rf"
action = "deny"
match = "rm ** -rf **"

[[rule]]
name = "kubectl delete"
action = "approve"
match = "kubectl ** delete **"

[[rule]]
name = "kubectl reads"
action = "allow"
match = "kubectl {get,describe} **"

[[rule]]
name = "terraform apply"
action = "approve"
match = "terraform apply **"

[[rule]]
name = "force push"
action = "approve"
match = "git push ** --force **"
"#;

fn decide_line(policy: &Policy, line: &str) -> Action {
    let indexed = decide(
        policy,
        normalise_line(line),
        &Request::default(),
        Search::Indexed,
    );
    let every = decide(
        policy,
        normalise_line(line),
        &Request::default(),
        Search::Exhaustive,
    );
    assert_eq!(indexed.decision, every.decision, "{line}");
    indexed.decision
}

#[test]
fn a_run_time_word_where_a_rule_could_match_differently_is_opaque() {
    let p = policy(GUARDED);
    for shape in [
        "kubectl dele?e pod x",
        "kubectl [d]elete pod x",
        "kubectl @(delete) pod x",
        "kubectl $VERB pod x",
        "kubectl \"${VERB:-delete}\" pod x",
        "kubectl \"$@\"",
        "kubectl ${!#} pod x",
        "kubectl get pods $MORE",
        "terraform $1",
        "terraform ap* -auto-approve",
        "git push origin $FLAGS",
        "git push origin --for?e",
        "rm $OPTS /tmp/x",
        "rm *",
        "rm -[r]f /tmp/x",
        "rm \"$FILE\"",
    ] {
        assert_ne!(decide_line(&p, shape), Action::Allow, "{shape}");
    }
}

#[test]
fn a_run_time_word_no_rule_cares_about_changes_nothing() {
    let p = policy(GUARDED);
    for shape in [
        "ls *.txt",
        "cat $HOME/notes",
        "echo \"$@\"",
        "wc -l *.md",
        "terraform plan -out=$PLAN",
        "git log -n $N",
        "rm -f *.tmp",
        "terraform plan -var \"region=$REGION\"",
        "git commit -m \"$MESSAGE\"",
        "git status ${PATHS}",
    ] {
        assert_eq!(decide_line(&p, shape), Action::Allow, "{shape}");
    }
    // A rule that matches whatever the word is decides as usual.
    assert_eq!(decide_line(&p, "kubectl delete pod $POD"), Action::Approve);
    assert_eq!(decide_line(&p, "rm -rf $DIR"), Action::Deny);
    // `kubectl get pods -n delete` needs approval, so `-n "$NS"` does too.
    assert_eq!(
        decide_line(&p, "kubectl get pods -n \"$NS\""),
        Action::Approve
    );
}

#[test]
fn the_default_policy_root_wipe_cannot_be_beaten_by_shell_shapes() {
    let p = policy(DEFAULT_POLICY);
    for shape in [
        "$'\\x72m' -rf /",
        "$'\\162\\155' -rf /",
        "((rm -rf /) )",
        "rm -rf $'/'",
        "bash -login -c 'rm -rf /'",
        "env -S 'rm\\_-rf\\_/'",
    ] {
        assert_eq!(decide_line(&p, shape), Action::Deny, "{shape}");
    }
    for shape in [
        "rm -rf $ROOT",
        "rm -rf \"${X:-/}\"",
        "rm -rf /$X",
        "rm -rf ?",
    ] {
        assert_ne!(decide_line(&p, shape), Action::Allow, "{shape}");
    }
}

#[test]
fn rules_match_the_resolved_executable_as_well_as_the_name_typed() {
    let p = policy(GUARDED);
    let request = |argv: &str, executable: &str| Request {
        argv: argv.split(' ').map(String::from).collect(),
        executable: Some(executable.into()),
        ..Request::default()
    };
    let decision = |argv, exe| p.evaluate(&request(argv, exe)).decision;
    assert_eq!(
        decision("./k delete pod x", "/usr/bin/kubectl"),
        Action::Approve
    );
    assert_eq!(decision("./k get pods", "/usr/bin/kubectl"), Action::Allow);
    let shell = Request {
        argv: vec!["./notashell".into(), "-c".into(), "rm -rf /".into()],
        executable: Some("/usr/bin/bash".into()),
        ..Request::default()
    };
    assert_eq!(p.evaluate(&shell).decision, Action::Deny);
    // The index offers the rules of both names, so a cached subset decides alike.
    let commands = crate::policy::normalise_resolved(
        &["./k".to_string(), "delete".into()],
        Some("/usr/bin/kubectl"),
        &Default::default(),
    );
    assert!(!p.candidate_rules(&commands).is_empty());
}
