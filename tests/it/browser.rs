//! The web pages in a real browser: headless Debian Chromium driven by
//! Playwright for Python (tests/python/browse_web.py) against the real broker.
//! The browser signs in on `/`, follows the link to a pending request, checks
//! that Approve and Deny look different, that the time left counts down (and a
//! short request's buttons go at expiry), that the CSP blocks nothing of ours,
//! is refused a deny without a reason and approves with one; the broker's API
//! then says who approved, through which channel. Screenshots are kept under
//! `CARGO_TARGET_TMPDIR/browser/<test>/`, one folder per test because the tests
//! run at the same time.
//!
//! Chromium and Playwright are required, not optional: without them the test
//! fails and says what to install (.ci/run installs both).

use crate::support::broker_support::Broker;
use crate::support::common::{TestContext, stderr, stdout};
use crate::support::fixtures::{BROKER_CONFIG_SRE_ALICE_BOB_CAROL, delete_payments_request};
use crate::support::web_support::view;
use std::path::{Path, PathBuf};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Fail, saying what to install, when the browser or its driver is missing.
pub fn require_browser(ctx: &TestContext) {
    assert!(
        Path::new(CHROMIUM).exists(),
        "the browser test needs Debian's Chromium at {CHROMIUM}: apt-get install chromium"
    );
    let playwright = ctx
        .command("python3")
        .args(["-c", "import playwright"])
        .output()
        .expect("python3 runs");
    assert!(
        playwright.status.success(),
        "the browser test needs Playwright for Python: python3 -m pip install playwright \
         (it drives {CHROMIUM}; `playwright install` is not needed): {}",
        stderr(&playwright)
    );
}

/// Run `tests/python/SCRIPT` with `args` and the screenshot folder `shots` last;
/// `env` adds to the context's environment. What the script saw (its one JSON
/// object on stdout), or a failure naming where its screenshots are.
pub fn browse(
    ctx: &TestContext,
    script: &str,
    args: &[&str],
    shots: &Path,
    env: &[(&str, &str)],
) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = ctx
        .command("python3")
        .arg(script)
        .args(args)
        .arg(shots)
        .envs(env.iter().copied())
        // The scripts import browse_web.py: no __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs the browser");
    assert!(
        out.status.success(),
        "the browser run failed (screenshots in {}): {}",
        shots.display(),
        stderr(&out)
    );
    serde_json::from_str(stdout(&out).trim()).expect("one JSON object")
}

/// A fresh `CARGO_TARGET_TMPDIR/browser/NAME/` for one test's screenshots.
/// Only that test's folder is emptied: the browser tests run side by side.
fn screenshots(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_browser_signs_in_on_the_landing_page_and_approves_through_the_web_channel() {
    let ctx = TestContext::new();
    require_browser(&ctx);
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, requester, _) = broker.create(&delete_payments_request("dave"));
    let mut short = delete_payments_request("dave");
    short["timeout_seconds"] = 12.into();
    let (short_id, _, _) = broker.create(&short);

    let shots = screenshots("web");
    let seen = browse(
        &ctx,
        "browse_web.py",
        &[&broker.url(), &id, &short_id],
        &shots,
        &[("GATE_WEB_TOKEN", &bob)],
    );

    assert!(
        seen["signed_in"]
            .as_str()
            .unwrap()
            .contains("Signed in as bob"),
        "{seen}"
    );
    let listed = seen["listed"].as_array().unwrap();
    assert!(
        listed.contains(&id.clone().into()) && listed.contains(&short_id.clone().into()),
        "{seen}"
    );
    assert_ne!(
        seen["approve"]["backgroundColor"],
        seen["deny"]["backgroundColor"]
    );
    assert_ne!(
        seen["approve"]["borderTopColor"],
        seen["deny"]["borderTopColor"]
    );
    assert_eq!(seen["focus_outline"], "solid 3px");
    assert_ne!(seen["time_left"][0], seen["time_left"][1], "{seen}");
    assert_eq!(seen["expired"]["approve_visible"], false);
    assert_eq!(seen["expired"]["deny_disabled"], true);
    assert_eq!(seen["violations"], serde_json::json!([]));
    assert!(
        !seen["control"].as_array().unwrap().is_empty(),
        "the CSP watch saw the blocked script"
    );
    assert!(
        seen["vote"]
            .as_str()
            .unwrap()
            .contains("checked in the browser"),
        "{seen}"
    );
    for shot in [
        "landing.png",
        "request.png",
        "deny-refused.png",
        "approved.png",
        "expired.png",
    ] {
        assert!(shots.join(shot).is_file(), "no screenshot {shot}");
    }

    let decided = view(&broker, &id, &requester);
    assert_eq!(decided["status"], "approved", "{decided}");
    let votes = decided["votes"].as_array().unwrap();
    assert_eq!(votes.len(), 1, "the refused deny left no vote: {decided}");
    assert_eq!(votes[0]["person"], "bob");
    assert_eq!(votes[0]["verdict"], "approve");
    assert_eq!(votes[0]["channel"], "web");
    assert_eq!(votes[0]["reason"], "checked in the browser");
    let expired = view(&broker, &short_id, &bob);
    assert_eq!(expired["status"], "timed_out", "{expired}");
}

/// The dashboard in the browser (tests/python/browse_dashboard.py): sent to
/// sign in, an approver filters the history, exports it, opens a request's
/// story and approves it on the approval page; an auditor makes the evidence
/// report. The screenshots are kept under `CARGO_TARGET_TMPDIR/browser/dashboard/`
/// and, with GATE_UPDATE_SCREENSHOTS=1, copied to docs/dashboard/, where the
/// dashboard guide shows them.
#[test]
fn a_browser_signs_in_filters_exports_opens_a_request_and_approves_from_the_dashboard() {
    let ctx = TestContext::new();
    require_browser(&ctx);
    let broker = Broker::start(&ctx, crate::dashboard::BROKER_CONFIG_DASHBOARD);
    let mut target = delete_payments_request("dave");
    target["requester"]["host"] = "ci-9".into();
    let (target, requester, _) = broker.create(&target);
    let (other, _, _) = broker.create(&delete_payments_request("dave"));
    let machine = crate::dashboard::enrolled_machine(&broker, "build-7");
    let run = crate::dashboard::approved_run(&broker, &machine, "build-7");
    let day = humantime::format_rfc3339(std::time::SystemTime::now()).to_string()[..10].to_string();

    let shots = screenshots("dashboard");
    let (alice, audra) = (broker.token("alice"), broker.token("audra"));
    let seen = browse(
        &ctx,
        "browse_dashboard.py",
        &[&broker.url(), &target, &other, &run, &day],
        &shots,
        &[("GATE_WEB_TOKEN", &alice), ("GATE_AUDITOR_TOKEN", &audra)],
    );
    let text = |key: &str| seen[key].as_str().unwrap_or_default().to_string();

    assert!(
        text("signed_in").contains("Signed in as alice (approver)"),
        "{seen}"
    );
    assert!(
        !text("signed_in").contains("Evidence"),
        "approvers make no evidence report"
    );
    let pending = seen["pending"].as_array().unwrap();
    assert!(pending.contains(&target.clone().into()) && pending.contains(&other.clone().into()));
    assert_eq!(seen["filtered"], serde_json::json!([target]));
    let csv = text("csv");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains(&target) && !csv.contains(&other), "{csv}");
    let jsonl: serde_json::Value = serde_json::from_str(text("jsonl").trim()).unwrap();
    assert_eq!(jsonl["id"], target.as_str());
    assert!(text("story_before").contains("Decide on the approval page"));
    let after = text("story_after");
    assert!(after.contains("alice approved via web"), "{after}");
    assert!(after.contains("change ticket 7 reviewed"), "{after}");
    assert!(text("auditor_nav").contains("audra (auditor)"), "{seen}");
    assert_eq!(seen["evidence"], serde_json::json!([target, run]), "{seen}");
    assert!(text("evidence_text").contains("2 action(s)"), "{seen}");
    // The metrics page draws its charts in the browser, under the same CSP.
    assert!(seen["metrics_charts"].as_u64().unwrap_or(0) >= 3, "{seen}");
    assert!(
        seen["metrics_chart_box"]["width"].as_f64().unwrap_or(0.0) > 100.0,
        "the chart is drawn: {seen}"
    );
    assert!(text("metrics_text").contains("alice"), "{seen}");
    assert!(
        text("evidence_text")
            .contains("verified: signature + chain, forwarded by installation build-7"),
        "{seen}"
    );
    let run_story = text("run_story");
    assert!(
        run_story.contains("run ended: exit status 0"),
        "{run_story}"
    );
    assert!(!text("auditor_story").contains("Decide on the approval page"));
    assert_eq!(seen["violations"], serde_json::json!([]));

    let decided = view(&broker, &target, &requester);
    assert_eq!(decided["status"], "approved", "{decided}");
    assert_eq!(decided["votes"][0]["channel"], "web");
    // The guide's pictures are refreshed on request, so a test run leaves the
    // source tree as it was: GATE_UPDATE_SCREENSHOTS=1 cargo test browser::.
    let update = std::env::var_os("GATE_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1");
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard");
    for name in [
        "signin.png",
        "pending.png",
        "history.png",
        "request.png",
        "request-approved.png",
        "request-run.png",
        "installations.png",
        "evidence.png",
        "metrics.png",
    ] {
        let shot = shots.join(name);
        assert!(shot.is_file(), "no screenshot {name}");
        if update {
            std::fs::copy(&shot, docs.join(name)).unwrap();
        }
    }
}
