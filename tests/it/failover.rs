//! Several broker URLs: gate, the approver commands, enrolling and pushing the
//! audit log pass over a broker that does not answer for the next one, carry a wait over to another replica of
//! the same broker, and when none answers say so naming each and run nothing.
//! Replicas are two `gate serve` processes over one home and SQLite store.

use crate::approval_broker::Setup;
use crate::support::broker_support::{Broker, dead_url, unused_port};
use crate::support::common::*;
use crate::support::fixtures::{
    BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS,
    POLICY_ALLOW_ALL, create_carol_request, fetch_request,
};
use crate::support::waiting::Waiting;
use gate::approval::protocol::Status;

/// `gate -- touch MARKER` with `GATE_SERVER` set to `servers`.
fn touch_via(setup: &Setup, servers: &str) -> std::process::Command {
    let mut command = setup.ctx.gate();
    command
        .env("GATE_SERVER", servers)
        .env("GATE_SERVER_KEY", setup.ctx.dir.path().join("broker.pub"))
        .args(["--", "touch", setup.marker().to_str().unwrap()]);
    command
}

#[test]
fn a_dead_broker_first_in_the_list_is_passed_over_for_the_live_one() {
    let setup = Setup::new();
    let servers = format!("{},{}", dead_url(), setup.broker.url());
    let mut waiting = Waiting::spawn(touch_via(&setup, &servers));
    let id = waiting.expect_request_id();
    let token = setup.broker.token("alice");
    assert_eq!(setup.broker.decide(&id, &token, "approve").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(setup.marker().exists());
    assert!(
        done.stderr
            .contains(&format!("continuing with {}", setup.broker.url())),
        "the broker in use is named: {}",
        done.stderr
    );
}

/// gate waits on the first of two replicas; once the request exists the second
/// starts, `lose` takes the first away, and the approval is given at the second.
/// The wait carries over, and the approved command runs once.
fn assert_wait_carries_over(lose: impl FnOnce(&mut Broker)) {
    let mut setup = Setup::new();
    let count = setup.ctx.work().join("count");
    let replica_listen = format!("127.0.0.1:{}", unused_port());
    let servers = format!("{} http://{replica_listen}", setup.broker.url());
    let mut command = setup.ctx.gate();
    let line = format!(
        "touch {}; echo ran >> {}",
        setup.marker().display(),
        count.display()
    );
    command
        .env("GATE_SERVER", &servers)
        .env("GATE_SERVER_KEY", setup.ctx.dir.path().join("broker.pub"))
        .args(["--", "sh", "-c", &line]);
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();
    // A SQLite broker holds pending requests in memory from when it started, so
    // the replica starts once the request exists; replicas over one PostgreSQL
    // database see each other's requests as they are written.
    let replica = setup.broker.replica_on(&replica_listen);
    lose(&mut setup.broker);
    waiting.expect_line(&format!("continuing with {}", replica.url()));
    let token = replica.token("alice");
    assert_eq!(replica.decide(&id, &token, "approve").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let runs = std::fs::read_to_string(&count).unwrap();
    assert_eq!(runs, "ran\n", "the command ran exactly once");
}

#[test]
fn a_wait_carries_over_to_the_next_replica_when_one_is_killed_and_runs_once() {
    assert_wait_carries_over(Broker::kill);
}

#[test]
fn a_wait_carries_over_to_the_next_replica_when_one_shuts_down() {
    assert_wait_carries_over(|broker| {
        broker.stop();
    });
}

#[test]
fn no_broker_answering_is_one_line_naming_each_and_nothing_runs() {
    let setup = Setup::new();
    let (first, second) = (dead_url(), dead_url());
    let out = touch_via(&setup, &format!("{first}, {second}"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 103, "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err
        .lines()
        .filter(|line| line.contains("no gate broker answered"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(&first) && lines[0].contains(&second),
        "{err}"
    );
    assert!(lines[0].contains("nothing was run"), "{err}");
    assert!(!setup.marker().exists());
}

#[test]
fn approve_passes_over_a_dead_broker_in_its_server_list() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS);
    let created = create_carol_request(&broker, &["kubectl", "delete", "ns", "a"], 1);
    let id = created.request.id.clone();
    let servers = format!("{},{}", dead_url(), broker.url());
    let out = ctx
        .gate()
        .args(["approve", &id, "--server", &servers])
        .env("GATE_TOKEN", broker.token("alice"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("approved {id}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(fetch_request(&broker, &created).status, Status::Approved);
}

#[test]
fn a_bad_url_in_the_list_is_refused_naming_it() {
    let setup = Setup::new();
    let servers = format!("{},gate.example.com:8443", setup.broker.url());
    let out = touch_via(&setup, &servers).output().unwrap();
    assert_eq!(code(&out), 103, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("\"gate.example.com:8443\""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!setup.marker().exists());

    let out = setup
        .ctx
        .gate()
        .args(["pending", "--server", &servers, "--token", "t"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 103, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("gate.example.com:8443"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn enroll_and_audit_push_use_the_first_broker_that_answers() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY);
    let servers = format!("{},{}", dead_url(), broker.url());
    let code_ = broker.enrollment_code("laptop-7", "1h");
    let out = ctx
        .gate()
        .args(["enroll", "--server", &servers, &code_])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = format!("with the broker at {};", broker.url());
    assert!(stderr(&out).contains(&said), "{}", stderr(&out));

    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    let out = ctx.gate().args(["audit", "push"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = format!("to {} as installation laptop-7", broker.url());
    assert!(stdout(&out).contains(&said), "{}", stdout(&out));
}
