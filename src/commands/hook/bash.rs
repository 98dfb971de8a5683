//! The Bash tool under the policy: the command line is decided as
//! `bash -c LINE` in the event's `cwd`, exactly as `gate -- bash -c LINE` would.
//!
//! On `approve` the hook asks the broker and waits (it is the requester; its own
//! person can never approve it), but does not run anything and does not claim the
//! approval. On approval it stores the request's token as a ticket and rewrites
//! the tool input to `GATE --ticket ID -- BASH -c LINE`, with GATE and BASH as
//! absolute paths. That `gate` computes its own digest of argv, cwd and the
//! resolved executable, verifies the broker's signed decision against it, claims
//! it (single use), records the decision and runs, recording the exit status.
//! The digest the hook sends is computed over that same argv (`[BASH, -c, LINE]`,
//! BASH canonical), the event's `cwd` and BASH, so any other command, directory
//! or shell is refused.

use super::event::{BashInput, Decision, PreToolUse};
use crate::action::resolve_executable;
use crate::approval::{
    Answer, AskError, AskOptions, RequesterToken, StatusDisplay, ask_with, ticket,
};
use crate::guard::broker::{self, Asking};
use crate::guard::{Decided, LoadedPolicy, Subject, Trail, shell_join, shell_quote, trail};
use crate::identity::Agent;
use crate::paths::Home;
use crate::policy::{Action, Verdict};
use std::path::PathBuf;

/// `[BASH, -c, LINE]` with BASH the canonical path of `bash` on PATH.
pub(super) fn argv(line: &str) -> Result<Vec<String>, String> {
    let bash = resolve_executable("bash", std::env::var_os("PATH").as_deref())
        .map_err(|_| "gate found no executable bash on PATH to run the command with".to_string())?;
    Ok(vec![
        bash.display().to_string(),
        "-c".into(),
        line.to_string(),
    ])
}

/// What the policy sees of the tool call: `argv` in the event's directory (as
/// `getcwd` will report it in the command's shell), asked for by this user and
/// host with Claude Code and its session as the agent.
pub(super) fn subject(event: &PreToolUse, argv: Vec<String>) -> Result<Subject, String> {
    let cwd = PathBuf::from(&event.cwd);
    let mut subject = Subject::this_process(argv).map_err(|e| e.render())?;
    subject.cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    subject.requester.agent = Some(Agent {
        name: "claude-code".into(),
        session: Some(event.session_id.clone()),
    });
    Ok(subject)
}

pub(super) struct Bash<'a> {
    pub input: &'a BashInput,
    pub loaded: &'a LoadedPolicy,
    pub decided: &'a Decided,
    pub home: &'a Home,
}

impl Bash<'_> {
    pub(super) fn decide(&self) -> Result<Decision, String> {
        let verdict = &self.decided.verdict;
        if let Some(program) = approver_command(verdict) {
            return Ok(Decision::Deny(format!(
                "gate: `gate {program}` is for people deciding on requests; an agent may not \
                 run it (the requester can never be the approver). Wait for the person instead."
            )));
        }
        let line = self.decided.redactor.redact(&self.input.command);
        match verdict.decision {
            Action::Allow => Ok(Decision::Allow {
                reason: format!("gate: allowed by policy ({})", verdict.reason),
                updated_input: None,
            }),
            Action::Deny => {
                self.record_denial();
                Ok(Decision::Deny(format!(
                    "gate refused this command: `{line}`. Why: {}. Do not retry it or a \
                     variant of it; choose another way to reach the goal, or tell the user \
                     what you need.",
                    verdict.reason
                )))
            }
            Action::Approve => self.ask(&line),
        }
    }

    /// A `deny` decision record in the audit log, as `gate --` writes for a command the
    /// policy refuses, so the trail shows what the agent tried. The answer is a deny
    /// either way; a log that cannot be written is reported on stderr.
    fn record_denial(&self) {
        let draft = trail::draft(self.decided, None);
        let reason = trail::refusal_reason(self.decided, &draft);
        let written = Trail::open(self.home).and_then(|mut trail| {
            trail.decision(&draft, crate::audit::Decision::Deny, Some(reason))
        });
        if let Err(err) = written {
            eprintln!("gate: the denial could not be written to the audit log: {err}");
        }
    }

    fn ask(&self, line: &str) -> Result<Decision, String> {
        let settings = &self.loaded.policy.agents.claude_code;
        let Some(requirement) = self.decided.verdict.approval.clone() else {
            return Err("gate: the policy asks for approval but names no approval settings".into());
        };
        let reason = self
            .input
            .description
            .as_deref()
            .map(|r| self.decided.redactor.redact(r));
        if requirement.require_reason && reason.is_none() {
            return Ok(Decision::Deny(format!(
                "gate: `{line}` needs approval and the rule requires a reason; give the Bash \
                 tool call a description saying why, then try again."
            )));
        }
        let channel = broker::channel(self.loaded).map_err(|e| {
            format!("gate: `{line}` needs a person's approval, but no approval broker is usable ({e}). Tell the user.")
        })?;
        let timeout = requirement.timeout.min(settings.approval_timeout);
        let asking = Asking {
            reason: reason.as_deref(),
            timeout: timeout.max(std::time::Duration::from_secs(1)),
            offer_break_glass: false,
            break_glass: false,
        };
        let new = broker::new_request(self.decided, &requirement, asking);
        let options = AskOptions {
            claim: false,
            give_up_after: Some(settings.approval_timeout),
        };
        let mut display = StatusDisplay::new(false, false);
        let (answer, token) = match ask_with(&channel, &new, &mut display, options) {
            Ok(done) => done,
            Err(AskError::Broker(err)) => {
                return Ok(Decision::Deny(format!(
                    "gate: `{line}` needs a person's approval, but the broker refused or could not be reached ({err}). Nothing ran; tell the user."
                )));
            }
            Err(AskError::Setup(err)) => {
                return Err(format!("gate: cannot wait for the broker: {err}"));
            }
        };
        self.answered(answer, &token, line, timeout)
    }

    /// The decision for the model once the broker answered.
    fn answered(
        &self,
        answer: Answer,
        token: &RequesterToken,
        line: &str,
        timeout: std::time::Duration,
    ) -> Result<Decision, String> {
        Ok(match answer {
            Answer::Approved {
                request_id,
                payload,
                ..
            } => {
                ticket::save(self.home, &request_id, token, &self.decided.key).map_err(|e| {
                    format!("gate: approved, but the ticket could not be stored: {e}")
                })?;
                let names: Vec<_> = payload.approvers.iter().map(|a| a.name.as_str()).collect();
                let mut updated = self.input.clone();
                updated.command = self.rewritten(&request_id);
                Decision::Allow {
                    reason: format!(
                        "gate: approved by {} (request {request_id}); runs once, under gate, exactly as approved",
                        names.join(", ")
                    ),
                    updated_input: Some(updated),
                }
            }
            Answer::Denied(view) => {
                let (by, reason) = broker::denied_by(&view);
                let who = by
                    .first()
                    .map_or("an approver".to_string(), |a| a.name.clone());
                let why = reason
                    .map(|r| format!(": {}", self.decided.redactor.redact(&r)))
                    .unwrap_or_default();
                Decision::Deny(format!(
                    "gate: {who} denied `{line}` (request {}){why}. Do not retry it; choose \
                     another way, or ask the user.",
                    view.id
                ))
            }
            Answer::TimedOut { request_id } => Decision::Deny(format!(
                "gate: nobody approved `{line}` within {} (request {request_id}); it did not run. \
                 Ask the user to get it approved, or choose another way.",
                humantime::format_duration(timeout)
            )),
            Answer::Cancelled { request_id, .. } => Decision::Deny(format!(
                "gate: the approval request {request_id} for `{line}` was cancelled; it did not run."
            )),
            Answer::Invalid { request_id, reason } => Decision::Deny(format!(
                "gate: the answer to request {request_id} for `{line}` was not valid ({reason}); it did not run. Tell the user."
            )),
        })
    }

    /// `GATE --ticket ID -- BASH -c LINE`, quoted for the Bash tool's shell.
    fn rewritten(&self, request_id: &str) -> String {
        let gate = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "gate".into());
        let mut words = vec![gate, "--ticket".into(), request_id.to_string(), "--".into()];
        words.extend(self.decided.argv().iter().cloned());
        words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `gate approve|deny|inbox|pending` anywhere in the line.
fn approver_command(verdict: &Verdict) -> Option<String> {
    verdict.commands.iter().find_map(|found| {
        let argv = &found.command.argv;
        let program = argv.first()?.rsplit('/').next()?;
        let sub = argv.get(1)?;
        (program == "gate" && ["approve", "deny", "inbox", "pending"].contains(&sub.as_str()))
            .then(|| shell_join(&argv[1..2]))
    })
}
