//! What the requester sees on stderr while gate waits for a decision.
//!
//! Both modes print one plain line per event that stays on screen: the request was
//! created (its rule, id, approvers and link, whole however narrow the terminal:
//! it wraps rather than being cut) and each vote, so who approved is always shown
//! before the command starts. On a terminal a short status line below them is
//! redrawn in place (spinner, approvals so far, time left, request id), fitted to
//! the terminal's width by shortening the list of approvers first, never the id.
//! Otherwise (CI logs, agents) a heartbeat line every 30 seconds shows progress
//! without a wall of redraws. Never writes to
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
            // Above the live line, which is redrawn below them.
            self.clear();
            self.last_plain = Instant::now();
            eprintln!("{}", lines.join("\n"));
        }
        if self.live {
            self.redraw(view);
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

    /// Another broker (a replica of the one asked before) answered for the request.
    pub fn moved(&mut self, view: &RequestView, from: &str, to: &str) {
        self.clear();
        self.last_plain = Instant::now();
        eprintln!("gate: the broker at {from} did not answer; continuing with {to}");
        if self.live {
            self.redraw(view);
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
        // The spinner, a space, and a column spare so the cursor never wraps.
        let room = width.saturating_sub(3);
        let text = live_line(view, SystemTime::now(), self.lost.is_some(), room);
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

/// The live status line (without the spinner), at most `width` characters:
/// `waiting for alice, bob: 1/2 approvals · 14m 32s left · ID`. What gives way
/// when it is too wide: the approvers' names, then the words around them; the
/// id goes last, so approvers always see which request this is.
pub fn live_line(view: &RequestView, now: SystemTime, lost: bool, width: usize) -> String {
    let lost = if lost {
        "broker unreachable, retrying · "
    } else {
        ""
    };
    let tail = format!(
        "{}/{} approvals · {} left · {}",
        approvals(view),
        view.quorum,
        time_left(&view.expires_at, now),
        view.id
    );
    let full = format!("{lost}waiting for {}: {tail}", who(view));
    if full.chars().count() <= width {
        return full;
    }
    // Shorten the names: "waiting for alice, b…: 1/2 approvals · …".
    let fixed = format!("{lost}waiting for : {tail}").chars().count();
    const FEWEST_NAME_CHARS: usize = 8;
    if width >= fixed + FEWEST_NAME_CHARS {
        let names = truncate(&who(view), width - fixed);
        return format!("{lost}waiting for {names}: {tail}");
    }
    let short = format!("{lost}{tail}");
    if short.chars().count() <= width {
        return short;
    }
    // Narrower than the facts themselves: keep the end, which holds the id.
    let keep = width.saturating_sub(1);
    let skip = tail.chars().count().saturating_sub(keep);
    if width == 0 {
        return String::new();
    }
    format!("…{}", tail.chars().skip(skip).collect::<String>())
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
    fn the_live_line_says_who_how_many_how_long_and_which() {
        let v = view(vec![vote("alice", Choice::Approve, None)]);
        let now = at("2026-01-01T00:00:28Z");
        assert_eq!(
            live_line(&v, now, false, 200),
            "waiting for alice, bob: 1/2 approvals · 14m 32s left · r-7Hq2"
        );
        assert_eq!(
            live_line(&v, now, true, 200),
            "broker unreachable, retrying · waiting for alice, bob: 1/2 approvals · 14m 32s left · r-7Hq2"
        );
    }

    #[test]
    fn a_narrow_terminal_shortens_the_names_never_the_id() {
        let mut v = view(vec![]);
        v.id = "0123456789abcdef0123456789abcdef".into();
        v.approvers = ["alice-the-platform-lead", "bob", "carol", "dave", "erin"]
            .map(String::from)
            .to_vec();
        let now = at("2026-01-01T00:00:28Z");
        for width in [0, 1, 5, 30, 45, 60, 77, 80, 90, 95, 100, 120] {
            let line = live_line(&v, now, false, width);
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
        let line = live_line(&v, now, false, 90);
        assert!(line.starts_with("waiting for alice-the-pl…: "), "{line}");
        assert!(
            line.contains("…: 0/2 approvals · 14m 32s left · "),
            "{line}"
        );
        assert!(line.ends_with(&v.id), "{line}");
        // Too narrow for names (an 80-column terminal): the facts, the id whole.
        let line = live_line(&v, now, false, 77);
        assert_eq!(line, format!("0/2 approvals · 14m 32s left · {}", v.id));
        let line = live_line(&v, now, true, 95);
        assert!(line.ends_with(&v.id), "{line}");
        // Narrower than the facts: the end, which holds the id, survives.
        let line = live_line(&v, now, false, 40);
        assert!(line.starts_with('…') && line.ends_with(&v.id), "{line}");
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
