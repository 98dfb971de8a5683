use super::metrics::{ApproverVotes, Counts, DecisionTimes, Ranked};
use super::*;
use crate::approval::protocol::{Choice, RequestView, Status, Vote};
use crate::identity::{Agent, Requester};
use crate::server::rules::{Request, rfc3339};
use crate::server::store::Store;
use crate::server::store::postgres::testing;
use rusqlite::Connection;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// 2026-11-01T00:00:00Z plus `hours`.
fn at(hours: u64) -> SystemTime {
    humantime::parse_rfc3339("2026-11-01T00:00:00Z").unwrap() + Duration::from_secs(hours * 3600)
}

struct Made {
    id: &'static str,
    created: SystemTime,
    status: Status,
    agent: Option<&'static str>,
    rules: &'static [&'static str],
    /// (person, channel, verdict, seconds after creation)
    votes: &'static [(&'static str, &'static str, Choice, u64)],
    break_glass: bool,
}

fn request(made: &Made) -> Request {
    let votes = made
        .votes
        .iter()
        .map(|&(person, channel, verdict, after)| Vote {
            person: person.into(),
            channel: channel.into(),
            verdict,
            reason: None,
            at: rfc3339(made.created + Duration::from_secs(after)),
        })
        .collect();
    let expires = made.created + Duration::from_secs(900);
    Request {
        view: RequestView {
            id: made.id.into(),
            status: made.status,
            version: 1,
            requester: Requester {
                user: "dev".into(),
                host: "laptop-3".into(),
                ci: None,
                agent: made.agent.map(|name| Agent {
                    name: name.into(),
                    session: None,
                }),
            },
            argv: vec!["systemctl".into(), "restart".into(), "db".into()],
            cwd: "/".into(),
            action_digest: "ab".repeat(32),
            rules: made.rules.iter().map(|r| r.to_string()).collect(),
            rule_reason: "needs approval".into(),
            policy_version: String::new(),
            ci_identity: None,
            reason: made.break_glass.then(|| "primary <db> down".into()),
            approvers: vec!["alice".into(), "bob".into()],
            quorum: 1,
            break_glass: made.break_glass,
            created_at: rfc3339(made.created),
            expires_at: rfc3339(expires),
            votes,
            decision: None,
            claimed: false,
            url: String::new(),
        },
        token_hash: [0; 32],
        requester_people: Default::default(),
        expires,
    }
}

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";

/// The stores to test: a new SQLite file in `dir` always, a new PostgreSQL
/// database where PostgreSQL is installed.
async fn stores(dir: &std::path::Path) -> Vec<Store> {
    let mut stores = vec![Store::sqlite(&dir.join("broker.db")).unwrap()];
    if let Some(url) = testing::database() {
        stores.push(Store::Postgres(Box::new(testing::connect(&url).await)));
    }
    stores
}

/// The metrics of `[from, to)` on `store`, by its own SQL.
async fn compute(store: &Store, from: SystemTime, to: SystemTime) -> Metrics {
    match store {
        Store::Sqlite { path, .. } => {
            Metrics::compute(&Connection::open(path).unwrap(), from, to).unwrap()
        }
        Store::Postgres(pg) => Metrics::compute_pg(&pg.client().await.unwrap(), from, to)
            .await
            .unwrap(),
    }
}

/// Each store, holding requests over three days (and one after them), saved
/// through the store as the broker saves them.
async fn crafted(dir: &std::path::Path) -> Vec<Store> {
    use Choice::{Approve, Deny};
    let made = [
        Made {
            id: "r1",
            created: at(10),
            status: Status::Approved,
            agent: Some("claude-code"),
            rules: &["prod"],
            votes: &[("alice", "slack", Approve, 60)],
            break_glass: false,
        },
        Made {
            id: "r2",
            created: at(11),
            status: Status::Approved,
            agent: Some("claude-code"),
            rules: &["prod"],
            votes: &[("bob", "web", Approve, 30), ("alice", "cli", Approve, 120)],
            break_glass: false,
        },
        Made {
            id: "r3",
            created: at(12),
            status: Status::Denied,
            agent: Some(IMG),
            rules: &["prod", SCRIPT],
            votes: &[("bob", "slack", Deny, 300)],
            break_glass: false,
        },
        Made {
            id: "r4",
            created: at(24 + 9),
            status: Status::Denied,
            agent: None,
            rules: &["prod"],
            votes: &[("alice", "web", Deny, 600)],
            break_glass: false,
        },
        Made {
            id: "r5",
            created: at(24 + 10),
            status: Status::TimedOut,
            agent: Some("codex"),
            rules: &["prod"],
            votes: &[],
            break_glass: false,
        },
        Made {
            id: "r6",
            created: at(24 + 11),
            status: Status::Cancelled,
            agent: None,
            rules: &["prod"],
            votes: &[],
            break_glass: false,
        },
        Made {
            id: "r7",
            created: at(48 + 8),
            status: Status::Pending,
            agent: None,
            rules: &["prod"],
            votes: &[],
            break_glass: false,
        },
        Made {
            id: "r8",
            created: at(48 + 9),
            status: Status::Approved,
            agent: None,
            rules: &["restarts"],
            votes: &[("carol", "break-glass", Approve, 0)],
            break_glass: true,
        },
        // After the period.
        Made {
            id: "r9",
            created: at(72),
            status: Status::Denied,
            agent: Some("codex"),
            rules: &["prod"],
            votes: &[("alice", "slack", Deny, 5)],
            break_glass: false,
        },
    ];
    let stores = stores(dir).await;
    for store in &stores {
        for m in &made {
            store.save(&Arc::new(request(m)), None).await.unwrap();
        }
    }
    stores
}

fn ranked(pairs: &[(&str, u64)]) -> Vec<Ranked> {
    pairs
        .iter()
        .map(|&(name, count)| Ranked {
            name: name.into(),
            count,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_each_day_decision_rule_agent_and_approver_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for store in crafted(dir.path()).await {
        let m = compute(&store, at(0), at(72)).await;
        counted_exactly(&m);
    }
}

fn counted_exactly(m: &Metrics) {
    let dates: Vec<&str> = m.days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(dates, ["2026-11-01", "2026-11-02", "2026-11-03"]);
    let counts = |approved, denied, timed_out, cancelled, pending| Counts {
        approved,
        denied,
        timed_out,
        cancelled,
        pending,
    };
    assert_eq!(m.days[0].counts, counts(2, 1, 0, 0, 0));
    assert_eq!(m.days[1].counts, counts(0, 1, 1, 1, 0));
    assert_eq!(m.days[2].counts, counts(1, 0, 0, 0, 1));
    assert_eq!(m.totals, counts(3, 2, 1, 1, 1));
    // Decisions after 60 s, 120 s (the vote that made it), 300 s and 600 s;
    // the break-glass self-approval is not one.
    assert_eq!(
        m.time_to_decision,
        Some(DecisionTimes {
            p50: Duration::from_secs(120),
            p90: Duration::from_secs(600),
            decided: 4,
        })
    );
    assert_eq!(m.denials_by_rule, ranked(&[("prod", 2), (SCRIPT, 1)]));
    assert_eq!(
        m.busiest_agents,
        ranked(&[("none", 4), ("claude-code", 2), (IMG, 1), ("codex", 1)])
    );
    let votes = |person: &str, approved, denied| ApproverVotes {
        person: person.into(),
        approved,
        denied,
    };
    assert_eq!(
        m.busiest_approvers,
        [votes("alice", 2, 1), votes("bob", 1, 1)]
    );
    assert_eq!(m.break_glass.len(), 1);
    let used = &m.break_glass[0];
    assert_eq!(
        (
            used.request_id.as_str(),
            used.user.as_str(),
            used.host.as_str()
        ),
        ("r8", "dev", "laptop-3")
    );
    assert_eq!(used.reason, "primary <db> down");
    assert_eq!(used.at, rfc3339(at(57)));
    assert_eq!(used.argv, ["systemctl", "restart", "db"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_period_has_its_days_and_no_numbers() {
    let dir = tempfile::tempdir().unwrap();
    for store in crafted(dir.path()).await {
        // Starts at noon: four dates are touched.
        let m = compute(&store, at(24 * 10 + 12), at(24 * 13 + 12)).await;
        empty(&m);
    }
    // Fresh stores, and a period that ends before it starts.
    let fresh = tempfile::tempdir().unwrap();
    for store in stores(fresh.path()).await {
        let m = compute(&store, at(5), at(1)).await;
        assert!(m.days.is_empty() && m.totals.total() == 0);
        assert!(metrics_html(&m).contains("No requests in this period"));
    }
}

fn empty(m: &Metrics) {
    assert_eq!(m.days.len(), 4);
    assert!(m.days.iter().all(|d| d.counts == Counts::default()));
    assert_eq!(m.totals.total(), 0);
    assert_eq!(m.time_to_decision, None);
    assert!(m.denials_by_rule.is_empty() && m.busiest_agents.is_empty());
    assert!(m.busiest_approvers.is_empty() && m.break_glass.is_empty());
    let html = metrics_html(m);
    assert!(html.contains("No requests in this period"), "{html}");
    assert!(html.contains("Nobody decided a request in this period"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fragment_escapes_every_label_and_refers_to_nothing_outside() {
    let dir = tempfile::tempdir().unwrap();
    let mut pages = Vec::new();
    for store in crafted(dir.path()).await {
        pages.push(metrics_html(&compute(&store, at(0), at(72)).await));
    }
    assert!(
        pages.windows(2).all(|w| w[0] == w[1]),
        "the same page on every store"
    );
    escaped(&pages[0]);
}

fn escaped(html: &str) {
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("primary &lt;db&gt; down"));
    // No links, images, fonts or styles from anywhere: the only URL is the SVG
    // namespace.
    let without_ns = html.replace(r#"xmlns="http://www.w3.org/2000/svg""#, "");
    for banned in [
        "href",
        "http",
        "url(",
        "<image",
        "@font",
        "<style",
        "<foreignObject",
    ] {
        assert!(!without_ns.contains(banned), "{banned} in {html}");
    }
    // Every chart says what it is to a screen reader.
    let charts = html.matches("<svg").count();
    assert_eq!(charts, 5);
    assert_eq!(html.matches(r#"role="img""#).count(), charts);
    assert_eq!(html.matches("aria-label=").count(), charts);
    assert!(html.contains("p50 2 m 0 s, p90 10 m 0 s over 4 decisions"));
}

#[test]
fn charts_have_fixed_sizes_and_text_for_every_number() {
    let svg = charts::horizontal_bars("t", &[("a\"b".into(), 3), ("é".repeat(40), 1)], "#000");
    assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width="480" height="56""#));
    assert!(svg.contains("a&quot;b"));
    assert!(svg.contains(&format!("{}…", "é".repeat(26))));
    assert!(svg.contains(">3</text>") && svg.contains(">1</text>"));
    assert_eq!(charts::human(Duration::from_millis(850)), "850 ms");
    assert_eq!(
        charts::human(Duration::from_secs(3 * 3600 + 300)),
        "3 h 5 m"
    );
    assert_eq!(
        charts::human(Duration::from_secs(2 * 86_400 + 4 * 3600)),
        "2 d 4 h"
    );
}
