//! Evaluation semantics: strictest wins, conditions, opaque and default handling,
//! approval combining, and the index agreeing with a search over every rule.

use super::policy;
use crate::policy::evaluate::{Search, decide};
use crate::policy::{Action, Policy, Request, SimpleCommand, Verdict};
use std::time::Duration;

fn command(line: &str) -> SimpleCommand {
    SimpleCommand {
        argv: line.split_whitespace().map(String::from).collect(),
        via: Vec::new(),
        opaque: None,
        runtime: Vec::new(),
        executable: None,
    }
}

fn opaque(line: &str, why: &str) -> SimpleCommand {
    SimpleCommand {
        opaque: Some(why.to_string()),
        ..command(line)
    }
}

fn request() -> Request {
    Request {
        cwd: "/home/alice/src".into(),
        actor: "alice".into(),
        ..Request::default()
    }
}

fn decide_lines(policy: &Policy, lines: &[&str], request: &Request) -> Verdict {
    let commands = lines.iter().map(|line| command(line)).collect();
    policy.evaluate_commands(commands, request)
}

fn decision(policy: &Policy, line: &str) -> Action {
    decide_lines(policy, &[line], &request()).decision
}

const LAYERED: &str = r#"
version = 1
default = "allow"

[[rule]]
name = "kubectl reads"
action = "allow"
match = "kubectl {get,describe} **"

[[rule]]
name = "kubectl changes"
action = "approve"
match = "kubectl ** {apply,delete} **"
reason = "changes the cluster"

[[rule]]
name = "never"
action = "deny"
match = "kubectl delete ns kube-system"
reason = "the cluster cannot run without it"
"#;

/// The same rules in reverse order.
fn reversed(source: &str) -> String {
    let (head, rules) = source.split_once("[[rule]]").unwrap();
    let mut blocks: Vec<&str> = rules.split("[[rule]]").collect();
    blocks.reverse();
    let body: Vec<String> = blocks.iter().map(|b| format!("[[rule]]{b}\n")).collect();
    format!("{head}{}", body.concat())
}

#[test]
fn strictest_wins_whatever_the_rule_order() {
    let forward = policy(LAYERED);
    let backward = policy(&reversed(LAYERED));
    for line in [
        "kubectl get pods",
        "kubectl delete pod x",
        "kubectl delete ns kube-system",
        "ls",
    ] {
        let a = decide_lines(&forward, &[line], &request());
        let b = decide_lines(&backward, &[line], &request());
        assert_eq!((a.decision, &a.reason), (b.decision, &b.reason), "{line}");
    }
    let verdict = decide_lines(&forward, &["kubectl delete ns kube-system"], &request());
    assert_eq!(verdict.decision, Action::Deny);
    assert_eq!(verdict.rules, ["never"]);
    assert_eq!(
        verdict.reason,
        "rule \"never\" denies \"kubectl delete ns kube-system\": the cluster cannot run without it"
    );
}

#[test]
fn strictest_wins_across_commands_of_one_line() {
    let p = policy(LAYERED);
    let verdict = decide_lines(&p, &["kubectl get pods", "kubectl apply -f x"], &request());
    assert_eq!(verdict.decision, Action::Approve);
    assert_eq!(verdict.commands.len(), 2);
    assert_eq!(verdict.commands[0].decision, Action::Allow);
    assert!(
        verdict
            .reason
            .starts_with("rule \"kubectl changes\" requires approval for")
    );
}

#[test]
fn unmatched_and_empty_commands_get_the_default() {
    let p = policy("version = 1\ndefault = \"deny\"\n");
    let verdict = decide_lines(&p, &["make"], &request());
    assert_eq!(
        (verdict.decision, verdict.reason.as_str()),
        (Action::Deny, "no rule matched; default is deny")
    );
    let verdict = decide_lines(&policy("version = 1\n"), &[], &request());
    assert_eq!(verdict.decision, Action::Approve);
    assert_eq!(verdict.approval.unwrap().quorum, 1);
}

#[test]
fn opaque_commands_get_opaque_unless_a_rule_is_stricter() {
    let p = policy(
        "version = 1\ndefault = \"allow\"\nopaque = \"approve\"\n[[rule]]\nname = \"ls\"\naction = \"allow\"\nmatch = \"ls **\"\n[[rule]]\nname = \"no\"\naction = \"deny\"\nmatch = \"rm **\"\n",
    );
    let r = request();
    let verdict = p.evaluate_commands(vec![opaque("ls $(x)", "command substitution")], &r);
    assert_eq!(verdict.decision, Action::Approve);
    assert_eq!(
        verdict.reason,
        "cannot analyse command: command substitution; opaque commands need approval"
    );
    assert_eq!(verdict.approval.unwrap().rules, Vec::<String>::new());
    let verdict = p.evaluate_commands(vec![opaque("rm $(x)", "command substitution")], &r);
    assert_eq!(verdict.decision, Action::Deny);
}

const CONDITIONS: &str = r#"
version = 1
default = "allow"
[[rule]]
name = "prod"
action = "deny"
match = "deploy **"
env = { KUBE_CONTEXT = "prod-*" }
cwd = "/srv/*"
actor = "{alice,bob}"
agent = "claude*"
ci = "github"
"#;

#[test]
fn a_rule_matches_only_when_every_condition_holds() {
    let p = policy(CONDITIONS);
    let matching = Request {
        cwd: "/srv/app".into(),
        env: [("KUBE_CONTEXT".to_string(), "prod-eu".to_string())].into(),
        actor: "bob".into(),
        agent: Some("claude-code".into()),
        ci: Some("github".into()),
        argv: Vec::new(),
        executable: None,
        ..Request::default()
    };
    assert_eq!(
        decide_lines(&p, &["deploy x"], &matching).decision,
        Action::Deny
    );
    let variants: [fn(&mut Request); 6] = [
        |r| r.env.clear(),
        |r| r.cwd = "/home".into(),
        |r| r.actor = "carol".into(),
        |r| r.agent = None,
        |r| r.ci = Some("gitlab".into()),
        |r| r.ci = None,
    ];
    for change in variants {
        let mut request = matching.clone();
        change(&mut request);
        assert_eq!(
            decide_lines(&p, &["deploy x"], &request).decision,
            Action::Allow,
            "{request:?}"
        );
    }
}

const TEAMS: &str = r#"
version = 1
[people.alice]
[people.bob]
[people.carol]
[groups]
sre = ["alice", "bob"]
dba = ["bob", "carol"]
[approval]
approvers = ["group:sre"]
timeout = "30m"
"#;

fn approve_rule(name: &str, program: &str, extra: &str) -> String {
    format!(
        "[[rule]]\nname = \"{name}\"\naction = \"approve\"\nmatch = \"{program} **\"\n{extra}\n"
    )
}

#[test]
fn approval_combines_to_the_stricter_side() {
    let source = format!(
        "{TEAMS}{}{}",
        approve_rule(
            "a",
            "psql",
            "quorum = 1\ntimeout = \"5m\"\nbreak_glass = true\napprovers = [\"group:dba\"]"
        ),
        approve_rule("b", "kubectl", "require_reason = true\nbreak_glass = true"),
    );
    let p = policy(&source);
    let verdict = decide_lines(&p, &["psql -c x", "kubectl apply"], &request());
    let approval = verdict.approval.expect("approve");
    assert_eq!(approval.rules, ["a", "b"]);
    assert_eq!(approval.approvers, ["bob"]);
    assert_eq!(
        (approval.quorum, approval.timeout),
        (1, Duration::from_secs(300))
    );
    assert!(approval.require_reason && approval.break_glass);
    // Break-glass needs every deciding rule to allow it; [approval] alone never does.
    let verdict = decide_lines(&p, &["psql", "make"], &request());
    assert!(!verdict.approval.expect("approve").break_glass);
}

#[test]
fn approvers_no_one_can_satisfy_together_deny() {
    let source = format!(
        "{TEAMS}{}{}",
        approve_rule("a", "psql", "approvers = [\"group:dba\"]\nquorum = 2"),
        approve_rule("b", "kubectl", ""),
    );
    let verdict = decide_lines(&policy(&source), &["psql", "kubectl"], &request());
    assert_eq!(verdict.decision, Action::Deny);
    assert!(
        verdict.reason.contains("need 2 approvals"),
        "{}",
        verdict.reason
    );
    assert!(verdict.approval.is_none());
}

#[test]
fn empty_approvers_mean_anyone_and_do_not_restrict() {
    let source = format!("version = 1\n{}", approve_rule("a", "psql", "quorum = 3"));
    let approval = decide_lines(&policy(&source), &["psql"], &request())
        .approval
        .unwrap();
    assert!(approval.approvers.is_empty());
    assert_eq!(approval.quorum, 3);
}

/// A policy of many rules over a small vocabulary, some with wildcard programs,
/// so index lookups and brute force can be compared.
fn generated_policy(count: usize) -> String {
    let programs = [
        "kubectl",
        "git",
        "rm",
        "terraform",
        "aws",
        "psql",
        "*",
        "k*",
        "{git,hg}",
    ];
    let verbs = ["get", "delete", "apply", "push", "*", "{status,log}", "**"];
    let actions = ["allow", "approve", "deny"];
    let mut source = String::from("version = 1\ndefault = \"allow\"\n");
    for i in 0..count {
        let (program, verb) = (programs[i % programs.len()], verbs[(i / 3) % verbs.len()]);
        let action = actions[(i * 7 / 5) % 3];
        source.push_str(&format!(
            "[[rule]]\nname = \"r{i}\"\naction = \"{action}\"\nmatch = \"{program} {verb} **\"\n"
        ));
    }
    source
}

#[test]
fn indexed_evaluation_agrees_with_trying_every_rule() {
    let p = policy(&generated_policy(300));
    let lines = [
        "kubectl get pods",
        "git push -f",
        "hg status",
        "rm -rf /",
        "/usr/bin/git log",
        "ls",
        "kx apply",
    ];
    for line in lines {
        let indexed = decide(&p, vec![command(line)], &request(), Search::Indexed);
        let exhaustive = decide(&p, vec![command(line)], &request(), Search::Exhaustive);
        assert_eq!(indexed, exhaustive, "{line}");
    }
}

/// A large policy shaped like real ones: many programs, each with a few rules, and
/// a handful of rules whose program is a wildcard.
fn large_policy(count: usize) -> String {
    let mut source = String::from("version = 1\ndefault = \"allow\"\n");
    for i in 0..count {
        let program = if i % 500 == 0 {
            "*".to_string()
        } else {
            format!("tool{}", i % 2000)
        };
        let verb = ["get", "delete", "{apply,patch}", "*"][i % 4];
        let action = ["allow", "approve", "deny"][i % 3];
        source.push_str(&format!(
            "[[rule]]\nname = \"r{i}\"\naction = \"{action}\"\nmatch = \"{program} ** {verb} **\"\n"
        ));
    }
    source.push_str(
        "[[rule]]\nname = \"tf\"\naction = \"approve\"\nmatch = \"terraform apply **\"\n",
    );
    source
}

#[test]
fn a_large_policy_only_tries_the_rules_for_the_program() {
    // Speed itself is measured by bench/policy-scale.sh; this pins the reason it is
    // fast: a decision tries the program's rules and the wildcard ones, not all 10,001.
    let p = policy(&large_policy(10_000));
    let verdict = decide_lines(&p, &["terraform apply -auto-approve"], &request());
    assert_eq!(verdict.rules, ["tf"]);
    let candidates = p.index.candidates("terraform");
    assert_eq!(candidates.len(), 1 + 10_000 / 500, "{candidates:?}");
    assert!(
        candidates
            .iter()
            .all(|&i| p.rules[i].name == "tf" || i % 500 == 0)
    );
}

#[test]
fn a_policy_survives_the_cache_round_trip() {
    let p = policy(LAYERED);
    let bytes = postcard::to_allocvec(&p).unwrap();
    let back: Policy = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, p);
    assert_eq!(decision(&back, "kubectl delete pod x"), Action::Approve);
}

#[test]
fn evaluate_normalises_the_request_argv() {
    let p = policy(
        "version = 1\ndefault = \"allow\"\n[[rule]]\nname = \"never\"\naction = \"deny\"\nmatch = \"rm ** / **\"\n",
    );
    let argv = ["sudo", "sh", "-c", "ls && rm -rf /"]
        .map(String::from)
        .to_vec();
    let verdict = p.evaluate(&Request { argv, ..request() });
    assert_eq!(verdict.decision, Action::Deny);
    assert_eq!(verdict.commands.len(), 2);
}

#[test]
fn an_opaque_command_explains_itself_before_a_default() {
    // `$(cat verb)` is itself a command that only the default decides.
    let p = policy("version = 1\ndefault = \"approve\"\n");
    let argv = ["kubectl", "$(cat verb)"].map(String::from).to_vec();
    let argv = vec!["sh".to_string(), "-c".to_string(), argv.join(" ")];
    let verdict = p.evaluate(&Request { argv, ..request() });
    assert_eq!(verdict.decision, Action::Approve);
    assert!(
        verdict
            .reason
            .starts_with("cannot analyse command: command substitution"),
        "{}",
        verdict.reason
    );
}

#[test]
fn the_candidate_subset_decides_like_the_whole_policy() {
    // A cached policy loads only the rules a request can match; that must never
    // change a decision.
    let full = policy(&large_policy(2_000));
    for line in [
        "terraform apply -auto-approve",
        "tool7 delete x",
        "tool7 get y && tool9 apply z",
        "sudo -u root tool3 {apply,patch} now",
        "sh -c 'tool11 get a | xargs tool12 delete'",
        "unknown-program --flag",
        "$(tool4 get) x",
        "/opt/bin/tool5 patch",
    ] {
        let argv: Vec<String> = ["sh", "-c", line].iter().map(|s| s.to_string()).collect();
        let request = Request { argv, ..request() };
        let wanted = full.candidate_rules(&crate::policy::normalise(&request.argv));
        assert!(
            wanted.len() < full.rules.len() / 10,
            "{line}: {} candidates",
            wanted.len()
        );
        let rules = wanted.iter().map(|&i| full.rules[i].clone()).collect();
        let subset = full.clone().with_rules(rules);
        assert_eq!(subset.evaluate(&request), full.evaluate(&request), "{line}");
    }
}

#[test]
fn ci_verified_holds_at_the_broker_and_is_left_to_it_by_the_requester() {
    let p = policy(
        r#"version = 1
default = "approve"

[[rule]]
name = "verified bot deploys"
action = "allow"
match = "deploy **"
actor = "deploy-bot"
repository = "acme/*"
ref = "main"
ci_verified = true

[[rule]]
name = "only verified CI pushes"
action = "deny"
match = "push **"
ci_verified = false
"#,
    );
    let bot = |ci_verified| Request {
        actor: "deploy-bot".into(),
        ci: Some("github".into()),
        repository: Some("acme/payments".into()),
        git_ref: Some("main".into()),
        ci_verified,
        ..request()
    };
    let decide = |line: &str, request: &Request| decide_lines(&p, &[line], request).decision;
    // The broker knows.
    assert_eq!(decide("deploy x", &bot(Some(true))), Action::Allow);
    assert_eq!(decide("deploy x", &bot(Some(false))), Action::Approve);
    assert_eq!(decide("push x", &bot(Some(false))), Action::Deny);
    assert_eq!(decide("push x", &bot(Some(true))), Action::Approve);
    // The requester does not: never allow on it, and ask instead of denying.
    assert_eq!(decide("deploy x", &bot(None)), Action::Approve);
    assert_eq!(decide("push x", &bot(None)), Action::Approve);
    // Another repository or ref: the rule does not apply.
    let fork = Request {
        repository: Some("evil/payments".into()),
        ..bot(Some(true))
    };
    assert_eq!(decide("deploy x", &fork), Action::Approve);
}
