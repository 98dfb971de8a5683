//! The compliance dashboard on a broker that keeps its state in PostgreSQL
//! (`[store] url`, a throwaway cluster): every scenario of `dashboard` (sign-in,
//! roles and scoping, history filters and search, exports, a run's whole story,
//! the evidence report, installations, metrics) gives the same pages as on
//! SQLite; the history pages through more than one page; and the index is the
//! database's, so a request made on one replica and decided on another is
//! found, with its vote, from either.

use crate::dashboard::{self, BROKER_CONFIG_DASHBOARD, dashboard_session, get};
use crate::support::broker_support::Broker;
use crate::support::common::TestContext;
use crate::support::fixtures::delete_payments_request;
use crate::support::postgres::cluster;

/// The `[store]` of a new database on the test cluster; None where
/// PostgreSQL is not installed.
fn postgres_store() -> Option<String> {
    let db = cluster()?.database();
    Some(format!("[store]\nurl = \"{}\"\n", db.url))
}

/// The request ids a dashboard page links to, in its order.
fn listed(body: &str) -> Vec<String> {
    body.match_indices("<a href=\"/dashboard/requests/")
        .map(|(at, m)| body[at + m.len()..].split('"').next().unwrap().to_string())
        .collect()
}

#[test]
fn postgres_unauthenticated_pages_redirect_and_one_sign_in_serves_both() {
    let Some(store) = postgres_store() else {
        return;
    };
    dashboard::unauthenticated_pages_redirect_to_the_sign_in_form_and_one_sign_in_serves_both_on(
        &store,
    );
}

#[test]
fn postgres_an_auditor_sees_everything_and_cannot_vote_an_approver_sees_only_their_own() {
    let Some(store) = postgres_store() else {
        return;
    };
    dashboard::an_auditor_sees_everything_and_cannot_vote_an_approver_sees_only_their_own_on(
        &store,
    );
}

#[test]
fn postgres_history_filters_search_and_exports_that_a_spreadsheet_cannot_run() {
    let Some(store) = postgres_store() else {
        return;
    };
    dashboard::history_filters_search_and_exports_that_a_spreadsheet_cannot_run_on(&store);
}

#[test]
fn postgres_an_approved_run_tells_its_whole_story_and_the_evidence_lists_exactly_the_approved() {
    let Some(store) = postgres_store() else {
        return;
    };
    dashboard::an_approved_run_tells_its_whole_story_and_the_evidence_lists_exactly_the_approved_on(
        &store,
    );
}

#[test]
fn postgres_the_installations_page_shows_a_broken_chain_and_the_refused_record() {
    let Some(store) = postgres_store() else {
        return;
    };
    dashboard::the_installations_page_shows_a_broken_chain_and_the_refused_record_on(&store);
}

#[test]
fn postgres_the_metrics_page_charts_the_period_for_auditors_only() {
    let Some(store) = postgres_store() else {
        return;
    };
    dashboard::the_metrics_page_charts_the_period_for_auditors_only_on(&store);
}

#[test]
fn postgres_history_pages_through_every_request_an_approver_may_see_and_no_other() {
    let Some(store) = postgres_store() else {
        return;
    };
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, &format!("{BROKER_CONFIG_DASHBOARD}{store}"));
    let mut made: Vec<String> = (0..55)
        .map(|i| {
            broker
                .create(&delete_payments_request(&format!("dev{i}")))
                .0
        })
        .collect();
    made.reverse();
    // bob may approve none of them and asked for none.
    let bob = dashboard_session(&broker, "bob");
    let page = get(&broker, "/dashboard/history", &bob);
    assert!(listed(&page.body).is_empty(), "{}", page.body);

    let alice = dashboard_session(&broker, "alice");
    let first = get(&broker, "/dashboard/history", &alice);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(listed(&first.body), made[..50], "newest first");
    let link = first
        .body
        .find("rel=\"next\"")
        .expect("a link to the next page");
    let href = first.body[..link].rfind("href=\"").unwrap() + "href=\"".len();
    let next = first.body[href..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let second = get(&broker, &next, &alice);
    assert_eq!(listed(&second.body), made[50..], "{next}");
    assert!(!second.body.contains("rel=\"next\""), "{}", second.body);
}

#[test]
fn postgres_a_request_decided_on_another_replica_is_found_with_its_vote() {
    let Some(store) = postgres_store() else {
        return;
    };
    let ctx = TestContext::new();
    let first = Broker::start(&ctx, &format!("{BROKER_CONFIG_DASHBOARD}{store}"));
    let second = first.replica();
    let (id, _, _) = first.create(&delete_payments_request("dave"));
    let reply = second.decide(&id, &second.token("alice"), "deny");
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    let audra = dashboard_session(&first, "audra");
    let denied = get(
        &first,
        "/dashboard/history?decision=denied&person=alice",
        &audra,
    );
    assert_eq!(listed(&denied.body), [id.as_str()], "{}", denied.body);
    let pending = get(&first, "/dashboard/history?decision=pending", &audra);
    assert!(listed(&pending.body).is_empty(), "{}", pending.body);
    let story = get(&first, &format!("/dashboard/requests/{id}"), &audra);
    assert!(
        story.body.contains("<b>alice</b> denied via"),
        "{}",
        story.body
    );
}

/// A database role that may not create extensions (no CREATE on the database)
/// gets no `pg_trgm` index: the migration goes on without it, and the history's
/// search, filters and exports find the same by reading the commands.
#[test]
fn postgres_without_pg_trgm_the_history_search_finds_the_same() {
    let Some(cluster) = cluster() else {
        return;
    };
    let db = cluster.database();
    let role = format!("{}_no_extensions", db.name);
    cluster.psql("postgres", &format!("CREATE ROLE {role} LOGIN"));
    cluster.psql(
        &db.name,
        &format!("GRANT CREATE ON SCHEMA public TO {role}"),
    );
    let url = db.url.replacen("gate@", &format!("{role}@"), 1);
    assert_ne!(url, db.url);
    dashboard::history_filters_search_and_exports_that_a_spreadsheet_cannot_run_on(&format!(
        "[store]\nurl = \"{url}\"\n"
    ));
    let installed = "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'";
    assert_eq!(cluster.psql(&db.name, installed), "0");
    let indexed = "SELECT count(*) FROM pg_indexes WHERE indexname = 'dashboard_commands_text'";
    assert_eq!(cluster.psql(&db.name, indexed), "0");
    let migrated = "SELECT count(*) FROM dashboard_commands";
    assert_ne!(
        cluster.psql(&db.name, migrated),
        "0",
        "the broker used this database"
    );
}
