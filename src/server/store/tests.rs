//! The store interface, against both stores: SQLite, and a real PostgreSQL
//! (a throwaway cluster; where PostgreSQL is not installed and CI is unset,
//! the PostgreSQL half returns early).

use super::*;
use crate::server::config::StoreConfig;
use std::time::Duration;

use super::pg_harness;

fn request(id: &str, status: &str) -> Request {
    let view = serde_json::from_value(serde_json::json!({
        "id": id, "status": status, "version": 0,
        "requester": { "user": "u", "host": "h", "ci": null, "agent": null },
        "argv": ["kubectl", "apply"], "cwd": "/", "action_digest": "ab", "rules": ["prod"],
        "rule_reason": "prod", "reason": null, "approvers": ["bob", "carol"], "quorum": 1,
        "break_glass": false, "created_at": "2026-11-30T10:00:00Z",
        "expires_at": "2026-11-30T10:30:00Z", "votes": [],
        "decision": null, "claimed": false, "url": "http://gate.test/r/x"
    }))
    .unwrap();
    Request {
        view,
        token_hash: [9; 32],
        requester_people: ["alice".to_string()].into(),
        expires: humantime::parse_rfc3339("2026-11-30T10:30:00Z").unwrap(),
    }
}

fn changed(mut request: Request, status: &str) -> Arc<Request> {
    request.view.status = serde_json::from_value(serde_json::json!(status)).unwrap();
    Arc::new(request)
}

fn pg_config(url: &str) -> StoreConfig {
    StoreConfig {
        url: url.to_string(),
        password_env: None,
        ca_file: None,
        pool_size: 4,
    }
}

/// A new PostgreSQL database and a store on it.
async fn pg() -> Option<(Store, String)> {
    let cluster = pg_harness::cluster()?;
    let url = cluster.database().url;
    let store = Store::open(Some(&pg_config(&url)), Path::new("/nonexistent"))
        .await
        .unwrap();
    Some((store, url))
}

fn sqlite(dir: &tempfile::TempDir) -> Store {
    Store::sqlite(&dir.path().join("broker.db")).unwrap()
}

/// Every store this machine can test: SQLite, and PostgreSQL where installed.
async fn stores(dir: &tempfile::TempDir) -> Vec<Store> {
    let mut all = vec![sqlite(dir)];
    if let Some((pg, _)) = pg().await {
        all.push(pg);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reads_back_as_stored_under_the_version_the_store_gave() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let before = store.version().await.unwrap();
        let new = Arc::new(request("r1", "pending"));
        let v1 = store.save(&new, None).await.unwrap();
        assert!(v1 > before, "{store:?}");
        let read = store
            .get("r1", "https://gate.example")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.view.version, v1);
        assert_eq!(read.view.url, "https://gate.example/r/r1");
        assert_eq!(read.view.argv, new.view.argv);
        assert_eq!(read.view.approvers, new.view.approvers);
        assert_eq!(read.token_hash, new.token_hash);
        assert_eq!(read.requester_people, new.requester_people);
        assert_eq!(read.expires, new.expires);
        assert_eq!(store.pending("u").await.unwrap().len(), 1);

        let v2 = store
            .save(&changed(request("r1", "pending"), "approved"), Some(v1))
            .await
            .unwrap();
        assert!(v2 > v1);
        assert!(store.pending("u").await.unwrap().is_empty(), "{store:?}");
        assert_eq!(store.version().await.unwrap(), v2);
        assert!(store.get("nope", "u").await.unwrap().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_from_a_version_no_longer_stored_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let v1 = store
            .save(&Arc::new(request("r1", "pending")), None)
            .await
            .unwrap();
        store
            .save(&changed(request("r1", "pending"), "denied"), Some(v1))
            .await
            .unwrap();
        // A second decision made from the same reading loses.
        let late = store
            .save(&changed(request("r1", "pending"), "approved"), Some(v1))
            .await;
        assert!(
            matches!(late, Err(SaveError::Conflict)),
            "{store:?}: {late:?}"
        );
        let stored = store.get("r1", "u").await.unwrap().unwrap();
        assert_eq!(stored.view.status.as_str(), "denied");
        // An id already stored cannot be stored again as new.
        let again = store.save(&Arc::new(request("r1", "pending")), None).await;
        assert!(again.is_err(), "{store:?}");
    }
}

/// Two replicas (two pools on one database) race to decide one request from
/// the same reading: exactly one decision is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_racing_on_one_request_store_exactly_one_change() {
    let Some((a, url)) = pg().await else { return };
    let b = Store::open(Some(&pg_config(&url)), Path::new("/x"))
        .await
        .unwrap();
    let v1 = a
        .save(&Arc::new(request("r1", "pending")), None)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..24 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let status = if n % 3 == 0 { "denied" } else { "approved" };
        tasks.push(tokio::spawn(async move {
            store
                .save(&changed(request("r1", "pending"), status), Some(v1))
                .await
                .ok()
        }));
    }
    let mut won = Vec::new();
    for task in tasks {
        won.extend(task.await.unwrap());
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let stored = a.get("r1", "u").await.unwrap().unwrap();
    assert_eq!(stored.view.version, won[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once_and_a_newer_schema_is_refused() {
    let Some(cluster) = pg_harness::cluster() else {
        return;
    };
    let db = cluster.database();
    let mut starts = Vec::new();
    for _ in 0..4 {
        let config = pg_config(&db.url);
        starts.push(tokio::spawn(async move {
            Store::open(Some(&config), Path::new("/x"))
                .await
                .map(|_| ())
        }));
    }
    for start in starts {
        start.await.unwrap().unwrap();
    }
    assert_eq!(
        cluster.psql(&db.name, "SELECT count(*) FROM gate_schema"),
        postgres::SCHEMA_VERSION.to_string()
    );
    cluster.psql(&db.name, "INSERT INTO gate_schema (version) VALUES (99)");
    let refused = Store::open(Some(&pg_config(&db.url)), Path::new("/x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("schema is version 99, newer than this gate's"),
        "{refused}"
    );
    assert!(
        refused.contains(&format!("/{}", db.name)),
        "names the database: {refused}"
    );

    // The SQLite store likewise.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broker.db");
    drop(SqliteStore::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 7")
        .unwrap();
    let refused = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(
        refused.contains("schema is version 7, newer than this gate's"),
        "{refused}"
    );
}

async fn next_note(ids: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(5), ids.recv())
        .await
        .expect("a notification within 5 s")
        .unwrap()
}

/// The store at `url` as a replica with signing key `key` holds it.
async fn replica(url: &str, key: &ed25519_dalek::SigningKey) -> postgres::PgStore {
    let Store::Postgres(mut pg) = Store::open(Some(&pg_config(url)), Path::new("/x"))
        .await
        .unwrap()
    else {
        unreachable!()
    };
    pg.seal_notes(notes::NoteKey::derive(key));
    *pg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stored_change_is_announced_to_the_other_replicas() {
    let Some((_, url)) = pg().await else { return };
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let (a, b) = (replica(&url, &key).await, replica(&url, &key).await);
    let (_client, mut ids) = b.listen().await.unwrap();
    let v1 = a
        .save(&Arc::new(request("r1", "pending")), None)
        .await
        .unwrap();
    let v2 = a
        .save(&changed(request("r1", "pending"), "approved"), Some(v1))
        .await
        .unwrap();
    // Each carries the row as stored, sealed, with the version it changed:
    // the other replicas need not read it back.
    let url_base = "http://gate.test";
    let first = next_note(&mut ids).await;
    let second = next_note(&mut ids).await;
    assert!(first.starts_with(&format!("r1 {v1}\n")), "{first}");
    let note = b.read_note(&first, url_base).unwrap();
    assert_eq!((note.id.as_str(), note.version), ("r1", v1));
    let mut expected = request("r1", "pending");
    expected.view.version = v1;
    expected.view.url = format!("{url_base}/r/r1");
    let carried = note.carried.unwrap();
    assert_eq!((carried.previous, &carried.request), (0, &expected));
    let note = b.read_note(&second, url_base).unwrap();
    assert_eq!(note.version, v2);
    let carried = note.carried.unwrap();
    assert_eq!(carried.previous, v1);
    assert_eq!(Some(carried.request), b.get("r1", url_base).await.unwrap());

    // Nothing is taken from a note whose seal does not open: another key, a
    // changed row, a forged seal. Each is only a hint to read the row again.
    let stranger = replica(&url, &ed25519_dalek::SigningKey::from_bytes(&[8; 32])).await;
    let unsealed = stranger.read_note(&second, url_base).unwrap();
    assert_eq!((unsealed.version, unsealed.carried), (v2, None));
    let (header, sealed) = second.split_once('\n').unwrap();
    let mut flipped = sealed.as_bytes().to_vec();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{header}\n{}", String::from_utf8(flipped).unwrap());
    assert_ne!(tampered, second);
    assert_eq!(b.read_note(&tampered, url_base).unwrap().carried, None);
    // The row sealed for one request's id does not open as another's.
    let moved = second.replacen("r1 ", "r9 ", 1);
    assert_eq!(b.read_note(&moved, url_base).unwrap().carried, None);
    let forged = format!("r1 {}\n{}", v2 + 1, "A".repeat(64));
    assert_eq!(b.read_note(&forged, url_base).unwrap().carried, None);
    // Whoever listens learns nothing of what a request asks or who asked.
    for note in [&first, &second] {
        for secret in ["kubectl", "alice", &hex::encode([9; 32])] {
            assert!(!note.contains(secret), "{note} shows {secret}");
        }
    }
    // A sealed row under a header version at or below the version it changed
    // is not taken either.
    let replayed = second.replacen(&format!("r1 {v2}"), &format!("r1 {v1}"), 1);
    assert_eq!(b.read_note(&replayed, url_base).unwrap().carried, None);
    assert_eq!(b.read_note("nonsense", url_base), None);

    // A refused change announces nothing.
    let _ = a
        .save(&changed(request("r1", "pending"), "denied"), Some(v1))
        .await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), ids.recv())
            .await
            .is_err()
    );
    // A request too large to carry is announced by id and version only.
    let mut large = request("r2", "pending");
    large.view.argv = vec!["x".repeat(10_000)];
    let v3 = a.save(&Arc::new(large), None).await.unwrap();
    let note = next_note(&mut ids).await;
    assert_eq!(note, format!("r2 {v3}"));
    let read = b.read_note(&note, url_base).unwrap();
    assert_eq!(
        (read.id.as_str(), read.version, read.carried),
        ("r2", v3, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_settles_once_and_tokens_are_shared() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        store
            .add_policy("abc123abc123abc1", "version = 1", "alice", "t0", "p1")
            .await
            .unwrap();
        let (bob, carol) = (["bob".to_string()], ["carol".to_string()]);
        let (first, second) = tokio::join!(
            store.settle_policy("p1", true, &bob, "t1"),
            store.settle_policy("p1", true, &carol, "t2"),
        );
        let settled: Vec<_> = [first.unwrap(), second.unwrap()]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(settled.len(), 1, "{store:?}");
        let active = store.active_policy().await.unwrap().unwrap();
        assert_eq!(active.view.approved_by, settled[0].view.approved_by);

        store.add_token("bob", "ff00", "t0").await.unwrap();
        assert_eq!(
            store.token_person("ff00", "t1").await.unwrap().as_deref(),
            Some("bob")
        );
        assert_eq!(store.revoke_tokens("bob", "t2").await.unwrap(), 1);
        assert_eq!(store.token_person("ff00", "t3").await.unwrap(), None);
        let listed = store.tokens().await.unwrap();
        assert_eq!(listed[0].last_used.as_deref(), Some("t1"));
        assert_eq!(listed[0].revoked.as_deref(), Some("t2"));

        store
            .put_message("r1", "slack", "C1/1.2", Put::Replace)
            .await
            .unwrap();
        store
            .put_message("r1", "slack", "C1/1.3", Put::Replace)
            .await
            .unwrap();
        assert_eq!(
            store.message("r1", "slack").await.unwrap().as_deref(),
            Some("C1/1.3")
        );
        // A one-time task is taken by exactly one of two racing replicas.
        let (first, second) = tokio::join!(
            store.put_message("r1", "slack-reply", "1.3", Put::IfAbsent),
            store.put_message("r1", "slack-reply", "1.3", Put::IfAbsent),
        );
        let mut taken = [first.unwrap(), second.unwrap()];
        taken.sort();
        assert_eq!(taken, [false, true], "{store:?}");
        assert!(
            !store
                .put_message("r1", "slack-reply", "1.3", Put::IfAbsent)
                .await
                .unwrap()
        );
        assert!(
            store
                .put_message("r2", "slack-reply", "1.3", Put::IfAbsent)
                .await
                .unwrap()
        );
    }
}

#[test]
fn a_store_url_is_read_without_its_password() {
    let ok = crate::server::config::parse(
        "version = 1\n[store]\nurl = \"postgres://gate@db:5432/gate?sslmode=require\"\n\
         password_env = \"PGPW\"\nca_file = \"ca.pem\"\npool_size = 8\n",
        "b.toml",
    )
    .unwrap();
    let store = ok.store.unwrap();
    assert_eq!(
        (store.pool_size, store.ca_file.unwrap()),
        (8, "ca.pem".into())
    );
    let missing = store_config("PGPW").password_from(|_| None).unwrap_err();
    assert!(missing.contains("PGPW is not set"), "{missing}");
    let found = store_config("PGPW")
        .password_from(|_| Some("s3cret".into()))
        .unwrap()
        .unwrap();
    assert_eq!(found.expose(), "s3cret");
    assert!(!format!("{found:?}").contains("s3cret"));

    for (text, expected) in [
        (
            "url = \"postgres://gate:hunter2@db/gate\"",
            "carries a password",
        ),
        (
            "url = \"mysql://db/gate\"",
            "not a PostgreSQL connection URL",
        ),
        ("pool_size = 4", "needs url"),
        (
            "url = \"postgres://db/g\"\npool_size = 0",
            "pool_size must be at least 1",
        ),
        ("url = \"postgres://db/g\"\nsize = 3", "size"),
    ] {
        let errors =
            crate::server::config::parse(&format!("version = 1\n[store]\n{text}\n"), "b.toml")
                .unwrap_err();
        let all: String = errors.iter().map(|e| e.to_string()).collect();
        assert!(all.contains(expected), "{text}: {all}");
        assert!(
            !all.contains("hunter2"),
            "the password is never repeated: {all}"
        );
    }
}

fn store_config(password_env: &str) -> StoreConfig {
    StoreConfig {
        password_env: Some(password_env.into()),
        ..pg_config("postgres://db/gate")
    }
}

#[test]
fn an_unreachable_database_is_one_line_naming_it() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Nothing listens on port 1.
    let err = runtime
        .block_on(Store::open(
            Some(&pg_config(
                "postgres://gate@127.0.0.1:1/gate?connect_timeout=2",
            )),
            Path::new("/x"),
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("broker store postgres://gate@127.0.0.1:1/gate: "),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
}

/// `openssl` with `args`, in `dir`; panics with its stderr.
fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A database that speaks TLS with a certificate from a CA of the test's own:
/// the store connects with `sslmode=require` only when it trusts that CA
/// (`ca_file`), and the connection is encrypted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_database_verifies_its_certificate() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Some(cluster) = pg_harness::private_cluster() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.path().join("san.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n",
    )
    .unwrap();
    for args in [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=gate test CA",
        ][..],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ][..],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ][..],
    ] {
        openssl(dir.path(), args);
    }
    // The server's key must belong to the account the server runs as, mode 0600.
    let owner = std::fs::metadata(cluster.socket_dir()).unwrap();
    for file in ["server.key", "server.crt"] {
        let path = dir.path().join(file);
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let db = cluster.database();
    let at = |file: &str| dir.path().join(file).display().to_string();
    cluster.psql(
        &db.name,
        &format!("ALTER SYSTEM SET ssl_cert_file = '{}'", at("server.crt")),
    );
    cluster.psql(
        &db.name,
        &format!("ALTER SYSTEM SET ssl_key_file = '{}'", at("server.key")),
    );
    cluster.psql(&db.name, "ALTER SYSTEM SET ssl = on");
    cluster.psql(&db.name, "SELECT pg_reload_conf()");
    // The reload is a signal to the server: wait until new sessions see it.
    for _ in 0..100 {
        if cluster.psql(&db.name, "SHOW ssl") == "on" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let url = format!("{}?sslmode=require", db.url);
    let untrusted = Store::open(Some(&pg_config(&url)), Path::new("/x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(untrusted.contains("certificate"), "{untrusted}");

    let trusted = StoreConfig {
        ca_file: Some(dir.path().join("ca.pem")),
        ..pg_config(&url)
    };
    let store = Store::open(Some(&trusted), Path::new("/x")).await.unwrap();
    store
        .save(&Arc::new(request("r1", "pending")), None)
        .await
        .unwrap();
    let encrypted = cluster.psql(
        &db.name,
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE ssl AND application_name = 'gate serve'",
    );
    assert_ne!(encrypted, "0", "the store's connections use TLS");

    let no_such_ca = StoreConfig {
        ca_file: Some(dir.path().join("missing.pem")),
        ..pg_config(&url)
    };
    let err = Store::open(Some(&no_such_ca), Path::new("/x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[store] ca_file") && err.contains("missing.pem"),
        "{err}"
    );
}

/// On PostgreSQL a token's use is written at most once a minute (a write per
/// approval would wait for a commit each time); it is still noted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_last_use_is_kept_to_the_minute_on_postgres() {
    let Some((store, _)) = pg().await else { return };
    store
        .add_token("bob", "aa11", "2026-11-30T10:00:00Z")
        .await
        .unwrap();
    for (now, noted) in [
        ("2026-11-30T10:00:05Z", "2026-11-30T10:00:05Z"),
        ("2026-11-30T10:00:50Z", "2026-11-30T10:00:05Z"),
        ("2026-11-30T10:01:06Z", "2026-11-30T10:01:06Z"),
    ] {
        assert_eq!(
            store.token_person("aa11", now).await.unwrap().as_deref(),
            Some("bob")
        );
        assert_eq!(
            store.tokens().await.unwrap()[0].last_used.as_deref(),
            Some(noted)
        );
    }
}
