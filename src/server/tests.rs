//! The broker in-process, driven by the same `BrokerClient` gate uses: the two
//! halves of the API contract agree.

use super::*;
use crate::approval::BrokerClient;
use crate::approval::protocol::{Choice, ErrorCode, NewRequest, Status};
use crate::identity::Requester;
use std::time::{Duration, SystemTime};

const CONFIG: &str =
    "version = 1\nrequire_enrollment = false\n[groups]\nsre = [\"alice\", \"bob\"]\n";

fn request(user: &str) -> NewRequest {
    NewRequest {
        requester: Requester {
            user: user.into(),
            host: "h".into(),
            ci: None,
            agent: None,
        },
        argv: vec!["terraform".into(), "apply".into()],
        cwd: "/srv".into(),
        executable: "/usr/bin/kubectl".into(),
        action_digest: "cd".repeat(32),
        rules: vec!["prod".into()],
        rule_reason: "prod".into(),
        approvers: vec!["group:sre".into()],
        quorum: 0,
        timeout_seconds: 0,
        reason: None,
        require_reason: false,
        break_glass_allowed: false,
        break_glass: false,
        id_token: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_and_the_broker_agree() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home {
        data: dir.path().to_path_buf(),
        config: dir.path().to_path_buf(),
        cache: dir.path().join("cache"),
    };
    let config = config::parse(CONFIG, "b.toml").unwrap();
    let bob = create_token("bob", &config, &home).unwrap();
    assert!(create_token("mallory", &config, &home).is_err());

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_home = home.clone();
    let server = tokio::spawn(async move {
        let stop = async move {
            let _ = stop_rx.await;
        };
        serve(listener, config, &server_home, stop).await
    });

    let client = BrokerClient::new(&url).unwrap();
    let created = client.create(&request("alice")).await.unwrap();
    assert_eq!(created.request.approvers, vec!["bob"]);
    let shown = format!("{created:?}");
    assert!(shown.contains("****") && !shown.contains(&created.requester_token));
    let (id, mine) = (created.request.id.clone(), created.requester_token.clone());
    let version = created.request.version;

    let waiter = {
        let (client, id, mine) = (client.clone(), id.clone(), mine.clone());
        tokio::spawn(async move {
            let wait = Some(Duration::from_secs(30));
            client.get(&id, &mine, wait, Some(version)).await
        })
    };
    let list = client.pending(&bob, None, None).await.unwrap();
    assert_eq!(list.requests.len(), 1);
    let decided = client
        .decide(&id, &bob, Choice::Approve, None, "cli")
        .await
        .unwrap();
    assert_eq!(decided.status, Status::Approved);
    let seen = waiter.await.unwrap().unwrap();
    assert_eq!(seen.status, Status::Approved);

    let key = crate::keys::load_signing_key(&home.data.join("broker/broker-key.pem")).unwrap();
    let decision = seen.decision.unwrap();
    decision
        .verify_approval(
            &key.verifying_key(),
            &id,
            &"cd".repeat(32),
            SystemTime::now(),
        )
        .unwrap();

    assert!(client.claim(&id, &mine).await.unwrap().claimed);
    let again = client.claim(&id, &mine).await.unwrap_err();
    assert_eq!(
        (again.status(), again.code()),
        (Some(409), Some(ErrorCode::AlreadyClaimed))
    );
    let late = client.cancel(&id, &mine).await.unwrap_err();
    assert_eq!(late.code(), Some(ErrorCode::AlreadyDecided));
    let stranger = client
        .get(&id, "gate_nobody", None, None)
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Some(ErrorCode::Unauthorized));

    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_see_every_stored_change_and_vote_under_the_api_rules() {
    let dir = tempfile::tempdir().unwrap();
    let config = config::parse(CONFIG, "b.toml").unwrap();
    let store = Store::sqlite(&dir.path().join("broker.db")).unwrap();
    let key = SigningKey::from_bytes(&[7; 32]);
    let (_stop, stopped) = watch::channel(false);
    let broker = Broker::new(config, key, "http://gate.test".into(), store, stopped)
        .await
        .unwrap();
    let broker = Arc::new(broker);
    let mut feed = broker.subscribe();

    let (_, created) = broker.create(request("alice")).await.unwrap();
    let id = created.view.id.clone();
    let change = feed.recv().await.unwrap();
    assert!(change.before.is_none());
    assert_eq!(change.after.view.id, id);

    // The requester cannot vote on their own request through a channel either.
    let own = broker
        .vote(&id, "alice", Choice::Approve, None, "slack")
        .await
        .unwrap_err();
    assert_eq!((own.status, own.code), (403, ErrorCode::SelfApproval));
    let decided = broker
        .vote(&id, "bob", Choice::Approve, None, "slack")
        .await
        .unwrap();
    assert_eq!(decided.view.status, Status::Approved);
    assert_eq!(decided.view.votes[0].channel, "slack");

    let change = feed.recv().await.unwrap();
    let before = change.before.expect("a change has a before");
    assert_eq!(before.view.status, Status::Pending);
    assert_eq!(change.after.view.status, Status::Approved);
    assert!(feed.try_recv().is_err(), "a refused vote is no change");
}

/// A requester who is two people (its login names one, its CI actor another)
/// cannot approve as either, on any channel a vote can come through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_person_the_requester_is_is_refused_on_every_channel() {
    let dir = tempfile::tempdir().unwrap();
    let config = config::parse(
        "version = 1\n[people.alice]\ngithub = \"alice-gh\"\n[people.bob]\n[people.carol]\n\
         [groups]\nsre = [\"alice\", \"bob\", \"carol\"]\n",
        "b.toml",
    )
    .unwrap();
    let store = Store::sqlite(&dir.path().join("broker.db")).unwrap();
    let key = SigningKey::from_bytes(&[7; 32]);
    let (_stop, stopped) = watch::channel(false);
    let broker = Broker::new(config, key, "http://gate.test".into(), store, stopped)
        .await
        .unwrap();
    let broker = Arc::new(broker);
    let mut new = request("bob");
    new.requester.ci = Some(crate::identity::CiJob {
        system: "github".into(),
        actor: Some("alice-gh".into()),
        repository: None,
        branch: None,
        commit: None,
        url: None,
    });
    let (_, created) = broker.create(new).await.unwrap();
    let id = created.view.id.clone();
    assert_eq!(created.view.approvers, vec!["carol"]);
    for channel in ["api", "cli", "inbox", "web", "slack"] {
        for person in ["alice", "bob"] {
            let refused = broker
                .vote(&id, person, Choice::Approve, None, channel)
                .await
                .unwrap_err();
            assert_eq!(
                (refused.status, refused.code),
                (403, ErrorCode::SelfApproval),
                "{person} via {channel}"
            );
        }
    }
    let decided = broker
        .vote(&id, "carol", Choice::Approve, None, "web")
        .await
        .unwrap();
    assert_eq!(decided.view.status, Status::Approved);
}

/// Replica B, whose notifications were lost, is handed a change someone
/// listened to, under a version far ahead of the store's (the seal opens, and
/// B holds the version it changed). Later changes look older to B; its
/// periodic comparison with the store finds memory ahead of the database and
/// takes the stored row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_holding_a_version_the_store_never_gave_takes_the_stored_row() {
    let Some(cluster) = super::store::pg_harness::cluster() else {
        return;
    };
    let url = cluster.database().url;
    let store_config = config::StoreConfig {
        url,
        password_env: None,
        ca_file: None,
        pool_size: 4,
    };
    let replica = || async {
        let config = config::parse(
            "version = 1\nrequire_enrollment = false\n[groups]\nsre = [\"alice\", \"bob\"]\n",
            "b.toml",
        )
        .unwrap();
        let store = Store::open(Some(&store_config), std::path::Path::new("/x"))
            .await
            .unwrap();
        let key = SigningKey::from_bytes(&[7; 32]);
        let (stop, stopped) = watch::channel(false);
        let broker = Broker::new(config, key, "http://gate.test".into(), store, stopped)
            .await
            .unwrap();
        (Arc::new(broker), stop)
    };
    let ((a, _a_stop), (b, _b_stop)) = (replica().await, replica().await);
    let Store::Postgres(pg) = b.store() else {
        unreachable!()
    };
    let (_client, mut notes) = pg.listen().await.unwrap();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), notes.recv())
            .await
            .unwrap()
            .unwrap()
    };

    let mut new = request("dave");
    new.quorum = 2;
    let (_, created) = a.create(new).await.unwrap();
    let id = created.view.id.clone();
    b.notified(pg, &next().await).await;
    let one = a
        .vote(&id, "alice", Choice::Approve, None, "cli")
        .await
        .unwrap();
    assert_eq!(one.view.status, Status::Pending);
    let heard = next().await;
    let (_, sealed) = heard.split_once('\n').unwrap();
    let far = one.view.version + 1000;
    b.notified(pg, &format!("{id} {far}\n{sealed}")).await;
    assert_eq!(b.get(&id).await.unwrap().unwrap().view.version, far);

    let decided = a
        .vote(&id, "bob", Choice::Approve, None, "cli")
        .await
        .unwrap();
    assert_eq!(decided.view.status, Status::Approved);
    b.notified(pg, &next().await).await;
    let stale = b.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (stale.view.status, stale.view.version),
        (Status::Pending, far)
    );

    b.resync(pg).await;
    let now = b.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (now.view.status, now.view.version),
        (Status::Approved, decided.view.version)
    );
}
