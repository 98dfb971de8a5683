//! The `approve` branch of `gate -- CMD`: check what the rule demands (a reason,
//! break-glass), find the broker, ask and wait, record what came back, and run the
//! command only on an approval gate verified and claimed itself.
//!
//! Every way out is recorded in the audit log: `needs-approval` (no request could
//! be made), `approved`, `rejected`, `timed-out`, `cancelled`, `approval-invalid`.

use super::{Trail, refusal_json, refusal_reason, refuse, start};
use crate::action::ResolveError;
use crate::approval::channel::{ChannelError, configure};
use crate::approval::protocol::{Choice, NewRequest, RequestView};
use crate::approval::{Answer, AskError, Channel, StatusDisplay, ask, redeem, ticket};
use crate::audit::{ApproverRecord, Entry};
use crate::cli::RunArgs;
use crate::error::Error;
use crate::policy::{ApprovalRequirement, Channels, Verdict};
use crate::redact::Redactor;
use std::path::PathBuf;

/// Everything the approve branch needs from the run so far.
pub(super) struct Asking<'a> {
    pub args: &'a RunArgs,
    pub verdict: &'a Verdict,
    /// The decision record, without its decision.
    pub draft: &'a Entry,
    pub redactor: &'a Redactor,
    pub channels: &'a Channels,
    /// The policy file's directory, for a relative `server_key`.
    pub policy_dir: Option<PathBuf>,
}

impl Asking<'_> {
    pub(super) fn approve(
        &self,
        trail: &mut Trail,
        resolved: Result<PathBuf, ResolveError>,
    ) -> Result<u8, Error> {
        let requirement = self.requirement();
        if requirement.require_reason && self.args.reason.is_none() {
            let hint = format!(
                "{} requires a reason; nothing was run, no request was made \
                 (rerun with --reason TEXT; approvers see it)",
                rule_names(&requirement)
            );
            return self.refuse_unasked(trail, hint);
        }
        if self.args.break_glass && !requirement.break_glass {
            let hint = format!(
                "{} does not allow --break-glass; nothing was run, no request was made \
                 (rerun without --break-glass to ask an approver)",
                rule_names(&requirement)
            );
            return self.refuse_unasked(trail, hint);
        }
        let channel = match self.channel() {
            Ok(channel) => channel,
            Err(ChannelError::Insecure(file)) => {
                let hint = format!("refusing insecure broker key file: {file}");
                self.record_unasked(trail, &hint)?;
                return refuse(self.args.json, self.verdict, Error::Insecure(file));
            }
            Err(err) => return self.refuse_unasked(trail, err.to_string()),
        };
        let request = self.new_request(&requirement);
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
        self.settle(trail, answer, resolved)
    }

    /// `gate --ticket ID -- CMD`: no new request; use the approval already granted
    /// to request ID, checked against this process's own digest of CMD, claimed
    /// once. A missing ticket, another command, or a used or expired approval is
    /// `approval-invalid` (109) and nothing runs.
    pub(super) fn redeem(
        &self,
        trail: &mut Trail,
        resolved: Result<PathBuf, ResolveError>,
        home: &crate::paths::Home,
        request_id: &str,
    ) -> Result<u8, Error> {
        let invalid = |reason: String| Answer::Invalid {
            request_id: request_id.to_string(),
            reason,
        };
        let answer = match (self.channel(), ticket::take(home, request_id)) {
            (Err(err), _) => invalid(err.to_string()),
            (_, Err(err)) => invalid(err.to_string()),
            (Ok(channel), Ok(token)) => {
                match redeem(&channel, request_id, &token, &self.draft.action_digest) {
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
        self.settle(trail, answer, resolved)
    }

    fn settle(
        &self,
        trail: &mut Trail,
        answer: Answer,
        resolved: Result<PathBuf, ResolveError>,
    ) -> Result<u8, Error> {
        let mut entry = self.draft.clone();
        let (error, request_id) = match answer {
            Answer::Approved {
                request_id,
                payload,
                signed,
            } => {
                entry.decision = "approved".to_string();
                entry.approvers = payload
                    .approvers
                    .iter()
                    .map(|a| ApproverRecord {
                        name: a.name.clone(),
                        channel: a.channel.clone(),
                    })
                    .collect();
                entry.break_glass = payload.break_glass;
                entry.broker_signature = Some(signed.to_compact());
                let seq = trail.append(&entry, true)?;
                if self.args.json {
                    eprintln!("{}", self.approved_json(&request_id, &entry));
                }
                return start(trail, &entry, seq, resolved, &self.args.command);
            }
            Answer::Denied(view) => {
                let (by, reason) = denied_by(&view);
                let reason = reason.map(|r| self.redactor.redact(&r));
                entry.decision = "rejected".to_string();
                entry.approvers = by.clone();
                entry.reason = Some(self.with_request(
                    &view.id,
                    &format!(
                            "denied{}",
                            reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        ),
                ));
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
                entry.decision = "timed-out".to_string();
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
                entry.decision = "cancelled".to_string();
                entry.reason = Some(self.with_request(&request_id, &why));
                let error = Error::Cancelled {
                    request_id: request_id.clone(),
                    why,
                };
                (error, request_id)
            }
            Answer::Invalid { request_id, reason } => {
                entry.decision = "approval-invalid".to_string();
                entry.reason = Some(self.with_request(&request_id, &reason));
                let error = Error::ApprovalInvalid {
                    request_id: request_id.clone(),
                    reason,
                };
                (error, request_id)
            }
        };
        trail.append(&entry, true)?;
        if self.args.json {
            let mut value = refusal_json(self.verdict, &error);
            value["request_id"] = request_id.into();
            value["status"] = entry.decision.clone().into();
            println!("{value}");
        }
        Err(error)
    }

    fn requirement(&self) -> ApprovalRequirement {
        self.verdict
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

    fn channel(&self) -> Result<Channel, ChannelError> {
        let server = std::env::var("GATE_SERVER").ok();
        let key = std::env::var("GATE_SERVER_KEY").ok();
        configure(
            server.as_deref(),
            key.as_deref(),
            self.channels.api.as_ref(),
            self.policy_dir.as_deref(),
        )?
        .load()
    }

    fn new_request(&self, requirement: &ApprovalRequirement) -> NewRequest {
        NewRequest {
            requester: self.draft.requester.clone(),
            argv: self.draft.command.clone(),
            cwd: self.draft.cwd.clone(),
            action_digest: self.draft.action_digest.clone(),
            rules: requirement.rules.clone(),
            rule_reason: self.redactor.redact(&self.verdict.reason),
            approvers: requirement.approvers.clone(),
            quorum: requirement.quorum,
            timeout_seconds: requirement.timeout.as_secs(),
            reason: self.draft.reason.clone(),
            require_reason: requirement.require_reason,
            break_glass_allowed: requirement.break_glass,
            break_glass: self.args.break_glass,
        }
    }

    /// The audit reason of a final answer: the requester's reason, the request, what happened.
    fn with_request(&self, request_id: &str, what: &str) -> String {
        match &self.draft.reason {
            Some(given) => format!("request {request_id}: {what} (requester's reason: {given})"),
            None => format!("request {request_id}: {what}"),
        }
    }

    fn record_unasked(&self, trail: &mut Trail, hint: &str) -> Result<u64, Error> {
        let reason = format!("{}; {hint}", refusal_reason(self.verdict, self.draft));
        trail.decision(self.draft, "needs-approval", Some(reason))
    }

    /// No request was made: record why, say why, exit 103.
    fn refuse_unasked(&self, trail: &mut Trail, hint: String) -> Result<u8, Error> {
        self.record_unasked(trail, &hint)?;
        let error = Error::NeedsApproval {
            reason: self.verdict.reason.clone(),
            hint,
        };
        refuse(self.args.json, self.verdict, error)
    }

    fn approved_json(&self, request_id: &str, entry: &Entry) -> serde_json::Value {
        serde_json::json!({
            "decision": "approve",
            "status": "approved",
            "ran": true,
            "request_id": request_id,
            "approvers": entry.approvers,
            "break_glass": entry.break_glass,
            "reason": self.verdict.reason,
            "rules": self.verdict.rules,
        })
    }
}

fn rule_names(requirement: &ApprovalRequirement) -> String {
    match requirement.rules.as_slice() {
        [] => "the policy".to_string(),
        [one] => format!("rule \"{one}\""),
        many => format!("rules \"{}\"", many.join("\", \"")),
    }
}

/// Who denied (with their channel), and the first reason given.
fn denied_by(view: &RequestView) -> (Vec<ApproverRecord>, Option<String>) {
    let denials: Vec<_> = view
        .votes
        .iter()
        .filter(|v| v.verdict == Choice::Deny)
        .collect();
    let by = denials
        .iter()
        .map(|v| ApproverRecord {
            name: v.person.clone(),
            channel: v.channel.clone(),
        })
        .collect();
    let reason = denials.iter().find_map(|v| v.reason.clone());
    (by, reason)
}
