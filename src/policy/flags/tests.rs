//! The option table and spelled matching: every spelling of a flag a rule names
//! matches, nothing a program reads differently does, and `allow` rules never
//! match more than the grammar says.

use super::table::all;
use super::table::read_table;
use super::{Grammars, OptWord, Scope, builtin, spell};
use crate::policy::pattern::Arg;
use crate::policy::{Action, Policy, Request, normalise_line};

fn policy(source: &str) -> Policy {
    match Policy::parse(source, "policy.toml") {
        Ok(policy) => policy,
        Err(errors) => panic!("{errors:?}"),
    }
}

fn decide(policy: &Policy, line: &str) -> Action {
    policy
        .evaluate_commands(normalise_line(line), &Request::default())
        .decision
}

/// A policy with one rule of `action` matching `pattern`, and `default` allow.
fn one_rule(action: &str, pattern: &str) -> Policy {
    policy(&format!(
        "version = 1\ndefault = \"allow\"\nopaque = \"approve\"\n\
         [[rule]]\nname = \"r\"\naction = \"{action}\"\nmatch = '{pattern}'\n"
    ))
}

/// A policy whose only rule allows `pattern` and whose default is deny.
fn allowing(pattern: &str) -> Policy {
    policy(&format!(
        "version = 1\ndefault = \"deny\"\nopaque = \"deny\"\n\
         [[rule]]\nname = \"r\"\naction = \"allow\"\nmatch = '{pattern}'\n"
    ))
}

fn assert_all(policy: &Policy, expect: Action, lines: &[&str]) {
    for line in lines {
        assert_eq!(decide(policy, line), expect, "{line}");
    }
}

#[test]
fn the_table_reads_and_every_program_has_options() {
    let programs = all();
    let names: Vec<&str> = programs.iter().map(|p| p.names[0].as_str()).collect();
    for expected in [
        "rm",
        "git",
        "kubectl",
        "helm",
        "terraform",
        "docker",
        "aws",
        "gcloud",
        "psql",
        "mysql",
        "curl",
        "chmod",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    for program in &programs {
        assert!(
            !program.options.is_empty() || !program.subcommands.is_empty(),
            "{:?}",
            program.names
        );
    }
    // A spelling belongs to one option per scope.
    fn unique(scope: &Scope) {
        let mut seen = std::collections::BTreeSet::new();
        for spelling in scope.options.iter().flat_map(|o| &o.spellings) {
            assert!(
                seen.insert(spelling),
                "{spelling} twice in {:?}",
                scope.names
            );
        }
        scope.subcommands.iter().for_each(unique);
    }
    programs.iter().for_each(unique);
    // Each program's own section reads as the whole table does.
    for program in &programs {
        for name in &program.names {
            assert_eq!(builtin(name).as_ref(), Some(program), "{name}");
        }
    }
    assert_eq!(builtin("not-in-the-table"), None);
}

#[test]
fn a_broken_table_line_is_an_error_not_a_guess() {
    assert!(read_table("program x\n-f --force\n").is_ok());
    for bad in [
        "-f --force\n",
        "program x\n-f =x\n",
        "program x\nforce\n",
        "program x\n-f* \n",
        "program x\nin y sub\n",
        "program x fast\n",
        "program x\noperand +\n",
    ] {
        assert!(read_table(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn clusters_order_and_long_names_are_one_spelling() {
    let p = one_rule("deny", "rm ** -rf **");
    assert_all(
        &p,
        Action::Deny,
        &[
            "rm -rf x",
            "rm -fr x",
            "rm -r -f x",
            "rm -f -r x",
            "rm -Rf x",
            "rm -fR x",
            "rm --recursive --force x",
            "rm -r --force x",
            "rm --force -R x",
            "rm x -rf",
            "rm -v -r -i -f x",
            "rm -rfv x",
            "rm --rec --for x",
            "rm --recursive --f x",
        ],
    );
    assert_all(
        &p,
        Action::Allow,
        &[
            "rm -r x",
            "rm -f x",
            "rm x",
            "rm -- -r -f",
            "rm --dir -f x",
            "rm -i x",
        ],
    );
}

#[test]
fn an_ambiguous_abbreviation_is_not_read_as_either_option() {
    // `--pre` could be --preserve-root or nothing else: unique, so it is read.
    let p = one_rule("approve", "rm ** --preserve-root **");
    assert_eq!(decide(&p, "rm --pre x"), Action::Approve);
    // git push: `--forc` is ambiguous (--force, --force-with-lease, --force-if-includes);
    // git refuses it, and gate does not call it one of them.
    let p = one_rule("approve", "git push ** --force-with-lease **");
    assert_eq!(decide(&p, "git push --forc"), Action::Allow);
    assert_eq!(decide(&p, "git push --force-w"), Action::Approve);
    // kubectl (cobra) reads no abbreviations.
    let p = one_rule("deny", "kubectl ** --namespace prod **");
    assert_eq!(decide(&p, "kubectl --names prod get pods"), Action::Allow);
}

#[test]
fn git_push_force_has_every_spelling_git_reads() {
    let p = one_rule("approve", "git push ** --force **");
    assert_all(
        &p,
        Action::Approve,
        &[
            "git push -f",
            "git push --force origin main",
            "git push origin main -f",
            "git push -uf origin main",
            "git push --force-with-lease origin main",
            "git push --force-with-lease=main:abc origin main",
            "git push --force-if-includes --force-with-lease",
            "git push --mirror",
            "git push origin +main",
            "git push origin main +refs/tags/v1",
            "git -C ../other push -f",
            "git -C ../other -c user.name=x push --force",
            "git --git-dir=.git --work-tree . push -f",
            "git --no-pager push origin +HEAD:main",
        ],
    );
    assert_all(
        &p,
        Action::Allow,
        &[
            "git push",
            "git push origin main",
            "git push -u origin main",
            "git push -o ci.skip origin main",
            "git push origin -- +main",
            "git -C -f status",
            "git fetch -f",
            "git commit -m -f",
        ],
    );
}

#[test]
fn subcommands_are_found_past_global_options_and_by_alias() {
    let p = one_rule("approve", "terraform apply **");
    assert_all(
        &p,
        Action::Approve,
        &[
            "terraform apply",
            "terraform -chdir=infra apply -auto-approve",
            "terraform -chdir=infra apply",
        ],
    );
    assert_all(
        &p,
        Action::Allow,
        &["terraform plan", "terraform -chdir=apply plan"],
    );
    let p = one_rule("approve", "helm uninstall **");
    assert_all(
        &p,
        Action::Approve,
        &[
            "helm uninstall x",
            "helm un x",
            "helm delete x",
            "helm -n prod del x",
        ],
    );
    // Alternatives are subcommands too, with their aliases.
    let p = one_rule("approve", "helm ** {uninstall,rollback} **");
    assert_all(
        &p,
        Action::Approve,
        &["helm un x", "helm -n prod del x", "helm rollback x 1"],
    );
    assert_eq!(decide(&p, "helm list"), Action::Allow);
    let p = one_rule("approve", "kubectl delete **");
    assert_all(
        &p,
        Action::Approve,
        &[
            "kubectl -n prod delete pod x",
            "kubectl --namespace=prod delete pod x",
            "kubectl --context prod-eu delete pod x",
            "kubectl --kubeconfig /tmp/k -n x delete pod y",
        ],
    );
    assert_all(
        &p,
        Action::Allow,
        &["kubectl get pods", "kubectl -n delete get pods"],
    );
}

#[test]
fn option_values_match_in_every_form() {
    let p = one_rule("deny", "kubectl ** -n prod **");
    assert_all(
        &p,
        Action::Deny,
        &[
            "kubectl -n prod get pods",
            "kubectl get pods -n prod",
            "kubectl -nprod get pods",
            "kubectl -n=prod get pods",
            "kubectl --namespace prod get pods",
            "kubectl --namespace=prod get pods",
        ],
    );
    assert_all(
        &p,
        Action::Allow,
        &[
            "kubectl -n staging get pods",
            "kubectl get prod",
            "kubectl -n production get pods",
        ],
    );
    let p = one_rule("approve", "kubectl ** --context *prod* **");
    assert_eq!(
        decide(&p, "kubectl --context=eu-prod-1 get pods"),
        Action::Approve
    );
    assert_eq!(
        decide(&p, "kubectl --context eu-dev get pods"),
        Action::Allow
    );
    let p = one_rule("approve", "curl ** -X DELETE **");
    assert_all(
        &p,
        Action::Approve,
        &[
            "curl -XDELETE http://x",
            "curl --request DELETE http://x",
            "curl --request=DELETE http://x",
            "curl -sSX DELETE http://x",
        ],
    );
    assert_eq!(decide(&p, "curl -X GET http://x/DELETE"), Action::Allow);
}

#[test]
fn a_pattern_without_double_star_stays_exact() {
    let p = one_rule("deny", "rm -rf /srv");
    assert_all(
        &p,
        Action::Deny,
        &[
            "rm -rf /srv",
            "rm -fr /srv",
            "rm -r -f /srv",
            "rm --recursive --force /srv",
        ],
    );
    assert_all(
        &p,
        Action::Allow,
        &["rm -rfv /srv", "rm -rf /srv /tmp", "rm -r /srv"],
    );
}

#[test]
fn allow_rules_match_spellings_but_not_implied_options_or_unknown_programs() {
    // The grammar is known: every spelling of what the rule allows is allowed.
    let p = allowing("git push ** --dry-run **");
    assert_eq!(decide(&p, "git push -n origin main"), Action::Allow);
    // An option that only implies --force is not the --force an allow rule names.
    let p = allowing("git push ** --force **");
    assert_eq!(decide(&p, "git push -f"), Action::Allow);
    assert_eq!(decide(&p, "git push --mirror"), Action::Deny);
    assert_eq!(decide(&p, "git push origin +main"), Action::Deny);
    // A bare option with an optional value allows only the bare option.
    let p = allowing("kubectl apply ** --dry-run **");
    assert_eq!(decide(&p, "kubectl apply -f x --dry-run"), Action::Allow);
    assert_eq!(
        decide(&p, "kubectl apply -f x --dry-run=none"),
        Action::Deny
    );
    // A program the table does not know: its clusters are not guessed at.
    let p = allowing("mytool -ab **");
    assert_eq!(decide(&p, "mytool -ab x"), Action::Allow);
    assert_eq!(decide(&p, "mytool -ba x"), Action::Deny);
}

#[test]
fn deny_rules_read_clusters_of_programs_the_table_does_not_know() {
    let p = one_rule("deny", "mytool ** -xz **");
    assert_all(
        &p,
        Action::Deny,
        &["mytool -xz", "mytool -zx", "mytool -x -z a", "mytool -zvx"],
    );
    assert_all(
        &p,
        Action::Allow,
        &["mytool -x", "mytool --xz", "mytool -- -x -z"],
    );
    // A word of repeated letters is one option, not a cluster (`-delete`).
    let p = one_rule("approve", "find ** -delete **");
    assert_eq!(decide(&p, "find . -led -t -e"), Action::Allow);
}

#[test]
fn a_policy_declares_the_options_of_its_own_programs() {
    let p = policy(
        r#"
version = 1
default = "allow"
opaque = "approve"

[[options]]
program = "deployctl"
flags = ["-f --force", "-e --env ="]

[[options]]
program = "deployctl release"
flags = ["-y --yes"]
abbreviations = true

[[rule]]
name = "forced prod releases"
action = "deny"
match = "deployctl ** release ** --env prod ** --yes **"
"#,
    );
    assert_all(
        &p,
        Action::Deny,
        &[
            "deployctl release -eprod -y",
            "deployctl -e prod release --yes",
            "deployctl release --env=prod --ye",
        ],
    );
    assert_all(
        &p,
        Action::Allow,
        &["deployctl release -e dev -y", "deployctl release -e prod"],
    );
}

#[test]
fn declared_options_are_checked_with_positions() {
    let errors = match Policy::parse(
        "version = 1\n[[options]]\nprogram = \"x\"\nflags = [\"-f --force\", \"force\"]\n\
         [[options]]\nflags = [\"-f\"]\n[[options]]\nprogram = \"/bin/x\"\nvalues = 1\n",
        "policy.toml",
    ) {
        Ok(_) => panic!("bad [[options]] accepted"),
        Err(errors) => errors,
    };
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`force` is not an option spelling")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("needs \"program\"")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("is not a program name")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("unknown key \"values\"")),
        "{messages:?}"
    );
    assert!(errors.iter().all(|e| e.hint.is_some()), "{errors:?}");
}

#[test]
fn run_time_words_that_may_be_options_make_a_rule_possible_not_certain() {
    let p = one_rule("deny", "rm ** -rf **");
    // `$OPTS` may be `-rf` or nothing: the command is opaque, not allowed.
    assert_eq!(decide(&p, "rm -r $OPTS x"), Action::Approve);
    // `$DIR` as an operand changes nothing about the options given.
    assert_eq!(decide(&p, "rm -fr \"$DIR\""), Action::Deny);
    // An option value known only at run time: a rule on that value may match.
    let p = one_rule("deny", "kubectl ** -n prod **");
    assert_eq!(decide(&p, "kubectl -n \"$NS\" get pods"), Action::Approve);
    assert_eq!(decide(&p, "kubectl -n dev get pods $MORE"), Action::Approve);
}

#[test]
fn spelling_a_command_gives_canonical_options_and_operands() {
    let grammar = Grammars { declared: &[] }
        .get("git")
        .expect("git is in the table");
    let argv = [
        "git", "-C", "d", "push", "-uf", "origin", "+main", "--", "-x",
    ];
    let args: Vec<Arg> = argv.iter().map(|a| Arg::Known(a)).collect();
    let spelled = spell(&grammar, &args);
    let options: Vec<String> = spelled
        .options
        .iter()
        .map(|o| match o {
            OptWord::Known {
                canonical, implied, ..
            } => format!("{canonical}{}", if *implied { " (implied)" } else { "" }),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        options,
        ["-C=d", "--set-upstream", "--force", "--force (implied)"]
    );
    let operands: Vec<&str> = spelled
        .operands
        .iter()
        .map(|a| match a {
            Arg::Known(text) => *text,
            _ => "?",
        })
        .collect();
    assert_eq!(operands, ["push", "origin", "+main", "-x"]);
}
