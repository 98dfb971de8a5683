//! Enrollment's tables in the broker's PostgreSQL store (`[store] url`), shared
//! by every replica: the same tables and rules as `store` (SQLite), on the
//! broker's pool.
//!
//! What holds across replicas, the requester being the adversary:
//! - a code enrolls at most one key: it is marked used by a single `UPDATE …
//!   WHERE used IS NULL`, which two replicas cannot both match, and the key is
//!   registered in the same transaction;
//! - a nonce is accepted once: the primary key on (installation, nonce) lets one
//!   insert in, whichever replica gets it;
//! - a revocation holds at once: every check reads the database.

use super::store::{CodeRefusal, InstallationRow};
use crate::approval::signature::WINDOW;
use crate::server::store::StoreError;
use crate::server::store::postgres::{PgStore, Prepared};
use tokio_postgres::Row;

#[derive(Debug, Clone)]
pub struct PgEnrollments {
    pg: Box<PgStore>,
}

impl PgEnrollments {
    pub fn new(pg: Box<PgStore>) -> PgEnrollments {
        PgEnrollments { pg }
    }

    /// Remember a new code (its SHA-256, hex) for installation `name`.
    pub async fn add_code(
        &self,
        hash: &str,
        name: &str,
        now: u64,
        expires: u64,
    ) -> Result<(), StoreError> {
        self.pg
            .client()
            .await?
            .execute(
                "INSERT INTO enrollment_codes (hash, name, created, expires)
                 VALUES ($1, $2, $3, $4)",
                &[&hash, &name, &(now as i64), &(expires as i64)],
            )
            .await
            .map(|_| ())
            .map_err(|e| self.pg.fail(e))
    }

    /// Use code `hash` once: register `public_key` under the code's name,
    /// replacing (and un-revoking) an earlier key of that name. The name.
    pub async fn enroll(
        &self,
        hash: &str,
        public_key: &[u8; 32],
        now: u64,
    ) -> Result<Result<String, CodeRefusal>, StoreError> {
        let fail = |e| self.pg.fail(e);
        let now = now as i64;
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(fail)?;
        // A replica racing this one waits for the row, then finds it used.
        let used = tx
            .query_opt(
                "UPDATE enrollment_codes SET used = $2
                 WHERE hash = $1 AND used IS NULL AND expires >= $2 RETURNING name",
                &[&hash, &now],
            )
            .await
            .map_err(fail)?;
        let Some(row) = used else {
            tx.rollback().await.map_err(fail)?;
            // On the same connection: a second from the pool could wait forever
            // behind replicas doing the same.
            return self.why_refused(&client, hash).await.map(Err);
        };
        let name: String = row.get(0);
        tx.execute(
            "INSERT INTO installations (name, public_key, enrolled_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET public_key = excluded.public_key,
                enrolled_at = excluded.enrolled_at, last_seen = NULL, revoked_at = NULL",
            &[&name, &&public_key[..], &now],
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(name))
    }

    /// Why code `hash` did not enroll: unknown, used, or expired.
    async fn why_refused(
        &self,
        client: &tokio_postgres::Client,
        hash: &str,
    ) -> Result<CodeRefusal, StoreError> {
        let row = client
            .query_opt(
                "SELECT used IS NOT NULL FROM enrollment_codes WHERE hash = $1",
                &[&hash],
            )
            .await
            .map_err(|e| self.pg.fail(e))?;
        Ok(match row.map(|row| row.get::<_, bool>(0)) {
            None => CodeRefusal::Unknown,
            Some(true) => CodeRefusal::Used,
            Some(false) => CodeRefusal::Expired,
        })
    }

    /// One installation by name.
    pub async fn installation(&self, name: &str) -> Result<Option<InstallationRow>, StoreError> {
        let row = self
            .pg
            .client()
            .await?
            .row_opt(
                "SELECT name, public_key, enrolled_at, last_seen, revoked_at
                 FROM installations WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(|e| self.pg.fail(e))?;
        row.map(|row| read_row(&row).map_err(|e| self.pg.fail(e)))
            .transpose()
    }

    /// Every installation, by name.
    pub async fn installations(&self) -> Result<Vec<InstallationRow>, StoreError> {
        let rows = self
            .pg
            .client()
            .await?
            .query(
                "SELECT name, public_key, enrolled_at, last_seen, revoked_at
                 FROM installations ORDER BY name",
                &[],
            )
            .await
            .map_err(|e| self.pg.fail(e))?;
        rows.iter()
            .map(|row| read_row(row).map_err(|e| self.pg.fail(e)))
            .collect()
    }

    /// Revoke installation `name` now; false when there is none by that name.
    pub async fn revoke(&self, name: &str, now: u64) -> Result<bool, StoreError> {
        self.pg
            .client()
            .await?
            .execute(
                "UPDATE installations SET revoked_at = coalesce(revoked_at, $2) WHERE name = $1",
                &[&name, &(now as i64)],
            )
            .await
            .map(|changed| changed == 1)
            .map_err(|e| self.pg.fail(e))
    }

    /// Record nonce `nonce` of `installation`, signed at `timestamp`, and note
    /// the installation seen at `now`; false when the nonce was seen before (a
    /// replay), by this replica or another.
    ///
    /// Nonces older than `forget_before` less one more window are dropped: the
    /// margin keeps a replica whose clock runs ahead from forgetting a nonce
    /// another replica would still accept.
    pub async fn first_use(
        &self,
        installation: &str,
        nonce: &str,
        timestamp: u64,
        forget_before: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let fail = |e| self.pg.fail(e);
        let forget_before = forget_before.saturating_sub(WINDOW.as_secs()) as i64;
        let client = self.pg.client().await?;
        client
            .run(
                "DELETE FROM seen_nonces WHERE timestamp < $1",
                &[&forget_before],
            )
            .await
            .map_err(fail)?;
        let inserted = client
            .run(
                "INSERT INTO seen_nonces (installation, nonce, timestamp) VALUES ($1, $2, $3)
                 ON CONFLICT (installation, nonce) DO NOTHING",
                &[&installation, &nonce, &(timestamp as i64)],
            )
            .await
            .map_err(fail)?;
        if inserted != 1 {
            return Ok(false);
        }
        client
            .run(
                "UPDATE installations SET last_seen = $2 WHERE name = $1",
                &[&installation, &(now as i64)],
            )
            .await
            .map_err(fail)?;
        Ok(true)
    }
}

fn read_row(row: &Row) -> Result<InstallationRow, String> {
    let name: String = row.get(0);
    let key: Vec<u8> = row.get(1);
    let at = |value: Option<i64>| value.map(|v| v as u64);
    Ok(InstallationRow {
        public_key: key
            .try_into()
            .map_err(|_| format!("installation {name}: damaged installation key"))?,
        name,
        enrolled_at: row.get::<_, i64>(2) as u64,
        last_seen: at(row.get(3)),
        revoked_at: at(row.get(4)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::postgres::testing;

    async fn store(url: &str) -> PgEnrollments {
        PgEnrollments::new(Box::new(testing::connect(url).await))
    }

    #[tokio::test]
    async fn a_code_enrolls_once_before_it_expires() {
        let Some(url) = testing::database() else {
            return;
        };
        let store = store(&url).await;
        store.add_code("h1", "laptop", 100, 200).await.unwrap();
        store.add_code("h2", "laptop", 100, 200).await.unwrap();
        assert_eq!(
            store.enroll("nope", &[1; 32], 150).await.unwrap(),
            Err(CodeRefusal::Unknown)
        );
        assert_eq!(
            store.enroll("h1", &[1; 32], 150).await.unwrap(),
            Ok("laptop".into())
        );
        assert_eq!(
            store.enroll("h1", &[2; 32], 150).await.unwrap(),
            Err(CodeRefusal::Used)
        );
        let row = store.installation("laptop").await.unwrap().unwrap();
        assert_eq!(row.public_key, [1; 32]);
        assert_eq!(
            store.enroll("h2", &[2; 32], 201).await.unwrap(),
            Err(CodeRefusal::Expired)
        );
    }

    #[tokio::test]
    async fn enrolling_again_replaces_the_key_and_lifts_a_revocation() {
        let Some(url) = testing::database() else {
            return;
        };
        let store = store(&url).await;
        store.add_code("h1", "laptop", 100, 200).await.unwrap();
        store.enroll("h1", &[1; 32], 110).await.unwrap().unwrap();
        assert!(store.revoke("laptop", 120).await.unwrap());
        assert!(!store.revoke("desktop", 120).await.unwrap());
        let row = store.installation("laptop").await.unwrap().unwrap();
        assert_eq!(row.revoked_at, Some(120));
        store.add_code("h2", "laptop", 130, 200).await.unwrap();
        store.enroll("h2", &[2; 32], 140).await.unwrap().unwrap();
        let row = store.installation("laptop").await.unwrap().unwrap();
        assert_eq!((row.public_key, row.revoked_at), ([2; 32], None));
        assert_eq!(store.installations().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_revocation_on_one_replica_holds_on_the_other_at_once() {
        let Some(url) = testing::database() else {
            return;
        };
        let (one, two) = (store(&url).await, store(&url).await);
        one.add_code("h1", "laptop", 100, 200).await.unwrap();
        one.enroll("h1", &[1; 32], 110).await.unwrap().unwrap();
        assert_eq!(
            two.installation("laptop")
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            None
        );
        assert!(one.revoke("laptop", 120).await.unwrap());
        assert_eq!(
            two.installation("laptop")
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            Some(120)
        );
    }

    #[tokio::test]
    async fn a_nonce_is_accepted_once_and_forgotten_when_old() {
        let Some(url) = testing::database() else {
            return;
        };
        let (store, other) = (store(&url).await, store(&url).await);
        let window = WINDOW.as_secs();
        assert!(store.first_use("a", "n1", 1000, 0, 1000).await.unwrap());
        assert!(!store.first_use("a", "n1", 1000, 0, 1000).await.unwrap());
        // Nor on another replica.
        assert!(!other.first_use("a", "n1", 1000, 0, 1000).await.unwrap());
        // Another installation's nonce is its own.
        assert!(store.first_use("b", "n1", 1000, 0, 1000).await.unwrap());
        // Within one window of the cut it is still kept (clock skew) ...
        let cut = 1001 + window;
        assert!(store.first_use("a", "n2", 2000, 1001, 2000).await.unwrap());
        assert!(!store.first_use("a", "n1", 1000, 0, 1000).await.unwrap());
        // ... and pruned once past it.
        assert!(store.first_use("a", "n3", 3000, cut, 3000).await.unwrap());
        assert!(store.first_use("a", "n1", 1000, 0, 1000).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_code_sent_to_two_replicas_at_once_enrolls_one_key() {
        use crate::approval::protocol::{EnrollBody, ErrorCode};
        use crate::server::enrollment::Enrollments;
        use crate::server::store::Store;
        use ed25519_dalek::SigningKey;
        let Some(url) = testing::database() else {
            return;
        };
        let mut replicas = Vec::new();
        for _ in 0..2 {
            let store = Store::Postgres(Box::new(testing::connect(&url).await));
            replicas.push(Enrollments::open(&store).unwrap());
        }
        let code = replicas[0]
            .create_code("laptop", std::time::Duration::from_secs(3600))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..20u8)
            .map(|i| {
                let replica = replicas[usize::from(i % 2)].clone();
                let key = SigningKey::from_bytes(&[i; 32]).verifying_key();
                let body = EnrollBody {
                    code: code.clone(),
                    public_key: crate::keys::public_key_pem(&key),
                };
                tokio::spawn(async move { (key, replica.enroll(body).await) })
            })
            .collect();
        let mut enrolled = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (key, Ok(answer)) => enrolled.push((key, answer.name)),
                (_, Err(refusal)) => assert_eq!(
                    (refusal.status, refusal.code),
                    (401, ErrorCode::InvalidEnrollmentCode),
                    "{}",
                    refusal.message
                ),
            }
        }
        assert_eq!(enrolled.len(), 1, "{enrolled:?}");
        let rows = replicas[1].installations().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].name.as_str(), rows[0].public_key),
            ("laptop", enrolled[0].0.to_bytes())
        );
    }
}
