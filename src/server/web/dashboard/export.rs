//! The filtered history as a download: CSV (RFC 4180, one row per request) or
//! JSONL (one request as the API shows it per line).
//!
//! Commands and reasons are attacker-controlled, and a spreadsheet runs a
//! cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
//! formula. Every such CSV cell gets a leading `'` (OWASP's advice), which
//! spreadsheets show as text and nothing else reads as more than a quote.

use crate::server::rules::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy)]
pub enum Format {
    Csv,
    Jsonl,
}

const HEADER: &[&str] = &[
    "id",
    "created_at",
    "status",
    "break_glass",
    "user",
    "host",
    "agent",
    "ci_repository",
    "command",
    "cwd",
    "rules",
    "reason",
    "approvers",
    "quorum",
    "votes",
    "policy_version",
];

/// `requests` as a file in `format`, with the dashboard's security headers.
pub fn download(format: Format, requests: &[Request]) -> Response {
    let (body, kind, name) = match format {
        Format::Csv => (csv(requests), "text/csv; charset=utf-8", "gate-history.csv"),
        Format::Jsonl => (
            jsonl(requests),
            "application/x-ndjson",
            "gate-history.jsonl",
        ),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    response
}

/// A cell a spreadsheet cannot run.
pub fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    csv_quote(&text)
}

/// Quote a field when it holds a comma, quote, CR or LF; double inner quotes.
fn csv_quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

pub fn csv(requests: &[Request]) -> String {
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    for request in requests {
        let view = &request.view;
        let requester = &view.requester;
        let votes: Vec<String> = view
            .votes
            .iter()
            .map(|v| {
                format!(
                    "{} {} via {} at {}",
                    v.person,
                    v.verdict.as_str(),
                    v.channel,
                    v.at
                )
            })
            .collect();
        let fields = [
            view.id.clone(),
            view.created_at.clone(),
            view.status.as_str().to_string(),
            view.break_glass.to_string(),
            requester.user.clone(),
            requester.host.clone(),
            requester.agent_name().unwrap_or_default(),
            requester.ci_repository().unwrap_or_default(),
            view.argv.join(" "),
            view.cwd.clone(),
            view.rules.join("; "),
            view.reason.clone().unwrap_or_default(),
            view.approvers.join("; "),
            view.quorum.to_string(),
            votes.join("; "),
            view.policy_version.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|field| cell(field)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

pub fn jsonl(requests: &[Request]) -> String {
    let mut out = String::new();
    for request in requests {
        out.push_str(&serde_json::to_string(&request.view).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formula_cells_become_text_and_commas_are_quoted() {
        assert_eq!(cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(cell("=1,2"), "\"'=1,2\"");
        assert_eq!(cell("kubectl get pods"), "kubectl get pods");
    }
}
