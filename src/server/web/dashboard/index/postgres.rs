//! The dashboard's reads on the PostgreSQL store, the same tables as the
//! SQLite index: `dashboard_facets` and `dashboard_commands`, kept by the
//! `dashboard_index` (a new request) and `dashboard_reindex` (its status and
//! votes) triggers on `requests` (store migration 1) from each request's stored
//! view, so the broker's writer knows nothing of them.
//!
//! A search is `command ILIKE '%…%'` (case-insensitive substring, as the SQLite
//! trigram index finds it), served by a `pg_trgm` GIN index where the migration
//! could create the extension, else by reading the commands.

use super::plan::{COUNT_CAP, Dialect, Param, like_pattern, needs_sizes, plan};
use super::{LedgerRecord, Query};
use crate::server::insights::Metrics;
use crate::server::rules::Request;
use crate::server::store::postgres::PgStore;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;
use tokio_postgres::types::ToSql;

#[derive(Debug, Clone)]
pub struct PgIndex {
    pg: Box<PgStore>,
    public_url: Arc<str>,
}

impl PgIndex {
    pub fn new(pg: Box<PgStore>, public_url: &str) -> PgIndex {
        PgIndex {
            pg,
            public_url: public_url.into(),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, String> {
        self.pg.client().await.map_err(|e| e.to_string())
    }

    fn fail(&self, e: impl std::fmt::Display) -> String {
        format!("dashboard index: {}", self.pg.fail(e))
    }

    /// See [`super::Index::ids`].
    pub async fn ids(&self, query: &Query, limit: usize) -> Result<Vec<(String, i64)>, String> {
        let mut client = self.client().await?;
        let mut sizes = Vec::with_capacity(query.facets.len());
        if needs_sizes(query) {
            for (facet, value) in &query.facets {
                let row = client
                    .query_one(
                        "SELECT count(*) FROM (SELECT 1 FROM dashboard_facets
                         WHERE facet = $1 AND value = $2 LIMIT $3) AS f",
                        &[facet, value, &COUNT_CAP],
                    )
                    .await
                    .map_err(|e| self.fail(e))?;
                sizes.push(row.get::<_, i64>(0));
            }
        }
        let text_size = match &query.text {
            Some(text) => client
                .query_one(
                    "SELECT count(*) FROM (SELECT 1 FROM dashboard_commands
                     WHERE command ILIKE $1 LIMIT $2) AS t",
                    &[&like_pattern(text), &COUNT_CAP],
                )
                .await
                .map_err(|e| self.fail(e))?
                .get::<_, i64>(0),
            None => 0,
        };
        let plan = plan(Dialect::Postgres, query, limit, &sizes, text_size)?;
        let params: Vec<Box<dyn ToSql + Sync + Send>> = plan
            .params
            .into_iter()
            .map(|param| -> Box<dyn ToSql + Sync + Send> {
                match param {
                    Param::Text(text) => Box::new(text),
                    Param::Integer(n) => Box::new(n),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let fail = |e| self.fail(e);
        let tx = client.transaction().await.map_err(fail)?;
        if !plan.text_drives {
            // Walk the range in key order and stop at the page's last row, as
            // the plan says: the planner's row estimates for the checks made
            // on each row (a search, another facet) are guesses, and with them
            // it would rather fetch the whole range and sort it.
            tx.batch_execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off")
                .await
                .map_err(fail)?;
        }
        let rows = tx.query(&plan.sql, &refs).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// See [`super::Index::requests`]: one query, put back in the ids' order.
    pub async fn requests(&self, ids: &[(String, i64)]) -> Result<Vec<Request>, String> {
        let mut out = Vec::with_capacity(ids.len());
        // Bounded batches: an export asks for up to 100 000.
        for batch in ids.chunks(1000) {
            let wanted: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
            let mut found: HashMap<String, Request> = self
                .pg
                .get_many(&wanted, &self.public_url)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|request| (request.view.id.clone(), request))
                .collect();
            out.extend(wanted.iter().filter_map(|id| found.remove(id)));
        }
        Ok(out)
    }

    /// See [`super::Index::request`].
    pub async fn request(&self, id: &str) -> Result<Option<Request>, String> {
        self.pg
            .get(id, &self.public_url)
            .await
            .map_err(|e| e.to_string())
    }

    /// See [`super::Index::records`].
    pub async fn records(&self, id: &str) -> Result<Vec<LedgerRecord>, String> {
        let mut found = self.records_of(&[id.to_string()]).await?;
        Ok(found.pop().unwrap_or_default())
    }

    /// See [`super::Index::records_of`]: one query per thousand requests.
    pub async fn records_of(&self, ids: &[String]) -> Result<Vec<Vec<LedgerRecord>>, String> {
        let client = self.client().await?;
        let mut out = Vec::with_capacity(ids.len());
        for batch in ids.chunks(1000) {
            let rows = client
                .query(
                    "SELECT request_id, installation, seq, time, kind, decision, body, hash,
                        received_at
                     FROM ledger_records WHERE request_id = ANY($1)
                     ORDER BY installation COLLATE \"C\", seq",
                    &[&batch],
                )
                .await
                .map_err(|e| self.fail(e))?;
            let mut by_request: HashMap<String, Vec<LedgerRecord>> = HashMap::new();
            for row in &rows {
                by_request
                    .entry(row.get(0))
                    .or_default()
                    .push(LedgerRecord {
                        installation: row.get(1),
                        seq: row.get::<_, i64>(2) as u64,
                        time: row.get(3),
                        kind: row.get(4),
                        decision: row.get(5),
                        body: row.get(6),
                        hash: row.get(7),
                        received_at: row.get(8),
                    });
            }
            out.extend(
                batch
                    .iter()
                    .map(|id| by_request.remove(id).unwrap_or_default()),
            );
        }
        Ok(out)
    }

    /// See [`super::Index::metrics`].
    pub async fn metrics(&self, from: SystemTime, to: SystemTime) -> Result<Metrics, String> {
        let client = self.client().await?;
        Metrics::compute_pg(&client, from, to)
            .await
            .map_err(|e| self.fail(format!("metrics: {e}")))
    }
}
