//! What the requester sees on stderr while gate waits for a decision.
//!
//! On a terminal: one status line redrawn in place (spinner, what it waits for,
//! who can approve, time left, request id, link). Otherwise (CI logs, agents): one
//! plain line per change — created, each vote, broker lost — and a heartbeat every
//! 30 seconds, so a log shows progress without a wall of redraws. Never writes to
//! stdout, which belongs to the command. The line texts are pure functions of the
//! request view so they can be tested.

use super::protocol::{RequestView, Vote};
use super::summary::{approvals, time_left, truncate};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant, SystemTime};

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// How often the plain display says it is still waiting.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// How often the live line is redrawn.
pub const REDRAW: Duration = Duration::from_millis(120);

/// The waiting display on stderr.
#[derive(Debug)]
pub struct StatusDisplay {
    live: bool,
    color: bool,
    frame: usize,
    votes_shown: usize,
    created_shown: bool,
    last_plain: Instant,
    line_drawn: bool,
    lost_said: bool,
    /// Why the broker is not answering, while it is not.
    lost: Option<String>,
}

impl StatusDisplay {
    /// Live when stderr is a terminal; colour unless `NO_COLOR` is set.
    pub fn for_stderr() -> StatusDisplay {
        let live = std::io::stderr().is_terminal();
        let color = live && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        StatusDisplay::new(live, color)
    }

    pub fn new(live: bool, color: bool) -> StatusDisplay {
        StatusDisplay {
            live,
            color,
            frame: 0,
            votes_shown: 0,
            created_shown: false,
            last_plain: Instant::now(),
            line_drawn: false,
            lost_said: false,
            lost: None,
        }
    }

    /// How often [`StatusDisplay::tick`] wants to be called.
    pub fn tick_every(&self) -> Duration {
        if self.live {
            REDRAW
        } else {
            Duration::from_secs(1)
        }
    }

    /// A new view of the request arrived.
    pub fn update(&mut self, view: &RequestView) {
        if self.live {
            self.redraw(view);
            return;
        }
        let mut lines = Vec::new();
        if !self.created_shown {
            self.created_shown = true;
            lines.push(created_line(view));
        }
        for vote in view.votes.iter().skip(self.votes_shown) {
            lines.push(vote_line(vote, view));
        }
        self.votes_shown = view.votes.len();
        if !lines.is_empty() {
            self.last_plain = Instant::now();
            eprintln!("{}", lines.join("\n"));
        }
    }

    /// Time passed: advance the spinner, or print a heartbeat when one is due.
    pub fn tick(&mut self, view: &RequestView) {
        if self.live {
            self.frame = self.frame.wrapping_add(1);
            self.redraw(view);
        } else if self.last_plain.elapsed() >= HEARTBEAT {
            self.last_plain = Instant::now();
            eprintln!("{}", heartbeat_line(view, SystemTime::now()));
        }
    }

    /// The broker stopped answering; gate keeps retrying.
    pub fn lost(&mut self, view: &RequestView, detail: &str) {
        self.lost = Some(detail.to_string());
        if self.live {
            self.redraw(view);
        } else if !std::mem::replace(&mut self.lost_said, true) {
            // Said once per outage; `reconnected` resets it.
            eprintln!("gate: lost the broker ({detail}); retrying until the request expires");
            self.last_plain = Instant::now();
        }
    }

    /// The broker answers again after being lost.
    pub fn reconnected(&mut self) {
        self.lost = None;
        if std::mem::take(&mut self.lost_said) && !self.live {
            eprintln!("gate: reached the broker again");
        }
    }

    /// Remove the live line so the next output starts on a clean line.
    pub fn clear(&mut self) {
        if self.live && self.line_drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.line_drawn = false;
        }
    }

    fn redraw(&mut self, view: &RequestView) {
        // A terminal that reports no width (0) gets the whole line.
        let width = crossterm::terminal::size()
            .ok()
            .map(|(w, _)| usize::from(w))
            .filter(|&w| w > 0)
            .unwrap_or(usize::MAX);
        let spinner = SPINNER[self.frame % SPINNER.len()];
        let mut text = live_line(view, SystemTime::now());
        if self.lost.is_some() {
            text = format!("broker unreachable, retrying · {text}");
        }
        let text = truncate(&text, width.saturating_sub(3));
        let line = if self.color {
            format!("\x1b[36m{spinner}\x1b[0m {text}")
        } else {
            format!("{spinner} {text}")
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.line_drawn = true;
    }
}

fn who(view: &RequestView) -> String {
    if view.approvers.is_empty() {
        "the broker's default approvers".to_string()
    } else {
        view.approvers.join(", ")
    }
}

fn rules(view: &RequestView) -> String {
    match view.rules.as_slice() {
        [] => "the policy".to_string(),
        [one] => format!("rule \"{one}\""),
        many => format!("rules \"{}\"", many.join("\", \"")),
    }
}

/// The live status line (without the spinner).
pub fn live_line(view: &RequestView, now: SystemTime) -> String {
    format!(
        "waiting for approval ({}): {}/{} from {} · {} left · {} · {}",
        rules(view),
        approvals(view),
        view.quorum,
        who(view),
        time_left(&view.expires_at, now),
        view.id,
        view.url
    )
}

pub fn created_line(view: &RequestView) -> String {
    format!(
        "gate: approval requested ({}): request {}, needs {} of {}; approve at {}",
        rules(view),
        view.id,
        view.quorum,
        who(view),
        view.url
    )
}

pub fn vote_line(vote: &Vote, view: &RequestView) -> String {
    let verdict = vote.verdict.past_tense();
    let reason = vote
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!(
        "gate: {} {verdict} via {}{reason} ({}/{} approvals)",
        vote.person,
        vote.channel,
        approvals(view),
        view.quorum
    )
}

pub fn heartbeat_line(view: &RequestView, now: SystemTime) -> String {
    format!(
        "gate: still waiting for approval of {} ({}/{} from {}, {} left) {}",
        view.id,
        approvals(view),
        view.quorum,
        who(view),
        time_left(&view.expires_at, now),
        view.url
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::protocol::{Choice, Status};
    use crate::identity::Requester;

    fn view(votes: Vec<Vote>) -> RequestView {
        RequestView {
            id: "r-7Hq2".into(),
            status: Status::Pending,
            version: 3,
            requester: Requester {
                user: "carol".into(),
                host: "ci-1".into(),
                ci: None,
                agent: None,
            },
            argv: vec!["kubectl".into(), "delete".into(), "ns".into(), "a".into()],
            cwd: "/w".into(),
            action_digest: "ab".repeat(32),
            rules: vec!["production changes".into()],
            rule_reason: "prod".into(),
            policy_version: String::new(),
            ci_identity: None,
            reason: None,
            approvers: vec!["alice".into(), "bob".into()],
            quorum: 2,
            break_glass: false,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            expires_at: "2026-01-01T00:15:00.000Z".into(),
            votes,
            decision: None,
            claimed: false,
            url: "http://broker:8787/r/r-7Hq2".into(),
        }
    }

    fn vote(person: &str, verdict: Choice, reason: Option<&str>) -> Vote {
        Vote {
            person: person.into(),
            channel: "slack".into(),
            verdict,
            reason: reason.map(str::to_string),
            at: "2026-01-01T00:01:00.000Z".into(),
        }
    }

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn the_live_line_says_what_who_how_long_and_where() {
        let v = view(vec![vote("alice", Choice::Approve, None)]);
        assert_eq!(
            live_line(&v, at("2026-01-01T00:00:28Z")),
            "waiting for approval (rule \"production changes\"): 1/2 from alice, bob · 14m 32s left · r-7Hq2 · http://broker:8787/r/r-7Hq2"
        );
    }

    #[test]
    fn plain_lines_name_the_request_the_link_and_each_vote() {
        let v = view(vec![
            vote("alice", Choice::Approve, None),
            vote("bob", Choice::Deny, Some("not during the freeze")),
        ]);
        assert_eq!(
            created_line(&v),
            "gate: approval requested (rule \"production changes\"): request r-7Hq2, needs 2 of alice, bob; approve at http://broker:8787/r/r-7Hq2"
        );
        assert_eq!(
            vote_line(&v.votes[1], &v),
            "gate: bob denied via slack: not during the freeze (1/2 approvals)"
        );
        assert_eq!(
            heartbeat_line(&v, at("2026-01-01T00:10:00Z")),
            "gate: still waiting for approval of r-7Hq2 (1/2 from alice, bob, 5m 00s left) http://broker:8787/r/r-7Hq2"
        );
    }

    #[test]
    fn no_listed_approvers_means_the_broker_default() {
        let mut v = view(vec![]);
        v.approvers.clear();
        v.rules = vec!["a".into(), "b".into()];
        assert!(
            created_line(&v).contains("(rules \"a\", \"b\")")
                && created_line(&v).contains("of the broker's default approvers"),
            "{}",
            created_line(&v)
        );
    }
}
