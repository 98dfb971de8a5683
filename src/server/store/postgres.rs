//! The broker's PostgreSQL store (`[store] url`): one database several broker
//! replicas share, through a pool of connections (tokio-postgres, deadpool).
//!
//! - The schema is versioned (`gate_schema`): migrations run at start under an
//!   advisory lock, so two replicas starting together apply each once, and a
//!   database migrated by a newer gate is refused.
//! - A request is one row: its view as JSON plus the columns the broker selects
//!   or compares on. Every write is a single statement (an implicit transaction):
//!   an update only matches the row at the version the change was read at, and
//!   the broker version comes from a sequence. A final decision is committed
//!   (`synchronous_commit` as the server has it, `on` by default) before the
//!   answer goes out.
//! - Every stored change notifies channel [`CHANNEL`] with the request id, so the
//!   other replicas' long-polls wake ([`PgStore::listen`]).
//! - The dashboard's index (`dashboard_facets`, `dashboard_commands`) is kept
//!   by the `dashboard_index` trigger on `requests` from each stored view, so
//!   this writer knows nothing of it; its search uses `pg_trgm` when the
//!   migration may create the extension, and works without it.
//! - TLS with rustls (`sslmode=require` or `prefer` in the URL): the server's
//!   certificate is always verified, against the system's roots and `ca_file`.

use super::notes::{Note, NoteKey};
use super::{PolicyVersion, Put, SaveError, StoreError, TokenInfo};
use crate::approval::protocol::{PolicyVersionView, RequestView};
use crate::server::config::StoreConfig;
use crate::server::rules::Request;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Error as PgError, NoTls, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The notification channel every change is announced on (payload: the id and
/// the version it was stored under, `ID VERSION`, then the sealed row when it
/// fits: see [`super::notes`]).
pub const CHANNEL: &str = "gate_changes";

/// Held for the whole migration, so replicas starting together take turns.
const MIGRATION_LOCK: i64 = 0x0067_6174_655f_7631; // "gate_v1"

/// The schema, one entry per version; entry `n` brings version `n` to `n + 1`.
/// Never edit one that was released: add the next.
const MIGRATIONS: &[&str] = &["
CREATE SEQUENCE gate_version;
CREATE TABLE requests (
    id text PRIMARY KEY,
    status text NOT NULL,
    version bigint NOT NULL,
    token_hash bytea NOT NULL,
    requester_people text NOT NULL,
    created_at text NOT NULL,
    expires_at text NOT NULL,
    view text NOT NULL
);
CREATE INDEX requests_pending ON requests (status) WHERE status = 'pending';
CREATE INDEX requests_created ON requests (created_at COLLATE \"C\");
CREATE TABLE tokens (
    hash text PRIMARY KEY,
    person text NOT NULL,
    created text NOT NULL,
    last_used text,
    revoked text
);
CREATE TABLE channel_messages (
    request_id text NOT NULL,
    channel text NOT NULL,
    address text NOT NULL,
    PRIMARY KEY (request_id, channel)
);
CREATE TABLE policies (
    seq bigserial PRIMARY KEY,
    version text NOT NULL,
    text text NOT NULL,
    published_by text NOT NULL,
    published_at text NOT NULL,
    request_id text,
    state text NOT NULL,
    decided_at text,
    approved_by text NOT NULL DEFAULT '[]'
);
CREATE INDEX policies_request ON policies (request_id);
CREATE TABLE enrollment_codes (
    hash text PRIMARY KEY,
    name text NOT NULL,
    created bigint NOT NULL,
    expires bigint NOT NULL,
    used bigint
);
CREATE TABLE installations (
    name text PRIMARY KEY,
    public_key bytea NOT NULL,
    enrolled_at bigint NOT NULL,
    last_seen bigint,
    revoked_at bigint
);
CREATE TABLE seen_nonces (
    installation text NOT NULL,
    nonce text NOT NULL,
    timestamp bigint NOT NULL,
    PRIMARY KEY (installation, nonce)
);
CREATE INDEX seen_nonces_age ON seen_nonces (timestamp);
CREATE TABLE ledger_installations (
    name text PRIMARY KEY,
    audit_key text NOT NULL,
    head_seq bigint NOT NULL DEFAULT 0,
    head_hash text NOT NULL,
    status text NOT NULL DEFAULT 'ok',
    detail text,
    first_seen text NOT NULL,
    last_seen text NOT NULL
);
CREATE TABLE ledger_records (
    installation text NOT NULL,
    seq bigint NOT NULL,
    time text NOT NULL,
    kind text NOT NULL,
    \"user\" text NOT NULL,
    decision text NOT NULL,
    body text NOT NULL,
    signature text NOT NULL,
    hash text NOT NULL,
    received_at text NOT NULL,
    request_id text,
    PRIMARY KEY (installation, seq)
);
CREATE INDEX ledger_records_time ON ledger_records (time);
CREATE INDEX ledger_records_request ON ledger_records (request_id)
    WHERE request_id IS NOT NULL;
CREATE TABLE ledger_refused (
    id bigserial PRIMARY KEY,
    installation text NOT NULL,
    seq bigint NOT NULL,
    body text NOT NULL,
    signature text NOT NULL,
    hash text NOT NULL,
    reason text NOT NULL,
    received_at text NOT NULL
);
CREATE SEQUENCE dashboard_order;
CREATE TABLE dashboard_commands (
    ord bigint PRIMARY KEY,
    request_id text NOT NULL UNIQUE,
    command text NOT NULL
);
CREATE TABLE dashboard_facets (
    facet text NOT NULL,
    value text NOT NULL,
    ord bigint NOT NULL,
    request_id text NOT NULL,
    PRIMARY KEY (facet, value, ord)
);
CREATE INDEX dashboard_facets_ord ON dashboard_facets (ord);
CREATE FUNCTION dashboard_index() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v jsonb := NEW.view::jsonb;
    o bigint := floor(extract(epoch FROM NEW.created_at::timestamptz) * 1000)::bigint * 1024
        + nextval('dashboard_order') % 1024;
BEGIN
    INSERT INTO dashboard_commands (ord, request_id, command)
        SELECT o, NEW.id, coalesce(string_agg(a, ' ' ORDER BY n), '')
        FROM jsonb_array_elements_text(v -> 'argv') WITH ORDINALITY AS t (a, n);
    INSERT INTO dashboard_facets (facet, value, ord, request_id)
        SELECT f.facet, f.value, o, NEW.id FROM (
            SELECT 'status' AS facet, NEW.status AS value
            UNION ALL SELECT 'user', v -> 'requester' ->> 'user'
            UNION ALL SELECT 'host', replace(v -> 'requester' ->> 'host', ' (unverified)', '')
            UNION ALL SELECT 'agent', v -> 'requester' -> 'agent' ->> 'name'
            UNION ALL SELECT 'repo', v -> 'requester' -> 'ci' ->> 'repository'
            UNION ALL SELECT 'break_glass', CASE WHEN (v ->> 'break_glass')::boolean THEN 'yes' END
            UNION ALL SELECT 'rule', jsonb_array_elements_text(v -> 'rules')
            UNION ALL SELECT 'viewer', jsonb_array_elements_text(v -> 'approvers')
            UNION ALL SELECT 'viewer', jsonb_array_elements_text(NEW.requester_people::jsonb)
            UNION ALL SELECT 'person', jsonb_array_elements_text(NEW.requester_people::jsonb)
            UNION ALL SELECT 'person', vote ->> 'person'
                FROM jsonb_array_elements(v -> 'votes') AS votes (vote)
        ) AS f WHERE f.value IS NOT NULL
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER dashboard_index AFTER INSERT ON requests
    FOR EACH ROW EXECUTE FUNCTION dashboard_index();
-- After creation only the status changes and votes are added (who asked, the
-- rules and the approvers are fixed), so a change touches just those facets.
CREATE FUNCTION dashboard_reindex() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o bigint;
BEGIN
    SELECT ord INTO o FROM dashboard_commands WHERE request_id = NEW.id;
    IF o IS NULL THEN
        RETURN NULL;
    END IF;
    IF OLD.status IS DISTINCT FROM NEW.status THEN
        DELETE FROM dashboard_facets WHERE facet = 'status' AND value = OLD.status AND ord = o;
        INSERT INTO dashboard_facets (facet, value, ord, request_id)
            VALUES ('status', NEW.status, o, NEW.id) ON CONFLICT DO NOTHING;
    END IF;
    INSERT INTO dashboard_facets (facet, value, ord, request_id)
        SELECT 'person', vote ->> 'person', o, NEW.id
        FROM jsonb_array_elements(NEW.view::jsonb -> 'votes') AS votes (vote)
        WHERE vote ->> 'person' IS NOT NULL
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER dashboard_reindex AFTER UPDATE ON requests
    FOR EACH ROW EXECUTE FUNCTION dashboard_reindex();
DO $$ BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX dashboard_commands_text ON dashboard_commands USING gin (command gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): dashboard searches read every command', SQLERRM;
END $$;
"];

/// Queries through statements prepared once per pooled connection: a query
/// the broker repeats (every change, every approval) skips PostgreSQL's parsing
/// and planning, and the round trip that describes an unnamed statement.
pub(crate) trait Prepared {
    async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, PgError>;
    async fn row_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PgError>;
    /// The number of rows the statement changed.
    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError>;
}

impl Prepared for deadpool_postgres::ClientWrapper {
    async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, PgError> {
        let statement = self.prepare_cached(sql).await?;
        self.query(&statement, params).await
    }

    async fn row_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PgError> {
        let statement = self.prepare_cached(sql).await?;
        self.query_opt(&statement, params).await
    }

    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError> {
        let statement = self.prepare_cached(sql).await?;
        self.execute(&statement, params).await
    }
}

/// How precisely a token's last use is kept.
const TOKEN_USE_RESOLUTION: std::time::Duration = std::time::Duration::from_secs(60);

/// The schema version this gate brings a database to.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// How the broker reaches the database: with TLS (rustls) unless the URL says
/// `sslmode=disable`.
#[derive(Clone)]
enum Tls {
    Off,
    Rustls(MakeRustlsConnect),
}

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    tls: Tls,
    described: Arc<str>,
    /// Seals the rows notifications carry; none are carried without it.
    notes: Option<Arc<NoteKey>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.described)
            .finish()
    }
}

impl PgStore {
    /// Connect, check the server answers, and migrate the schema.
    pub async fn connect(config: &StoreConfig) -> Result<PgStore, StoreError> {
        let password = config
            .password_from(|name| std::env::var(name).ok())
            .map_err(StoreError)?;
        let mut pg: tokio_postgres::Config = config
            .url
            .parse()
            .map_err(|e| StoreError(format!("[store] url: {e}")))?;
        if let Some(password) = password {
            pg.password(password.expose());
        }
        if pg.get_application_name().is_none() {
            pg.application_name("gate serve");
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(std::time::Duration::from_secs(5));
        }
        let described: Arc<str> = describe(&pg).into();
        let tls = match pg.get_ssl_mode() {
            SslMode::Disable => Tls::Off,
            _ => Tls::Rustls(rustls_connector(config.ca_file.as_deref())?),
        };
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls {
            Tls::Off => Manager::from_config(pg.clone(), NoTls, manager_config),
            Tls::Rustls(tls) => Manager::from_config(pg.clone(), tls.clone(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError(format!("broker store {described}: {e}")))?;
        let store = PgStore {
            pool,
            config: pg,
            tls,
            described,
            notes: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Seal the rows this store's notifications carry with `key`, and take
    /// the rows other replicas' notifications carry under it.
    pub fn seal_notes(&mut self, key: NoteKey) {
        self.notes = Some(Arc::new(key));
    }

    /// Read notification `note` of another replica's change; `None` when it
    /// is not one. Without a key no row it carries is taken.
    pub fn read_note(&self, note: &str, public_url: &str) -> Option<Note> {
        super::notes::read(note, self.notes.as_deref(), public_url)
    }

    /// The database, for messages: user, host, port and name, never the password.
    pub fn describe(&self) -> String {
        self.described.to_string()
    }

    /// A failure, naming the database.
    pub(crate) fn fail(&self, err: impl std::fmt::Display) -> StoreError {
        StoreError(format!("broker store {}: {err}", self.described))
    }

    /// A connection from the pool, for the enrollment and ledger tables.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| self.fail(causes(&e)))
    }

    /// Bring the schema to [`SCHEMA_VERSION`]; refuse a newer one.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.fail(e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| self.fail(e))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS gate_schema (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(|e| self.fail(e))?;
        let found: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM gate_schema", &[])
            .await
            .map_err(|e| self.fail(e))?
            .get(0);
        let found = found as usize;
        if found > SCHEMA_VERSION {
            return Err(self.fail(format!(
                "its schema is version {found}, newer than this gate's ({SCHEMA_VERSION}); \
                 upgrade gate on every replica, or serve from another database"
            )));
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(found) {
            let version = index as i32 + 1;
            tx.batch_execute(migration)
                .await
                .map_err(|e| self.fail(format!("migration to schema {version}: {e}")))?;
            tx.execute("INSERT INTO gate_schema (version) VALUES ($1)", &[&version])
                .await
                .map_err(|e| self.fail(e))?;
        }
        tx.commit().await.map_err(|e| self.fail(e))
    }

    /// The newest broker version handed out.
    pub async fn version(&self) -> Result<u64, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM gate_version",
                &[],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// [`super::Store::save`]: insert, or update only the row still at
    /// `previous`; either way under the next broker version, announced to the
    /// other replicas when it commits.
    pub async fn save(&self, request: &Request, previous: Option<u64>) -> Result<u64, SaveError> {
        let view = &request.view;
        let text = serde_json::to_string(view)
            .map_err(|e| SaveError::Failed(self.fail(format!("request {}: {e}", view.id))))?;
        let people = serde_json::to_string(&request.requester_people)
            .map_err(|e| SaveError::Failed(self.fail(e)))?;
        // The notification carries the row when it fits, so the other
        // replicas need not read it back.
        let carried = match &self.notes {
            Some(key) => key.carry(request, previous, &people, &text),
            None => String::new(),
        };
        let client = self.client().await.map_err(SaveError::Failed)?;
        let rows = match previous {
            None => {
                client
                    .rows(
                        "WITH saved AS (
                            INSERT INTO requests (id, status, version, token_hash,
                                requester_people, created_at, expires_at, view)
                            VALUES ($1, $2, nextval('gate_version'), $3, $4, $5, $6, $7)
                            RETURNING version)
                         SELECT version, pg_notify($8, $1 || ' ' || version || $9) FROM saved",
                        &[
                            &view.id,
                            &view.status.as_str(),
                            &&request.token_hash[..],
                            &people,
                            &view.created_at,
                            &view.expires_at,
                            &text,
                            &CHANNEL,
                            &carried,
                        ],
                    )
                    .await
            }
            Some(previous) => {
                client
                    .rows(
                        "WITH saved AS (
                            UPDATE requests SET status = $2, view = $3,
                                version = nextval('gate_version')
                            WHERE id = $1 AND version = $4
                            RETURNING version)
                         SELECT version, pg_notify($5, $1 || ' ' || version || $6) FROM saved",
                        &[
                            &view.id,
                            &view.status.as_str(),
                            &text,
                            &(previous as i64),
                            &CHANNEL,
                            &carried,
                        ],
                    )
                    .await
            }
        }
        .map_err(|e| SaveError::Failed(self.fail(e)))?;
        match rows.first() {
            Some(row) => Ok(row.get::<_, i64>(0) as u64),
            None => Err(SaveError::Conflict),
        }
    }

    /// Every pending request.
    pub async fn pending(&self, public_url: &str) -> Result<Vec<Request>, StoreError> {
        self.select("WHERE status = 'pending'", &[], public_url)
            .await
    }

    /// One request by id.
    pub async fn get(&self, id: &str, public_url: &str) -> Result<Option<Request>, StoreError> {
        Ok(self
            .select("WHERE id = $1", &[&id], public_url)
            .await?
            .pop())
    }

    /// The requests with these ids, in no particular order (the dashboard's
    /// pages).
    pub async fn get_many(
        &self,
        ids: &[String],
        public_url: &str,
    ) -> Result<Vec<Request>, StoreError> {
        self.select("WHERE id = ANY($1)", &[&ids], public_url).await
    }

    async fn select(
        &self,
        filter: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        public_url: &str,
    ) -> Result<Vec<Request>, StoreError> {
        let sql = format!(
            "SELECT id, version, token_hash, requester_people, view FROM requests {filter}"
        );
        let rows = self
            .client()
            .await?
            .rows(&sql, params)
            .await
            .map_err(|e| self.fail(e))?;
        rows.iter()
            .map(|row| read_request(row, public_url).map_err(|e| self.fail(e)))
            .collect()
    }

    pub async fn add_token(
        &self,
        person: &str,
        hash: &str,
        created: &str,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO tokens (hash, person, created) VALUES ($1, $2, $3)",
                &[&hash, &person, &created],
            )
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// The person behind a token in force. Its use is noted at most once a
    /// minute: a write on every call would make each approval wait for a commit.
    pub async fn token_person(&self, hash: &str, now: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .row_opt(
                "SELECT person, last_used FROM tokens WHERE hash = $1 AND revoked IS NULL",
                &[&hash],
            )
            .await
            .map_err(|e| self.fail(e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let last_used: Option<String> = row.get(1);
        let stale = |at: &str| {
            let (Ok(then), Ok(now)) = (
                humantime::parse_rfc3339_weak(at),
                humantime::parse_rfc3339_weak(now),
            ) else {
                return true;
            };
            now.duration_since(then).unwrap_or_default() >= TOKEN_USE_RESOLUTION
        };
        if last_used.as_deref().is_none_or(stale) {
            client
                .run(
                    "UPDATE tokens SET last_used = $2 WHERE hash = $1",
                    &[&hash, &now],
                )
                .await
                .map_err(|e| self.fail(e))?;
        }
        Ok(Some(row.get(0)))
    }

    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT person, hash, created, last_used, revoked FROM tokens ORDER BY created",
                &[],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(rows
            .iter()
            .map(|row| TokenInfo {
                person: row.get(0),
                id: row.get::<_, String>(1).chars().take(8).collect(),
                created: row.get(2),
                last_used: row.get(3),
                revoked: row.get(4),
            })
            .collect())
    }

    pub async fn revoke_tokens(&self, person: &str, at: &str) -> Result<usize, StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE tokens SET revoked = $2 WHERE person = $1 AND revoked IS NULL",
                &[&person, &at],
            )
            .await
            .map(|n| n as usize)
            .map_err(|e| self.fail(e))
    }

    pub async fn put_message(
        &self,
        request_id: &str,
        channel: &str,
        address: &str,
        put: Put,
    ) -> Result<bool, StoreError> {
        let sql = match put {
            Put::Replace => {
                "INSERT INTO channel_messages (request_id, channel, address) VALUES ($1, $2, $3)
                 ON CONFLICT (request_id, channel) DO UPDATE SET address = excluded.address"
            }
            Put::IfAbsent => {
                "INSERT INTO channel_messages (request_id, channel, address) VALUES ($1, $2, $3)
                 ON CONFLICT (request_id, channel) DO NOTHING"
            }
        };
        self.client()
            .await?
            .run(sql, &[&request_id, &channel, &address])
            .await
            .map(|written| written == 1)
            .map_err(|e| self.fail(e))
    }

    pub async fn message(
        &self,
        request_id: &str,
        channel: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = self
            .client()
            .await?
            .row_opt(
                "SELECT address FROM channel_messages WHERE request_id = $1 AND channel = $2",
                &[&request_id, &channel],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(row.map(|row| row.get(0)))
    }

    pub async fn add_policy(
        &self,
        version: &str,
        text: &str,
        published_by: &str,
        published_at: &str,
        request_id: &str,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO policies (version, text, published_by, published_at, request_id, state)
                 VALUES ($1, $2, $3, $4, $5, 'pending')",
                &[&version, &text, &published_by, &published_at, &request_id],
            )
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Settle a pending version; `None` when it was not pending (settled by
    /// another replica already).
    pub async fn settle_policy(
        &self,
        request_id: &str,
        approved: bool,
        approved_by: &[String],
        at: &str,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.fail(e))?;
        let pending = tx
            .query_opt(
                "SELECT seq FROM policies WHERE request_id = $1 AND state = 'pending' FOR UPDATE",
                &[&request_id],
            )
            .await
            .map_err(|e| self.fail(e))?;
        let Some(seq) = pending.map(|row| row.get::<_, i64>(0)) else {
            return Ok(None);
        };
        if approved {
            // One active version at a time, whichever replica settles.
            tx.execute("LOCK TABLE policies IN SHARE ROW EXCLUSIVE MODE", &[])
                .await
                .map_err(|e| self.fail(e))?;
            tx.execute(
                "UPDATE policies SET state = 'superseded' WHERE state = 'active'",
                &[],
            )
            .await
            .map_err(|e| self.fail(e))?;
        }
        let by = serde_json::to_string(approved_by).map_err(|e| self.fail(e))?;
        tx.execute(
            "UPDATE policies SET state = $1, decided_at = $2, approved_by = $3 WHERE seq = $4",
            &[&if approved { "active" } else { "refused" }, &at, &by, &seq],
        )
        .await
        .map_err(|e| self.fail(e))?;
        tx.commit().await.map_err(|e| self.fail(e))?;
        // Back to the pool before another is taken.
        drop(client);
        Ok(self.policies().await?.into_iter().find(|p| p.seq == seq))
    }

    pub async fn policies(&self) -> Result<Vec<PolicyVersion>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, version, text, published_by, published_at, request_id, state,
                        decided_at, approved_by FROM policies ORDER BY seq DESC",
                &[],
            )
            .await
            .map_err(|e| self.fail(e))?;
        rows.iter()
            .map(|row| {
                Ok(PolicyVersion {
                    seq: row.get(0),
                    text: row.get(2),
                    view: PolicyVersionView {
                        version: row.get(1),
                        published_by: row.get(3),
                        published_at: row.get(4),
                        request_id: row.get(5),
                        state: row.get(6),
                        decided_at: row.get(7),
                        approved_by: serde_json::from_str(row.get(8))
                            .map_err(|e| self.fail(format!("damaged policy row: {e}")))?,
                    },
                })
            })
            .collect()
    }

    /// A connection of its own that listens on [`CHANNEL`]: the ids of changed
    /// requests arrive on the receiver, which ends when the connection is lost
    /// (notifications sent meanwhile are lost too: re-read after reconnecting).
    /// Keep the returned client as long as you listen.
    pub async fn listen(
        &self,
    ) -> Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<String>), StoreError> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let client = match &self.tls {
            Tls::Off => {
                let (client, connection) =
                    self.config.connect(NoTls).await.map_err(|e| self.fail(e))?;
                tokio::spawn(forward(connection, sender));
                client
            }
            Tls::Rustls(tls) => {
                let (client, connection) = self
                    .config
                    .connect(tls.clone())
                    .await
                    .map_err(|e| self.fail(e))?;
                tokio::spawn(forward(connection, sender));
                client
            }
        };
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(|e| self.fail(e))?;
        Ok((client, receiver))
    }

    /// The ids and versions of every pending request and of `ids`: what a
    /// replica compares its memory with after (re)connecting, and now and then.
    pub async fn versions(&self, ids: &[String]) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, version FROM requests WHERE status = 'pending' OR id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(rows
            .iter()
            .map(|row| (row.get(0), row.get::<_, i64>(1) as u64))
            .collect())
    }
}

/// Drive `connection`, handing each notification's payload to `sender`; ends
/// (dropping `sender`) when the connection does.
async fn forward<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    sender: mpsc::UnboundedSender<String>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
        match message {
            Ok(AsyncMessage::Notification(note)) => {
                if sender.send(note.payload().to_string()).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// A request from its row: the stored view, with its id's link under
/// `public_url` and the version it was stored under.
fn read_request(row: &Row, public_url: &str) -> Result<Request, String> {
    let stored = Stored {
        id: row.get("id"),
        version: row.get::<_, i64>("version") as u64,
        token_hash: row.get("token_hash"),
        requester_people: row.get("requester_people"),
        view: row.get("view"),
    };
    stored.request(public_url)
}

/// What is stored of a request, from its row or its change's notification.
pub(super) struct Stored<'a> {
    pub id: String,
    pub version: u64,
    pub token_hash: Vec<u8>,
    pub requester_people: &'a str,
    pub view: &'a str,
}

impl Stored<'_> {
    pub(super) fn request(self, public_url: &str) -> Result<Request, String> {
        let id = self.id;
        let damaged = |what: &str, e: &dyn std::fmt::Display| {
            format!("damaged request row {id}: {what}: {e}")
        };
        let mut view: RequestView =
            serde_json::from_str(self.view).map_err(|e| damaged("view", &e))?;
        if view.id != id {
            return Err(damaged("view", &format!("names request {}", view.id)));
        }
        view.url = format!("{public_url}/r/{id}");
        view.version = self.version;
        let expires =
            humantime::parse_rfc3339(&view.expires_at).map_err(|e| damaged("expires_at", &e))?;
        // A damaged set is an error, never an empty one: that would let the
        // requester approve.
        let requester_people = serde_json::from_str(self.requester_people)
            .map_err(|e| damaged("requester_people", &e))?;
        Ok(Request {
            view,
            token_hash: self
                .token_hash
                .try_into()
                .map_err(|_| damaged("token_hash", &"not 32 bytes"))?,
            requester_people,
            expires,
        })
    }
}

/// `err` and its causes, one after another: the driver's own message ("error
/// performing TLS handshake") says what failed, its cause why.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

/// `user@host:port/dbname` (or the socket directory), never the password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// rustls with the system's roots and `ca_file`'s certificates.
fn rustls_connector(ca_file: Option<&std::path::Path>) -> Result<MakeRustlsConnect, StoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let fail = |e: &dyn std::fmt::Display| {
            StoreError(format!(
                "[store] ca_file {}: {e}; give a PEM file of CA certificates",
                path.display()
            ))
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| fail(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| fail(&e))?;
        if certs.is_empty() {
            return Err(fail(&"no certificate in it"));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| fail(&e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError(format!("TLS to the broker store: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Stores on the tests' throwaway PostgreSQL cluster.
#[cfg(test)]
pub(crate) mod testing {
    use super::PgStore;
    use crate::server::config::StoreConfig;
    use crate::server::store::pg_harness;

    /// The URL of a new, empty database; None where PostgreSQL is not installed.
    pub fn database() -> Option<String> {
        pg_harness::cluster().map(|cluster| cluster.database().url)
    }

    /// A store of its own (its own pool) on the database at `url`, as one
    /// broker replica holds it.
    pub async fn connect(url: &str) -> PgStore {
        let config = StoreConfig {
            url: url.to_string(),
            password_env: None,
            ca_file: None,
            pool_size: 8,
        };
        PgStore::connect(&config)
            .await
            .expect("connect to the test database")
    }
}
