//! Verified CI identity: the broker checks a CI job's OIDC ID token against a
//! local issuer's keys and replaces the job's claimed actor, repository and ref
//! with the token's claims; every kind of bad token is refused with a reason;
//! a `ci_verified` rule is not met by forged environment variables; and `gate`
//! sends the token from `GATE_ID_TOKEN` or mints one the GitHub Actions way.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::{
    broker_config_forgery, delete_payments_request, policy_two_for_touch,
};
use crate::support::oidc_issuer::{self, AUDIENCE, Issuer, RUNNER_BEARER};
use crate::support::waiting::Waiting;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

struct Setup {
    ctx: TestContext,
    issuer: Issuer,
    broker: Broker,
    key: std::path::PathBuf,
}

impl Setup {
    /// The forgery tests' people and policy, with the local issuer trusted and,
    /// when given, `org_policy` as the broker's own policy.
    fn new(org_policy: Option<&str>) -> Setup {
        let ctx = TestContext::with_policy(&policy_two_for_touch());
        let issuer = Issuer::start();
        let mut config = format!("{}{}", broker_config_forgery(), issuer.broker_config());
        if let Some(policy) = org_policy {
            ctx.write_private("org-policy.toml", policy);
            config.push_str("[policy]\nfile = \"org-policy.toml\"\n");
        }
        let broker = Broker::start(&ctx, &config);
        let key = broker.pin_key(&ctx);
        Setup {
            ctx,
            issuer,
            broker,
            key,
        }
    }

    /// A request claiming to be GitHub Actions run by mallory, with `token`.
    fn forged_request(&self, token: &str) -> Value {
        let mut body = delete_payments_request("runner");
        body["requester"]["ci"] = json!({
            "system": "github", "actor": "mallory", "repository": "evil/fork",
            "branch": "main", "commit": null, "url": "https://evil.example/run"
        });
        body["id_token"] = json!(token);
        body
    }

    /// `gate -- mkdir DIR` in "GitHub Actions" as mallory.
    fn gate_mkdir(&self, dir: &std::path::Path) -> std::process::Command {
        let mut command = self.ctx.gate();
        command
            .env("GATE_SERVER", self.broker.url())
            .env("GATE_SERVER_KEY", &self.key)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTOR", "mallory")
            .env("GITHUB_REPOSITORY", "evil/fork")
            .args(["--", "mkdir"])
            .arg(dir);
        command
    }

    fn view(&self, id: &str) -> Value {
        let token = self.broker.token("bob");
        let reply = self.broker.get(&format!("/v1/requests/{id}"), Some(&token));
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body
    }
}

fn assert_verified_deploy_bot(view: &Value) {
    let ci = &view["requester"]["ci"];
    assert_eq!(ci["actor"], "deploy-bot", "{view}");
    assert_eq!(ci["repository"], "acme/payments", "{view}");
    assert_eq!(ci["branch"], "main", "{view}");
    assert_eq!(ci["url"], Value::Null, "a claimed URL is not kept: {view}");
    let identity = &view["ci_identity"];
    assert_eq!(
        identity["subject"],
        "repo:acme/payments:ref:refs/heads/main"
    );
    assert_eq!(identity["ref"], "refs/heads/main");
    assert_eq!(identity["workflow"], "deploy");
}

#[test]
fn a_valid_token_replaces_the_claimed_ci_identity() {
    let setup = Setup::new(None);
    for token in [
        setup.issuer.token(&setup.issuer.claims()),
        oidc_issuer::sign(&setup.issuer.claims(), Algorithm::ES256, "ec-1"),
    ] {
        let (_, _, created) = setup.broker.create(&setup.forged_request(&token));
        assert_verified_deploy_bot(&created["request"]);
        assert!(
            !setup.broker.log().contains(&token),
            "{}",
            setup.broker.log()
        );
    }
    assert_eq!(setup.issuer.jwks_fetches(), 1, "keys are cached");
    let info = setup.broker.get("/v1/oidc", None);
    assert_eq!(info.body["issuers"][0]["audience"], AUDIENCE);
}

#[test]
fn each_bad_token_is_refused_naming_what_failed() {
    let setup = Setup::new(None);
    let issuer = &setup.issuer;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = issuer.claims();
        change(&mut claims);
        claims
    };
    let valid = issuer.token(&issuer.claims());
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            issuer.token(&with(&|c| {
                c["exp"] = json!(oidc_issuer::now() - 3600);
                c["nbf"] = json!(oidc_issuer::now() - 7200);
            })),
            "expired",
        ),
        (
            "wrong audience",
            issuer.token(&with(&|c| c["aud"] = json!("https://other.test"))),
            "wrong audience",
        ),
        (
            "wrong issuer",
            issuer.token(&with(&|c| c["iss"] = json!("https://evil.example"))),
            "issuer is wrong",
        ),
        (
            "unknown key id",
            oidc_issuer::sign(&issuer.claims(), Algorithm::RS256, "rsa-9"),
            "key id \"rsa-9\" is unknown",
        ),
        (
            "alg none",
            oidc_issuer::unsigned(&issuer.claims()),
            "unsupported algorithm",
        ),
        (
            "HS256 with the public key as secret",
            oidc_issuer::sign(&issuer.claims(), Algorithm::HS256, "rsa-1"),
            "unsupported algorithm",
        ),
        (
            "tampered payload",
            oidc_issuer::with_payload(&valid, &with(&|c| c["actor"] = json!("alice-gh"))),
            "bad signature",
        ),
        ("not a JWT", "eyJhbGciOi.x".to_string(), "malformed"),
    ];
    for (name, token, why) in &cases {
        let reply = setup
            .broker
            .post("/v1/requests", None, &setup.forged_request(token));
        assert_eq!(
            (reply.status, reply.code(), reply.field()),
            (401, "invalid_id_token", "id_token"),
            "{name}: {:?}",
            reply.body
        );
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{name}: {message}");
        assert!(!message.contains(token.as_str()), "{name}: {message}");
    }
    let log = setup.broker.log();
    assert!(log.contains("(invalid_id_token)"), "{log}");
    for (name, token, _) in &cases {
        assert!(!log.contains(token.as_str()), "{name} logged: {log}");
    }
    // Unknown key ids fetch the keys again at most once per interval.
    assert!(
        setup.issuer.jwks_fetches() <= 2,
        "{}",
        setup.issuer.jwks_fetches()
    );
    for _ in 0..5 {
        let token = oidc_issuer::sign(&issuer.claims(), Algorithm::RS256, "rsa-x");
        setup
            .broker
            .post("/v1/requests", None, &setup.forged_request(&token));
    }
    assert!(
        setup.issuer.jwks_fetches() <= 2,
        "{}",
        setup.issuer.jwks_fetches()
    );
}

#[test]
fn gate_sends_the_token_from_gate_id_token_and_never_shows_it() {
    let setup = Setup::new(None);
    let token = setup.issuer.token(&setup.issuer.claims());
    let dir = setup.ctx.work().join("made");
    let mut command = setup.gate_mkdir(&dir);
    command.env("GATE_ID_TOKEN", &token);
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();
    assert_verified_deploy_bot(&setup.view(&id));
    let bob = setup.broker.token("bob");
    assert_eq!(setup.broker.decide(&id, &bob, "approve").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(dir.exists());
    assert!(!done.stderr.contains(&token), "{}", done.stderr);
    let records = setup.ctx.records();
    let approved_record = records
        .iter()
        .find(|r| r["decision"] == "approved")
        .expect("an approved record");
    // The audit record says the identity was verified, and by whom.
    assert_eq!(
        approved_record["ci_identity"]["actor"], "deploy-bot",
        "{approved_record}"
    );
    let records = serde_json::to_string(&records).unwrap();
    assert!(!records.contains(&token));
    let approved = setup.view(&id);
    let payload = approved["decision"]["payload"].as_str().unwrap();
    let payload: Value = serde_json::from_str(payload).unwrap();
    assert_eq!(payload["ci_identity"]["actor"], "deploy-bot", "{payload}");
}

#[test]
fn gate_mints_a_github_actions_token_for_the_brokers_audience() {
    let setup = Setup::new(None);
    let dir = setup.ctx.work().join("made");
    let mut command = setup.gate_mkdir(&dir);
    command
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", setup.issuer.request_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", RUNNER_BEARER);
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();
    assert_eq!(setup.issuer.minted_for(), [AUDIENCE]);
    assert_verified_deploy_bot(&setup.view(&id));
    let bob = setup.broker.token("bob");
    setup.broker.decide(&id, &bob, "approve");
    assert_eq!(waiting.finish().code, 0);
}

/// The broker's policy denies `mkdir` unless the CI identity is verified.
const ORG_POLICY_VERIFIED_MKDIR: &str = r#"version = 1
default = "allow"

[[rule]]
name = "mkdir only from verified CI"
action = "deny"
match = "mkdir **"
ci_verified = false

[[rule]]
name = "one for mkdir"
action = "approve"
match = "mkdir **"
"#;

#[test]
fn a_ci_verified_rule_is_not_met_by_forged_variables() {
    let setup = Setup::new(Some(ORG_POLICY_VERIFIED_MKDIR));

    let dir = setup.ctx.work().join("made");
    let mut forged = setup.gate_mkdir(&dir);
    forged.env("GITHUB_ACTOR", "deploy-bot");
    let out = forged.output().unwrap();
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("denies this command"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists());

    let mut verified = setup.gate_mkdir(&dir);
    verified.env("GATE_ID_TOKEN", setup.issuer.token(&setup.issuer.claims()));
    let mut waiting = Waiting::spawn(verified);
    let id = waiting.expect_request_id();
    let bob = setup.broker.token("bob");
    setup.broker.decide(&id, &bob, "approve");
    assert_eq!(waiting.finish().code, 0);
    assert!(dir.exists());
}

#[test]
fn the_requester_never_lets_a_ci_verified_rule_allow() {
    let ctx = TestContext::with_policy(
        r#"version = 1
default = "approve"

[[rule]]
name = "verified deploy-bot may touch"
action = "allow"
match = "touch **"
actor = "deploy-bot"
ci_verified = true
"#,
    );
    let out = ctx
        .gate()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_ACTOR", "deploy-bot")
        .args(["check", "--json", "--", "touch", "x"])
        .output()
        .unwrap();
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["decision"], "approve", "{verdict}");
}

/// On a broker that requires enrollment, a CI job's verified ID token stands in
/// for it: an ephemeral runner cannot enroll. Nothing else gets in unsigned.
#[test]
fn a_ci_job_with_a_verified_token_needs_no_enrollment_and_nothing_else_gets_in_unsigned() {
    let ctx = TestContext::with_policy(&policy_two_for_touch());
    let issuer = Issuer::start();
    let config = format!(
        "require_enrollment = true\n{}{}",
        broker_config_forgery(),
        issuer.broker_config()
    );
    let broker = Broker::start(&ctx, &config);
    let key = broker.pin_key(&ctx);
    let setup = Setup {
        ctx,
        issuer,
        broker,
        key,
    };

    // The job, not enrolled, with its token: asked, approved, claimed, run.
    let dir = setup.ctx.work().join("made");
    let mut command = setup.gate_mkdir(&dir);
    command.env("GATE_ID_TOKEN", setup.issuer.token(&setup.issuer.claims()));
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();
    let view = setup.view(&id);
    assert_verified_deploy_bot(&view);
    assert!(
        view["requester"]["host"]
            .as_str()
            .unwrap()
            .ends_with(" (CI job, not enrolled)"),
        "{view}"
    );
    let bob = setup.broker.token("bob");
    assert_eq!(setup.broker.decide(&id, &bob, "approve").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(dir.exists());

    // Unsigned without a token, or with one that does not verify: refused.
    let mut plain = delete_payments_request("runner");
    let reply = setup.broker.post("/v1/requests", None, &plain);
    assert_eq!(
        (reply.status, reply.code()),
        (401, "not_enrolled"),
        "{:?}",
        reply.body
    );
    plain["id_token"] = json!("eyJhbGciOiJub25lIn0.e30.");
    let reply = setup.broker.post("/v1/requests", None, &plain);
    assert_eq!(reply.status, 401, "{:?}", reply.body);
    assert_eq!(reply.code(), "invalid_id_token", "{:?}", reply.body);
    let mut expired = setup.issuer.claims();
    expired["exp"] = json!(1);
    plain["id_token"] = json!(setup.issuer.token(&expired));
    let reply = setup.broker.post("/v1/requests", None, &plain);
    assert_eq!(reply.code(), "invalid_id_token", "{:?}", reply.body);

    // An enrolled machine's request cannot be claimed or cancelled unsigned, by
    // whoever learnt its id.
    let laptop = TestContext::with_policy(&policy_two_for_touch());
    let code = setup.broker.enrollment_code("laptop", "1h");
    let out = laptop
        .gate()
        .args(["enroll", "--server", &setup.broker.url(), &code])
        .output()
        .unwrap();
    assert_eq!(crate::support::common::code(&out), 0, "{}", stderr(&out));
    let mut asking = laptop.gate();
    asking
        .env("GATE_SERVER", setup.broker.url())
        .env("GATE_SERVER_KEY", &setup.key)
        .args(["--", "mkdir"])
        .arg(laptop.work().join("x"));
    let mut waiting = Waiting::spawn(asking);
    let enrolled_id = waiting.expect_request_id();
    for action in ["claim", "cancel"] {
        let reply = setup.broker.call(
            "POST",
            &format!("/v1/requests/{enrolled_id}/{action}"),
            Some("gate_req_guess"),
            None,
        );
        assert_eq!(
            (reply.status, reply.code()),
            (401, "not_enrolled"),
            "{action}: {:?}",
            reply.body
        );
    }
    // Forwarding and heads are for installations only.
    let reply = setup
        .broker
        .post("/v1/audit/head", None, &json!({"installation": "laptop"}));
    assert_eq!(
        (reply.status, reply.code()),
        (401, "not_enrolled"),
        "{:?}",
        reply.body
    );
    assert_eq!(setup.broker.decide(&enrolled_id, &bob, "deny").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 101, "{}", done.stderr);
}
