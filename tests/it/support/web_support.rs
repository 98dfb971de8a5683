//! A browser for the approval page in tests: plain HTTP against a real broker,
//! no redirects followed, cookies set by hand, forms URL-encoded.

use crate::support::broker_support::Broker;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::Duration;

/// One HTTP answer from the page.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Send one request; no redirects followed, no cookie jar.
pub fn send(
    broker: &Broker,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
    origin: Option<&str>,
) -> Page {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut call = http.request(method, format!("{}{path}", broker.url()));
    if let Some(cookie) = cookie {
        call = call.header("cookie", format!("gate_session={cookie}"));
    }
    if let Some(origin) = origin {
        call = call.header("origin", origin);
    }
    if let Some(form) = form {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        call = call
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
    }
    runtime.block_on(async {
        let response = call.send().await.expect("the broker answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    })
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sign in with `token` on request `id`; the session cookie value.
pub fn sign_in(broker: &Broker, id: &str, token: &str) -> String {
    sign_in_at(broker, &format!("/r/{id}/signin"), token)
}

/// Sign in with `token` through the form that posts to `path` (`/signin` on the
/// landing page, `/r/ID/signin` on a request's); the session cookie value.
pub fn sign_in_at(broker: &Broker, path: &str, token: &str) -> String {
    let page = send(
        broker,
        "POST",
        path,
        None,
        Some(&[("token", token)]),
        Some(&broker.url()),
    );
    assert_eq!(page.status, 303, "{}", page.body);
    let cookie = page.header("set-cookie");
    let value = cookie
        .strip_prefix("gate_session=")
        .and_then(|rest| rest.split(';').next())
        .expect("a session cookie");
    value.to_string()
}

/// The approval page for request `id`, as the person signed in with `cookie` sees it.
pub fn open_page(broker: &Broker, id: &str, cookie: &str) -> Page {
    send(broker, "GET", &format!("/r/{id}"), Some(cookie), None, None)
}

/// The landing page (`/`), as the person signed in with `cookie` sees it.
pub fn open_landing(broker: &Broker, cookie: Option<&str>) -> Page {
    send(broker, "GET", "/", cookie, None, None)
}

/// The request ids the landing page links to, in order.
pub fn listed(page: &Page) -> Vec<String> {
    let marker = "<a href=\"/r/";
    page.body
        .match_indices(marker)
        .map(|(at, _)| {
            let rest = &page.body[at + marker.len()..];
            rest.split('"').next().unwrap().to_string()
        })
        .collect()
}

/// The nonce the page's CSP allows scripts by, if it allows any.
pub fn csp_nonce(page: &Page) -> Option<String> {
    let csp = page.header("content-security-policy");
    let start = csp.find("script-src 'nonce-")? + "script-src 'nonce-".len();
    Some(csp[start..].split('\'').next().unwrap().to_string())
}

/// The CSRF token in the page's forms.
pub fn csrf(page: &Page) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.body.find(marker).expect("a form with a CSRF token") + marker.len();
    page.body[start..].split('"').next().unwrap().to_string()
}

pub fn view(broker: &Broker, id: &str, token: &str) -> Value {
    broker.get(&format!("/v1/requests/{id}"), Some(token)).body
}

/// Nothing is loaded or linked from elsewhere: every src/href/action is relative,
/// and the only script is inline with a nonce.
pub fn assert_no_external_urls(body: &str) {
    for attribute in ["src=", "href=", "action="] {
        for (at, _) in body.match_indices(attribute) {
            let value = body[at + attribute.len()..].trim_start_matches(['"', '\'']);
            assert!(
                !value.starts_with("http:")
                    && !value.starts_with("https:")
                    && !value.starts_with("//"),
                "external URL in {attribute}: {}",
                &body[at..(at + 80).min(body.len())]
            );
        }
    }
    for (at, _) in body.match_indices("<script") {
        assert!(
            body[at..].starts_with("<script nonce=\""),
            "{}",
            &body[at..(at + 80).min(body.len())]
        );
    }
    assert!(body.matches("<script").count() <= 1, "{body}");
    assert!(!body.contains("<link"), "{body}");
    assert!(!body.contains("<img"), "{body}");
}
