//! Steps 3 to 5 for one tool call: ask the broker where the verdict says so,
//! verify its signed decision against this call's digest and gate's own
//! verdict, and record every way out. Under `[audit] forward = "strict"` a call
//! is let through only once the broker took its decision record.

use super::ToolVerdict;
use crate::approval::{Answer, AskError, StatusDisplay, ask_until_cancelled};
use crate::audit::{AuditError, Decision, Entry};
use crate::error::{Error, exit};
use crate::guard::broker::{self, Asking};
use crate::guard::forward;
use crate::guard::trail::{self, Trail, refusal_reason};
use crate::guard::verify::check_approval;
use crate::guard::{Decided, LoadedPolicy};
use crate::paths::Home;
use crate::policy::{Action, Forward};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Decide, ask, verify and record one tool call. `cancel` is set when the
/// client cancels the call; it withdraws a pending request. Under `[audit]
/// forward = "strict"` a call is let through only once the broker took its
/// decision record.
pub fn judge(
    loaded: &LoadedPolicy,
    decided: &Decided,
    trail: &mut Trail,
    home: &Home,
    cancel: Arc<AtomicBool>,
) -> Result<ToolVerdict, AuditError> {
    let verdict = decide_and_ask(loaded, decided, trail, cancel)?;
    forward::push_in_background(loaded.policy.forward, home);
    let ToolVerdict::Forward { seq, entry } = verdict else {
        return Ok(verdict);
    };
    if loaded.policy.forward != Forward::Strict {
        return Ok(ToolVerdict::Forward { seq, entry });
    }
    match forward::push_now(home, trail.log(), &trail.public_key()) {
        Ok(_) => Ok(ToolVerdict::Forward { seq, entry }),
        Err(detail) => {
            trail.failed(&entry, seq, exit::NEEDS_APPROVAL)?;
            Ok(ToolVerdict::Refuse(Error::Refused {
                message: format!(
                    "this policy ([audit] forward = \"strict\") needs the call's decision record \
                     at the broker before the call is sent, and the broker did not take it: \
                     {detail}; nothing was sent"
                ),
                code: exit::NEEDS_APPROVAL,
            }))
        }
    }
}

fn decide_and_ask(
    loaded: &LoadedPolicy,
    decided: &Decided,
    trail: &mut Trail,
    cancel: Arc<AtomicBool>,
) -> Result<ToolVerdict, AuditError> {
    let draft = trail::draft(decided, None);
    match decided.verdict.decision {
        Action::Allow => {
            let seq = trail.decision(&draft, Decision::Allow, None)?;
            let entry = Box::new(draft);
            Ok(ToolVerdict::Forward { seq, entry })
        }
        Action::Deny => {
            let reason = refusal_reason(decided, &draft);
            trail.decision(&draft, Decision::Deny, Some(reason))?;
            Ok(ToolVerdict::Refuse(Error::Denied {
                reason: decided.verdict.reason.clone(),
            }))
        }
        Action::Approve => approve(loaded, decided, trail, &draft, cancel),
    }
}

fn approve(
    loaded: &LoadedPolicy,
    decided: &Decided,
    trail: &mut Trail,
    draft: &Entry,
    cancel: Arc<AtomicBool>,
) -> Result<ToolVerdict, AuditError> {
    let Some(requirement) = decided.verdict.approval.clone() else {
        return unasked(
            decided,
            trail,
            draft,
            "the verdict names no approval".into(),
        );
    };
    if requirement.require_reason {
        let hint = "a tool call cannot give a reason, so it cannot be approved; nothing was \
                    sent to the server (ask the policy's owner to drop require_reason for it)";
        return unasked(decided, trail, draft, hint.into());
    }
    let channel = match broker::channel(loaded) {
        Ok(channel) => channel,
        Err(err) => return unasked(decided, trail, draft, err.to_string()),
    };
    let asking = Asking {
        reason: None,
        timeout: requirement.timeout,
        offer_break_glass: false,
        break_glass: false,
    };
    let request = broker::new_request(decided, &requirement, asking);
    let mut display = StatusDisplay::new(false, false);
    let answer = match ask_until_cancelled(&channel, &request, &mut display, cancel) {
        Ok(answer) => answer,
        Err(AskError::Broker(err)) => {
            return unasked(decided, trail, draft, format!("{err}; nothing was sent"));
        }
        Err(AskError::Setup(err)) => {
            let hint = format!("cannot wait for the broker ({err}); nothing was sent");
            return unasked(decided, trail, draft, hint);
        }
    };
    settle(loaded, decided, trail, draft, answer)
}

/// Record the broker's final answer; forward only a verified approval that also
/// meets gate's own verdict.
fn settle(
    loaded: &LoadedPolicy,
    decided: &Decided,
    trail: &mut Trail,
    draft: &Entry,
    answer: Answer,
) -> Result<ToolVerdict, AuditError> {
    let answer = match answer {
        Answer::Approved {
            request_id,
            payload,
            signed,
        } => match check_approval(decided, &loaded.policy.people, &payload) {
            Ok(()) => Answer::Approved {
                request_id,
                payload,
                signed,
            },
            Err(reason) => Answer::Invalid { request_id, reason },
        },
        answer => answer,
    };
    let mut entry = draft.clone();
    let (error, decision) = match answer {
        Answer::Approved {
            payload, signed, ..
        } => {
            let entry = super::super::trail::approved(draft, &payload, &signed);
            let seq = trail.append(&entry, true)?;
            let entry = Box::new(entry);
            return Ok(ToolVerdict::Forward { seq, entry });
        }
        Answer::Denied(view) => {
            let (by, reason) = broker::denied_by(&view);
            let reason = reason.map(|r| decided.redactor.redact(&r));
            entry.approvers = by.clone();
            let said = reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            entry.reason = Some(format!("request {}: denied{said}", view.id));
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
            (Some(error), Decision::Rejected)
        }
        Answer::TimedOut { request_id } => {
            entry.reason = Some(format!("request {request_id}: no decision in time"));
            (
                Some(Error::ApprovalTimedOut { request_id }),
                Decision::TimedOut,
            )
        }
        Answer::Cancelled { request_id, signal } => {
            let why = signal.unwrap_or("the broker reports the request cancelled");
            entry.reason = Some(format!("request {request_id}: {why}"));
            let error = signal.is_none().then(|| Error::Cancelled {
                request_id: request_id.clone(),
                why: why.to_string(),
            });
            (error, Decision::Cancelled)
        }
        Answer::Invalid { request_id, reason } => {
            entry.reason = Some(format!("request {request_id}: {reason}"));
            let error = Error::ApprovalInvalid { request_id, reason };
            (Some(error), Decision::ApprovalInvalid)
        }
    };
    entry.decision = decision.into();
    trail.append(&entry, true)?;
    Ok(error.map_or(ToolVerdict::Cancelled, ToolVerdict::Refuse))
}

/// No request was made: record why (`needs-approval`) and refuse.
fn unasked(
    decided: &Decided,
    trail: &mut Trail,
    draft: &Entry,
    hint: String,
) -> Result<ToolVerdict, AuditError> {
    let reason = format!("{}; {hint}", refusal_reason(decided, draft));
    trail.decision(draft, Decision::NeedsApproval, Some(reason))?;
    Ok(ToolVerdict::Refuse(Error::NeedsApproval {
        reason: decided.verdict.reason.clone(),
        hint,
    }))
}
