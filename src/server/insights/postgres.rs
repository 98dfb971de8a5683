//! The metrics' aggregates on the PostgreSQL store, where a request's votes,
//! rules, requester and agent live in its stored view (`view::jsonb`). Same
//! numbers as the SQLite queries in `metrics`: times are compared and names
//! ordered as bytes (`COLLATE "C"`), as SQLite does.

use super::metrics::{Aggregates, ApproverVotes, BreakGlassUse, Metrics, Ranked, TOP, period};
use crate::approval::protocol::BREAK_GLASS_CHANNEL;
use std::time::SystemTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error};

/// The period's requests, with their views as JSON: `r (id, status, created_at, v)`.
const IN_PERIOD: &str = "(SELECT id, status, created_at, view::jsonb AS v FROM requests
    WHERE created_at COLLATE \"C\" >= $1 AND created_at COLLATE \"C\" < $2) AS r";

impl Metrics {
    /// [`Metrics::compute`] on the PostgreSQL store.
    pub async fn compute_pg(
        client: &Client,
        from: SystemTime,
        to: SystemTime,
    ) -> Result<Metrics, Error> {
        let (from_text, to_text) = period(from, to);
        let period: [&(dyn ToSql + Sync); 2] = [&from_text, &to_text];
        let query = |sql: String| async move { client.query(&sql, &period).await };
        let per_day = query(format!(
            "SELECT substr(created_at, 1, 10), status, COUNT(*) FROM {IN_PERIOD} GROUP BY 1, 2"
        ))
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get::<_, i64>(2) as u64))
        .collect();
        // The decision is the last vote on an approved or denied request.
        let decisions = query(format!(
            "SELECT r.created_at, MAX((vote ->> 'at') COLLATE \"C\") FROM {IN_PERIOD},
                jsonb_array_elements(r.v -> 'votes') AS votes (vote)
             WHERE r.status IN ('approved', 'denied') AND NOT (r.v ->> 'break_glass')::boolean
             GROUP BY r.id, r.created_at"
        ))
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
        let ranked = |rows: Vec<tokio_postgres::Row>| -> Vec<Ranked> {
            rows.iter()
                .map(|row| Ranked {
                    name: row.get(0),
                    count: row.get::<_, i64>(1) as u64,
                })
                .collect()
        };
        let denials_by_rule = ranked(
            query(format!(
                "SELECT rule COLLATE \"C\", COUNT(*) FROM {IN_PERIOD},
                    jsonb_array_elements_text(r.v -> 'rules') AS rules (rule)
                 WHERE r.status = 'denied'
                 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP}"
            ))
            .await?,
        );
        let break_glass = query(format!(
            "SELECT id, created_at, v -> 'requester' ->> 'user', v -> 'requester' ->> 'host',
                COALESCE(v ->> 'reason', ''), (v -> 'argv')::text
             FROM {IN_PERIOD} WHERE (v ->> 'break_glass')::boolean
             ORDER BY created_at COLLATE \"C\" DESC"
        ))
        .await?
        .iter()
        .map(|row| BreakGlassUse {
            request_id: row.get(0),
            at: row.get(1),
            user: row.get::<_, Option<String>>(2).unwrap_or_default(),
            host: row.get::<_, Option<String>>(3).unwrap_or_default(),
            reason: row.get(4),
            argv: serde_json::from_str(row.get(5)).unwrap_or_default(),
        })
        .collect();
        let busiest_agents = ranked(
            query(format!(
                "SELECT COALESCE(v -> 'requester' -> 'agent' ->> 'name', 'none') COLLATE \"C\",
                    COUNT(*)
                 FROM {IN_PERIOD} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP}"
            ))
            .await?,
        );
        let busiest_approvers = query(format!(
            "SELECT (vote ->> 'person') COLLATE \"C\", COUNT(*) FILTER (WHERE vote ->> 'verdict' = 'approve'),
                COUNT(*) FILTER (WHERE vote ->> 'verdict' = 'deny')
             FROM {IN_PERIOD}, jsonb_array_elements(r.v -> 'votes') AS votes (vote)
             WHERE vote ->> 'channel' <> '{BREAK_GLASS_CHANNEL}'
             GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT {TOP}"
        ))
        .await?
        .iter()
        .map(|row| ApproverVotes {
            person: row.get(0),
            approved: row.get::<_, i64>(1) as u64,
            denied: row.get::<_, i64>(2) as u64,
        })
        .collect();
        let aggregates = Aggregates {
            per_day,
            decisions,
            denials_by_rule,
            break_glass,
            busiest_agents,
            busiest_approvers,
        };
        Ok(Metrics::assemble(from, to, aggregates))
    }
}
