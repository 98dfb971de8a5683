//! `gate -- CMD` on an approve rule, against a scripted fake broker: what runs,
//! what is refused, what is recorded. A marker file proves whether the command ran.

use crate::support::common::*;
use crate::support::fake_broker::REQUEST_ID;
use crate::support::fixtures::FakeBrokerSetup;
use crate::support::waiting::Waiting;
use ed25519_dalek::SigningKey;

#[test]
fn an_approval_from_the_broker_runs_the_command_once_and_is_recorded() {
    let setup = FakeBrokerSetup::new();
    let mut command = setup.gate(&["--reason", "ticket 7", "--", "sh", "-c"]);
    let marker = setup.marker();
    let line = format!("touch {}; exit 3", marker.display());
    command.arg(&line);
    let waiting = {
        let mut w = Waiting::spawn(command);
        let created = w.expect_line("approval requested");
        assert!(
            created.contains(REQUEST_ID) && created.contains("http://broker.test/r/req-1"),
            "{created}"
        );
        assert!(created.contains("alice, bob"), "{created}");
        w
    };
    setup.fake.wait_for_poll();
    assert!(!marker.exists(), "nothing runs before a decision");
    setup.fake.approve("alice");
    let done = waiting.finish();
    assert_eq!(done.code, 3, "{}", done.stderr);
    assert!(marker.exists());
    assert!(
        done.stderr.contains("alice approved via cli"),
        "{}",
        done.stderr
    );

    let sent = setup.fake.seen().created[0].clone();
    assert_eq!(sent.reason.as_deref(), Some("ticket 7"));
    assert_eq!(sent.rules, ["touch needs approval"]);
    assert_eq!(sent.timeout_seconds, 60);
    assert_eq!(setup.fake.seen().claims, 1);

    let records = setup.ctx.records();
    let decision = &records[records.len() - 2];
    assert_eq!(decision["decision"], "approved");
    assert_eq!(decision["approvers"][0]["name"], "alice");
    assert_eq!(decision["approvers"][0]["channel"], "cli");
    assert_eq!(decision["break_glass"], false);
    let signature = decision["broker_signature"].as_str().unwrap();
    let (payload, hex) = signature.split_once('.').unwrap();
    assert_eq!(hex.len(), 128, "{signature}");
    assert!(!payload.contains('='), "unpadded base64url: {payload}");
    // As docs/audit-format.md says: the reason is the requester's own (the request
    // id is in the broker's signed payload), and the outcome repeats the decision's
    // approvers and broker signature.
    assert_eq!(decision["reason"], "ticket 7");
    let outcome = &records[records.len() - 1];
    assert_eq!(outcome["decision"], "exited");
    assert_eq!(outcome["exit_code"], 3);
    assert_eq!(outcome["approvers"], decision["approvers"]);
    assert_eq!(outcome["broker_signature"], decision["broker_signature"]);
    assert_eq!(outcome["reason"], decision["reason"]);
    let verify = setup.ctx.run(&["audit", "verify"]);
    assert_eq!(code(&verify), 0, "{}", stderr(&verify));
}

/// Decide the waiting `touch` with `payload` signed by `key` and expect a 109 refusal.
fn assert_refused(
    setup: &FakeBrokerSetup,
    edit: impl FnOnce(&mut gate::approval::DecisionPayload),
    key: &SigningKey,
    why: &str,
) {
    let waiting = setup.touch_waiting();
    let mut payload = setup.fake.approval("alice");
    edit(&mut payload);
    setup.fake.decide(&payload, key);
    let done = waiting.finish();
    assert_eq!(done.code, 109, "{}", done.stderr);
    assert!(
        !setup.marker().exists(),
        "an invalid approval must not run anything"
    );
    let last = done.stderr.lines().last().unwrap_or_default().to_string();
    assert!(
        last.contains(why) && last.contains("nothing was run"),
        "{last}"
    );
    assert_eq!(
        setup.fake.seen().claims,
        0,
        "an invalid approval is never claimed"
    );
    let record = setup.last_record();
    assert_eq!(record["decision"], "approval-invalid");
    assert!(record["reason"].as_str().unwrap().contains(why), "{record}");
}

#[test]
fn a_decision_replayed_from_another_request_is_refused() {
    let setup = FakeBrokerSetup::new();
    let key = setup.fake.key.clone();
    assert_refused(
        &setup,
        |p| p.request_id = "req-0".into(),
        &key,
        "replayed from another request",
    );
}

#[test]
fn a_decision_for_another_command_is_refused() {
    let setup = FakeBrokerSetup::new();
    let key = setup.fake.key.clone();
    assert_refused(
        &setup,
        |p| p.action_digest = "cd".repeat(32),
        &key,
        "approves a different action",
    );
}

#[test]
fn a_decision_signed_by_another_key_is_refused() {
    let setup = FakeBrokerSetup::new();
    let other = SigningKey::from_bytes(&[7; 32]);
    assert_refused(
        &setup,
        |_| {},
        &other,
        "does not verify with the pinned broker key",
    );
}

#[test]
fn an_expired_approval_is_refused() {
    let setup = FakeBrokerSetup::new();
    let key = setup.fake.key.clone();
    let past = "2020-01-01T00:00:00.000Z".to_string();
    assert_refused(&setup, |p| p.expires_at = past, &key, "expired");
}

#[test]
fn an_approval_already_used_is_refused() {
    let setup = FakeBrokerSetup::new();
    let waiting = setup.touch_waiting();
    setup.fake.change(|view| view.claimed = true);
    setup.fake.approve("alice");
    let done = waiting.finish();
    assert_eq!(done.code, 109, "{}", done.stderr);
    assert!(done.stderr.contains("already used"), "{}", done.stderr);
    assert!(!setup.marker().exists());
}

#[test]
fn a_denial_exits_101_and_records_who() {
    let setup = FakeBrokerSetup::new();
    let waiting = setup.touch_waiting();
    let mut payload = setup.fake.approval("bob");
    payload.verdict = gate::approval::protocol::Choice::Deny;
    setup.fake.decide(&payload, &setup.fake.key.clone());
    let done = waiting.finish();
    assert_eq!(done.code, 101, "{}", done.stderr);
    assert!(
        done.stderr.contains("denied by bob: looks fine"),
        "{}",
        done.stderr
    );
    assert!(!setup.marker().exists());
    let record = setup.last_record();
    assert_eq!(record["decision"], "rejected");
    assert_eq!(record["approvers"][0]["name"], "bob");
    // "denied", as the CLI says it, finds the record.
    let shown = setup.ctx.run(&["audit", "show", "--decision", "denied"]);
    assert_eq!(code(&shown), 0, "{}", stderr(&shown));
    assert_eq!(stdout(&shown).lines().count(), 2, "{}", stdout(&shown));
    assert!(stdout(&shown).contains("rejected"), "{}", stdout(&shown));
}

#[test]
fn break_glass_is_sent_where_the_rule_allows_it() {
    let setup = FakeBrokerSetup::new();
    let dir = setup.ctx.work().join("made");
    let mut w = Waiting::spawn(setup.gate(&[
        "--break-glass",
        "--reason",
        "outage",
        "--",
        "mkdir",
        dir.to_str().unwrap(),
    ]));
    w.expect_line("approval requested");
    let sent = setup.fake.seen().created[0].clone();
    assert!(sent.break_glass && sent.break_glass_allowed && sent.require_reason);
    let mut payload = setup.fake.approval("carol");
    payload.break_glass = true;
    payload.approvers[0].channel = "break-glass".into();
    setup.fake.decide(&payload, &setup.fake.key.clone());
    let done = w.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(dir.exists());
    let records = setup.ctx.records();
    let decision = &records[records.len() - 2];
    assert_eq!(decision["break_glass"], true);
    assert_eq!(decision["approvers"][0]["channel"], "break-glass");
}

fn assert_signal_cancels(signal: i32, name: &str) {
    let setup = FakeBrokerSetup::new();
    let waiting = setup.touch_waiting();
    waiting.signal(signal);
    let done = waiting.finish();
    assert_eq!(done.code, 104, "{}", done.stderr);
    assert!(
        done.stderr
            .contains(&format!("cancelled ({name} while waiting)")),
        "{}",
        done.stderr
    );
    assert_eq!(
        setup.fake.seen().cancels,
        1,
        "the request is withdrawn at the broker"
    );
    assert!(!setup.marker().exists());
    assert_eq!(setup.last_record()["decision"], "cancelled");
}

#[test]
fn ctrl_c_while_waiting_cancels_the_request() {
    assert_signal_cancels(libc::SIGINT, "SIGINT");
}

#[test]
fn sigterm_while_waiting_cancels_the_request() {
    assert_signal_cancels(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sighup_while_waiting_cancels_the_request() {
    assert_signal_cancels(libc::SIGHUP, "SIGHUP");
}

#[test]
fn a_broker_lost_mid_wait_is_retried_until_it_answers() {
    let mut setup = FakeBrokerSetup::new();
    let mut waiting = setup.touch_waiting();
    setup.fake.stop();
    waiting.expect_line("lost the broker");
    setup.fake.restart();
    waiting.expect_line("reached the broker again");
    setup.fake.approve("alice");
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(setup.marker().exists());
    assert_eq!(setup.last_record()["decision"], "exited");
}

#[test]
fn json_reports_the_approval_on_stderr_before_the_command() {
    let setup = FakeBrokerSetup::new();
    let marker = setup.marker();
    let mut command = setup.gate(&["--json", "--", "sh", "-c"]);
    command.arg(format!("touch {}; echo out", marker.display()));
    let mut w = Waiting::spawn(command);
    w.expect_line("approval requested");
    setup.fake.wait_for_poll();
    setup.fake.approve("alice");
    let done = w.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(done.stdout, "out\n");
    let json = done.stderr.lines().last().unwrap();
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(value["status"], "approved");
    assert_eq!(value["request_id"], REQUEST_ID);
    assert_eq!(value["approvers"][0]["name"], "alice");
}

#[test]
fn a_broker_lost_until_the_request_expires_is_a_timeout() {
    let mut setup = FakeBrokerSetup::new();
    let link = setup.ctx.work().join("link");
    let mut w = Waiting::spawn(setup.gate(&["--", "ln", "-s", "/", link.to_str().unwrap()]));
    w.expect_line("approval requested");
    setup.fake.wait_for_poll();
    setup.fake.stop();
    w.expect_line("lost the broker");
    let done = w.finish();
    assert_eq!(done.code, 102, "{}", done.stderr);
    assert!(std::fs::symlink_metadata(&link).is_err(), "nothing ran");
    assert_eq!(setup.last_record()["decision"], "timed-out");
}

#[test]
fn json_reports_a_denial_on_stdout_with_the_request() {
    let setup = FakeBrokerSetup::new();
    let marker = setup.marker();
    let mut w = Waiting::spawn(setup.gate(&["--json", "--", "touch", marker.to_str().unwrap()]));
    w.expect_line("approval requested");
    let mut payload = setup.fake.approval("bob");
    payload.verdict = gate::approval::protocol::Choice::Deny;
    setup.fake.decide(&payload, &setup.fake.key.clone());
    let done = w.finish();
    assert_eq!(done.code, 101, "{}", done.stderr);
    let value: serde_json::Value = serde_json::from_str(done.stdout.trim()).unwrap();
    assert_eq!(value["ran"], false);
    assert_eq!(value["exit_code"], 101);
    assert_eq!(value["status"], "rejected");
    assert_eq!(value["request_id"], REQUEST_ID);
}
