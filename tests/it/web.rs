//! The broker's web approval pages (`/` and `/r/ID`) end to end: the real `gate
//! serve`, driven with plain HTTP and cookies set by hand, as a browser would.
//! What a real browser does with them (styles, the clock script, the CSP) is in
//! `browser`.

use crate::support::broker_support::Broker;
use crate::support::common::TestContext;
use crate::support::fixtures::{
    BROKER_CONFIG_SRE_ALICE_BOB_CAROL, BROKER_CONFIG_SRE_AND_DBA, delete_payments_request,
};
use crate::support::web_support::{
    assert_no_external_urls, csp_nonce, csrf, listed, open_landing, open_page, send, sign_in,
    sign_in_at, view,
};

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
    let nonce = csp_nonce(&page).expect("a pending request's page counts down");
    assert_eq!(
        page.header("content-security-policy"),
        format!(
            "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        )
    );
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "same-origin");
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
    assert!(!body.contains("<script>"), "unescaped markup: {body}");
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

/// The strict CSP of every page without the clock script.
const CSP_NO_SCRIPT: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

#[test]
fn the_landing_page_asks_an_anonymous_visitor_to_sign_in_under_the_strict_csp() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let page = open_landing(&broker, None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("content-security-policy"), CSP_NO_SCRIPT);
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "same-origin");
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert!(
        page.body
            .contains("<form method=\"post\" action=\"/signin\">"),
        "{}",
        page.body
    );
    assert!(page.body.contains("name=\"token\""), "{}", page.body);
    assert!(!page.body.contains("<script"), "{}", page.body);
    assert!(!page.body.contains(&id), "nothing listed before sign-in");
    assert_no_external_urls(&page.body);

    // The same token rules as a request's sign-in: a bad one gets no session.
    let _bob = broker.token("bob");
    for token in ["gate_not-a-real-token", ""] {
        let form = [("token", token)];
        let refused = send(&broker, "POST", "/signin", None, Some(&form), None);
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert_eq!(refused.header("set-cookie"), "");
        assert!(refused.body.contains("not a valid approver token"));
        assert!(
            refused.body.contains("action=\"/signin\""),
            "{}",
            refused.body
        );
    }
    let form = [("token", "x")];
    let foreign = send(
        &broker,
        "POST",
        "/signin",
        None,
        Some(&form),
        Some("https://evil.example"),
    );
    assert_eq!(foreign.status, 403, "{}", foreign.body);

    // Unknown paths are still not found.
    for path in ["/nope", &format!("/r/{id}/nope"), "/r/"] {
        let missing = send(&broker, "GET", path, None, None, None);
        assert_eq!(missing.status, 404, "{path}: {}", missing.body);
    }
}

#[test]
fn the_landing_page_lists_exactly_the_requests_the_person_may_still_vote_on() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_AND_DBA);
    let (bob, alice) = (broker.token("bob"), broker.token("alice"));
    let mut waiting = delete_payments_request("dave");
    waiting["argv"] = serde_json::json!(["psql", "-c", "<b>drop</b>"]);
    let (open, _, _) = broker.create(&waiting);
    let mut sre = delete_payments_request("bob");
    sre["approvers"] = serde_json::json!(["group:sre"]);
    let (own, _, _) = broker.create(&sre);
    let mut two = delete_payments_request("dave");
    two["quorum"] = 2.into();
    let (voted, _, _) = broker.create(&two);
    assert_eq!(broker.decide(&voted, &bob, "approve").status, 200);
    let (decided, _, _) = broker.create(&delete_payments_request("dave"));
    assert_eq!(broker.decide(&decided, &alice, "approve").status, 200);
    let mut dba = delete_payments_request("dave");
    dba["approvers"] = serde_json::json!(["group:dba"]);
    let (other_group, _, _) = broker.create(&dba);
    assert_eq!(view(&broker, &voted, &bob)["status"], "pending");
    assert_eq!(view(&broker, &other_group, &bob)["status"], "pending");

    let cookie = sign_in_at(&broker, "/signin", &bob);
    let page = open_landing(&broker, Some(&cookie));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(listed(&page), vec![open.clone()], "{}", page.body);
    for fact in [
        "Signed in as <b>bob</b>",
        "action=\"/signout\"",
        "dave@build-1",
        "psql -c &#39;&lt;b&gt;drop&lt;/b&gt;&#39;",
        "production changes",
        "data-expires=",
    ] {
        assert!(
            page.body.contains(fact),
            "missing {fact:?} in {}",
            page.body
        );
    }
    assert!(!page.body.contains("<b>drop"), "{}", page.body);
    let nonce = csp_nonce(&page).expect("the times left count down");
    assert!(page.body.contains(&format!("<script nonce=\"{nonce}\">")));
    assert_no_external_urls(&page.body);

    // alice has not voted on `voted` and did not ask for `own`: both wait for her.
    let alice_cookie = sign_in_at(&broker, "/signin", &alice);
    let mut for_alice = listed(&open_landing(&broker, Some(&alice_cookie)));
    for_alice.sort();
    let mut expected = vec![open.clone(), own, voted];
    expected.sort();
    assert_eq!(for_alice, expected);

    // Once bob has decided, nothing waits for him, and the page has no script.
    let form = [("verdict", "approve"), ("csrf", &csrf(&page))];
    let path = format!("/r/{open}/decision");
    let decided = send(&broker, "POST", &path, Some(&cookie), Some(&form), None);
    assert_eq!(decided.status, 303, "{}", decided.body);
    let empty = open_landing(&broker, Some(&cookie));
    assert!(listed(&empty).is_empty(), "{}", empty.body);
    assert!(
        empty.body.contains("Nothing is waiting for your decision."),
        "{}",
        empty.body
    );
    assert_eq!(empty.header("content-security-policy"), CSP_NO_SCRIPT);
    assert!(!empty.body.contains("<script"), "{}", empty.body);
}

#[test]
fn one_sign_in_serves_the_landing_page_and_every_request_page() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, _, _) = broker.create(&delete_payments_request("dave"));

    let signed_in = send(
        &broker,
        "POST",
        "/signin",
        None,
        Some(&[("token", &bob)]),
        None,
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.header("location"), format!("{}/", broker.url()));
    let from_landing = sign_in_at(&broker, "/signin", &bob);
    let page = open_page(&broker, &id, &from_landing);
    assert!(
        page.body.contains("Signed in as <b>bob</b>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"approve\""), "{}", page.body);

    let from_request = sign_in(&broker, &id, &bob);
    let landing = open_landing(&broker, Some(&from_request));
    assert_eq!(listed(&landing), vec![id.clone()], "{}", landing.body);

    // Signing out on the landing page ends the session everywhere.
    let token = csrf(&landing);
    let stale = send(
        &broker,
        "POST",
        "/signout",
        Some(&from_request),
        Some(&[("csrf", "0")]),
        None,
    );
    assert_eq!(stale.status, 403, "{}", stale.body);
    let out = send(
        &broker,
        "POST",
        "/signout",
        Some(&from_request),
        Some(&[("csrf", &token)]),
        None,
    );
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.header("location"), format!("{}/", broker.url()));
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    let page = open_page(&broker, &id, &from_request);
    assert!(
        page.body.contains("name=\"token\""),
        "signed out: {}",
        page.body
    );
    let landing = open_landing(&broker, Some(&from_request));
    assert!(
        landing.body.contains("action=\"/signin\""),
        "{}",
        landing.body
    );
    // The other session is still there.
    let page = open_page(&broker, &id, &from_landing);
    assert!(
        page.body.contains("Signed in as <b>bob</b>"),
        "{}",
        page.body
    );
}

#[test]
fn only_a_pending_request_page_carries_the_script_with_a_fresh_nonce() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let cookie = sign_in(&broker, &id, &bob);

    let mut nonces = Vec::new();
    for _ in 0..3 {
        let page = open_page(&broker, &id, &cookie);
        let nonce = csp_nonce(&page).expect("a nonce for the clock");
        assert!(nonce.len() >= 22, "{nonce}");
        assert_eq!(page.body.matches("<script").count(), 1, "{}", page.body);
        assert!(
            page.body.contains(&format!("<script nonce=\"{nonce}\">")),
            "{}",
            page.body
        );
        assert!(page.body.contains("data-expires="), "{}", page.body);
        assert!(page.body.contains("data-decide="), "{}", page.body);
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a fresh nonce for every response");

    // The sign-in form and a decided request need no script and allow none.
    let anonymous = send(&broker, "GET", &format!("/r/{id}"), None, None, None);
    assert_eq!(anonymous.header("content-security-policy"), CSP_NO_SCRIPT);
    assert!(!anonymous.body.contains("<script"));
    let form = [
        ("verdict", "approve"),
        ("csrf", &csrf(&open_page(&broker, &id, &cookie))),
    ];
    let path = format!("/r/{id}/decision");
    assert_eq!(
        send(&broker, "POST", &path, Some(&cookie), Some(&form), None).status,
        303
    );
    let decided = open_page(&broker, &id, &cookie);
    assert_eq!(decided.header("content-security-policy"), CSP_NO_SCRIPT);
    assert!(!decided.body.contains("<script"), "{}", decided.body);
    assert!(!decided.body.contains("data-expires"), "{}", decided.body);
    let missing = send(&broker, "GET", "/r/0000", Some(&cookie), None, None);
    assert_eq!(missing.header("content-security-policy"), CSP_NO_SCRIPT);
}
