//! One signed organisation policy: the broker serves its policy signed; a gate
//! in managed mode decides only under it (local policies ignored), caches it for
//! offline use up to `max_age` and then fails closed, and never uses a copy
//! whose signature does not verify. A new version is a request the policy
//! admins approve; only then is it served, and every audit record names the
//! version that decided it.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::{
    ORG_POLICY_DENY_CURL, ORG_POLICY_DENY_CURL_AND_WGET, broker_config_policy_admins,
};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Switch the context's gate to managed mode against `broker`.
fn manage(ctx: &TestContext, broker: &Broker, extra: &str) {
    let key = broker.pin_key(ctx);
    let path = ctx.home().join("managed.toml");
    std::fs::write(
        &path,
        format!(
            "url = \"{}\"\nserver_key = \"{}\"\n{extra}",
            broker.url(),
            key.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `gate policy publish FILE [--reason REASON]` against the broker at `url`
/// as the holder of `token`.
pub fn publish_output(
    ctx: &TestContext,
    url: &str,
    token: &str,
    file: &Path,
    reason: Option<&str>,
) -> std::process::Output {
    ctx.gate()
        .args(["policy", "publish", file.to_str().unwrap()])
        .args(
            reason
                .map(|reason| ["--reason", reason])
                .into_iter()
                .flatten(),
        )
        .args(["--server", url, "--token", token])
        .output()
        .unwrap()
}

/// Publish the policy in `file` (see [`publish_output`]), which must succeed:
/// the id of the request that asks the admins to approve it.
pub fn publish(
    ctx: &TestContext,
    url: &str,
    token: &str,
    file: &Path,
    reason: Option<&str>,
) -> String {
    let out = publish_output(ctx, url, token, file, reason);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
        .split("as request ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .expect("request id")
        .to_string()
}

pub fn version_of(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn check_json(ctx: &TestContext, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["check", "--json"];
    all.extend_from_slice(args);
    let out = ctx.run(&all);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn managed_mode_decides_under_the_organisation_policy_only() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &broker_config_policy_admins(&ctx));
    // The requester's own policies all say anything goes.
    let permissive = "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n";
    std::fs::create_dir_all(ctx.work().join(".gate")).unwrap();
    std::fs::write(ctx.work().join(".gate/policy.toml"), permissive).unwrap();
    let own = ctx.write_private("own.toml", permissive);
    let before = check_json(&ctx, &["--", "curl", "https://example.com"]);
    assert_eq!(
        before["decision"], "allow",
        "unmanaged, the local policy decides"
    );
    manage(&ctx, &broker, "");
    let json = check_json(
        &ctx,
        &["--policy", own.to_str().unwrap(), "--", "curl", "x"],
    );
    assert_eq!(json["decision"], "deny", "{json}");
    assert_eq!(json["policy_version"], version_of(ORG_POLICY_DENY_CURL));
    let label = json["policy"].as_str().unwrap();
    assert!(label.contains("organisation policy"), "{label}");
    assert!(label.contains("--policy"), "{label}");
    assert!(label.contains("./.gate/policy.toml"), "{label}");
    // GATE_POLICY is ignored too, and `gate --` runs nothing it denies.
    let path = ctx.stand_ins(&["curl"]);
    let out = ctx
        .gate()
        .env("GATE_POLICY", &own)
        .env("PATH", &path)
        .args(["--", "curl", "https://example.com"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 100, "{}", stderr(&out));
    assert!(ctx.stand_ins_ran().is_empty());
    // An allowed command runs, and its records name the organisation policy.
    let out = ctx.run(&["--", "true"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let records = ctx.records();
    assert!(!records.is_empty());
    for record in &records {
        assert_eq!(
            record["policy_version"],
            version_of(ORG_POLICY_DENY_CURL),
            "{record}"
        );
    }
    // The broker's environment override is not the requester's to set either.
    let out = ctx
        .gate()
        .env("GATE_SERVER", "http://127.0.0.1:9")
        .args(["check", "--", "curl", "x"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("decision: deny"), "{}", stdout(&out));
}

#[test]
fn a_policy_whose_signature_does_not_verify_is_never_used() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &broker_config_policy_admins(&ctx));
    manage(&ctx, &broker, "refresh = \"0s\"\n");
    // Pin a key that is not the broker's.
    let other = TestContext::new();
    let impostor = Broker::start(
        &other,
        crate::support::fixtures::BROKER_CONFIG_SRE_ALICE_BOB_CAROL,
    );
    std::fs::write(ctx.home().join("../broker.pub"), impostor.pubkey_pem()).unwrap();
    let path = ctx.stand_ins(&["true"]);
    let out = ctx
        .gate()
        .env("PATH", &path)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("organisation policy"), "{err}");
    assert!(
        err.contains("does not verify with the pinned broker key"),
        "{err}"
    );
    assert!(ctx.stand_ins_ran().is_empty());
    // A forged cache file is refused the same way: nothing is used unverified.
    std::fs::write(ctx.home().join("../broker.pub"), broker.pubkey_pem()).unwrap();
    assert_eq!(code(&ctx.run(&["check", "--", "true"])), 0);
    let cache = ctx.home().join("cache/org-policy.toml");
    let text = std::fs::read_to_string(&cache).unwrap();
    let forged = text.replace("curl **", "nothing **");
    assert_ne!(text, forged);
    std::fs::write(&cache, forged).unwrap();
    drop(broker);
    let out = ctx.run(&["check", "--", "curl", "x"]);
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no cached policy"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unreachable_broker_means_the_cached_copy_until_max_age_then_nothing_runs() {
    let ctx = TestContext::new();
    let mut broker = Broker::start(&ctx, &broker_config_policy_admins(&ctx));
    manage(&ctx, &broker, "refresh = \"0s\"\nmax_age = \"1h\"\n");
    assert_eq!(check_json(&ctx, &["--", "curl", "x"])["decision"], "deny");
    broker.stop();
    let out = ctx.run(&["check", "--", "curl", "x"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("decision: deny"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("cannot be reached; deciding under the cached"),
        "{}",
        stderr(&out)
    );
    // Older than max_age: fail closed, saying why and what to do.
    manage(&ctx, &broker, "refresh = \"0s\"\nmax_age = \"1ms\"\n");
    let path = ctx.stand_ins(&["ls"]);
    let out = ctx
        .gate()
        .env("PATH", &path)
        .args(["--", "ls"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot be reached"), "{err}");
    assert!(err.contains("older than max_age"), "{err}");
    assert!(ctx.stand_ins_ran().is_empty());
}

#[test]
fn a_published_version_is_served_only_after_the_admins_approve_it() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &broker_config_policy_admins(&ctx));
    manage(&ctx, &broker, "refresh = \"0s\"\n");
    let next = ctx.write_private("next.toml", ORG_POLICY_DENY_CURL_AND_WGET);
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    let out = publish_output(&ctx, &broker.url(), &alice, &next, Some("block wget too"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("+match  = [\"curl **\", \"wget **\"]"),
        "the diff: {text}"
    );
    assert!(text.contains("-match  = \"curl **\""), "the diff: {text}");
    let id = text
        .split("as request ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .expect("request id")
        .to_string();
    // Until approved, the old version decides.
    assert_eq!(check_json(&ctx, &["--", "wget", "x"])["decision"], "allow");
    // The publisher cannot approve their own version.
    let own = ctx
        .gate()
        .args(["approve", &id, "--server", &broker.url(), "--token", &alice])
        .output()
        .unwrap();
    assert_ne!(code(&own), 0, "{}", stdout(&own));
    assert_eq!(check_json(&ctx, &["--", "wget", "x"])["decision"], "allow");
    let out = ctx
        .gate()
        .args(["approve", &id, "--server", &broker.url(), "--token", &bob])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        broker.log_has("is now in force (approved by bob)"),
        "{}",
        broker.log()
    );
    let json = check_json(&ctx, &["--", "wget", "x"]);
    assert_eq!(json["decision"], "deny", "{json}");
    assert_eq!(
        json["policy_version"],
        version_of(ORG_POLICY_DENY_CURL_AND_WGET)
    );
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    let last = ctx.records().pop().unwrap();
    assert_eq!(
        last["policy_version"],
        version_of(ORG_POLICY_DENY_CURL_AND_WGET)
    );
    // History: who published, who approved, what is in force.
    let out = ctx
        .gate()
        .args([
            "policy",
            "history",
            "--json",
            "--server",
            &broker.url(),
            "--token",
            &bob,
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let history: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        history["in_force"],
        version_of(ORG_POLICY_DENY_CURL_AND_WGET)
    );
    let newest = &history["versions"][0];
    assert_eq!(newest["state"], "active");
    assert_eq!(newest["published_by"], "alice");
    assert_eq!(newest["approved_by"], serde_json::json!(["bob"]));
    // The broker itself now decides under it too.
    let served = broker.get("/v1/policy", None);
    let payload: serde_json::Value =
        serde_json::from_str(served.body["payload"].as_str().unwrap()).unwrap();
    assert_eq!(
        payload["version"],
        version_of(ORG_POLICY_DENY_CURL_AND_WGET)
    );
}

#[test]
fn a_denied_publication_leaves_the_old_policy_in_force() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &broker_config_policy_admins(&ctx));
    manage(&ctx, &broker, "refresh = \"0s\"\n");
    let next = ctx.write_private("next.toml", ORG_POLICY_DENY_CURL_AND_WGET);
    let (alice, carol) = (broker.token("alice"), broker.token("carol"));
    let id = publish(&ctx, &broker.url(), &alice, &next, None);
    let out = ctx
        .gate()
        .args([
            "deny",
            &id,
            "--reason",
            "not now",
            "--server",
            &broker.url(),
            "--token",
            &carol,
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(broker.log_has("was not approved"), "{}", broker.log());
    let json = check_json(&ctx, &["--", "wget", "x"]);
    assert_eq!(json["decision"], "allow");
    assert_eq!(json["policy_version"], version_of(ORG_POLICY_DENY_CURL));
}

#[test]
fn only_a_person_can_publish_and_only_a_policy_that_passes_its_tests() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &broker_config_policy_admins(&ctx));
    // An agent with curl and no approver token.
    let body = serde_json::json!({ "text": "version = 1\ndefault = \"allow\"\n" }).to_string();
    let reply = broker.call("POST", "/v1/policy", None, Some(&body));
    assert_eq!(reply.status, 401, "{:?}", reply.body);
    // A policy whose own tests fail is refused by the broker too.
    let failing =
        "version = 1\ndefault = \"allow\"\n[[test]]\ncommand = \"rm x\"\nexpect = \"deny\"\n";
    let body = serde_json::json!({ "text": failing }).to_string();
    let reply = broker.call(
        "POST",
        "/v1/policy",
        Some(&broker.token("alice")),
        Some(&body),
    );
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tests fail")
    );
    // ... and by `gate policy publish` before it asks.
    let file = ctx.write_private("failing.toml", failing);
    let out = publish_output(&ctx, &broker.url(), "x", &file, None);
    assert_eq!(code(&out), 105, "{}", stderr(&out));
}
