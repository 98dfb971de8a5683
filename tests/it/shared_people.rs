//! People and groups written once: the broker takes them from the organisation
//! policy it decides under, broker.toml adds what only the broker needs (a Slack
//! id), and the two must agree. A published version that changes the people
//! changes who can approve once it is in force.

use crate::support::broker_support::{Broker, serve_command, write_config};
use crate::support::common::*;
use crate::support::fixtures::delete_payments_request;

/// The organisation's people, its groups and its rules: the one place they are written.
const ORG_POLICY_WITH_PEOPLE: &str = r#"
version = 1
default = "allow"
opaque = "approve"

[people.alice]
unix = "alice"
github = "alice-gh"

[people.bob]
unix = "robert"

[groups]
sre = ["alice", "bob"]

[approval]
approvers = ["group:sre"]

[[rule]]
name = "production changes"
action = "approve"
match = "kubectl ** delete **"
"#;

/// broker.toml without people of its own: it refers to the policy's group and
/// adds alice's Slack id.
const BROKER_REFERRING_TO_THE_POLICY: &str = r#"
version = 1

[people.alice]
slack = "U0ALICE"

[defaults]
approvers = ["group:sre"]

[policy]
file = "org-people.toml"
admins = ["group:sre"]
"#;

fn start(ctx: &TestContext) -> Broker {
    ctx.write_private("org-people.toml", ORG_POLICY_WITH_PEOPLE);
    Broker::start(ctx, BROKER_REFERRING_TO_THE_POLICY)
}

fn approvers(view: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(view["request"]["approvers"].clone()).unwrap()
}

#[test]
fn the_broker_knows_the_people_and_groups_the_policy_names() {
    let ctx = TestContext::new();
    let broker = start(&ctx);
    // bob is written only in the policy, and can sign in and vote.
    let bob = broker.token("bob");
    let (id, _, view) = broker.create(&delete_payments_request("carol"));
    assert_eq!(approvers(&view), ["alice", "bob"]);
    let reply = broker.decide(&id, &bob, "approve");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    // bob's login is the policy's ("robert"): his own request is not his to approve.
    let (_, _, own) = broker.create(&delete_payments_request("robert"));
    assert_eq!(approvers(&own), ["alice"]);
    // So is alice's GitHub login.
    let mut from_ci = delete_payments_request("runner");
    from_ci["requester"]["ci"] = serde_json::json!({"system": "github",
        "actor": "alice-gh", "repository": "acme/infra", "branch": "main",
        "commit": null, "url": null});
    let (_, _, view) = broker.create(&from_ci);
    assert_eq!(approvers(&view), ["bob"]);
    // Someone neither file names is still nobody.
    let out = broker.token_create("mallory");
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("people in the config: alice, bob"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn broker_toml_and_the_policy_must_agree() {
    let ctx = TestContext::new();
    ctx.write_private("org-people.toml", ORG_POLICY_WITH_PEOPLE);
    let config = write_config(
        &ctx,
        &format!("{BROKER_REFERRING_TO_THE_POLICY}\n[groups]\nsre = [\"alice\"]\n")
            .replace("slack = \"U0ALICE\"", "slack = \"U0ALICE\"\nunix = \"al\""),
    );
    let out = serve_command(&ctx.home(), &config, "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("people.alice.unix is \"al\" in broker.toml but \"alice\" in ")
            && err.contains("org-people.toml; write it in one place"),
        "{err}"
    );
    assert!(
        err.contains("group \"sre\" is [alice] in broker.toml but [alice, bob] in "),
        "{err}"
    );
}

#[test]
fn a_published_version_that_adds_a_person_lets_them_approve() {
    let ctx = TestContext::new();
    let broker = start(&ctx);
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    // dave is nobody yet.
    let out = broker.token_create("dave");
    assert_ne!(code(&out), 0, "{}", stdout(&out));

    let next = ORG_POLICY_WITH_PEOPLE.replace(
        "sre = [\"alice\", \"bob\"]",
        "sre = [\"alice\", \"bob\", \"dave\"]",
    );
    let next = ctx.write_private("next.toml", &next);
    let id = crate::org_policy::publish(&ctx, &broker.url(), &alice, &next, Some("dave joins"));
    let reply = broker.decide(&id, &bob, "approve");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert!(broker.log_has("is now in force"), "{}", broker.log());

    let dave = broker.token("dave");
    let (id, _, view) = broker.create(&delete_payments_request("carol"));
    assert_eq!(approvers(&view), ["alice", "bob", "dave"]);
    let reply = broker.decide(&id, &dave, "approve");
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    // A version that disagrees with broker.toml is refused when published.
    let clash = ORG_POLICY_WITH_PEOPLE.replace(
        "github = \"alice-gh\"",
        "github = \"alice-gh\"\nslack = \"U0OTHER\"",
    );
    let clash = ctx.write_private("clash.toml", &clash);
    let out = crate::org_policy::publish_output(&ctx, &broker.url(), &alice, &clash, Some("x"));
    assert_ne!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("people.alice.slack is \"U0ALICE\" in broker.toml but \"U0OTHER\""),
        "{}",
        stderr(&out)
    );
}
