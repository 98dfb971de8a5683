//! The broker's web approval page (`/r/ID`) end to end: the real `gate serve`,
//! driven with plain HTTP and cookies set by hand, as a browser would.

use crate::support::broker_support::Broker;
use crate::support::common::TestContext;
use crate::support::fixtures::{BROKER_CONFIG_SRE_ALICE_BOB_CAROL, delete_payments_request};
use crate::support::web_support::{assert_no_external_urls, csrf, open_page, send, sign_in, view};

#[test]
fn signing_in_sets_a_strict_session_cookie_and_shows_the_request() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let mut new = delete_payments_request("dave");
    new["argv"] = serde_json::json!(["sh", "-c", "<script>alert(1)</script>"]);
    new["reason"] = "ticket OPS-7 & <b>urgent</b>".into();
    new["requester"]["ci"] = serde_json::json!({"system": "github", "actor": "dave-gh",
        "repository": "acme/infra", "branch": "main", "commit": null,
        "url": "https://github.com/acme/infra/actions/runs/1"});
    new["requester"]["agent"] = serde_json::json!({"name": "claude-code", "session": "s-42"});
    let (id, _, _) = broker.create(&new);

    let anonymous = send(&broker, "GET", &format!("/r/{id}"), None, None, None);
    assert_eq!(anonymous.status, 200);
    assert!(
        anonymous.body.contains("name=\"token\""),
        "{}",
        anonymous.body
    );
    assert!(
        !anonymous.body.contains("alert"),
        "no context before sign-in"
    );

    let page = send(
        &broker,
        "POST",
        &format!("/r/{id}/signin"),
        None,
        Some(&[("token", &bob)]),
        None,
    );
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), format!("{}/r/{id}", broker.url()));
    let cookie = page.header("set-cookie");
    let value = cookie.strip_prefix("gate_session=").unwrap();
    let value = value.split(';').next().unwrap();
    assert_eq!(value.len(), 64, "{cookie}");
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http public_url: {cookie}"
    );

    let page = open_page(&broker, &id, value);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    );
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(page.header("cache-control"), "no-store");
    let body = &page.body;
    for fact in [
        "Signed in as <b>bob</b>",
        "dave@build-1",
        "CI github",
        "actor dave-gh",
        "https://github.com/acme/infra/actions/runs/1",
        "agent claude-code session s-42",
        "<code>/srv</code>",
        "production changes",
        "production needs a second pair of eyes",
        "ticket OPS-7 &amp; &lt;b&gt;urgent&lt;/b&gt;",
        "alice, bob, carol",
        "0 of 1 approvals",
        "<span class=\"status pending\">pending</span>",
        "(expires ",
        "value=\"approve\"",
        "value=\"deny\"",
    ] {
        assert!(body.contains(fact), "missing {fact:?} in {body}");
    }
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );
    assert!(!body.contains("<script"), "unescaped markup: {body}");
    assert!(!body.contains("<b>urgent"), "{body}");
    assert_no_external_urls(body);
}

#[test]
fn a_bad_token_is_refused_and_gets_no_session() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let _bob = broker.token("bob");
    let (id, requester, _) = broker.create(&delete_payments_request("dave"));
    for token in ["gate_not-a-real-token", "", &requester] {
        let page = send(
            &broker,
            "POST",
            &format!("/r/{id}/signin"),
            None,
            Some(&[("token", token)]),
            None,
        );
        assert_eq!(page.status, 401, "{token}: {}", page.body);
        assert_eq!(page.header("set-cookie"), "");
        assert!(
            page.body.contains("not a valid approver token"),
            "{}",
            page.body
        );
    }
    let forged = send(
        &broker,
        "GET",
        &format!("/r/{id}"),
        Some(&"ab".repeat(32)),
        None,
        None,
    );
    assert!(
        forged.body.contains("name=\"token\""),
        "a made-up cookie is no session"
    );
    assert!(!broker.log().contains(&requester));
}

#[test]
fn approving_with_the_form_decides_through_the_web_channel() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, requester, _) = broker.create(&delete_payments_request("dave"));
    let cookie = sign_in(&broker, &id, &bob);
    let page = open_page(&broker, &id, &cookie);
    let token = csrf(&page);
    assert_eq!(token.len(), 64);

    let decided = send(
        &broker,
        "POST",
        &format!("/r/{id}/decision"),
        Some(&cookie),
        Some(&[
            ("verdict", "approve"),
            ("reason", "checked the ticket"),
            ("csrf", &token),
        ]),
        Some(&broker.url()),
    );
    assert_eq!(decided.status, 303, "{}", decided.body);
    assert_eq!(
        decided.header("location"),
        format!("{}/r/{id}", broker.url())
    );

    let seen = view(&broker, &id, &requester);
    assert_eq!(seen["status"], "approved");
    assert_eq!(seen["votes"][0]["person"], "bob");
    assert_eq!(seen["votes"][0]["channel"], "web");
    assert_eq!(seen["votes"][0]["reason"], "checked the ticket");
    assert!(broker.log_has(&format!("vote {id}: bob approve via web")));

    // Decided: the outcome, and no forms to vote with.
    let page = open_page(&broker, &id, &cookie);
    assert!(
        page.body
            .contains("<span class=\"status approved\">approved</span>")
    );
    assert!(
        page.body.contains("<b>bob</b> approved via web"),
        "{}",
        page.body
    );
    assert!(page.body.contains("checked the ticket"));
    assert!(!page.body.contains("value=\"approve\""), "{}", page.body);
    assert!(!page.body.contains("/decision"), "{}", page.body);

    // A second vote on the decided request: 409 on the page.
    let again = send(
        &broker,
        "POST",
        &format!("/r/{id}/decision"),
        Some(&cookie),
        Some(&[
            ("verdict", "deny"),
            ("reason", "too late"),
            ("csrf", &token),
        ]),
        None,
    );
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already approved"), "{}", again.body);
}

#[test]
fn a_deny_without_a_reason_is_refused_on_the_page() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let cookie = sign_in(&broker, &id, &bob);
    let token = csrf(&open_page(&broker, &id, &cookie));
    let path = format!("/r/{id}/decision");
    for reason in ["", "  \n "] {
        let form = [("verdict", "deny"), ("reason", reason), ("csrf", &token)];
        let refused = send(&broker, "POST", &path, Some(&cookie), Some(&form), None);
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.body.contains("A deny needs a reason"),
            "{}",
            refused.body
        );
        assert!(
            refused.body.contains("value=\"deny\""),
            "the form is still there"
        );
    }
    assert_eq!(view(&broker, &id, &bob)["status"], "pending");

    let form = [
        ("verdict", "deny"),
        ("reason", "not today"),
        ("csrf", &token),
    ];
    let denied = send(&broker, "POST", &path, Some(&cookie), Some(&form), None);
    assert_eq!(denied.status, 303, "{}", denied.body);
    assert_eq!(view(&broker, &id, &bob)["status"], "denied");
}

#[test]
fn a_missing_or_wrong_csrf_token_or_foreign_origin_decides_nothing() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, requester, _) = broker.create(&delete_payments_request("dave"));
    let cookie = sign_in(&broker, &id, &bob);
    let page = open_page(&broker, &id, &cookie);
    let token = csrf(&page);
    let path = format!("/r/{id}/decision");

    let missing = send(
        &broker,
        "POST",
        &path,
        Some(&cookie),
        Some(&[("verdict", "approve")]),
        None,
    );
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(
        missing.body.contains("nothing was decided"),
        "{}",
        missing.body
    );
    let wrong = "0".repeat(64);
    let forged = [("verdict", "approve"), ("csrf", wrong.as_str())];
    let wrong = send(&broker, "POST", &path, Some(&cookie), Some(&forged), None);
    assert_eq!(wrong.status, 403);

    let good = [("verdict", "approve"), ("csrf", token.as_str())];
    for origin in ["https://evil.example", "null", "http://127.0.0.1:1"] {
        let foreign = send(
            &broker,
            "POST",
            &path,
            Some(&cookie),
            Some(&good),
            Some(origin),
        );
        assert_eq!(foreign.status, 403, "{origin}: {}", foreign.body);
        assert!(foreign.body.contains("another site"), "{}", foreign.body);
    }
    let no_session = send(&broker, "POST", &path, None, Some(&good), None);
    assert_eq!(no_session.status, 401);

    let seen = view(&broker, &id, &requester);
    assert_eq!(seen["status"], "pending");
    assert_eq!(seen["votes"], serde_json::json!([]));
}

#[test]
fn the_requester_cannot_approve_their_own_request_on_the_page() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let carol = broker.token("carol");
    // carol's login is cbrown: this is her own request.
    let (id, requester, _) = broker.create(&delete_payments_request("cbrown"));
    let cookie = sign_in(&broker, &id, &carol);
    let page = open_page(&broker, &id, &cookie);
    assert!(page.body.contains("your own request"), "{}", page.body);
    assert!(!page.body.contains("value=\"approve\""), "{}", page.body);

    let token = csrf(&page);
    let tried = send(
        &broker,
        "POST",
        &format!("/r/{id}/decision"),
        Some(&cookie),
        Some(&[("verdict", "approve"), ("csrf", &token)]),
        Some(&broker.url()),
    );
    assert_eq!(tried.status, 403, "{}", tried.body);
    assert!(
        tried.body.contains("cbrown") || tried.body.contains("carol"),
        "{}",
        tried.body
    );
    assert_eq!(view(&broker, &id, &requester)["status"], "pending");
}

#[test]
fn signing_out_ends_the_session() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let cookie = sign_in(&broker, &id, &bob);
    let page = open_page(&broker, &id, &cookie);
    let token = csrf(&page);
    let out = send(
        &broker,
        "POST",
        &format!("/r/{id}/signout"),
        Some(&cookie),
        Some(&[("csrf", &token)]),
        None,
    );
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    let page = open_page(&broker, &id, &cookie);
    assert!(
        page.body.contains("name=\"token\""),
        "signed out: {}",
        page.body
    );
}

#[test]
fn an_https_public_url_makes_the_cookie_secure() {
    let ctx = TestContext::new();
    let config = BROKER_CONFIG_SRE_ALICE_BOB_CAROL.replace(
        "version = 1\n",
        "version = 1\npublic_url = \"https://gate.example.com\"\n",
    );
    let broker = Broker::start(&ctx, &config);
    let bob = broker.token("bob");
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let page = send(
        &broker,
        "POST",
        &format!("/r/{id}/signin"),
        None,
        Some(&[("token", &bob)]),
        Some("https://gate.example.com"),
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        page.header("set-cookie").ends_with("; Secure"),
        "{}",
        page.header("set-cookie")
    );
    assert_eq!(
        page.header("location"),
        format!("https://gate.example.com/r/{id}")
    );
}

#[test]
fn someone_who_is_not_an_approver_sees_why_and_cannot_vote() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let mut new = delete_payments_request("dave");
    new["approvers"] = serde_json::json!(["alice"]);
    let (id, requester, _) = broker.create(&new);
    let cookie = sign_in(&broker, &id, &bob);
    let page = open_page(&broker, &id, &cookie);
    assert!(
        page.body.contains("bob is not an approver"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("value=\"approve\""), "{}", page.body);
    let form = [("verdict", "approve"), ("csrf", &csrf(&page))];
    let path = format!("/r/{id}/decision");
    let tried = send(&broker, "POST", &path, Some(&cookie), Some(&form), None);
    assert_eq!(tried.status, 403, "{}", tried.body);
    assert!(tried.body.contains("not an approver"), "{}", tried.body);
    assert_eq!(
        view(&broker, &id, &requester)["votes"],
        serde_json::json!([])
    );

    let unknown = send(
        &broker,
        "GET",
        &format!("/r/{}", "0".repeat(32)),
        Some(&cookie),
        None,
        None,
    );
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body.contains("No request has this id"),
        "{}",
        unknown.body
    );
}

#[test]
fn an_id_that_could_redirect_the_forms_elsewhere_is_not_found() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    for path in ["/r/%2F%2Fevil.example", "/r/..%2F..%2Fx", "/r/a%22b"] {
        let page = send(&broker, "GET", path, None, None, None);
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert!(!page.body.contains("evil.example"), "{}", page.body);
        assert!(!page.body.contains("<form"), "{}", page.body);
        assert_eq!(page.header("cache-control"), "no-store");
    }
}
