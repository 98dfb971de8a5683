//! The compliance dashboard (`/dashboard`) over HTTP against the real broker:
//! one sign-in for the approval pages and the dashboard; roles from
//! `[dashboard]` (an auditor sees everything and cannot vote, an approver sees
//! only what they made or may approve); an approved run's whole story from the
//! forwarded, verified audit records of a real enrolled installation; exports
//! a spreadsheet cannot run; and an evidence report that lists exactly the
//! approved actions of its period.
//!
//! Each scenario takes the broker's `[store]` (empty: SQLite), so
//! `dashboard_postgres` runs the same ones on a PostgreSQL broker.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::{
    POLICY_APPROVE_QUORUM_TIMEOUT_BREAK_GLASS, delete_payments_request,
};
use crate::support::waiting::Waiting;
use crate::support::web_support::{Page, csrf, send, sign_in_at};
use std::time::{Duration, Instant, SystemTime};

/// alice approves everything; bob is a person who approves nothing; audra
/// audits (through a group); erin administers.
pub const BROKER_CONFIG_DASHBOARD: &str = r#"version = 1
[people.alice]
[people.bob]
[people.audra]
[people.erin]
[groups]
audit = ["audra"]
[defaults]
approvers = ["alice"]
quorum = 1
timeout = "15m"
[dashboard]
auditors = ["group:audit"]
admins = ["erin"]
"#;

/// Signed in on the dashboard as `person`; the session cookie.
pub fn dashboard_session(broker: &Broker, person: &str) -> String {
    sign_in_at(broker, "/dashboard/signin", &broker.token(person))
}

pub fn get(broker: &Broker, path: &str, cookie: &str) -> Page {
    send(broker, "GET", path, Some(cookie), None, None)
}

/// Today's date (UTC) and yesterday's, as the filters take them.
fn today_and_yesterday() -> (String, String) {
    let day = |t: SystemTime| humantime::format_rfc3339(t).to_string()[..10].to_string();
    let now = SystemTime::now();
    (day(now), day(now - Duration::from_secs(86_400)))
}

/// An enrolled machine whose policy asks the broker before `touch`; it forwards
/// its audit records after each run.
pub fn enrolled_machine(broker: &Broker, name: &str) -> TestContext {
    let ctx = TestContext::with_policy(POLICY_APPROVE_QUORUM_TIMEOUT_BREAK_GLASS);
    let code_ = broker.enrollment_code(name, "1h");
    let out = ctx
        .gate()
        .args(["enroll", "--server", &broker.url(), &code_])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    ctx
}

/// Run `touch` on `machine`, approved by alice through the API; the request id,
/// once the broker holds the run's outcome record.
pub fn approved_run(broker: &Broker, machine: &TestContext, name: &str) -> String {
    let marker = machine.work().join("touched");
    let mut command = machine.gate();
    command
        .env("GATE_SERVER", broker.url())
        .env("GATE_SERVER_KEY", broker.pin_key(machine))
        .args(["--reason", "ticket 42", "--", "touch"])
        .arg(&marker);
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();
    let reply = broker.decide(&id, &broker.token("alice"), "approve");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let start = Instant::now();
    while !broker.log_has(&format!("installation {name} forwards its audit log")) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{}",
            broker.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The outcome follows the decision record; wait until both are in.
    let audra = dashboard_session(broker, "audra");
    let start = Instant::now();
    loop {
        let page = get(broker, &format!("/dashboard/requests/{id}"), &audra);
        if page.body.contains("run ended: exit status 0") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{}", page.body);
        std::thread::sleep(Duration::from_millis(100));
    }
    id
}

#[test]
fn unauthenticated_pages_redirect_to_the_sign_in_form_and_one_sign_in_serves_both() {
    unauthenticated_pages_redirect_to_the_sign_in_form_and_one_sign_in_serves_both_on("");
}

/// The scenario on a broker whose config ends with `store` (its `[store]`).
pub(crate) fn unauthenticated_pages_redirect_to_the_sign_in_form_and_one_sign_in_serves_both_on(
    store: &str,
) {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &format!("{BROKER_CONFIG_DASHBOARD}{store}"));
    for path in [
        "/dashboard",
        "/dashboard/history?host=x",
        "/dashboard/requests/abc",
        "/dashboard/installations",
        "/dashboard/export.csv",
        "/dashboard/export.jsonl",
        "/dashboard/evidence?from=2026-01-01&to=2026-01-02",
    ] {
        let page = send(&broker, "GET", path, None, None, None);
        assert_eq!(page.status, 303, "{path}");
        assert!(
            page.header("location").ends_with("/dashboard/signin"),
            "{path}"
        );
    }
    let form = send(&broker, "GET", "/dashboard/signin", None, None, None);
    assert!(
        form.body.contains("action=\"/dashboard/signin\""),
        "{}",
        form.body
    );
    let foreign = send(
        &broker,
        "POST",
        "/dashboard/signin",
        None,
        Some(&[("token", &broker.token("alice"))]),
        Some("http://evil.example"),
    );
    assert_eq!(foreign.status, 403);
    let bad = send(
        &broker,
        "POST",
        "/dashboard/signin",
        None,
        Some(&[("token", "nope")]),
        None,
    );
    assert_eq!(bad.status, 401);

    // Signed in on the dashboard, the approval pages know you too.
    let cookie = dashboard_session(&broker, "alice");
    let home = get(&broker, "/dashboard", &cookie);
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("Signed in as <b>alice</b> (approver)"),
        "{}",
        home.body
    );
    assert!(
        home.header("content-security-policy")
            .contains("default-src 'none'")
    );
    assert!(!home.body.contains("<script"), "no script on the dashboard");
    let landing = get(&broker, "/", &cookie);
    assert!(
        landing.body.contains("Signed in as <b>alice</b>"),
        "{}",
        landing.body
    );
}

#[test]
fn an_auditor_sees_everything_and_cannot_vote_an_approver_sees_only_their_own() {
    an_auditor_sees_everything_and_cannot_vote_an_approver_sees_only_their_own_on("");
}

/// The scenario on a broker whose config ends with `store` (its `[store]`).
pub(crate) fn an_auditor_sees_everything_and_cannot_vote_an_approver_sees_only_their_own_on(
    store: &str,
) {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &format!("{BROKER_CONFIG_DASHBOARD}{store}"));
    let (id, requester, _) = broker.create(&delete_payments_request("dave"));

    let audra = dashboard_session(&broker, "audra");
    let story = get(&broker, &format!("/dashboard/requests/{id}"), &audra);
    assert_eq!(story.status, 200);
    assert!(story.body.contains("(auditor)"), "{}", story.body);
    assert!(story.body.contains("Read-only"), "{}", story.body);
    assert!(
        !story.body.contains("Decide on the approval page"),
        "{}",
        story.body
    );
    let pending = get(&broker, "/dashboard", &audra);
    assert!(pending.body.contains(&id), "{}", pending.body);
    // The vote route refuses the auditor, whatever the page offers.
    let page = get(&broker, &format!("/r/{id}"), &audra);
    let token = csrf(&page);
    let vote = send(
        &broker,
        "POST",
        &format!("/r/{id}/decision"),
        Some(&audra),
        Some(&[("csrf", &token), ("verdict", "approve"), ("reason", "")]),
        Some(&broker.url()),
    );
    assert_eq!(vote.status, 403, "{}", vote.body);
    assert!(vote.body.contains("not an approver"), "{}", vote.body);

    // bob approves nothing and asked for nothing: he sees none of it.
    let bob = dashboard_session(&broker, "bob");
    let story = get(&broker, &format!("/dashboard/requests/{id}"), &bob);
    assert_eq!(story.status, 404);
    for path in ["/dashboard", "/dashboard/history", "/dashboard/export.csv"] {
        let page = get(&broker, path, &bob);
        assert!(!page.body.contains(&id), "{path}: {}", page.body);
    }
    let evidence = get(
        &broker,
        "/dashboard/evidence?from=2026-01-01&to=2026-01-02",
        &bob,
    );
    assert_eq!(evidence.status, 403);

    // alice, the approver, sees it and is offered the vote; a post without
    // the session's CSRF token decides nothing.
    let alice = dashboard_session(&broker, "alice");
    let story = get(&broker, &format!("/dashboard/requests/{id}"), &alice);
    assert!(
        story.body.contains("Decide on the approval page"),
        "{}",
        story.body
    );
    let forged = send(
        &broker,
        "POST",
        &format!("/r/{id}/decision"),
        Some(&alice),
        Some(&[("csrf", "forged"), ("verdict", "approve")]),
        Some(&broker.url()),
    );
    assert_eq!(forged.status, 403);
    let view = broker
        .get(&format!("/v1/requests/{id}"), Some(&requester))
        .body;
    assert_eq!(view["status"], "pending", "{view}");
}

#[test]
fn history_filters_search_and_exports_that_a_spreadsheet_cannot_run() {
    history_filters_search_and_exports_that_a_spreadsheet_cannot_run_on("");
}

/// The scenario on a broker whose config ends with `store` (its `[store]`).
pub(crate) fn history_filters_search_and_exports_that_a_spreadsheet_cannot_run_on(store: &str) {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &format!("{BROKER_CONFIG_DASHBOARD}{store}"));
    let mut formula = delete_payments_request("mallory");
    formula["argv"] = serde_json::json!(["=cmd|' /C calc'!A0", "--prod-db"]);
    formula["reason"] = "<img src=x onerror=alert(1)>".into();
    formula["requester"]["host"] = "ci-9".into();
    let (evil, _, _) = broker.create(&formula);
    let (plain, _, _) = broker.create(&delete_payments_request("dave"));
    let audra = dashboard_session(&broker, "audra");

    let story = get(&broker, &format!("/dashboard/requests/{evil}"), &audra);
    assert!(
        story.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{}",
        story.body
    );
    assert!(!story.body.contains("<img"), "request data is escaped");
    let by_host = get(&broker, "/dashboard/history?host=ci-9", &audra);
    assert!(
        by_host.body.contains(&evil) && !by_host.body.contains(&plain),
        "{}",
        by_host.body
    );
    let searched = get(&broker, "/dashboard/history?q=ROD-D", &audra);
    assert!(
        searched.body.contains(&evil) && !searched.body.contains(&plain),
        "{}",
        searched.body
    );
    let by_user = get(
        &broker,
        "/dashboard/history?requester=dave&decision=pending",
        &audra,
    );
    assert!(by_user.body.contains(&plain) && !by_user.body.contains(&evil));
    let none = get(&broker, "/dashboard/history?decision=approved", &audra);
    assert!(none.body.contains("No request matches"), "{}", none.body);
    let short = get(&broker, "/dashboard/history?q=ab", &audra);
    assert_eq!(short.status, 400);
    let bad = get(&broker, "/dashboard/history?from=yesterday", &audra);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("is not a date"), "{}", bad.body);

    let csv = get(&broker, "/dashboard/export.csv?host=ci-9", &audra);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.header("content-disposition").contains("attachment"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(lines[0].starts_with("id,created_at,status"));
    assert!(
        lines[1].contains(",'=cmd|' /C calc'!A0 --prod-db,"),
        "{}",
        lines[1]
    );
    assert!(!lines[1].contains(",=cmd"), "{}", lines[1]);
    let jsonl = get(&broker, "/dashboard/export.jsonl", &audra);
    let rows: Vec<serde_json::Value> = jsonl
        .body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], plain.as_str(), "newest first");
    assert_eq!(rows[1]["argv"][0], "=cmd|' /C calc'!A0");
}

#[test]
fn an_approved_run_tells_its_whole_story_and_the_evidence_lists_exactly_the_approved() {
    an_approved_run_tells_its_whole_story_and_the_evidence_lists_exactly_the_approved_on("");
}

/// The scenario on a broker whose config ends with `store` (its `[store]`).
pub(crate) fn an_approved_run_tells_its_whole_story_and_the_evidence_lists_exactly_the_approved_on(
    store: &str,
) {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &format!("{BROKER_CONFIG_DASHBOARD}{store}"));
    let machine = enrolled_machine(&broker, "build-7");
    let approved = approved_run(&broker, &machine, "build-7");
    let (denied, _, _) = broker.create(&delete_payments_request("dave"));
    let reply = broker.post(
        &format!("/v1/requests/{denied}/decision"),
        Some(&broker.token("alice")),
        &serde_json::json!({"verdict": "deny", "reason": "not today", "channel": "cli"}),
    );
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut quick = delete_payments_request("dave");
    quick["timeout_seconds"] = 1.into();
    let (timed_out, _, _) = broker.create(&quick);
    let (pending, _, _) = broker.create(&delete_payments_request("dave"));

    let erin = dashboard_session(&broker, "erin");
    let story = get(&broker, &format!("/dashboard/requests/{approved}"), &erin);
    for expected in [
        "(admin)",
        "<b>alice</b> approved via <b>cli</b>",
        "ticket 42",
        "signed by the broker",
        "decision record: approved",
        "run ended: exit status 0, ran",
        "verified: signature + chain, forwarded by installation build-7 at seq",
        "chain ok up to seq",
    ] {
        assert!(story.body.contains(expected), "{expected}: {}", story.body);
    }
    let denied_story = get(&broker, &format!("/dashboard/requests/{denied}"), &erin);
    assert!(
        denied_story.body.contains("Nothing ran"),
        "{}",
        denied_story.body
    );

    let installations = get(&broker, "/dashboard/installations", &erin);
    assert!(
        installations.body.contains("build-7"),
        "{}",
        installations.body
    );
    assert!(installations.body.contains("<span class=\"ok\">ok</span>"));

    // Wait for the quick request to time out, then ask for today's evidence.
    let start = Instant::now();
    while !get(&broker, "/dashboard/history?decision=timed_out", &erin)
        .body
        .contains(&timed_out)
    {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
    }
    let (today, yesterday) = today_and_yesterday();
    let report = get(
        &broker,
        &format!("/dashboard/evidence?from={today}&to={today}"),
        &erin,
    );
    assert_eq!(report.status, 200);
    let listed: Vec<&str> = report
        .body
        .match_indices("<a href=\"/dashboard/requests/")
        .map(|(at, m)| report.body[at + m.len()..].split('"').next().unwrap())
        .collect();
    assert_eq!(listed, [approved.as_str()], "{}", report.body);
    for id in [&denied, &timed_out, &pending] {
        assert!(
            !report.body.contains(id.as_str()),
            "{id} is not an approved action"
        );
    }
    assert!(report.body.contains("1 action(s)"), "{}", report.body);
    assert!(report.body.contains("alice (cli, "), "{}", report.body);
    assert!(report.body.contains("exit status 0"), "{}", report.body);
    assert!(report.body.contains("Chain heads these records rest on"));
    assert!(report.body.contains("build-7"));
    let earlier = get(
        &broker,
        &format!("/dashboard/evidence?from={yesterday}&to={yesterday}"),
        &erin,
    );
    assert!(earlier.body.contains("0 action(s)"), "{}", earlier.body);
    assert!(!earlier.body.contains(&approved));
}

#[test]
fn the_installations_page_shows_a_broken_chain_and_the_refused_record() {
    the_installations_page_shows_a_broken_chain_and_the_refused_record_on("");
}

/// The scenario on a broker whose config ends with `store` (its `[store]`).
pub(crate) fn the_installations_page_shows_a_broken_chain_and_the_refused_record_on(store: &str) {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &format!("{BROKER_CONFIG_DASHBOARD}{store}"));
    let machine = enrolled_machine(&broker, "redone");
    machine.write_policy(
        "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n[audit]\nforward = \"off\"\n",
    );
    let push = || machine.gate().args(["audit", "push"]).output().unwrap();
    assert_eq!(code(&machine.run(&["--", "true"])), 0);
    assert_eq!(code(&push()), 0);
    // The machine starts its log over: its new record 1 is not the one the broker holds.
    for file in ["audit.db", "audit.db-wal", "audit.db-shm"] {
        let _ = std::fs::remove_file(machine.home().join(file));
    }
    assert_eq!(code(&machine.run(&["--", "true"])), 0);
    assert_eq!(code(&push()), 107);

    let erin = dashboard_session(&broker, "erin");
    let page = get(&broker, "/dashboard/installations", &erin);
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<td>redone</td><td><span class=\"broken\">broken</span>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Refused records"), "{}", page.body);
    assert!(
        page.body
            .contains("differs from the record 1 the broker holds"),
        "{}",
        page.body
    );
}

#[test]
fn the_metrics_page_charts_the_period_for_auditors_only() {
    the_metrics_page_charts_the_period_for_auditors_only_on("");
}

/// The scenario on a broker whose config ends with `store` (its `[store]`).
pub(crate) fn the_metrics_page_charts_the_period_for_auditors_only_on(store: &str) {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &format!("{BROKER_CONFIG_DASHBOARD}{store}"));
    let alice = broker.token("alice");
    let mut denied = delete_payments_request("dave");
    denied["rules"] = serde_json::json!(["<script>alert(1)</script> prod"]);
    let (to_deny, _, _) = broker.create(&denied);
    let (to_approve, _, _) = broker.create(&delete_payments_request("dave"));
    let (_pending, _, _) = broker.create(&delete_payments_request("dave"));
    assert_eq!(broker.decide(&to_deny, &alice, "deny").status, 200);
    assert_eq!(broker.decide(&to_approve, &alice, "approve").status, 200);

    let erin = dashboard_session(&broker, "erin");
    let page = get(&broker, "/dashboard/metrics", &erin);
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    // Charts drawn on the server, nothing a CSP would block, labels escaped.
    assert!(
        body.contains("<svg") && body.contains("role=\"img\""),
        "{body}"
    );
    assert!(!body.contains("<script>"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt; prod"),
        "{body}"
    );
    assert!(
        !body.contains("src=\"http") && !body.contains("href=\"http"),
        "{body}"
    );
    // The counts: one approved, one denied, one pending; alice voted twice.
    let (today, _) = today_and_yesterday();
    let day = get(
        &broker,
        &format!("/dashboard/metrics?from={today}&to={today}"),
        &erin,
    );
    assert_eq!(day.status, 200);
    assert!(day.body.contains("alice"), "{}", day.body);
    let csp = day
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    // An empty period is fine; a backwards or unreadable one is a 400.
    let empty = get(
        &broker,
        "/dashboard/metrics?from=2020-01-01&to=2020-01-02",
        &erin,
    );
    assert_eq!(empty.status, 200);
    for bad in ["from=2026-02-01&to=2026-01-01", "from=yesterday"] {
        let page = get(&broker, &format!("/dashboard/metrics?{bad}"), &erin);
        assert_eq!(page.status, 400, "{bad}: {}", page.body);
    }
    // An approver does not see everyone's numbers.
    let alice_session = dashboard_session(&broker, "alice");
    let page = get(&broker, "/dashboard/metrics", &alice_session);
    assert_eq!(page.status, 403);
}
