//! Enrolled installations against the real `gate serve`. The requester is an
//! agent with curl: it claims another host, replays what it saw, signs with a
//! key of its own, edits a signed body, keeps using a revoked installation, or
//! never enrolled. Each attempt is refused; only the enrolled name is ever
//! recorded as the host.

use crate::support::broker_support::{Broker, Reply};
use crate::support::common::{TestContext, code, stderr};
use crate::support::fixtures::{
    BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY, BROKER_CONFIG_ALICE_APPROVES_UNSIGNED_TOO,
    POLICY_APPROVE_ALL, delete_payments_request,
};
use crate::support::waiting::Waiting;
use ed25519_dalek::SigningKey;
use gate::approval::signature::{self, SignedHeaders};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;

struct Machine {
    ctx: TestContext,
    broker: Broker,
}

impl Machine {
    fn new(config: &str) -> Machine {
        let ctx = TestContext::with_policy(POLICY_APPROVE_ALL);
        let broker = Broker::start(&ctx, config);
        broker.pin_key(&ctx);
        Machine { ctx, broker }
    }

    fn enrolled(name: &str) -> Machine {
        let machine = Machine::new(BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY);
        let out = machine.enroll(&machine.broker.enrollment_code(name, "1h"));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        machine
    }

    fn enroll(&self, code: &str) -> std::process::Output {
        self.ctx
            .gate()
            .args(["enroll", "--server", &self.broker.url(), code])
            .output()
            .unwrap()
    }

    fn key_path(&self) -> std::path::PathBuf {
        self.ctx.home().join("installation.key")
    }

    fn key(&self) -> SigningKey {
        gate::keys::load_signing_key(&self.key_path()).unwrap()
    }

    /// `gate -- deploy` with the broker configured and `deploy` a stand-in.
    fn gate_deploy(&self) -> std::process::Command {
        let path = self.ctx.stand_ins(&["deploy"]);
        let mut command = self.ctx.gate();
        command
            .env("PATH", path)
            .env("GATE_SERVER", self.broker.url())
            .env("GATE_SERVER_KEY", self.ctx.dir.path().join("broker.pub"))
            .args(["--", "deploy", "x"]);
        command
    }

    fn send(&self, path: &str, body: &str, signed: &SignedHeaders) -> Reply {
        let headers: Vec<(&str, String)> = signed.pairs().into_iter().collect();
        self.broker
            .call_with("POST", path, None, Some(body), &headers)
    }
}

fn sign(key: &SigningKey, name: &str, path: &str, body: &str) -> SignedHeaders {
    signature::sign(key, name, "POST", path, body.as_bytes()).unwrap()
}

/// A request claiming to come from `prod-db-1`.
fn request_from_another_host() -> String {
    let mut body = delete_payments_request("carol");
    body["requester"]["host"] = json!("prod-db-1");
    body["approvers"] = json!(["alice"]);
    body.to_string()
}

#[test]
fn an_enrolled_installation_is_the_host_whatever_the_request_claims() {
    let machine = Machine::enrolled("laptop-7");
    let mode = std::fs::metadata(machine.key_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let body = request_from_another_host();
    let reply = machine.send(
        "/v1/requests",
        &body,
        &sign(&machine.key(), "laptop-7", "/v1/requests", &body),
    );
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.body["request"]["requester"]["host"], "laptop-7");

    // gate itself signs its request and its claim; approvers see the enrolled name.
    let mut waiting = Waiting::spawn(machine.gate_deploy());
    let id = waiting.expect_request_id();
    let alice = machine.broker.token("alice");
    let view = machine
        .broker
        .get(&format!("/v1/requests/{id}"), Some(&alice));
    assert_eq!(
        view.body["requester"]["host"], "laptop-7",
        "{:?}",
        view.body
    );
    assert_eq!(machine.broker.decide(&id, &alice, "approve").status, 200);
    let finished = waiting.finish();
    assert_eq!(finished.code, 0, "{:?}", finished.stderr);
    assert_eq!(machine.ctx.stand_ins_ran(), ["deploy"]);

    let list = machine.broker.serve_enroll(&["list"]);
    let text = String::from_utf8_lossy(&list.stdout).to_string();
    let row = text.lines().find(|l| l.starts_with("laptop-7")).unwrap();
    assert!(row.trim_end().ends_with('-'), "not revoked, seen: {text}");

    // Enrolling again replaces the key, and says so; the old key is refused.
    let old = machine.key();
    let out = machine.enroll(&machine.broker.enrollment_code("laptop-7", "1h"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("replaced"), "{}", stderr(&out));
    let body = request_from_another_host();
    let reply = machine.send(
        "/v1/requests",
        &body,
        &sign(&old, "laptop-7", "/v1/requests", &body),
    );
    assert_eq!((reply.status, reply.code()), (401, "bad_signature"));
}

#[test]
fn a_code_enrolls_once_and_never_after_it_expires() {
    let machine = Machine::new(BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY);
    let code_text = machine.broker.enrollment_code("laptop-7", "1h");
    let public_key = gate::keys::public_key_pem(&SigningKey::from_bytes(&[9; 32]).verifying_key());
    let body = json!({ "code": code_text, "public_key": public_key });
    let first = machine.broker.post("/v1/enroll", None, &body);
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["name"], "laptop-7");
    let again = machine.broker.post("/v1/enroll", None, &body);
    assert_eq!(
        (again.status, again.code()),
        (401, "invalid_enrollment_code")
    );

    let out = machine.enroll(&code_text);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("already used"), "{}", stderr(&out));

    let short = machine.broker.enrollment_code("laptop-8", "1s");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = machine.enroll(&short);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("has expired"), "{}", stderr(&out));
    assert!(!machine.key_path().exists(), "a refused code leaves no key");
}

#[test]
fn a_replayed_signed_request_is_refused() {
    let machine = Machine::enrolled("laptop-7");
    let body = request_from_another_host();
    let signed = sign(&machine.key(), "laptop-7", "/v1/requests", &body);
    assert_eq!(machine.send("/v1/requests", &body, &signed).status, 201);
    let replay = machine.send("/v1/requests", &body, &signed);
    assert_eq!((replay.status, replay.code()), (401, "bad_signature"));
    assert!(
        replay.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{:?}",
        replay.body
    );
    assert!(machine.broker.log_has("refused POST /v1/requests"));
}

#[test]
fn another_key_a_tampered_body_or_a_stale_signature_is_refused() {
    let machine = Machine::enrolled("laptop-7");
    let body = request_from_another_host();
    let mallory = SigningKey::from_bytes(&[66; 32]);
    let reply = machine.send(
        "/v1/requests",
        &body,
        &sign(&mallory, "laptop-7", "/v1/requests", &body),
    );
    assert_eq!((reply.status, reply.code()), (401, "bad_signature"));

    let signed = sign(&machine.key(), "laptop-7", "/v1/requests", &body);
    let tampered = body.replace("payments", "billing");
    let reply = machine.send("/v1/requests", &tampered, &signed);
    assert_eq!((reply.status, reply.code()), (401, "bad_signature"));

    let now = signature::unix_seconds(std::time::SystemTime::now());
    let stale = signature::sign_at(
        &machine.key(),
        "laptop-7",
        "POST",
        "/v1/requests",
        body.as_bytes(),
        now - 600,
        "0123456789abcdef0123",
    );
    let reply = machine.send("/v1/requests", &body, &stale);
    assert_eq!((reply.status, reply.code()), (401, "bad_signature"));

    // A signature for creating a request does not claim one.
    let signed = sign(&machine.key(), "laptop-7", "/v1/requests", "");
    let reply = machine.send("/v1/requests/abc/claim", "", &signed);
    assert_eq!((reply.status, reply.code()), (401, "bad_signature"));
}

#[test]
fn a_revoked_installation_is_refused_at_once() {
    let machine = Machine::enrolled("laptop-7");
    let body = request_from_another_host();
    let reply = machine.send(
        "/v1/requests",
        &body,
        &sign(&machine.key(), "laptop-7", "/v1/requests", &body),
    );
    assert_eq!(reply.status, 201);

    let out = machine.broker.serve_enroll(&["revoke", "laptop-7"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let reply = machine.send(
        "/v1/requests",
        &body,
        &sign(&machine.key(), "laptop-7", "/v1/requests", &body),
    );
    assert_eq!((reply.status, reply.code()), (401, "not_enrolled"));
    let out = machine.gate_deploy().output().unwrap();
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
    assert!(machine.ctx.stand_ins_ran().is_empty());

    let list = machine.broker.serve_enroll(&["list"]);
    let text = String::from_utf8_lossy(&list.stdout).to_string();
    let row = text.lines().find(|l| l.starts_with("laptop-7")).unwrap();
    assert!(!row.trim_end().ends_with('-'), "revoked: {text}");
    let out = machine.broker.serve_enroll(&["revoke", "nobody"]);
    assert_eq!(code(&out), 110, "{}", stderr(&out));
}

#[test]
fn an_unenrolled_requester_is_refused_with_how_to_enroll_and_nothing_runs() {
    let machine = Machine::new(BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY);
    let body: Value = serde_json::from_str(&request_from_another_host()).unwrap();
    let reply = machine.broker.post("/v1/requests", None, &body);
    assert_eq!((reply.status, reply.code()), (401, "not_enrolled"));
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("gate enroll --server URL CODE")
            && message.contains("gate serve enroll NAME"),
        "{message}"
    );
    // An installation name nobody enrolled is no better.
    let text = body.to_string();
    let stranger = SigningKey::from_bytes(&[5; 32]);
    let reply = machine.send(
        "/v1/requests",
        &text,
        &sign(&stranger, "laptop-9", "/v1/requests", &text),
    );
    assert_eq!((reply.status, reply.code()), (401, "not_enrolled"));

    let out = machine.gate_deploy().output().unwrap();
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("gate enroll"), "{}", stderr(&out));
    assert!(machine.ctx.stand_ins_ran().is_empty());
}

#[test]
fn a_readable_installation_key_is_refused_with_a_clear_line() {
    let machine = Machine::enrolled("laptop-7");
    std::fs::set_permissions(machine.key_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = machine.gate_deploy().output().unwrap();
    assert_ne!(code(&out), 0);
    let text = stderr(&out);
    assert!(
        text.contains("installation key") && text.contains("readable by others"),
        "{text}"
    );
    assert!(text.contains("chmod 600"), "{text}");
    assert!(machine.ctx.stand_ins_ran().is_empty());
}

#[test]
fn without_required_enrollment_unsigned_requests_are_marked_and_bad_signatures_refused() {
    let machine = Machine::new(BROKER_CONFIG_ALICE_APPROVES_UNSIGNED_TOO);
    let body: Value = serde_json::from_str(&request_from_another_host()).unwrap();
    let reply = machine.broker.post("/v1/requests", None, &body);
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(
        reply.body["request"]["requester"]["host"],
        "prod-db-1 (unverified)"
    );
    let text = body.to_string();
    let forged = SigningKey::from_bytes(&[5; 32]);
    let reply = machine.send(
        "/v1/requests",
        &text,
        &sign(&forged, "laptop-9", "/v1/requests", &text),
    );
    assert_eq!((reply.status, reply.code()), (401, "not_enrolled"));
}
