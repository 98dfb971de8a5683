//! `/dashboard/metrics?from=DATE&to=DATE`: the period's metrics as charts drawn
//! on the server (inline SVG, [`crate::server::insights`]): requests per day by
//! decision, time to decision, denials by rule, break-glass uses, the busiest
//! agents and approvers. The last 30 days unless a period is given. Only
//! auditors and admins see it: it counts every request, and lists break-glass
//! uses with their commands.

use super::filters::{Period, PeriodForm, bound};
use super::html::layout;
use super::{Shared, Viewer};
use crate::server::insights::metrics_html;
use crate::server::web::page;
use crate::server::web::reply::html as html_reply;
use axum::extract::{Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::time::{Duration, SystemTime};

/// The period when none is asked for.
const DEFAULT_DAYS: u64 = 30;

pub async fn page(
    State(dash): Shared,
    headers: HeaderMap,
    QueryParams(period): QueryParams<Period>,
) -> Response {
    let Some(viewer) = dash.viewer(&headers) else {
        return dash.to_signin();
    };
    if !viewer.role.sees_all() {
        let text = "The metrics count every request; only auditors and admins \
                    ([dashboard] in broker.toml) see them.";
        return html_reply(StatusCode::FORBIDDEN, page::message("Metrics", text));
    }
    let now = SystemTime::now();
    let parse = |text: &str, end: bool| -> Result<Option<SystemTime>, String> {
        bound(text, end)?
            .map(|at| humantime::parse_rfc3339_weak(&at).map_err(|e| e.to_string()))
            .transpose()
    };
    let (from, to) = match (parse(&period.from, false), parse(&period.to, true)) {
        (Ok(from), Ok(to)) => {
            let to = to.unwrap_or(now);
            let from = from.unwrap_or(to - Duration::from_secs(DEFAULT_DAYS * 86_400));
            (from, to)
        }
        (Err(problem), _) | (_, Err(problem)) => {
            let body = form(dash.base(), &viewer, &period, Some(&problem));
            return html_reply(
                StatusCode::BAD_REQUEST,
                layout("gate: metrics", &body, None),
            );
        }
    };
    if to <= from {
        let problem = "The period ends before it starts.";
        let body = form(dash.base(), &viewer, &period, Some(problem));
        return html_reply(
            StatusCode::BAD_REQUEST,
            layout("gate: metrics", &body, None),
        );
    }
    let computed = async { dash.index()?.metrics(from, to).await }
        .await
        .map_err(|e| dash.failed(e));
    let metrics = match computed {
        Ok(metrics) => metrics,
        Err(response) => return response,
    };
    let mut body = form(dash.base(), &viewer, &period, None);
    body.push_str(&metrics_html(&metrics));
    html_reply(StatusCode::OK, layout("gate: metrics", &body, None))
}

/// The navigation and the period form.
fn form(base: &str, viewer: &Viewer, period: &Period, problem: Option<&str>) -> String {
    let since = format!("the last {DEFAULT_DAYS} days");
    let form = PeriodForm {
        title: "gate: metrics",
        path: "/dashboard/metrics",
        placeholders: (&since, "today"),
        required: false,
        button: "Show",
        print: false,
    };
    form.render(base, viewer, period, problem)
}
