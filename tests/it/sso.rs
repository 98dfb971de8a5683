//! Single sign-on to the web pages (`[sso]`) end to end, against a real OpenID
//! provider (npm `oidc-provider`, tests/fixtures/sso/provider.mjs) and the real
//! `gate serve`, driven by an HTTP agent that keeps cookies and follows the
//! redirects a browser follows, and once by headless Chromium
//! (tests/python/browse_sso.py) with the provider on another site.

use crate::support::broker_support::Broker;
use crate::support::common::TestContext;
use crate::support::fixtures::{BROKER_CONFIG_SRE_ALICE_BOB_CAROL, delete_payments_request};
use crate::support::sso_provider::{Agent, CLIENT_SECRET, Provider, query_param};
use crate::support::web_support::{csrf, send, view};

/// alice (alice@example.com, sub alice-sub) and bob approve; sign-in with SSO
/// through `issuer`, the secret in GATE_SSO_SECRET, people found by `claim`.
fn config(issuer: &str, claim: &str) -> String {
    format!(
        r#"version = 1
[people.alice]
email = "alice@example.com"
oidc = "alice-sub"
[people.bob]
email = "bob@example.com"
[groups]
sre = ["alice", "bob"]
[defaults]
approvers = ["group:sre"]
[sso]
issuer = "{issuer}"
client_id = "gate"
client_secret_env = "GATE_SSO_SECRET"
claim = "{claim}"
"#
    )
}

/// A provider and a broker signing in through it.
fn setup(ctx: &TestContext, claim: &str) -> (Provider, Broker) {
    serving(Provider::start(), ctx, claim)
}

/// A broker signing in through `provider`.
fn serving(mut provider: Provider, ctx: &TestContext, claim: &str) -> (Provider, Broker) {
    let broker = Broker::start_with_env(
        ctx,
        &config(&provider.issuer(), claim),
        &[("GATE_SSO_SECRET", CLIENT_SECRET)],
    );
    provider.serve(&format!("{}/sso/callback", broker.url()));
    (provider, broker)
}

/// Start signing in at the broker with `next` and follow the provider's
/// redirects up to the broker's callback: the callback URL, not opened.
fn until_callback(agent: &mut Agent, broker: &Broker, next: &str) -> String {
    let login = format!("{}/sso/login?next={}", broker.url(), next);
    agent.follow_until(&login, &format!("{}/sso/callback", broker.url()))
}

#[test]
fn alice_signs_in_with_sso_and_approves_a_request() {
    let ctx = TestContext::new();
    let (provider, broker) = setup(&ctx, "email");
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let mut agent = Agent::new();

    let form = agent.get(&format!("{}/r/{id}", broker.url()));
    assert!(
        form.body.contains(&format!(
            "href=\"/sso/login?next=%2Fr%2F{id}\">Sign in with SSO</a>"
        )),
        "{}",
        form.body
    );

    let landing = agent.get(&format!("{}/", broker.url()));
    assert!(
        landing
            .body
            .contains("href=\"/sso/login?next=%2F\">Sign in with SSO</a>"),
        "{}",
        landing.body
    );

    let login = agent.get(&format!("{}/sso/login?next=/r/{id}", broker.url()));
    assert_eq!(login.status, 303, "{}", login.body);
    let to_provider = login.header("location").to_string();
    assert!(to_provider.starts_with(&format!("{}/auth?", provider.issuer())));
    for (name, expected) in [
        ("response_type", Some("code".to_string())),
        ("client_id", Some("gate".to_string())),
        ("code_challenge_method", Some("S256".to_string())),
        (
            "redirect_uri",
            Some(format!("{}/sso/callback", broker.url())),
        ),
        ("scope", Some("openid email profile".to_string())),
    ] {
        assert_eq!(query_param(&to_provider, name), expected, "{name}");
    }
    for name in ["state", "nonce", "code_challenge"] {
        assert!(query_param(&to_provider, name).is_some_and(|v| v.len() >= 43));
    }
    let prelogin = login.set_cookies().join("\n");
    for flag in [
        "gate_sso=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/sso/",
        "Max-Age=600",
    ] {
        assert!(prelogin.contains(flag), "{flag} missing: {prelogin}");
    }

    let callback = agent.follow_until(&to_provider, &format!("{}/sso/callback", broker.url()));
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    let signed_in = agent.get(&callback);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert!(
        signed_in.body.contains("signed in as alice"),
        "{}",
        signed_in.body
    );
    assert!(
        signed_in.body.contains(&format!(
            "http-equiv=\"refresh\" content=\"0; url=/r/{id}\""
        )),
        "{}",
        signed_in.body
    );
    let session = signed_in.set_cookies().join("\n");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(
        session.contains("gate_sso=;"),
        "the pre-login cookie is dropped: {session}"
    );
    let cookie = signed_in.cookie("gate_session").expect("a session");

    let page = agent.get(&format!("{}/r/{id}", broker.url()));
    assert!(
        page.body.contains("Signed in as <b>alice</b>"),
        "{}",
        page.body
    );
    let landing = agent.get(&format!("{}/", broker.url()));
    assert!(
        landing.body.contains("Signed in as <b>alice</b>"),
        "one session for / too"
    );

    let token = csrf(&page_with_cookie(&broker, &id, &cookie));
    let vote = send(
        &broker,
        "POST",
        &format!("/r/{id}/decision"),
        Some(&cookie),
        Some(&[("verdict", "approve"), ("csrf", &token)]),
        Some(&broker.url()),
    );
    assert_eq!(vote.status, 303, "{}", vote.body);
    let approver = broker.token("bob");
    let request = view(&broker, &id, &approver);
    assert_eq!(request["status"], "approved", "{request}");
    assert_eq!(request["votes"][0]["person"], "alice", "{request}");
    assert_eq!(request["votes"][0]["channel"], "web", "{request}");

    let log = broker.log();
    assert!(log.contains("alice signed in with single sign-on"), "{log}");
    let code = query_param(&callback, "code").unwrap();
    for secret in [CLIENT_SECRET, code.as_str(), cookie.as_str()] {
        assert!(!log.contains(secret), "the log shows a secret: {log}");
        for body in [&form.body, &login.body, &signed_in.body, &page.body] {
            assert!(!body.contains(secret), "a page shows a secret: {body}");
        }
    }
}

fn page_with_cookie(broker: &Broker, id: &str, cookie: &str) -> crate::support::web_support::Page {
    send(broker, "GET", &format!("/r/{id}"), Some(cookie), None, None)
}

#[test]
fn a_replayed_or_forged_callback_signs_nobody_in() {
    let ctx = TestContext::new();
    let (_provider, broker) = setup(&ctx, "sub");
    let mut agent = Agent::new();

    // Replayed: the same callback twice, even with the pre-login cookie kept.
    let callback = until_callback(&mut agent, &broker, "/");
    let kept = agent
        .cookie(&broker.url(), "gate_sso")
        .expect("a pre-login cookie");
    let first = agent.get(&callback);
    assert_eq!(first.status, 200, "{}", first.body);
    agent.set_cookie(&broker.url(), "gate_sso", &kept);
    let replayed = agent.get(&callback);
    assert_eq!(replayed.status, 400, "{}", replayed.body);
    assert!(replayed.body.contains("already used"), "{}", replayed.body);
    assert_eq!(replayed.cookie("gate_session"), None);

    // Forged state: refused, and the sign-in it named is spent.
    let mut agent = Agent::new();
    let callback = until_callback(&mut agent, &broker, "/");
    let state = query_param(&callback, "state").unwrap();
    let forged = callback.replace(&format!("state={state}"), "state=forged-state");
    assert_ne!(forged, callback);
    let refused = agent.get(&forged);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("(state)"), "{}", refused.body);
    assert_eq!(refused.cookie("gate_session"), None);
    let late = agent.get(&callback);
    assert_eq!(late.status, 400, "{}", late.body);
    assert_eq!(late.cookie("gate_session"), None);

    // A callback in a browser that never started a sign-in (login CSRF).
    let mut victim = Agent::new();
    let mut attacker = Agent::new();
    let callback = until_callback(&mut attacker, &broker, "/");
    let planted = victim.get(&callback);
    assert_eq!(planted.status, 400, "{}", planted.body);
    assert_eq!(planted.cookie("gate_session"), None);

    // A code the provider issued to another client, with this sign-in's state
    // and PKCE challenge: the broker redeems it as `gate`, which the provider refuses.
    let mut agent = Agent::new();
    let login = agent.get(&format!("{}/sso/login", broker.url()));
    let to_provider = login
        .header("location")
        .replace("client_id=gate", "client_id=other");
    let callback = agent.follow_until(&to_provider, &format!("{}/sso/callback", broker.url()));
    let refused = agent.get(&callback);
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert_eq!(refused.cookie("gate_session"), None);
    assert!(broker.log_has("refused the code"), "{}", broker.log());
}

#[test]
fn an_unknown_or_refused_account_gets_no_session() {
    let ctx = TestContext::new();
    let (_provider, broker) = setup(&ctx, "email");

    let mut mallory = Agent::new();
    mallory.login_as = "mallory-sub".into();
    let callback = until_callback(&mut mallory, &broker, "/");
    let refused = mallory.get(&callback);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("mallory@example.com is not a person of this broker"),
        "{}",
        refused.body
    );
    assert_eq!(refused.cookie("gate_session"), None);
    let landing = mallory.get(&format!("{}/", broker.url()));
    assert!(landing.body.contains("name=\"token\""), "still signed out");

    let mut denied = Agent::new();
    denied.login_as = "deny".into();
    let callback = until_callback(&mut denied, &broker, "/");
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("access_denied")
    );
    let page = denied.get(&callback);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("cancelled or the provider denied it"),
        "{}",
        page.body
    );
    assert_eq!(page.cookie("gate_session"), None);
}

#[test]
fn an_email_only_at_the_userinfo_endpoint_still_finds_alice() {
    let ctx = TestContext::new();
    let (_provider, broker) = serving(Provider::start_with_claims_in_userinfo(), &ctx, "email");
    let mut agent = Agent::new();
    let callback = until_callback(&mut agent, &broker, "/");
    let signed_in = agent.get(&callback);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert!(
        signed_in.body.contains("signed in as alice"),
        "{}",
        signed_in.body
    );

    let mut mallory = Agent::new();
    mallory.login_as = "mallory-sub".into();
    let callback = until_callback(&mut mallory, &broker, "/");
    let refused = mallory.get(&callback);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.cookie("gate_session"), None);
}

#[test]
fn a_sign_in_never_leads_to_another_site() {
    let ctx = TestContext::new();
    let (_provider, broker) = setup(&ctx, "sub");
    for next in [
        "//evil.example",
        "https://evil.example/",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
    ] {
        let mut agent = Agent::new();
        let callback = until_callback(&mut agent, &broker, next);
        let signed_in = agent.get(&callback);
        assert_eq!(signed_in.status, 200, "{next}: {}", signed_in.body);
        assert!(
            signed_in.body.contains("content=\"0; url=/\""),
            "{next}: {}",
            signed_in.body
        );
        assert!(
            !signed_in.body.contains("evil"),
            "{next}: {}",
            signed_in.body
        );
    }
}

#[test]
fn a_provider_that_names_another_issuer_or_a_wrong_secret_signs_nobody_in() {
    let ctx = TestContext::new();
    let mut provider = Provider::start();
    // The provider calls itself 127.0.0.1: a broker told "localhost" must not trust it.
    let localhost = format!("http://localhost:{}", provider.port);
    let broker = Broker::start_with_env(
        &ctx,
        &config(&localhost, "email"),
        &[("GATE_SSO_SECRET", CLIENT_SECRET)],
    );
    provider.serve(&format!("{}/sso/callback", broker.url()));
    let mut agent = Agent::new();
    let page = agent.get(&format!("{}/sso/login", broker.url()));
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(
        page.body.contains("cannot be reached or is misconfigured"),
        "{}",
        page.body
    );
    assert!(broker.log_has("names issuer"), "{}", broker.log());

    let ctx = TestContext::new();
    let mut provider = Provider::start();
    let broker = Broker::start_with_env(
        &ctx,
        &config(&provider.issuer(), "email"),
        &[("GATE_SSO_SECRET", "not-the-secret")],
    );
    provider.serve(&format!("{}/sso/callback", broker.url()));
    let mut agent = Agent::new();
    let callback = until_callback(&mut agent, &broker, "/");
    let refused = agent.get(&callback);
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert!(refused.body.contains("invalid_client"), "{}", refused.body);
    assert_eq!(refused.cookie("gate_session"), None);
    assert!(!broker.log().contains("not-the-secret"), "{}", broker.log());
}

#[test]
fn without_sso_the_form_offers_only_tokens() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let landing = send(&broker, "GET", "/", None, None, None);
    assert!(landing.body.contains("name=\"token\""), "{}", landing.body);
    assert!(!landing.body.contains("SSO"), "{}", landing.body);
    for path in ["/sso/login?next=/", "/sso/callback?code=x&state=y"] {
        let page = send(&broker, "GET", path, None, None, None);
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert!(page.body.contains("not configured"), "{}", page.body);
    }
}

#[test]
fn the_broker_refuses_to_start_without_the_client_secret() {
    let ctx = TestContext::new();
    let config = crate::support::broker_support::write_config(
        &ctx,
        &config("https://login.example.com", "email"),
    );
    let out = crate::support::broker_support::serve_command(&ctx.home(), &config, "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("environment variable GATE_SSO_SECRET is not set"),
        "{text}"
    );
}

#[test]
fn a_real_browser_signs_in_with_sso_across_sites_and_approves() {
    let ctx = TestContext::new();
    crate::browser::require_browser(&ctx);
    let (provider, broker) = serving(Provider::start_as_localhost(), &ctx, "sub");
    let (id, requester, _) = broker.create(&delete_payments_request("dave"));
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-sso");
    let seen = crate::browser::browse(&ctx, "browse_sso.py", &[&broker.url(), &id], &shots, &[]);
    assert!(
        seen["signed_in"]
            .as_str()
            .unwrap()
            .contains("Signed in as alice"),
        "{seen}"
    );
    let visited: Vec<&str> = seen["visited"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|url| url.as_str())
        .collect();
    // Redirects are not documents: the provider shows in the callback's `iss`.
    let callback = visited
        .iter()
        .find(|url| url.starts_with(&format!("{}/sso/callback", broker.url())))
        .unwrap_or_else(|| panic!("no callback: {visited:?}"));
    assert_eq!(
        crate::support::sso_provider::query_param(callback, "iss"),
        Some(provider.issuer()),
        "{visited:?}"
    );
    assert_eq!(seen["session_same_site"], "Strict", "{seen}");
    assert_eq!(seen["prelogin_left"], false, "{seen}");
    let decided = view(&broker, &id, &requester);
    assert_eq!(decided["status"], "approved", "{decided}");
    assert_eq!(decided["votes"][0]["person"], "alice", "{decided}");
    assert_eq!(
        decided["votes"][0]["reason"], "signed in with SSO",
        "{decided}"
    );
}
