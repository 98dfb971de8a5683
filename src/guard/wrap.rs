//! `gate -- CMD` and `gate --ticket ID -- CMD` through the whole pipeline: decide,
//! ask where the verdict says so, record, run, record the outcome.
//!
//! Every way out is recorded in the audit log before gate exits: `allow` and
//! `deny`; on the approval path `needs-approval` (no request could be made),
//! `approved`, `rejected`, `timed-out`, `cancelled`, `approval-invalid`. Only a
//! policy `allow`, or an approval gate verified and claimed itself, runs anything.

use super::broker::{self, Asking};
use super::forward;
use super::trail::{self, Trail, refusal_reason};
use super::verify::check_approval;
use super::{Decided, LoadedPolicy, shell_join};
use crate::action::ResolveError;
use crate::approval::ticket::{self, Ticket, TicketError};
use crate::approval::{Answer, AskError, Channel, ChannelError, StatusDisplay, ask, redeem};
use crate::audit::{AuditError, Decision, Entry};
use crate::error::{Error, exit};
use crate::exec;
use crate::paths::Home;
use crate::policy::{Action, ApprovalRequirement, Forward};
use std::path::Path;

/// How `gate --` was asked to run the command.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// `--reason`: the requester's justification.
    pub reason: Option<String>,
    /// `--json`: when nothing runs, gate's report is one JSON object on stdout
    /// (and nothing on stderr); an approved command's approval is one on stderr.
    pub json: bool,
    /// `--break-glass`.
    pub break_glass: bool,
    /// `--ticket ID`: use the approval already granted to request ID.
    pub ticket: Option<String>,
}

/// Run `decided` as `invocation` says, under `loaded`; the exit code when it ran.
pub fn wrap(
    loaded: &LoadedPolicy,
    decided: &Decided,
    invocation: &Invocation,
    home: &Home,
) -> Result<u8, Error> {
    let mut trail = Trail::open(home).map_err(refused_audit)?;
    // `gate --ticket`: the approval was asked for with the digest key the ticket
    // holds; the record names the digest that approval is bound to.
    let ticket = match (&invocation.ticket, decided.verdict.decision) {
        (Some(id), Action::Approve | Action::Allow) => Some((id.as_str(), ticket::take(home, id))),
        _ => None,
    };
    let rekeyed = match &ticket {
        Some((_, Ok(Ticket { key: Some(key), .. }))) => Some(decided.rekeyed(key.clone())),
        _ => None,
    };
    let decided = rekeyed.as_ref().unwrap_or(decided);
    let draft = trail::draft(decided, invocation.reason.as_deref());
    let run = Run {
        loaded,
        decided,
        invocation,
        draft: &draft,
        home,
    };
    let result = match (decided.verdict.decision, ticket) {
        (Action::Deny, ..) => {
            let reason = refusal_reason(decided, &draft);
            trail
                .decision(&draft, Decision::Deny, Some(reason))
                .map_err(refused_audit)?;
            let error = Error::Denied {
                reason: decided.verdict.reason.clone(),
            };
            run.refuse(error)
        }
        (_, Some((request_id, ticket))) => run.redeem(&mut trail, request_id, ticket),
        (Action::Approve, None) => run.approve(&mut trail),
        (Action::Allow, None) => {
            let seq = trail
                .decision(&draft, Decision::Allow, draft.reason.clone())
                .map_err(refused_audit)?;
            run.start(&mut trail, &draft, seq)
        }
    };
    forward::push_in_background(loaded.policy.forward, home);
    result
}

/// An audit failure on the requester side: nothing runs.
fn refused_audit(source: AuditError) -> Error {
    Error::Audit {
        source,
        nothing_ran: true,
    }
}

/// One `gate --` call after the decision.
struct Run<'a> {
    loaded: &'a LoadedPolicy,
    decided: &'a Decided,
    invocation: &'a Invocation,
    /// The decision record, without its decision.
    draft: &'a Entry,
    home: &'a Home,
}

impl Run<'_> {
    fn approve(&self, trail: &mut Trail) -> Result<u8, Error> {
        let requirement = self.requirement();
        if requirement.require_reason && self.invocation.reason.is_none() {
            let hint = format!(
                "{} requires a reason; nothing was run, no request was made \
                 (rerun with --reason TEXT; approvers see it)",
                rule_names(&requirement)
            );
            return self.refuse_unasked(trail, hint);
        }
        if self.invocation.break_glass && !requirement.break_glass {
            let hint = format!(
                "{} does not allow --break-glass; nothing was run, no request was made \
                 (rerun without --break-glass to ask an approver)",
                rule_names(&requirement)
            );
            return self.refuse_unasked(trail, hint);
        }
        let channel = match broker::channel(self.loaded) {
            Ok(channel) => channel,
            Err(ChannelError::Insecure(file)) => {
                let hint = format!("refusing insecure broker key file: {file}");
                self.record_unasked(trail, &hint)?;
                return self.refuse(Error::Insecure(file));
            }
            Err(err) => return self.refuse_unasked(trail, err.to_string()),
        };
        let asking = Asking {
            reason: self.draft.reason.as_deref(),
            timeout: requirement.timeout,
            offer_break_glass: true,
            break_glass: self.invocation.break_glass,
        };
        let request = broker::new_request(self.decided, &requirement, asking);
        let mut display = StatusDisplay::for_stderr();
        let answer = match ask(&channel, &request, &mut display) {
            Ok(answer) => answer,
            Err(AskError::Broker(err)) => {
                return self.refuse_unasked(trail, format!("{err}; nothing was run"));
            }
            Err(AskError::Setup(err)) => {
                let hint = format!("cannot wait for the broker ({err}); nothing was run");
                return self.refuse_unasked(trail, hint);
            }
        };
        self.settle(trail, answer)
    }

    /// `gate --ticket ID -- CMD`: no new request; use the approval already granted
    /// to request ID, checked against this process's own digest of CMD, claimed
    /// once. A missing ticket, another command, or a used or expired approval is
    /// `approval-invalid` (109) and nothing runs.
    fn redeem(
        &self,
        trail: &mut Trail,
        request_id: &str,
        ticket: Result<Ticket, TicketError>,
    ) -> Result<u8, Error> {
        let invalid = |reason: String| Answer::Invalid {
            request_id: request_id.to_string(),
            reason,
        };
        let channel: Result<Channel, ChannelError> = broker::channel(self.loaded);
        let answer = match (channel, ticket) {
            (Err(err), _) => invalid(err.to_string()),
            (_, Err(err)) => invalid(err.to_string()),
            (_, Ok(Ticket { key: None, .. })) => invalid(
                "the ticket holds no digest key (written by an older gate); ask again".into(),
            ),
            (Ok(channel), Ok(Ticket { token, .. })) => {
                match redeem(&channel, request_id, &token, &self.decided.digest) {
                    Ok(answer) => answer,
                    Err(AskError::Broker(err)) => invalid(err.to_string()),
                    Err(AskError::Setup(err)) => invalid(err.to_string()),
                }
            }
        };
        let answer = match answer {
            // A ticket stands only for an approval; anything else is not one.
            Answer::Approved { .. } | Answer::Invalid { .. } => answer,
            Answer::Denied(view) => invalid(format!("request {} was denied", view.id)),
            Answer::TimedOut { .. } | Answer::Cancelled { .. } => {
                invalid("the request was not approved in time".to_string())
            }
        };
        self.settle(trail, answer)
    }

    /// Record the broker's final answer; run the command on a verified approval
    /// that also meets what gate's own verdict demands.
    fn settle(&self, trail: &mut Trail, answer: Answer) -> Result<u8, Error> {
        let people = &self.loaded.policy.people;
        let answer = match answer {
            Answer::Approved {
                request_id,
                payload,
                signed,
            } => match check_approval(self.decided, people, &payload) {
                Ok(()) => Answer::Approved {
                    request_id,
                    payload,
                    signed,
                },
                Err(reason) => Answer::Invalid { request_id, reason },
            },
            answer => answer,
        };
        let mut entry = self.draft.clone();
        let (error, request_id) = match answer {
            Answer::Approved {
                request_id,
                payload,
                signed,
            } => {
                let entry = trail::approved(self.draft, &payload, &signed);
                let seq = trail.append(&entry, true).map_err(refused_audit)?;
                if self.invocation.json {
                    eprintln!("{}", self.approved_json(&request_id, &entry));
                }
                return self.start(trail, &entry, seq);
            }
            Answer::Denied(view) => {
                let (by, reason) = broker::denied_by(&view);
                let reason = reason.map(|r| self.decided.redactor.redact(&r));
                entry.decision = Decision::Rejected.into();
                entry.approvers = by.clone();
                entry.ci_identity = view.ci_identity.clone();
                let said = reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                entry.reason = Some(self.with_request(&view.id, &format!("denied{said}")));
                let names: Vec<String> = by.iter().map(|a| a.name.clone()).collect();
                let error = Error::Rejected {
                    request_id: view.id.clone(),
                    by: if names.is_empty() {
                        "an approver".into()
                    } else {
                        names.join(", ")
                    },
                    reason,
                };
                (error, view.id)
            }
            Answer::TimedOut { request_id } => {
                entry.decision = Decision::TimedOut.into();
                entry.reason = Some(self.with_request(&request_id, "no decision in time"));
                let error = Error::ApprovalTimedOut {
                    request_id: request_id.clone(),
                };
                (error, request_id)
            }
            Answer::Cancelled { request_id, signal } => {
                let why = match signal {
                    Some(signal) => format!("{signal} while waiting"),
                    None => "the broker reports the request cancelled".to_string(),
                };
                entry.decision = Decision::Cancelled.into();
                entry.reason = Some(self.with_request(&request_id, &why));
                let error = Error::Cancelled {
                    request_id: request_id.clone(),
                    why,
                };
                (error, request_id)
            }
            Answer::Invalid { request_id, reason } => {
                entry.decision = Decision::ApprovalInvalid.into();
                entry.reason = Some(self.with_request(&request_id, &reason));
                let error = Error::ApprovalInvalid {
                    request_id: request_id.clone(),
                    reason,
                };
                (error, request_id)
            }
        };
        trail.append(&entry, true).map_err(refused_audit)?;
        if self.invocation.json {
            let mut value = self.refusal_json(&error);
            value["request_id"] = request_id.into();
            value["status"] = entry.decision.as_str().into();
            return Err(shown_as_json(&value, error));
        }
        Err(error)
    }

    /// Run the command whose decision record (`seq`, written from `entry`) is
    /// durable: the same path for a policy allow and a verified approval.
    fn start(&self, trail: &mut Trail, entry: &Entry, seq: u64) -> Result<u8, Error> {
        if self.strict() {
            let pushed = forward::push_now(self.home, trail.log(), &trail.public_key());
            if let Err(detail) = pushed {
                trail
                    .failed(entry, seq, exit::NEEDS_APPROVAL)
                    .map_err(refused_audit)?;
                return self.refuse(Error::Refused {
                    message: format!(
                        "{} needs its decision record at the broker before the command starts \
                         (forward = \"strict\"), and the broker did not take it: {detail}; \
                         nothing was run",
                        self.strict_rules()
                    ),
                    code: exit::NEEDS_APPROVAL,
                });
            }
        }
        let argv = self.decided.argv();
        let executable = match &self.decided.executable {
            Ok(path) => path,
            Err(ResolveError::NotFound) => {
                trail
                    .failed(entry, seq, exit::NOT_FOUND)
                    .map_err(refused_audit)?;
                return self.refuse(Error::NotFound {
                    program: argv[0].clone(),
                });
            }
            Err(ResolveError::NotExecutable(path)) => {
                trail
                    .failed(entry, seq, exit::NOT_EXECUTABLE)
                    .map_err(refused_audit)?;
                let source = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
                return self.refuse(Error::NotExecutable {
                    program: path.display().to_string(),
                    source,
                });
            }
        };
        self.exec(trail, entry, seq, executable)
    }

    fn exec(
        &self,
        trail: &mut Trail,
        entry: &Entry,
        seq: u64,
        executable: &Path,
    ) -> Result<u8, Error> {
        let argv = self.decided.argv();
        let outcome = match exec::run(executable, argv) {
            Ok(outcome) => outcome,
            Err(source) => {
                let code = if source.kind() == std::io::ErrorKind::PermissionDenied {
                    exit::NOT_EXECUTABLE
                } else {
                    exit::NOT_FOUND
                };
                trail.failed(entry, seq, code).map_err(refused_audit)?;
                let program = argv[0].clone();
                return self.refuse(if code == exit::NOT_FOUND {
                    Error::NotFound { program }
                } else {
                    Error::NotExecutable { program, source }
                });
            }
        };
        trail
            .outcome(entry, seq, outcome.termination, outcome.duration)
            .map_err(refused_audit)?;
        Ok(outcome.termination.exit_code())
    }

    /// Whether the command may start only once the broker holds its decision
    /// record: `[audit] forward = "strict"`, or a deciding rule says so.
    fn strict(&self) -> bool {
        self.loaded.policy.forward == Forward::Strict || !self.strict_rule_names().is_empty()
    }

    fn strict_rule_names(&self) -> Vec<&str> {
        let policy = &self.loaded.policy;
        self.decided
            .verdict
            .rules
            .iter()
            .filter(|name| {
                policy
                    .rules
                    .iter()
                    .any(|r| &r.name == *name && r.forward_strict)
            })
            .map(String::as_str)
            .collect()
    }

    fn strict_rules(&self) -> String {
        match self.strict_rule_names().as_slice() {
            [] => "this policy ([audit] forward = \"strict\")".to_string(),
            [one] => format!("rule \"{one}\""),
            many => format!("rules \"{}\"", many.join("\", \"")),
        }
    }

    fn requirement(&self) -> ApprovalRequirement {
        self.decided
            .verdict
            .approval
            .clone()
            .unwrap_or_else(|| ApprovalRequirement {
                rules: Vec::new(),
                approvers: Vec::new(),
                quorum: 0,
                timeout: std::time::Duration::ZERO,
                require_reason: false,
                break_glass: false,
            })
    }

    /// The audit reason of a final answer: the requester's reason, the request, what happened.
    fn with_request(&self, request_id: &str, what: &str) -> String {
        match &self.draft.reason {
            Some(given) => format!("request {request_id}: {what} (requester's reason: {given})"),
            None => format!("request {request_id}: {what}"),
        }
    }

    fn record_unasked(&self, trail: &mut Trail, hint: &str) -> Result<u64, Error> {
        let reason = format!("{}; {hint}", refusal_reason(self.decided, self.draft));
        trail
            .decision(self.draft, Decision::NeedsApproval, Some(reason))
            .map_err(refused_audit)
    }

    /// No request was made: record why, say why, exit 103.
    fn refuse_unasked(&self, trail: &mut Trail, hint: String) -> Result<u8, Error> {
        self.record_unasked(trail, &hint)?;
        let error = Error::NeedsApproval {
            reason: self.decided.verdict.reason.clone(),
            hint,
        };
        self.refuse(error)
    }

    /// Nothing ran: the error for the one stderr line and the exit code, or with
    /// `--json` one JSON object on stdout instead of that line (stdout is free).
    fn refuse(&self, error: Error) -> Result<u8, Error> {
        if self.invocation.json {
            return Err(shown_as_json(&self.refusal_json(&error), error));
        }
        Err(error)
    }

    /// The JSON object of a refusal (see [`Run::refuse`]).
    fn refusal_json(&self, error: &Error) -> serde_json::Value {
        let verdict = &self.decided.verdict;
        serde_json::json!({
            "decision": verdict.decision.as_str(),
            "ran": false,
            "exit_code": error.exit_code(),
            "message": error.render(),
            "reason": verdict.reason,
            "rules": verdict.rules,
            "commands": verdict
                .commands
                .iter()
                .map(|c| shell_join(&c.command.argv))
                .collect::<Vec<_>>(),
        })
    }

    fn approved_json(&self, request_id: &str, entry: &Entry) -> serde_json::Value {
        serde_json::json!({
            "decision": "approve",
            "status": "approved",
            "ran": true,
            "request_id": request_id,
            "approvers": entry.approvers,
            "break_glass": entry.break_glass,
            "reason": self.decided.verdict.reason,
            "rules": self.decided.verdict.rules,
        })
    }
}

/// Print `value` as gate's one report of `error` (on stdout, where a reader of
/// `--json` looks); a closed stdout loses it, as it would lose the text line.
pub fn shown_as_json(value: &serde_json::Value, error: Error) -> Error {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}").and_then(|()| out.flush());
    Error::ShownAsJson(Box::new(error))
}

fn rule_names(requirement: &ApprovalRequirement) -> String {
    match requirement.rules.as_slice() {
        [] => "the policy".to_string(),
        [one] => format!("rule \"{one}\""),
        many => format!("rules \"{}\"", many.join("\", \"")),
    }
}
