//! The real `gate serve` keeping enrollment and forwarded audit records in
//! PostgreSQL (`[store] url`): an installation enrolls with a one-time code,
//! signs its requests, forwards its audit log and is refused once revoked, as on
//! SQLite; and two brokers sharing the database agree on all of it at once.
//! Without PostgreSQL installed, each test returns early (support::postgres).

use crate::support::broker_support::{Broker, Reply};
use crate::support::common::{TestContext, code, stderr, stdout};
use crate::support::fixtures::{
    BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY, delete_payments_request,
};
use crate::support::postgres::{Database, cluster};
use ed25519_dalek::SigningKey;
use gate::approval::signature;
use serde_json::json;
use std::time::{Duration, Instant};

const ALLOW_ALL: &str = "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n";

/// The enrolled-only broker config, its store the database `db`.
fn config_on(db: &Database) -> String {
    format!(
        "{BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY}[store]\nurl = \"{}\"\n",
        db.url
    )
}

/// `gate enroll` on the machine `ctx` with `code`.
fn enroll(ctx: &TestContext, broker: &Broker, code_text: &str) -> std::process::Output {
    ctx.gate()
        .args(["enroll", "--server", &broker.url(), code_text])
        .output()
        .unwrap()
}

/// A request signed by installation `name` with the key `gate enroll` stored.
fn signed_request(ctx: &TestContext, broker: &Broker, name: &str) -> Reply {
    let key = gate::keys::load_signing_key(&ctx.home().join("installation.key")).unwrap();
    let body = delete_payments_request("carol").to_string();
    send_signed(broker, &key, name, &body)
}

fn send_signed(broker: &Broker, key: &SigningKey, name: &str, body: &str) -> Reply {
    let signed = signature::sign(key, name, "POST", "/v1/requests", body.as_bytes()).unwrap();
    let headers: Vec<(&str, String)> = signed.pairs().into_iter().collect();
    broker.call_with("POST", "/v1/requests", None, Some(body), &headers)
}

fn wait_for_log(broker: &Broker, needle: &str) {
    let start = Instant::now();
    while !broker.log_has(needle) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the broker never logged {needle:?}:\n{}",
            broker.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn postgres_an_installation_enrolls_signs_forwards_and_is_refused_once_revoked() {
    let Some(pg) = cluster() else { return };
    let db = pg.database();
    let machine = TestContext::with_policy(ALLOW_ALL);
    let broker = Broker::start(&machine, &config_on(&db));

    let code_text = broker.enrollment_code("laptop-7", "1h");
    let out = enroll(&machine, &broker, &code_text);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        pg.psql(&db.name, "select name from installations"),
        "laptop-7"
    );
    // The code was used up.
    let other = gate::keys::public_key_pem(&SigningKey::from_bytes(&[9; 32]).verifying_key());
    let again = broker.post(
        "/v1/enroll",
        None,
        &json!({ "code": code_text, "public_key": other }),
    );
    assert_eq!(
        (again.status, again.code()),
        (401, "invalid_enrollment_code")
    );

    // A signed request is the enrolled installation's; its replay is refused.
    let reply = signed_request(&machine, &broker, "laptop-7");
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.body["request"]["requester"]["host"], "laptop-7");

    // Its audit log is forwarded and held in the database.
    assert_eq!(code(&machine.run(&["--", "true"])), 0);
    wait_for_log(&broker, "installation laptop-7 forwards its audit log");
    let out = machine.gate().args(["audit", "push"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("the broker holds records 1 to"),
        "{}",
        stdout(&out)
    );
    let held = pg.psql(
        &db.name,
        "select count(*) from ledger_records where installation = 'laptop-7'",
    );
    assert_ne!(held, "0");
    let out = machine
        .gate()
        .args(["audit", "verify", "--broker"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let list = broker.serve_enroll(&["list"]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    assert!(stdout(&list).contains("laptop-7"), "{}", stdout(&list));

    let out = broker.serve_enroll(&["revoke", "laptop-7"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let reply = signed_request(&machine, &broker, "laptop-7");
    assert_eq!((reply.status, reply.code()), (401, "not_enrolled"));
    let out = broker.serve_enroll(&["revoke", "nobody"]);
    assert_eq!(code(&out), 110, "{}", stderr(&out));
}

#[test]
fn postgres_two_brokers_on_one_database_share_codes_nonces_and_revocations() {
    let Some(pg) = cluster() else { return };
    let db = pg.database();
    let machine = TestContext::with_policy(ALLOW_ALL);
    let config = config_on(&db);
    let first = Broker::start(&machine, &config);
    let second = Broker::start(&machine, &config);

    // A code made for the database enrolls through either broker, once.
    let code_text = first.enrollment_code("laptop-7", "1h");
    let out = enroll(&machine, &second, &code_text);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = enroll(&machine, &first, &code_text);
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("already used"), "{}", stderr(&out));

    // A signature accepted by one broker is a replay at the other.
    let key = gate::keys::load_signing_key(&machine.home().join("installation.key")).unwrap();
    let body = delete_payments_request("carol").to_string();
    let signed =
        signature::sign(&key, "laptop-7", "POST", "/v1/requests", body.as_bytes()).unwrap();
    let headers: Vec<(&str, String)> = signed.pairs().into_iter().collect();
    let reply = first.call_with("POST", "/v1/requests", None, Some(&body), &headers);
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let replay = second.call_with("POST", "/v1/requests", None, Some(&body), &headers);
    assert_eq!((replay.status, replay.code()), (401, "bad_signature"));

    // Revoked through one, refused by both at once.
    let out = first.serve_enroll(&["revoke", "laptop-7"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for broker in [&first, &second] {
        let reply = send_signed(broker, &key, "laptop-7", &body);
        assert_eq!((reply.status, reply.code()), (401, "not_enrolled"));
    }
}
