//! `gate check`: decide and explain, run nothing.

use super::load_policy;
use crate::error::{Error, exit};
use crate::identity::Requester;
use crate::paths::Home;
use crate::policy::{Request, Verdict};
use crate::redact::Redactor;
use serde::Serialize;
use std::path::Path;

/// The stable JSON shape of `gate check --json` (documented in docs/check-json.md).
#[derive(Debug, Serialize)]
struct Explanation<'a> {
    decision: &'static str,
    reason: &'a str,
    policy: String,
    command: Vec<String>,
    requester: &'a Requester,
    rules: &'a [String],
    commands: &'a [crate::policy::CommandVerdict],
    approval: &'a Option<crate::policy::ApprovalRequirement>,
}

pub(super) fn check(
    policy: Option<&Path>,
    json: bool,
    argv: &[String],
    home: &Home,
) -> Result<u8, Error> {
    let loaded = load_policy(policy, home, argv)?;
    let requester = Requester::current();
    let request = build_request(argv, &requester);
    let mut verdict = loaded.policy.evaluate(&request);
    let redactor = Redactor::new(&loaded.policy.redact).map_err(|bad| {
        Error::Internal(format!("redact pattern {:?}: {}", bad.pattern, bad.message))
    })?;
    redact_verdict(&mut verdict, &redactor);
    let command = redactor.redact_argv(argv);
    if json {
        let explanation = Explanation {
            decision: verdict.decision.as_str(),
            reason: &verdict.reason,
            policy: loaded.source.label(),
            command,
            requester: &requester,
            rules: &verdict.rules,
            commands: &verdict.commands,
            approval: &verdict.approval,
        };
        let text = serde_json::to_string_pretty(&explanation)
            .map_err(|e| Error::Internal(e.to_string()))?;
        println!("{text}");
    } else {
        print!(
            "{}",
            explain_text(&verdict, &command, &loaded.source.label())
        );
    }
    Ok(exit::OK)
}

/// The request for this process: argv, cwd, environment, and who is asking.
pub(super) fn build_request(argv: &[String], requester: &Requester) -> Request {
    Request {
        argv: argv.to_vec(),
        cwd: std::env::current_dir().unwrap_or_default(),
        env: std::env::vars().collect(),
        actor: policy_actor(requester),
        agent: requester.agent.as_ref().map(|a| a.name.clone()),
        ci: requester.ci.as_ref().map(|c| c.system.clone()),
    }
}

/// Who the policy's `actor` condition sees: in CI, the CI actor (the person or
/// bot that started the job) when the CI system names one; otherwise the OS user.
pub(crate) fn policy_actor(requester: &Requester) -> String {
    requester
        .ci
        .as_ref()
        .and_then(|ci| ci.actor.clone())
        .unwrap_or_else(|| requester.user.clone())
}

/// Secrets in the argv also appear in the explanation; mask them there too.
pub(crate) fn redact_verdict(verdict: &mut Verdict, redactor: &Redactor) {
    verdict.reason = redactor.redact(&verdict.reason);
    for command in &mut verdict.commands {
        command.command.argv = redactor.redact_argv(&command.command.argv);
        command.why = redactor.redact(&command.why);
    }
}

fn explain_text(verdict: &Verdict, command: &[String], policy: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "decision: {}", verdict.decision.as_str());
    let _ = writeln!(out, "reason:   {}", verdict.reason);
    let _ = writeln!(out, "policy:   {policy}");
    let _ = writeln!(out, "command:  {}", shell_join(command));
    for (i, found) in verdict.commands.iter().enumerate() {
        let via = if found.command.via.is_empty() {
            String::new()
        } else {
            format!("  (via {})", found.command.via.join(" > "))
        };
        let _ = writeln!(
            out,
            "\n  {}. {}{via}",
            i + 1,
            shell_join(&found.command.argv)
        );
        if let Some(opaque) = &found.command.opaque {
            let _ = writeln!(out, "     opaque: {opaque}");
        }
        for matched in &found.matched {
            let _ = writeln!(
                out,
                "     matched rule {:?} ({}) with pattern {:?}",
                matched.rule,
                matched.action.as_str(),
                matched.pattern
            );
        }
        let _ = writeln!(out, "     -> {}: {}", found.decision.as_str(), found.why);
    }
    out
}

/// Join an argv for display, quoting elements that a shell would split.
pub(crate) fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+*".contains(c));
            if plain {
                arg.clone()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
