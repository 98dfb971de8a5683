//! The shared core of every agent hook: a shell line under the policy, decided
//! as `bash -c LINE` in the call's directory, exactly as `gate -- bash -c LINE`
//! would be. Host adapters turn their event into a [`ShellCall`] and the
//! [`Decision`] into their answer; nothing here knows a host's wire format.
//!
//! On `approve` the hook asks the broker (it is the requester; its own person can
//! never approve it) and waits within the host's budget, but never runs anything
//! and never claims the approval. On approval it stores the request's token as a
//! ticket, and the command to run is `GATE --ticket ID -- BASH -c LINE` (GATE and
//! BASH absolute): that `gate` computes its own digest of argv, cwd and the
//! resolved executable, verifies the broker's signed decision against it, claims
//! it (single use), records the decision and runs, recording the exit status.
//! Hosts that run a rewritten command get it as the tool's new input; the others
//! are told to run that line, and the hook allows it when it sees exactly that
//! line with its ticket in place.
//!
//! When the budget runs out first, the answer is a deny, "approval pending: ID,
//! retry the same command", and the request stays open (`pending`): the same call
//! again picks up the decision, bound by the same digest.

use super::host::{Decision, ShellCall};
use super::pending::{Pending, Slot};
use super::ticket_line::{issued_ticket, ticket_line};
use super::wait::{self, WaitError, Waited};
use super::{policy_error, stop};
use crate::action::resolve_executable;
use crate::approval::protocol::{RequestView, Status};
use crate::approval::{RequesterToken, ticket};
use crate::guard::broker::{self, Asking};
use crate::guard::{Decided, LoadedPolicy, Subject, Trail, shell_join, trail};
use crate::identity::Agent;
use crate::paths::Home;
use crate::policy::{Action, Verdict};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Who is asking, and what its host can do.
#[derive(Debug, Clone, Copy)]
pub struct Requester {
    pub agent: &'static str,
    pub rewrites: bool,
    pub default_wait: Option<Duration>,
}

/// The deny that leaves a request open for a retry.
pub fn pending_reason(id: &str) -> String {
    format!(
        "gate: approval pending: {id}, retry the same command. A person has been asked to \
         approve it and nothing ran; run the identical command again (same directory) to pick \
         up their decision. Do not try a variant: it would need its own approval."
    )
}

/// Decide `call` for `requester`. `Err` is the reason of a deny.
pub fn decide(
    requester: Requester,
    call: &ShellCall,
    policy: Option<&Path>,
    wait: Option<Duration>,
    home: &Home,
) -> Result<Decision, String> {
    if let Some(id) = issued_ticket(&call.line, home) {
        return Ok(Decision::Allow {
            reason: format!(
                "gate: runs once under the approval of request {id}, which `gate --ticket` verifies \
                 against this exact command"
            ),
            rewritten: None,
        });
    }
    let mut subject = subject(requester.agent, call, argv(&call.line)?)?;
    let slot = Slot::of(home, requester.agent, call.session.as_deref(), &subject);
    let pending = slot.load().map_err(|e| format!("gate: {e}"))?;
    if let Some(pending) = &pending {
        // The same key gives the same digest for the same action.
        subject.key = pending.key.clone();
    }
    let (loaded, decided) =
        crate::guard::decide(policy, home, super::super::stderr_color(), subject).map_err(
            |err| match err {
                crate::error::Error::Internal(detail) => format!("gate: {detail}"),
                err => policy_error(err),
            },
        )?;
    let (wait, cap) = match (wait, requester.default_wait) {
        (Some(wait), _) | (None, Some(wait)) => (wait, false),
        (None, None) => (loaded.policy.agents.claude_code.approval_timeout, true),
    };
    Shell {
        requester,
        call,
        loaded: &loaded,
        decided: &decided,
        home,
        slot,
        pending,
        wait,
        cap,
    }
    .decide()
}

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

/// What the policy sees of the call: `argv` in the call's directory (as `getcwd`
/// will report it in the command's shell), asked for by this user and host with
/// the agent and its session.
fn subject(agent: &str, call: &ShellCall, argv: Vec<String>) -> Result<Subject, String> {
    let mut subject = Subject::this_process(argv).map_err(|e| e.render())?;
    subject.cwd = std::fs::canonicalize(&call.cwd).unwrap_or_else(|_| call.cwd.clone());
    subject.requester.agent = Some(Agent {
        name: agent.into(),
        session: call.session.clone(),
    });
    Ok(subject)
}

struct Shell<'a> {
    requester: Requester,
    call: &'a ShellCall,
    loaded: &'a LoadedPolicy,
    decided: &'a Decided,
    home: &'a Home,
    slot: Slot,
    pending: Option<Pending>,
    /// How long this call may wait for a person.
    wait: Duration,
    /// Ask for a request no longer than `wait` (Claude Code without `--wait`).
    cap: bool,
}

impl Shell<'_> {
    fn decide(&self) -> Result<Decision, String> {
        let verdict = &self.decided.verdict;
        if let Some(program) = approver_command(verdict) {
            return Ok(Decision::Deny(format!(
                "gate: `gate {program}` is for people deciding on requests; an agent may not \
                 run it (the requester can never be the approver). Wait for the person instead."
            )));
        }
        let line = self.decided.redactor.redact(&self.call.line);
        if verdict.decision != Action::Approve && self.pending.is_some() {
            // The policy changed since the call was left pending: no approval needed now.
            self.slot.remove();
        }
        match verdict.decision {
            Action::Allow => Ok(Decision::Allow {
                reason: format!("gate: allowed by policy ({})", verdict.reason),
                rewritten: None,
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

    /// A `deny` decision record in the audit log, as `gate --` writes for a command
    /// the policy refuses, so the trail shows what the agent tried. The answer is
    /// a deny either way; a log that cannot be written is reported on stderr.
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
        let Some(requirement) = self.decided.verdict.approval.clone() else {
            return Err("gate: the policy asks for approval but names no approval settings".into());
        };
        let reason = self
            .call
            .description
            .as_deref()
            .map(|r| self.decided.redactor.redact(r));
        if requirement.require_reason && reason.is_none() {
            return Ok(Decision::Deny(format!(
                "gate: `{line}` needs approval and the rule requires a reason; give the tool \
                 call a description saying why, then try again."
            )));
        }
        let channel = broker::channel(self.loaded).map_err(|e| {
            format!("gate: `{line}` needs a person's approval, but no approval broker is usable ({e}). Tell the user.")
        })?;
        let grace = if self.cap {
            Duration::from_secs(3)
        } else {
            Duration::ZERO
        };
        let until = SystemTime::now() + self.wait + grace;
        let resumable = self
            .pending
            .as_ref()
            .filter(|pending| pending.digest == self.decided.digest);
        let mut token = resumable.map(|pending| RequesterToken(pending.token.0.clone()));
        let waited = match resumable {
            Some(pending) => {
                stop::waiting_on(&pending.request_id);
                wait::resume(&channel, &pending.request_id, &pending.token.0, until)
            }
            None => {
                let timeout = if self.cap {
                    requirement.timeout.min(self.wait)
                } else {
                    requirement.timeout
                };
                let asking = Asking {
                    reason: reason.as_deref(),
                    timeout: timeout.max(Duration::from_secs(1)),
                    offer_break_glass: false,
                    break_glass: false,
                };
                let new = broker::new_request(self.decided, &requirement, asking);
                wait::create(&channel, &new, until, |created| {
                    stop::waiting_on(&created.request.id);
                    token = Some(RequesterToken(created.requester_token.clone()));
                    self.slot.save(&Pending {
                        request_id: created.request.id.clone(),
                        token: RequesterToken(created.requester_token.clone()),
                        key: self.decided.key.clone(),
                        digest: self.decided.digest.clone(),
                    })
                })
            }
        };
        match waited {
            Ok(Waited::Open { id }) => Ok(Decision::Deny(pending_reason(&id))),
            Ok(Waited::Final(view)) => {
                self.slot.remove();
                let token = token.ok_or("gate: the request's token was lost")?;
                self.answered(*view, &token, line, &channel)
            }
            Err(WaitError::Broker(err)) => {
                if let Some(pending) = resumable {
                    self.slot.remove();
                    return Ok(Decision::Deny(format!(
                        "gate: the pending request {} for `{line}` could not be read from the \
                         broker ({err}); nothing ran. Retry the same command to ask again.",
                        pending.request_id
                    )));
                }
                Ok(Decision::Deny(format!(
                    "gate: `{line}` needs a person's approval, but the broker refused or could not be reached ({err}). Nothing ran; tell the user."
                )))
            }
            Err(WaitError::Setup(err)) => Err(format!("gate: cannot wait for the broker: {err}")),
            Err(WaitError::Keep(err)) => Err(format!(
                "gate: the request could not be kept for a retry ({err}); nothing ran"
            )),
        }
    }

    /// The decision once the broker's answer is final.
    fn answered(
        &self,
        view: RequestView,
        token: &RequesterToken,
        line: &str,
        channel: &crate::approval::Channel,
    ) -> Result<Decision, String> {
        let id = view.id.clone();
        Ok(match view.status {
            Status::Approved => {
                let invalid = |why: String| {
                    Decision::Deny(format!(
                        "gate: the approval of request {id} for `{line}` is not valid ({why}); it did not run. Tell the user."
                    ))
                };
                let Some(signed) = &view.decision else {
                    return Ok(invalid("the broker sent no signed decision".into()));
                };
                let payload = match signed.verify_approval(
                    &channel.key,
                    &id,
                    &self.decided.digest,
                    SystemTime::now(),
                ) {
                    Ok(payload) => payload,
                    Err(err) => return Ok(invalid(err.to_string())),
                };
                let people = &self.loaded.policy.people;
                if let Err(why) = crate::guard::check_approval(self.decided, people, &payload) {
                    return Ok(invalid(why));
                }
                ticket::save(self.home, &id, token, &self.decided.key).map_err(|e| {
                    format!("gate: approved, but the ticket could not be stored: {e}")
                })?;
                let names: Vec<_> = payload.approvers.iter().map(|a| a.name.as_str()).collect();
                let rewritten = self.rewritten(&id);
                if self.requester.rewrites {
                    Decision::Allow {
                        reason: format!(
                            "gate: approved by {} (request {id}); runs once, under gate, exactly as approved",
                            names.join(", ")
                        ),
                        rewritten: Some(rewritten),
                    }
                } else {
                    Decision::Deny(format!(
                        "gate: approved by {} (request {id}). This host cannot swap in the \
                         command itself, so nothing ran yet: run exactly this line instead, \
                         once, in the same directory: {rewritten}",
                        names.join(", ")
                    ))
                }
            }
            Status::Denied => {
                let (by, reason) = broker::denied_by(&view);
                let who = by
                    .first()
                    .map_or("an approver".to_string(), |a| a.name.clone());
                let why = reason
                    .map(|r| format!(": {}", self.decided.redactor.redact(&r)))
                    .unwrap_or_default();
                Decision::Deny(format!(
                    "gate: {who} denied `{line}` (request {id}){why}. Do not retry it; choose \
                     another way, or ask the user."
                ))
            }
            Status::TimedOut => Decision::Deny(format!(
                "gate: nobody approved `{line}` in time (request {id}); it did not run. \
                 Ask the user to get it approved, or choose another way."
            )),
            Status::Cancelled | Status::Pending => Decision::Deny(format!(
                "gate: the approval request {id} for `{line}` was cancelled; it did not run."
            )),
        })
    }

    /// `GATE --ticket ID -- BASH -c LINE`, quoted for the tool's shell.
    fn rewritten(&self, request_id: &str) -> String {
        ticket_line(request_id, self.decided.argv())
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
