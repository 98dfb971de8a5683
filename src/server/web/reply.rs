//! Answers from the approval page: HTML with the security headers every page
//! carries (a CSP that allows nothing but inline styles and same-origin forms, no
//! sniffing, no referrer to other sites, no caching; a page with the clock script also allows
//! the one inline script that carries its nonce), and the small helpers that
//! build them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

pub fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Request ids are hex; anything else is percent-encoded so a Location header
/// cannot be split or pointed elsewhere.
pub fn urlencode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An HTML answer whose inline script carries `nonce`: the security headers,
/// with the CSP allowing that script and nothing else.
pub fn html_with_script(code: StatusCode, body: String, nonce: &str) -> Response {
    let mut response = html(code, body);
    let allowed = format!("default-src 'none'; script-src 'nonce-{nonce}';");
    let csp = CSP.replacen("default-src 'none';", &allowed, 1);
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// An HTML answer with the page's security headers.
pub fn html(code: StatusCode, body: String) -> Response {
    let mut response = (code, body).into_response();
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: under it browsers send `Origin: null` with every
        // form post, and the origin check must refuse `null`. `same-origin`
        // still sends nothing to other sites.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

pub fn set_header(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(name, value);
    }
}
