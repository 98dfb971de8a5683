//! `gate -- CMD` against the real `gate serve`: people approve, deny, let it time
//! out, need a quorum, cannot approve themselves; the requester cancels; the
//! broker restarts mid-wait; break-glass. A marker file proves what ran.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::{
    POLICY_APPROVE_QUORUM_TIMEOUT_BREAK_GLASS, broker_config_sre_alice_bob_me, with_broker_policy,
};
use crate::support::waiting::Waiting;
use std::path::PathBuf;

/// A context whose policy asks for approval, and a broker (alice, bob and the
/// person running the tests in `sre`) whose key gate pins.
pub(crate) struct Setup {
    pub(crate) ctx: TestContext,
    pub(crate) broker: Broker,
}

impl Setup {
    pub(crate) fn new() -> Setup {
        let ctx = TestContext::with_policy(POLICY_APPROVE_QUORUM_TIMEOUT_BREAK_GLASS);
        let config = with_broker_policy(&broker_config_sre_alice_bob_me());
        let broker = Broker::start(&ctx, &config);
        broker.pin_key(&ctx);
        Setup { ctx, broker }
    }

    /// The file the approved `touch` makes.
    pub(crate) fn marker(&self) -> PathBuf {
        self.ctx.work().join("ran")
    }

    /// `gate ARGS` waiting on the broker; returns it and the request id once created.
    fn spawn(&self, args: &[&str]) -> (Waiting, String) {
        let mut command = self.ctx.gate();
        command
            .env("GATE_SERVER", self.broker.url())
            .env("GATE_SERVER_KEY", self.ctx.dir.path().join("broker.pub"))
            .args(args);
        let mut waiting = Waiting::spawn(command);
        let id = waiting.expect_request_id();
        (waiting, id)
    }

    fn touch(&self) -> (Waiting, String) {
        let marker = self.marker();
        self.spawn(&["--", "touch", marker.to_str().unwrap()])
    }

    fn decide(
        &self,
        id: &str,
        person: &str,
        verdict: &str,
    ) -> crate::support::broker_support::Reply {
        self.broker.decide(id, &self.broker.token(person), verdict)
    }

    fn decision_record(&self) -> serde_json::Value {
        self.ctx
            .records()
            .into_iter()
            .rev()
            .find(|r| r["kind"] == "decision")
            .expect("a decision record")
    }
}

#[test]
fn an_approved_command_runs_and_the_audit_log_holds_the_broker_signature() {
    let setup = Setup::new();
    let line = format!("touch {}; exit 7", setup.marker().display());
    let (waiting, id) = setup.spawn(&["--", "sh", "-c", &line]);
    assert_eq!(setup.decide(&id, "alice", "approve").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 7, "{}", done.stderr);
    assert!(setup.marker().exists());
    let record = setup.decision_record();
    assert_eq!(record["decision"], "approved");
    assert_eq!(
        record["approvers"],
        serde_json::json!([{"name": "alice", "channel": "cli"}])
    );
    assert_eq!(record["break_glass"], false);
    let signature = record["broker_signature"].as_str().unwrap();
    assert!(
        signature
            .split_once('.')
            .is_some_and(|(_, hex)| hex.len() == 128),
        "{signature}"
    );
    let verify = setup.ctx.run(&["audit", "verify"]);
    assert_eq!(code(&verify), 0, "{}", stderr(&verify));
    // Single use: the broker knows the approval was claimed.
    let view = setup.broker.get(
        &format!("/v1/requests/{id}"),
        Some(&setup.broker.token("bob")),
    );
    assert_eq!(view.body["claimed"], true);
}

#[test]
fn a_denial_exits_101_and_runs_nothing() {
    let setup = Setup::new();
    let (waiting, id) = setup.touch();
    assert_eq!(setup.decide(&id, "bob", "deny").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 101, "{}", done.stderr);
    assert!(done.stderr.contains("denied by bob"), "{}", done.stderr);
    assert!(!setup.marker().exists());
    let record = setup.decision_record();
    assert_eq!(record["decision"], "rejected");
    assert_eq!(record["approvers"][0]["name"], "bob");
}

#[test]
fn no_decision_in_time_exits_102() {
    let setup = Setup::new();
    let target = setup.ctx.work().join("link");
    let (waiting, _id) = setup.spawn(&["--", "ln", "-s", "/", target.to_str().unwrap()]);
    let done = waiting.finish();
    assert_eq!(done.code, 102, "{}", done.stderr);
    assert!(std::fs::symlink_metadata(&target).is_err(), "nothing ran");
    assert_eq!(setup.decision_record()["decision"], "timed-out");
}

#[test]
fn a_quorum_of_two_waits_for_the_second_person() {
    let setup = Setup::new();
    let dir = setup.ctx.work().join("made");
    let (mut waiting, id) = setup.spawn(&["--", "mkdir", dir.to_str().unwrap()]);
    assert_eq!(setup.decide(&id, "alice", "approve").status, 200);
    waiting.expect_line("alice approved via cli (1/2 approvals)");
    assert!(!dir.exists(), "one of two approvals runs nothing");
    assert_eq!(setup.decide(&id, "bob", "approve").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(dir.exists());
    let approvers: Vec<_> = setup.decision_record()["approvers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(approvers, ["alice", "bob"]);
}

#[test]
fn approving_your_own_request_is_refused_and_gate_keeps_waiting() {
    let setup = Setup::new();
    let (mut waiting, id) = setup.touch();
    let own = setup.decide(&id, "me", "approve");
    assert_eq!((own.status, own.code()), (403, "self_approval"));
    assert!(waiting.child.try_wait().unwrap().is_none(), "still waiting");
    assert!(!setup.marker().exists());
    assert_eq!(setup.decide(&id, "alice", "approve").status, 200);
    waiting.expect_line("alice approved");
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(setup.marker().exists());
}

#[test]
fn ctrl_c_withdraws_the_request_at_the_broker() {
    let setup = Setup::new();
    let (waiting, id) = setup.touch();
    waiting.signal(libc::SIGINT);
    let done = waiting.finish();
    assert_eq!(done.code, 104, "{}", done.stderr);
    let view = setup.broker.get(
        &format!("/v1/requests/{id}"),
        Some(&setup.broker.token("alice")),
    );
    assert_eq!(view.body["status"], "cancelled");
    assert!(!setup.marker().exists());
    assert_eq!(setup.decision_record()["decision"], "cancelled");
}

#[test]
fn a_broker_restart_while_gate_waits_is_ridden_out() {
    let mut setup = Setup::new();
    let (mut waiting, id) = setup.touch();
    let alice = setup.broker.token("alice");
    setup.broker.restart_same_port();
    assert_eq!(setup.broker.decide(&id, &alice, "approve").status, 200);
    waiting.expect_line("alice approved");
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(setup.marker().exists());
}

#[test]
fn break_glass_runs_and_is_flagged_in_the_audit_log() {
    let setup = Setup::new();
    let from = setup.ctx.work().join("from");
    std::fs::write(&from, "x").unwrap();
    let to = setup.ctx.work().join("to");
    let mut command = setup.ctx.gate();
    command
        .env("GATE_SERVER", setup.broker.url())
        .env("GATE_SERVER_KEY", setup.broker.pubkey_pem())
        .args(["--break-glass", "--reason", "outage", "--", "cp"])
        .arg(&from)
        .arg(&to);
    let out = command.output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(to.exists());
    let record = setup.decision_record();
    assert_eq!(record["decision"], "approved");
    assert_eq!(record["break_glass"], true);
    assert_eq!(record["approvers"][0]["channel"], "break-glass");
    assert_eq!(record["approvers"][0]["name"], "me");
}
