//! The compliance dashboard under `/dashboard`: requests waiting now
//! (`/dashboard`, refreshed by the browser), the history with filters and a
//! search (`/dashboard/history`), one page per request telling its whole story
//! (`/dashboard/requests/ID`), the installations' audit chains
//! (`/dashboard/installations`), the filtered history as CSV or JSONL
//! (`/dashboard/export.csv`, `.jsonl`), the evidence report for a period
//! (`/dashboard/evidence?from=&to=`) and the period's metrics as charts
//! (`/dashboard/metrics?from=&to=`).
//!
//! One sign-in serves the approval pages and the dashboard: the same sessions,
//! cookie and sign-in rules ([`Web::sign_in`]). Who sees what is the role
//! (`[dashboard]` in broker.toml): approvers see the requests they made or may
//! approve, auditors and admins see all. The dashboard only reads; a vote is
//! cast on the approval page (`/r/ID`), under the broker's vote rules, so an
//! auditor who is not an approver of a request cannot vote on it anywhere.
//! Pages carry the approval page's headers and CSP and no script. Files:
//! `index` (the search index and the reads, on SQLite or PostgreSQL), `filters` (the history's query
//! parameters), `html` (the pages), `story` (one request's page), `export` (CSV, JSONL), `evidence` (the report),
//! `metrics` (the charts page).

mod evidence;
mod export;
mod filters;
mod html;
mod index;
mod metrics;
mod story;

use super::page::{self, Place};
use super::reply::{html as html_reply, set_header};
use super::session::Session;
use super::{PageId, Web};
use crate::server::config::Role;
use crate::server::rules::Request;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use filters::Filters;
use index::{Index, Query};
use std::sync::Arc;

/// How many requests one history page lists.
const PAGE: usize = 50;
/// How many rows one export or report holds at most.
const EXPORT_LIMIT: usize = 100_000;

#[derive(Debug)]
struct Dashboard {
    web: Arc<Web>,
    /// The index, or why it could not be opened (every page then says so).
    index: Result<Index, String>,
}

type Shared = State<Arc<Dashboard>>;

pub(super) fn router(web: Arc<Web>) -> Router {
    let index = Index::open(web.broker.store(), &web.broker.public_url)
        .inspect_err(|e| crate::serve_log!("gate serve: the dashboard is unavailable: {e}"));
    let dashboard = Arc::new(Dashboard { web, index });
    Router::new()
        .route("/dashboard", get(pending))
        .route("/dashboard/signin", get(signin_form).post(signin))
        .route("/dashboard/history", get(history))
        .route("/dashboard/requests/{id}", get(story))
        .route("/dashboard/installations", get(installations))
        .route("/dashboard/export.csv", get(export_csv))
        .route("/dashboard/export.jsonl", get(export_jsonl))
        .route("/dashboard/evidence", get(evidence::report))
        .route("/dashboard/metrics", get(metrics::page))
        .with_state(dashboard)
}

/// Who is looking: their session and role.
#[derive(Debug)]
struct Viewer {
    session: Session,
    role: Role,
}

impl Viewer {
    /// Whether this viewer may see `request`: everyone for auditors and admins;
    /// for approvers, what they made or may approve.
    fn sees(&self, request: &Request) -> bool {
        let me = &self.session.person;
        self.role.sees_all()
            || request.view.approvers.iter().any(|name| name == me)
            || request.requester_people.contains(me)
    }

    /// The facet that limits a query to what this viewer may see.
    fn scope(&self) -> Option<(&'static str, String)> {
        (!self.role.sees_all()).then(|| ("viewer", self.session.person.clone()))
    }
}

impl Dashboard {
    /// The signed-in viewer, if there is one.
    fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        let session = self.web.sessions.find(headers)?;
        let config = self.web.broker.policy_in_force().config;
        let role = config.dashboard.role(&session.person, &config.groups);
        Some(Viewer { session, role })
    }

    /// 303 to the dashboard's sign-in form.
    fn to_signin(&self) -> Response {
        let mut response = html_reply(StatusCode::SEE_OTHER, String::new());
        let location = format!("{}/dashboard/signin", self.web.broker.public_url);
        set_header(&mut response, header::LOCATION, &location);
        response
    }

    /// The index, or why it could not be opened.
    fn index(&self) -> Result<&Index, String> {
        self.index.as_ref().map_err(Clone::clone)
    }

    /// The error page for a read that failed (the cause goes to the broker's log).
    fn failed(&self, e: String) -> Response {
        crate::serve_log!("gate serve: dashboard: {e}");
        let text = "The dashboard could not read the broker's store; see the broker's log.";
        html_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            page::message("Dashboard error", text),
        )
    }

    fn base(&self) -> &str {
        &self.web.base
    }
}

async fn signin_form(State(dash): Shared, headers: HeaderMap) -> Response {
    match dash.viewer(&headers) {
        Some(_) => dash.web.see(Place::Dashboard),
        None => html_reply(StatusCode::OK, dash.web.signin_page(Place::Dashboard, None)),
    }
}

async fn signin(
    State(dash): Shared,
    headers: HeaderMap,
    form: Result<Form<super::landing::SigninForm>, FormRejection>,
) -> Response {
    dash.web.sign_in(Place::Dashboard, &headers, form).await
}

async fn pending(State(dash): Shared, headers: HeaderMap) -> Response {
    let Some(viewer) = dash.viewer(&headers) else {
        return dash.to_signin();
    };
    let mut query = Query::default();
    query.facets.push(("status", "pending".into()));
    query.facets.extend(viewer.scope());
    let found = async { dash.index()?.find(query, 500).await }
        .await
        .map_err(|e| dash.failed(e));
    match found {
        Ok(requests) => html_reply(
            StatusCode::OK,
            html::pending(dash.base(), &viewer, &requests),
        ),
        Err(response) => response,
    }
}

async fn history(
    State(dash): Shared,
    headers: HeaderMap,
    QueryParams(filters): QueryParams<Filters>,
) -> Response {
    let started = std::time::Instant::now();
    let Some(viewer) = dash.viewer(&headers) else {
        return dash.to_signin();
    };
    let query = match filters.query(&viewer) {
        Ok(query) => query,
        Err(problem) => {
            let body = html::history(dash.base(), &viewer, &filters, &[], None, Some(&problem));
            return html_reply(StatusCode::BAD_REQUEST, body);
        }
    };
    let found = async {
        let index = dash.index()?;
        let mut ids = index.ids(query, PAGE + 1).await?;
        let next = (ids.len() > PAGE).then(|| ids[PAGE - 1].1);
        ids.truncate(PAGE);
        Ok((index.requests(ids).await?, next))
    }
    .await
    .map_err(|e| dash.failed(e));
    let mut response = match found {
        Ok((requests, next)) => html_reply(
            StatusCode::OK,
            html::history(dash.base(), &viewer, &filters, &requests, next, None),
        ),
        Err(response) => return response,
    };
    // The server's own time for the page (query and rendering), for browsers'
    // developer tools and bench/dashboard-history.sh.
    let took = started.elapsed().as_secs_f64() * 1000.0;
    set_header(
        &mut response,
        header::HeaderName::from_static("server-timing"),
        &format!("page;dur={took:.1}"),
    );
    response
}

async fn story(State(dash): Shared, PageId(id): PageId, headers: HeaderMap) -> Response {
    let Some(viewer) = dash.viewer(&headers) else {
        return dash.to_signin();
    };
    let found = async {
        let index = dash.index()?;
        Ok((index.request(&id).await?, index.records(&id).await?))
    }
    .await
    .map_err(|e| dash.failed(e));
    let (request, records) = match found {
        Ok(found) => found,
        Err(response) => return response,
    };
    // A request the viewer may not see is answered as one that does not exist.
    let Some(request) = request.filter(|request| viewer.sees(request)) else {
        return super::not_found();
    };
    let chains = dash.web.broker.ledger.chains().await.unwrap_or_default();
    let may_decide = super::may_decide(
        &request,
        &viewer.session.person,
        std::time::SystemTime::now(),
    );
    html_reply(
        StatusCode::OK,
        story::story(
            dash.base(),
            &viewer,
            &request,
            &records,
            &chains,
            may_decide,
        ),
    )
}

async fn installations(State(dash): Shared, headers: HeaderMap) -> Response {
    let Some(viewer) = dash.viewer(&headers) else {
        return dash.to_signin();
    };
    let ledger = &dash.web.broker.ledger;
    let (chains, refused) = match (ledger.chains().await, ledger.refused(None).await) {
        (Ok(chains), Ok(refused)) => (chains, refused),
        (Err(refusal), _) | (_, Err(refusal)) => {
            return html_reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                page::message("Dashboard error", &refusal.message),
            );
        }
    };
    html_reply(
        StatusCode::OK,
        html::installations(dash.base(), &viewer, &chains, &refused),
    )
}

async fn export_csv(
    State(dash): Shared,
    headers: HeaderMap,
    QueryParams(filters): QueryParams<Filters>,
) -> Response {
    exported(dash, headers, filters, export::Format::Csv).await
}

async fn export_jsonl(
    State(dash): Shared,
    headers: HeaderMap,
    QueryParams(filters): QueryParams<Filters>,
) -> Response {
    exported(dash, headers, filters, export::Format::Jsonl).await
}

/// The filtered history, every page of it up to [`EXPORT_LIMIT`], as a download.
async fn exported(
    dash: Arc<Dashboard>,
    headers: HeaderMap,
    filters: Filters,
    format: export::Format,
) -> Response {
    let Some(viewer) = dash.viewer(&headers) else {
        return dash.to_signin();
    };
    let query = match filters.query(&viewer) {
        Ok(query) => query,
        Err(problem) => {
            return html_reply(StatusCode::BAD_REQUEST, page::message("Export", &problem));
        }
    };
    let found = async { dash.index()?.find(query, EXPORT_LIMIT).await }
        .await
        .map_err(|e| dash.failed(e));
    match found {
        Ok(requests) => export::download(format, &requests),
        Err(response) => response,
    }
}
