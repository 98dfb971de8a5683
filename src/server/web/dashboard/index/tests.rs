//! The same requests, saved through the broker's own store, give the same
//! answers from the SQLite index and the PostgreSQL one.

use super::*;
use crate::approval::protocol::{Choice, RequestView, Status, Vote};
use crate::identity::Requester;
use crate::server::store::postgres::testing;

/// The stores to test: the SQLite file always, PostgreSQL where installed.
pub(crate) async fn stores(dir: &std::path::Path) -> Vec<Store> {
    let path = dir.join("broker.db");
    let mut stores = vec![Store::sqlite(&path).unwrap()];
    // The broker opens its ledger's tables beside the store.
    crate::server::ledger::LedgerStore::open(&path).unwrap();
    if let Some(url) = testing::database() {
        stores.push(Store::Postgres(Box::new(testing::connect(&url).await)));
    }
    stores
}

/// A request by dave as the broker stores it: (id, created_at, host, argv,
/// approvers), pending.
fn request(id: &str, at: &str, host: &str, argv: &[&str], approvers: &[&str]) -> Request {
    let expires = humantime::parse_rfc3339(at).unwrap();
    Request {
        view: RequestView {
            id: id.into(),
            status: Status::Pending,
            version: 0,
            requester: Requester {
                user: "dave".into(),
                host: host.into(),
                ci: None,
                agent: None,
            },
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: "/".into(),
            action_digest: "ab".into(),
            rules: vec!["prod".into()],
            rule_reason: String::new(),
            policy_version: String::new(),
            ci_identity: None,
            reason: None,
            approvers: approvers.iter().map(|a| a.to_string()).collect(),
            quorum: 1,
            break_glass: false,
            created_at: at.into(),
            expires_at: at.into(),
            votes: Vec::new(),
            decision: None,
            claimed: false,
            url: String::new(),
        },
        token_hash: [0; 32],
        requester_people: ["dave".to_string()].into(),
        expires,
    }
}

/// Save `request` new, then changed to `status` (with a vote by its first
/// approver unless it stays pending), as the broker would.
async fn save(store: &Store, request: Request, status: Status) {
    let mut request = Arc::new(request);
    let version = store.save(&request, None).await.unwrap();
    if status != Status::Pending {
        let changed = Arc::make_mut(&mut request);
        changed.view.status = status;
        changed.view.votes.push(Vote {
            person: changed.view.approvers[0].clone(),
            channel: "web".into(),
            verdict: Choice::Approve,
            reason: None,
            at: changed.view.created_at.clone(),
        });
        store.save(&request, Some(version)).await.unwrap();
    }
}

async fn ids(index: &Index, query: &Query) -> Vec<String> {
    index
        .ids(query.clone(), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facets_search_time_and_scope_select_exactly_the_matching_requests() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()).await {
        let index = Index::open(&store, "http://gate.test").unwrap();
        let made = [
            (
                "a",
                "2026-10-31T23:59:59.999Z",
                Status::Approved,
                "h1",
                &["kubectl", "delete", "ns", "prod-db"][..],
                "alice",
            ),
            (
                "b",
                "2026-11-01T00:00:00.000Z",
                Status::Approved,
                "h2",
                &["terraform", "apply"],
                "alice",
            ),
            (
                "c",
                "2026-11-15T12:00:00.000Z",
                Status::Denied,
                "h1",
                &["rm", "-r", "PROD-DB"],
                "bob",
            ),
            (
                "d",
                "2026-11-30T23:59:59.999Z",
                Status::Approved,
                "h1 (unverified)",
                &["kubectl", "apply"],
                "bob",
            ),
            (
                "e",
                "2026-12-01T00:00:00.000Z",
                Status::Approved,
                "h1",
                &["kubectl", "apply"],
                "bob",
            ),
            (
                "f",
                "2026-11-20T00:00:00.000Z",
                Status::TimedOut,
                "h1",
                &["ls", "50%_off"],
                "alice",
            ),
        ];
        for (id, at, status, host, argv, approver) in made {
            save(&store, request(id, at, host, argv, &[approver]), status).await;
        }
        let mut query = Query {
            facets: vec![("status", "approved".into())],
            from: Some("2026-11-01T00:00:00.000Z".into()),
            until: Some("2026-12-01T00:00:00.000Z".into()),
            ascending: true,
            ..Query::default()
        };
        let on = store.describe();
        assert_eq!(
            ids(&index, &query).await,
            ["b", "d"],
            "{on}: the period, inclusive of its edges"
        );
        query.facets.push(("host", "h1".into()));
        assert_eq!(
            ids(&index, &query).await,
            ["d"],
            "{on}: unverified host by name"
        );
        let search = Query {
            text: Some("prod-db".into()),
            ..Query::default()
        };
        assert_eq!(
            ids(&index, &search).await,
            ["c", "a"],
            "{on}: case-insensitive substring, newest first"
        );
        let literal = Query {
            text: Some("0%_".into()),
            ..Query::default()
        };
        assert_eq!(ids(&index, &literal).await, ["f"], "{on}: % and _ are text");
        let wildcard = Query {
            text: Some("k_b".into()),
            ..Query::default()
        };
        assert!(ids(&index, &wildcard).await.is_empty(), "{on}");
        // A facet rarer than the search drives; the search is checked on each row.
        let denied = Query {
            facets: vec![("status", "denied".into())],
            text: Some("Prod-DB".into()),
            ..Query::default()
        };
        assert_eq!(ids(&index, &denied).await, ["c"], "{on}");
        let voted = Query {
            facets: vec![("person", "bob".into())],
            ..Query::default()
        };
        assert_eq!(ids(&index, &voted).await, ["e", "d", "c"], "{on}: voters");
        let scoped = Query {
            facets: vec![("viewer", "alice".into())],
            ..Query::default()
        };
        assert_eq!(ids(&index, &scoped).await, ["f", "b", "a"], "{on}");
        let requester = Query {
            facets: vec![("viewer", "dave".into()), ("status", "denied".into())],
            ..Query::default()
        };
        assert_eq!(
            ids(&index, &requester).await,
            ["c"],
            "{on}: the requester sees their own"
        );
        let c = index.ids(Query::default(), 100).await.unwrap()[3].1;
        let page = Query {
            before: Some(c),
            ..Query::default()
        };
        assert_eq!(ids(&index, &page).await, ["b", "a"], "{on}");
        let request = index.request("c").await.unwrap().unwrap();
        assert_eq!(request.view.argv, ["rm", "-r", "PROD-DB"], "{on}");
        assert_eq!(request.view.votes.len(), 1, "{on}");
        let listed = index.find(Query::default(), 3).await.unwrap();
        let listed: Vec<&str> = listed.iter().map(|r| r.view.id.as_str()).collect();
        assert_eq!(listed, ["e", "d", "f"], "{on}: in the index's order");
        assert!(index.records("c").await.unwrap().is_empty(), "{on}");
        let records = index
            .records_of(vec!["c".into(), "a".into()])
            .await
            .unwrap();
        assert_eq!(records.len(), 2, "{on}: one list per request");
    }
}
