//! `gate check`: decide and explain, run nothing.

use crate::error::{Error, exit};
use crate::guard::tool::ToolSubject;
use crate::guard::{self, Subject, shell_join};
use crate::identity::Requester;
use crate::paths::Home;
use crate::policy::{ToolCall, Verdict};
use serde::Serialize;
use std::path::Path;

/// The stable JSON shape of `gate check --json` (documented in docs/check-json.md).
#[derive(Debug, Serialize)]
struct Explanation<'a> {
    decision: &'static str,
    reason: &'a str,
    policy: String,
    /// Hex SHA-256 of the policy text that decided.
    policy_version: &'a str,
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
    let subject = Subject::this_process(argv.to_vec())?;
    let (loaded, decided) = guard::decide(policy, home, super::stderr_color(), subject)?;
    report(json, &loaded, &decided)
}

/// `gate check --tool SERVER TOOL [--arguments JSON]`: decide an MCP tool call
/// by the `[[tool]]` rules.
pub(super) fn check_tool(
    policy: Option<&Path>,
    json: bool,
    tool: &[String],
    arguments: Option<String>,
    home: &Home,
) -> Result<u8, Error> {
    let [server, name] = tool else {
        return Err(Error::Usage("--tool takes SERVER and TOOL".into()));
    };
    let arguments = match arguments {
        None => serde_json::json!({}),
        Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) if value.is_object() => value,
            _ => {
                let message = format!(
                    "gate: --arguments must be a JSON object, e.g. '{{\"repo\": \"prod-db\"}}' (got {text:?})"
                );
                return Err(Error::Usage(message));
            }
        },
    };
    let key = crate::action::DigestKey::random()
        .map_err(|e| Error::Internal(format!("no randomness for the action digest: {e}")))?;
    let subject = ToolSubject {
        call: ToolCall {
            server: server.clone(),
            tool: name.clone(),
            arguments,
        },
        cwd: std::env::current_dir().unwrap_or_default(),
        env: std::env::vars().collect(),
        requester: Requester::current(),
        // Nothing is started: no program to name.
        executable: std::path::PathBuf::new(),
        key,
    };
    let (loaded, decided) = guard::decide_tool(policy, home, super::stderr_color(), subject)?;
    report(json, &loaded, &decided)
}

/// Print the explanation of `decided`, as text or one JSON object.
fn report(json: bool, loaded: &guard::LoadedPolicy, decided: &guard::Decided) -> Result<u8, Error> {
    let verdict = &decided.verdict;
    let label = loaded.describe();
    if json {
        let explanation = Explanation {
            decision: verdict.decision.as_str(),
            reason: &verdict.reason,
            policy: label,
            policy_version: &loaded.version,
            command: decided.command.clone(),
            requester: &decided.requester,
            rules: &verdict.rules,
            commands: &verdict.commands,
            approval: &verdict.approval,
        };
        let text = serde_json::to_string_pretty(&explanation)
            .map_err(|e| Error::Internal(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", explain_text(verdict, &decided.command, &label));
    }
    Ok(exit::OK)
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
