//! The ledger's tables in the broker's PostgreSQL store (`[store] url`), shared
//! by every replica: the same tables as `store` (SQLite), and the same judging
//! (`ingest::judge`).
//!
//! A batch is taken in one transaction that holds the installation's chain row
//! (`SELECT … FOR UPDATE`) from reading the head to writing the new one: two
//! replicas given the same batch at once take turns, and the second finds the
//! records held, byte for byte, and acknowledges them again. Each record
//! extends the chain once.

use super::ingest::{self, Checked, Keys};
use super::internal;
use super::store::{Chain, Refused};
use crate::approval::protocol::{ChainHead, ForwardedRecord};
use crate::audit::GENESIS_PREV_HASH;
use crate::server::rules::Refusal;
use crate::server::store::StoreError;
use crate::server::store::postgres::PgStore;
use std::collections::BTreeMap;
use tokio_postgres::Row;

const CHAIN_COLUMNS: &str =
    "name, audit_key, head_seq, head_hash, status, detail, first_seen, last_seen";

#[derive(Debug, Clone)]
pub struct PgLedger {
    pg: Box<PgStore>,
}

impl PgLedger {
    pub fn new(pg: Box<PgStore>) -> PgLedger {
        PgLedger { pg }
    }

    /// Store what of `records` extends `name`'s chain (see
    /// `ingest::ingest_checked`), holding the chain row meanwhile.
    pub(super) async fn ingest(
        &self,
        name: &str,
        keys: &Keys,
        records: &[ForwardedRecord],
        checked: Checked,
        now: &str,
    ) -> Result<ChainHead, Refusal> {
        let fail = |e: tokio_postgres::Error| internal(self.pg.fail(e).to_string());
        let mut client = self
            .pg
            .client()
            .await
            .map_err(|e| internal(e.to_string()))?;
        let tx = client.transaction().await.map_err(fail)?;
        let chain = tx
            .query_opt(
                &format!(
                    "SELECT {CHAIN_COLUMNS} FROM ledger_installations WHERE name = $1 FOR UPDATE"
                ),
                &[&name],
            )
            .await
            .map_err(fail)?;
        let chain = match chain {
            Some(row) => chain_row(&row),
            None => {
                let key = ingest::registered_key(keys);
                // A replica registering it at the same moment goes first: this
                // insert waits for it, then finds the row and locks it.
                let inserted = tx
                    .execute(
                        "INSERT INTO ledger_installations (name, audit_key, head_hash, first_seen,
                        last_seen) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING",
                        &[&name, &key, &GENESIS_PREV_HASH, &now],
                    )
                    .await
                    .map_err(fail)?;
                if inserted == 1 {
                    ingest::log_registered(name, &key);
                }
                let row = tx
                    .query_one(
                        &format!(
                            "SELECT {CHAIN_COLUMNS} FROM ledger_installations \
                             WHERE name = $1 FOR UPDATE"
                        ),
                        &[&name],
                    )
                    .await
                    .map_err(fail)?;
                chain_row(&row)
            }
        };
        let seqs: Vec<i64> = ingest::held_seqs(&chain, records)
            .into_iter()
            .map(|seq| seq as i64)
            .collect();
        let held: BTreeMap<u64, String> = tx
            .query(
                "SELECT seq, hash FROM ledger_records WHERE installation = $1 AND seq = ANY($2)",
                &[&name, &seqs],
            )
            .await
            .map_err(fail)?
            .iter()
            .map(|row| (row.get::<_, i64>(0) as u64, row.get(1)))
            .collect();
        let judgement = ingest::judge(&chain, keys, records, checked, &held)?;
        let insert = tx
            .prepare(
                "INSERT INTO ledger_records (installation, seq, time, kind, \"user\", decision,
                    body, signature, hash, received_at, request_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                    coalesce($11, (SELECT request_id FROM ledger_records
                                   WHERE installation = $1 AND seq = $12)))",
            )
            .await
            .map_err(fail)?;
        let verified = judgement.verified(records);
        for r in &verified {
            let closes = r.decision_seq.map(|seq| seq as i64);
            tx.execute(
                &insert,
                &[
                    &name,
                    &(r.seq as i64),
                    &r.time,
                    &r.kind,
                    &r.user,
                    &r.decision,
                    &r.body,
                    &r.signature,
                    &r.hash,
                    &now,
                    &r.request_id,
                    &closes,
                ],
            )
            .await
            .map_err(fail)?;
        }
        if let Some(last) = verified.last() {
            tx.execute(
                "UPDATE ledger_installations SET head_seq = $2, head_hash = $3 WHERE name = $1",
                &[&name, &(last.seq as i64), &last.hash],
            )
            .await
            .map_err(fail)?;
        }
        if let Some(refused) = judgement.evidence(name, records, now) {
            tx.execute(
                "INSERT INTO ledger_refused (installation, seq, body, signature, hash, reason,
                    received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &refused.installation,
                    &(refused.seq as i64),
                    &refused.body,
                    &refused.signature,
                    &refused.hash,
                    &refused.reason,
                    &refused.received_at,
                ],
            )
            .await
            .map_err(fail)?;
            tx.execute(
                "UPDATE ledger_installations SET status = 'broken',
                    detail = coalesce(detail, $2) WHERE name = $1",
                &[&name, &refused.reason],
            )
            .await
            .map_err(fail)?;
        }
        tx.execute(
            "UPDATE ledger_installations SET last_seen = $2 WHERE name = $1",
            &[&name, &now],
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        judgement.outcome(name, chain.status)
    }

    pub async fn chain(&self, name: &str) -> Result<Option<Chain>, StoreError> {
        let row = self
            .pg
            .client()
            .await?
            .query_opt(
                &format!("SELECT {CHAIN_COLUMNS} FROM ledger_installations WHERE name = $1"),
                &[&name],
            )
            .await
            .map_err(|e| self.pg.fail(e))?;
        Ok(row.as_ref().map(chain_row))
    }

    pub async fn chains(&self) -> Result<Vec<Chain>, StoreError> {
        let rows = self
            .pg
            .client()
            .await?
            .query(
                &format!("SELECT {CHAIN_COLUMNS} FROM ledger_installations ORDER BY name"),
                &[],
            )
            .await
            .map_err(|e| self.pg.fail(e))?;
        Ok(rows.iter().map(chain_row).collect())
    }

    /// The refused records of `name` (all installations when `None`), newest first.
    pub async fn refused(&self, name: Option<&str>) -> Result<Vec<Refused>, StoreError> {
        let rows = self
            .pg
            .client()
            .await?
            .query(
                "SELECT installation, seq, body, signature, hash, reason, received_at
                 FROM ledger_refused WHERE ($1::text IS NULL OR installation = $1)
                 ORDER BY id DESC",
                &[&name],
            )
            .await
            .map_err(|e| self.pg.fail(e))?;
        Ok(rows
            .iter()
            .map(|row| Refused {
                installation: row.get(0),
                seq: row.get::<_, i64>(1) as u64,
                body: row.get(2),
                signature: row.get(3),
                hash: row.get(4),
                reason: row.get(5),
                received_at: row.get(6),
            })
            .collect())
    }

    /// How many records the broker holds for `name`.
    #[cfg(test)]
    pub async fn count(&self, name: &str) -> Result<u64, StoreError> {
        let row = self
            .pg
            .client()
            .await?
            .query_one(
                "SELECT count(*) FROM ledger_records WHERE installation = $1",
                &[&name],
            )
            .await
            .map_err(|e| self.pg.fail(e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}

fn chain_row(row: &Row) -> Chain {
    Chain {
        name: row.get(0),
        audit_key: row.get(1),
        head_seq: row.get::<_, i64>(2) as u64,
        head_hash: row.get(3),
        status: row.get(4),
        detail: row.get(5),
        first_seen: row.get(6),
        last_seen: row.get(7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ledger::ingest::check_all;
    use crate::server::ledger::ingest::tests::{keys, log_with};
    use crate::server::store::postgres::testing;
    use ed25519_dalek::SigningKey;

    async fn ledger(url: &str) -> PgLedger {
        PgLedger::new(Box::new(testing::connect(url).await))
    }

    async fn ingest(
        ledger: &PgLedger,
        keys: &Keys,
        records: &[ForwardedRecord],
    ) -> Result<ChainHead, Refusal> {
        let checked = check_all(records, &keys.offered, &keys.broker);
        ledger.ingest("a", keys, records, checked, "t").await
    }

    #[tokio::test]
    async fn records_that_extend_the_chain_are_kept_and_resending_them_is_harmless() {
        let Some(url) = testing::database() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[1; 32]);
        let records = log_with(dir.path(), &key, 3);
        let ledger = ledger(&url).await;
        let head = ingest(&ledger, &keys(&key), &records[..2]).await.unwrap();
        assert_eq!(
            (head.seq, head.hash.as_str()),
            (2, records[1].hash.as_str())
        );
        let head = ingest(&ledger, &keys(&key), &records).await.unwrap();
        assert_eq!(head.seq, 3);
        assert_eq!(ledger.count("a").await.unwrap(), 3);
        assert!(ledger.refused(None).await.unwrap().is_empty());
        let chains = ledger.chains().await.unwrap();
        assert_eq!(chains.len(), 1);
        assert_eq!((chains[0].head_seq, chains[0].status.as_str()), (3, "ok"));
    }

    #[tokio::test]
    async fn a_forged_edited_or_out_of_order_record_is_refused_and_kept_as_evidence() {
        let Some(url) = testing::database() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[1; 32]);
        let records = log_with(dir.path(), &key, 3);
        let ledger = ledger(&url).await;
        let mut edited = records[0].clone();
        edited.body = edited.body.replace("carol", "mallory");
        let refused = ingest(&ledger, &keys(&key), &[edited]).await.unwrap_err();
        assert!(refused.message.contains("signature does not verify"));
        // A gap: record 2 before record 1.
        let refused = ingest(&ledger, &keys(&key), &records[1..2])
            .await
            .unwrap_err();
        assert!(refused.message.contains("does not follow record 0"));
        // Another key, however well formed its records.
        let other = SigningKey::from_bytes(&[2; 32]);
        let theirs = log_with(&dir.path().join("x"), &other, 1);
        let message = ingest(&ledger, &keys(&other), &theirs)
            .await
            .unwrap_err()
            .message;
        assert!(message.contains("not the key registered"), "{message}");
        let chain = ledger.chain("a").await.unwrap().unwrap();
        assert_eq!((chain.head_seq, chain.status.as_str()), (0, "broken"));
        assert_eq!(ledger.refused(Some("a")).await.unwrap().len(), 3);
        assert!(ledger.refused(Some("b")).await.unwrap().is_empty());
        assert_eq!(ledger.count("a").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_record_rewritten_after_it_was_forwarded_is_refused() {
        let Some(url) = testing::database() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[1; 32]);
        let records = log_with(dir.path(), &key, 2);
        let ledger = ledger(&url).await;
        ingest(&ledger, &keys(&key), &records).await.unwrap();
        // The log started over with the same key: its record 1 is another one.
        let forked = log_with(&dir.path().join("y"), &key, 1);
        let message = ingest(&ledger, &keys(&key), &forked)
            .await
            .unwrap_err()
            .message;
        assert!(message.contains("differs from the record 1"), "{message}");
        let chain = ledger.chain("a").await.unwrap().unwrap();
        assert_eq!((chain.head_seq, chain.status.as_str()), (2, "broken"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_pushed_to_two_replicas_at_once_extends_the_chain_once() {
        use crate::approval::protocol::ForwardBody;
        use crate::server::ledger::Ledger;
        use crate::server::store::Store;
        let Some(url) = testing::database() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[1; 32]);
        let records = log_with(dir.path(), &key, 5);
        let broker = SigningKey::from_bytes(&[9; 32]).verifying_key();
        let mut replicas = Vec::new();
        for _ in 0..2 {
            let store = Store::Postgres(Box::new(testing::connect(&url).await));
            replicas.push(Ledger::open(&store, BTreeMap::new(), broker).unwrap());
        }
        let body = ForwardBody {
            installation: "a".into(),
            audit_public_key: crate::keys::public_key_pem(&key.verifying_key()),
            records: records.clone(),
        };
        // The chain exists, so the replicas meet on its row, not on registering it.
        let first = ForwardBody {
            records: records[..1].to_vec(),
            ..body.clone()
        };
        replicas[0]
            .ingest(Some("a".into()), first, "t".into())
            .await
            .unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (replica, body) = (replicas[i % 2].clone(), body.clone());
                tokio::spawn(
                    async move { replica.ingest(Some("a".into()), body, "t".into()).await },
                )
            })
            .collect();
        for task in tasks {
            let head = task.await.unwrap().unwrap();
            assert_eq!((head.seq, head.status.as_str()), (5, "ok"));
        }
        let ledger = PgLedger::new(Box::new(testing::connect(&url).await));
        assert_eq!(ledger.count("a").await.unwrap(), 5);
        assert!(ledger.refused(None).await.unwrap().is_empty());
        let chains = replicas[1].chains().await.unwrap();
        assert_eq!(chains.len(), 1);
        assert_eq!(
            (chains[0].head_seq, chains[0].head_hash.as_str()),
            (5, records[4].hash.as_str())
        );
    }
}
