//! Short, human-readable descriptions of a request for approvers: its age, the time
//! left, the command as one line, who asked, how far the votes have got. Shared by
//! `gate pending` and `gate inbox` so both say the same thing the same way.
//!
//! Pure: every function takes "now" from its caller, so output is testable.

use super::client::ClientError;
use super::protocol::{Choice, RequestView, Status};
use crate::approval::protocol::ErrorCode;
use crate::identity::Requester;
use std::time::{Duration, SystemTime};

/// Parse an RFC 3339 time from the broker; `None` when it is not one.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

/// How long ago `created_at` was, coarse: `12s`, `4m`, `3h`, `2d`.
pub fn age(created_at: &str, now: SystemTime) -> String {
    match parse_time(created_at) {
        Some(at) => coarse(now.duration_since(at).unwrap_or_default()),
        None => "?".to_string(),
    }
}

/// Time until `expires_at`, to the second: `45s`, `14m 03s`, `2h 05m`; `expired`.
pub fn time_left(expires_at: &str, now: SystemTime) -> String {
    let Some(at) = parse_time(expires_at) else {
        return "?".to_string();
    };
    match at.duration_since(now) {
        Ok(left) if left.as_secs() > 0 => precise(left),
        _ => "expired".to_string(),
    }
}

fn coarse(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn precise(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The command as one shell-like line; arguments that need it are single-quoted.
pub fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| quote(arg))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg.chars().all(|c| {
            c.is_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | ',' | '@' | '+' | '%')
        });
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// `user@host`, and where detected the CI system or agent: `alice@ci-7 (github)`.
pub fn requester_short(requester: &Requester) -> String {
    let base = format!("{}@{}", requester.user, requester.host);
    match (&requester.ci, &requester.agent) {
        (Some(ci), _) => format!("{base} ({})", ci.system),
        (None, Some(agent)) => format!("{base} ({})", agent.name),
        (None, None) => base,
    }
}

/// Everything known about the requester, for a detail view.
pub fn requester_long(requester: &Requester) -> String {
    let mut text = format!("{}@{}", requester.user, requester.host);
    if let Some(ci) = &requester.ci {
        text.push_str(&format!("; CI {}", ci.system));
        let fields = [
            ("actor", &ci.actor),
            ("repo", &ci.repository),
            ("branch", &ci.branch),
            ("job", &ci.url),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                text.push_str(&format!(" {name} {value}"));
            }
        }
    }
    if let Some(agent) = &requester.agent {
        text.push_str(&format!("; agent {}", agent.name));
        if let Some(session) = &agent.session {
            text.push_str(&format!(" session {session}"));
        }
    }
    text
}

/// Whether the request's CI identity was verified, for every view of a request
/// from a CI job: `verified (ISSUER, subject SUB, workflow W)` or `claimed, not
/// verified`. `None` when no CI job was claimed or verified.
pub fn ci_identity(request: &RequestView) -> Option<String> {
    match (&request.ci_identity, &request.requester.ci) {
        (Some(verified), _) => {
            let mut text = format!(
                "verified ({}, subject {}",
                verified.issuer, verified.subject
            );
            if let Some(workflow) = &verified.workflow {
                text.push_str(&format!(", workflow {workflow}"));
            }
            text.push(')');
            Some(text)
        }
        (None, Some(_)) => Some("claimed, not verified (no ID token)".to_string()),
        (None, None) => None,
    }
}

/// Approvals cast so far.
pub fn approvals(request: &RequestView) -> usize {
    request
        .votes
        .iter()
        .filter(|vote| vote.verdict == Choice::Approve)
        .count()
}

/// `1/2`: approvals so far out of the quorum.
pub fn progress(request: &RequestView) -> String {
    format!("{}/{}", approvals(request), request.quorum)
}

/// The rules that asked, comma-separated.
pub fn rules(request: &RequestView) -> String {
    request.rules.join(", ")
}

/// `text` cut to at most `width` characters, ending in `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// Requests oldest first (newest last), by creation time then id.
pub fn sort_oldest_first(requests: &mut [RequestView]) {
    requests.sort_by(|a, b| {
        let at = |r: &RequestView| parse_time(&r.created_at).unwrap_or(SystemTime::UNIX_EPOCH);
        at(a).cmp(&at(b)).then_with(|| a.id.cmp(&b.id))
    });
}

/// One line saying what a decision did: `approved ID (1 of 2 approvals)`.
pub fn outcome(verdict: Choice, view: &RequestView) -> String {
    let id = &view.id;
    let (n, q) = (approvals(view), view.quorum);
    match (verdict, view.status) {
        (Choice::Approve, Status::Approved) => {
            format!("approved {id} ({n} of {q} approvals): the request is approved")
        }
        (Choice::Approve, Status::Pending) => format!(
            "approved {id} ({n} of {q} approvals): waiting for {} more",
            (q as usize).saturating_sub(n)
        ),
        (Choice::Deny, Status::Denied) => format!("denied {id}: the request is denied"),
        (verdict, status) => format!(
            "{} {id}: the request is now {}",
            verdict.past_tense(),
            status.as_str()
        ),
    }
}

/// One line saying why the broker refused a decision on request `id`, with the fix
/// where there is one.
pub fn refusal(err: &ClientError, id: &str) -> String {
    let Some(code) = err.code() else {
        return err.to_string();
    };
    match code {
        ErrorCode::NotAnApprover => format!("you are not an approver of request {id}"),
        ErrorCode::SelfApproval => {
            format!("request {id} is your own; another approver must decide it")
        }
        // The broker says how it ended and by whom: "the request is already
        // approved by bob".
        ErrorCode::AlreadyDecided => match err.message() {
            Some(how) => match how.strip_prefix("the request ") {
                Some(rest) => format!("request {id} {rest}"),
                None => format!("request {id}: {how}"),
            },
            None => format!("request {id} is already decided"),
        },
        ErrorCode::AlreadyVoted => format!("you have already voted on request {id}"),
        ErrorCode::NotFound => {
            format!("no request {id} on the broker (check the id with `gate pending`)")
        }
        ErrorCode::Unauthorized => {
            "the broker does not accept your token; ask its admin for a new one \
             (`gate serve token create NAME` on the broker host)"
                .to_string()
        }
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        parse_time(text).unwrap()
    }

    #[test]
    fn ages_and_time_left() {
        let now = at("2026-01-01T12:00:00Z");
        assert_eq!(age("2026-01-01T11:59:48Z", now), "12s");
        assert_eq!(age("2026-01-01T11:55:00.500Z", now), "4m");
        assert_eq!(age("2025-12-30T12:00:00Z", now), "2d");
        assert_eq!(age("not a time", now), "?");
        assert_eq!(time_left("2026-01-01T12:14:03Z", now), "14m 03s");
        assert_eq!(time_left("2026-01-01T14:05:00Z", now), "2h 05m");
        assert_eq!(time_left("2026-01-01T12:00:00Z", now), "expired");
    }

    #[test]
    fn command_lines_quote_what_needs_it() {
        let argv: Vec<String> = ["sh", "-c", "echo 'hi' there", "a=b"]
            .map(String::from)
            .to_vec();
        assert_eq!(command_line(&argv), r"sh -c 'echo '\''hi'\'' there' a=b");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("kubectl", 7), "kubectl");
        assert_eq!(truncate("kubectl", 5), "kube…");
        assert_eq!(truncate("kubectl", 0), "");
    }
}
