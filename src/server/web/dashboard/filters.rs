//! The history's filters as query parameters: what the form sends, the index
//! query they make (limited to what the viewer may see), and the query string
//! that repeats them in links (the next page, the exports); and the period
//! (`from`, `to`) the evidence and metrics pages ask for.

use super::Viewer;
use super::html::nav;
use super::index::{self, Query};
use crate::server::web::page::escape;
use serde::Deserialize;
use std::fmt::Write;

/// A period as the evidence and metrics pages take it: `from` and `to`, dates
/// (`to` inclusive) or RFC 3339 instants.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Period {
    pub from: String,
    pub to: String,
}

/// How a page asks for its period.
pub struct PeriodForm<'a> {
    pub title: &'a str,
    /// The page's path under the base, `/dashboard/...`.
    pub path: &'a str,
    /// What the empty fields say: (from, to).
    pub placeholders: (&'a str, &'a str),
    /// Whether the page needs both ends.
    pub required: bool,
    pub button: &'a str,
    /// Printed with the page (the evidence report shows its period in print).
    pub print: bool,
}

impl PeriodForm<'_> {
    /// The navigation, the heading, `problem` if any, and the form holding
    /// `period`.
    pub fn render(
        &self,
        base: &str,
        viewer: &Viewer,
        period: &Period,
        problem: Option<&str>,
    ) -> String {
        let mut body = nav(base, viewer);
        let _ = writeln!(body, "<h1>{}</h1>", escape(self.title));
        if let Some(problem) = problem {
            let _ = writeln!(body, "<p class=\"notice error\">{}</p>", escape(problem));
        }
        let class = if self.print { "" } else { " class=\"noprint\"" };
        let required = if self.required { " required" } else { "" };
        let _ = writeln!(
            body,
            "<form method=\"get\" action=\"{}{}\"{class}><div class=\"filters\">\
<label>From (date)<input name=\"from\" value=\"{}\" placeholder=\"{}\"{required}></label>\
<label>To (date, inclusive)<input name=\"to\" value=\"{}\" placeholder=\"{}\"{required}></label></div>\
<button type=\"submit\">{}</button></form>",
            escape(base),
            self.path,
            escape(&period.from),
            escape(self.placeholders.0),
            escape(&period.to),
            escape(self.placeholders.1),
            escape(self.button),
        );
        body
    }
}

/// The history's query parameters: every filter, the search and the cursor.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub person: String,
    pub requester: String,
    pub host: String,
    pub agent: String,
    pub repo: String,
    pub rule: String,
    pub decision: String,
    pub break_glass: String,
    pub from: String,
    pub to: String,
    pub q: String,
    pub before: String,
}

impl Filters {
    /// The index query for these filters, limited to what `viewer` sees, or
    /// why a filter cannot be read.
    pub fn query(&self, viewer: &Viewer) -> Result<Query, String> {
        let mut query = Query::default();
        let values = [
            &self.person,
            &self.requester,
            &self.host,
            &self.agent,
            &self.repo,
            &self.rule,
            &self.decision,
            &self.break_glass,
        ];
        for ((_, facet), value) in index::FACETS.iter().zip(values) {
            let value = value.trim();
            if !value.is_empty() {
                query.facets.push((facet, value.to_string()));
            }
        }
        query.facets.extend(viewer.scope());
        query.from = bound(&self.from, false)?;
        query.until = bound(&self.to, true)?;
        let text = self.q.trim();
        if !text.is_empty() {
            if text.chars().count() < 3 {
                return Err("Search for at least 3 characters of the command.".into());
            }
            query.text = Some(text.to_string());
        }
        if !self.before.is_empty() {
            let before = self
                .before
                .parse()
                .map_err(|_| "That page link is damaged; start from the first page.")?;
            query.before = Some(before);
        }
        Ok(query)
    }

    /// These filters as a query string (without the cursor), for links.
    pub fn to_query_string(&self) -> String {
        let pairs = [
            ("person", &self.person),
            ("requester", &self.requester),
            ("host", &self.host),
            ("agent", &self.agent),
            ("repo", &self.repo),
            ("rule", &self.rule),
            ("decision", &self.decision),
            ("break_glass", &self.break_glass),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ];
        pairs
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={}", form_encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A time bound from a filter: a date (`to` covers that whole day) or an
/// RFC 3339 instant, in the store's own format so text order is time order.
pub fn bound(text: &str, end: bool) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let parsed = if text.len() == 10 {
        humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).map(|day| {
            if end {
                day + std::time::Duration::from_secs(86_400)
            } else {
                day
            }
        })
    } else {
        humantime::parse_rfc3339_weak(text)
    };
    parsed
        .map(|at| Some(crate::server::rules::rfc3339(at)))
        .map_err(|_| format!("\"{text}\" is not a date (2026-11-30) or a time (RFC 3339)."))
}

/// Percent-encode a query value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
