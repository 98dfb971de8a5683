//! What happened to the broker's requests over a period, computed with SQL
//! aggregates over the broker store (`requests`, `votes` in SQLite; the
//! requests' stored views in PostgreSQL, `postgres`). Reads only.
//!
//! A request belongs to the period its `created_at` falls in (UTC). Policy
//! denials never reach the store (the broker refuses them before a request
//! exists), so "denials by rule" counts requests an approver denied.

use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// How many entries the top-N lists keep.
pub const TOP: usize = 10;
/// The longest period charted day by day.
pub const MAX_DAYS: usize = 366;

/// Requests by their state now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub approved: u64,
    pub denied: u64,
    pub timed_out: u64,
    pub cancelled: u64,
    pub pending: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.approved + self.denied + self.timed_out + self.cancelled + self.pending
    }

    fn add(&mut self, status: &str, n: u64) {
        match status {
            "approved" => self.approved += n,
            "denied" => self.denied += n,
            "timed_out" => self.timed_out += n,
            "cancelled" => self.cancelled += n,
            _ => self.pending += n,
        }
    }
}

/// One UTC day's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub counts: Counts,
}

/// Time from a request's creation to a person's decision (approved or denied,
/// break-glass excluded: it decides itself at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionTimes {
    /// Nearest-rank percentiles.
    pub p50: Duration,
    pub p90: Duration,
    /// How many decisions they are over.
    pub decided: u64,
}

/// A name and how often it occurs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub name: String,
    pub count: u64,
}

/// An approver's votes in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverVotes {
    pub person: String,
    pub approved: u64,
    pub denied: u64,
}

/// One break-glass use: the requester approved their own request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassUse {
    pub request_id: String,
    /// RFC 3339 UTC.
    pub at: String,
    pub user: String,
    pub host: String,
    pub reason: String,
    pub argv: Vec<String>,
}

/// The metrics of one period, `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// RFC 3339 UTC.
    pub from: String,
    pub to: String,
    /// Every day of the period, oldest first, empty days included.
    pub days: Vec<Day>,
    pub totals: Counts,
    /// `None` when nobody decided anything in the period.
    pub time_to_decision: Option<DecisionTimes>,
    /// Most denied first, at most [`TOP`].
    pub denials_by_rule: Vec<Ranked>,
    /// Newest first.
    pub break_glass: Vec<BreakGlassUse>,
    /// Requests per agent name ("none" without an agent), most first, at most [`TOP`].
    pub busiest_agents: Vec<Ranked>,
    /// Votes per person (break-glass self-approvals excluded), most first, at most [`TOP`].
    pub busiest_approvers: Vec<ApproverVotes>,
}

const IN_PERIOD: &str = "created_at >= ?1 AND created_at < ?2";

/// What the store's aggregates return for a period, before the shared
/// arithmetic (days, percentiles) makes them [`Metrics`]. Each store fills it
/// with its own SQL (`postgres` for PostgreSQL).
#[derive(Debug, Default)]
pub(super) struct Aggregates {
    /// (date, status, count).
    pub per_day: Vec<(String, String, u64)>,
    /// (created_at, the last vote's time) of each decided request.
    pub decisions: Vec<(String, String)>,
    pub denials_by_rule: Vec<Ranked>,
    pub break_glass: Vec<BreakGlassUse>,
    pub busiest_agents: Vec<Ranked>,
    pub busiest_approvers: Vec<ApproverVotes>,
}

impl Metrics {
    /// The metrics of requests created in `[from, to)`, from the broker store
    /// open on `conn`.
    pub fn compute(
        conn: &Connection,
        from: SystemTime,
        to: SystemTime,
    ) -> rusqlite::Result<Metrics> {
        let (from_text, to_text) = period(from, to);
        let aggregates = Aggregates {
            per_day: per_day(conn, &from_text, &to_text)?,
            decisions: decisions(conn, &from_text, &to_text)?,
            denials_by_rule: ranked(
                conn,
                &format!(
                    "SELECT rule.value, COUNT(*) FROM requests, json_each(requests.rules) AS rule
                     WHERE {IN_PERIOD} AND status = 'denied'
                     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP}"
                ),
                &from_text,
                &to_text,
            )?,
            break_glass: break_glass(conn, &from_text, &to_text)?,
            busiest_agents: ranked(
                conn,
                &format!(
                    "SELECT COALESCE(json_extract(requester, '$.agent.name'), 'none'), COUNT(*)
                     FROM requests WHERE {IN_PERIOD}
                     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP}"
                ),
                &from_text,
                &to_text,
            )?,
            busiest_approvers: approvers(conn, &from_text, &to_text)?,
        };
        Ok(Metrics::assemble(from, to, aggregates))
    }

    /// The metrics from the store's aggregates for `[from, to)`.
    pub(super) fn assemble(from: SystemTime, to: SystemTime, aggregates: Aggregates) -> Metrics {
        let (from_text, to_text) = period(from, to);
        let mut by_day: BTreeMap<String, Counts> = days_between(from, to)
            .into_iter()
            .map(|date| (date, Counts::default()))
            .collect();
        let mut totals = Counts::default();
        for (date, status, n) in &aggregates.per_day {
            totals.add(status, *n);
            if let Some(day) = by_day.get_mut(date) {
                day.add(status, *n);
            }
        }
        let days = by_day
            .into_iter()
            .map(|(date, counts)| Day { date, counts })
            .collect();
        Metrics {
            from: from_text,
            to: to_text,
            days,
            totals,
            time_to_decision: decision_times(&aggregates.decisions),
            denials_by_rule: aggregates.denials_by_rule,
            break_glass: aggregates.break_glass,
            busiest_agents: aggregates.busiest_agents,
            busiest_approvers: aggregates.busiest_approvers,
        }
    }
}

/// The period's bounds as the store's text; an end before the start is the start.
pub(super) fn period(from: SystemTime, to: SystemTime) -> (String, String) {
    (rfc3339(from), rfc3339(to.max(from)))
}

fn per_day(
    conn: &Connection,
    from: &str,
    to: &str,
) -> rusqlite::Result<Vec<(String, String, u64)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT substr(created_at, 1, 10), status, COUNT(*) FROM requests
         WHERE {IN_PERIOD} GROUP BY 1, 2"
    ))?;
    let rows = stmt.query_map(params![from, to], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)? as u64))
    })?;
    rows.collect()
}

fn ranked(conn: &Connection, sql: &str, from: &str, to: &str) -> rusqlite::Result<Vec<Ranked>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![from, to], |row| {
        Ok(Ranked {
            name: row.get(0)?,
            count: row.get::<_, i64>(1)? as u64,
        })
    })?;
    rows.collect()
}

/// The decision is the last vote on an approved or denied request (a single
/// deny ends it; the approval that made the quorum comes last).
fn decisions(conn: &Connection, from: &str, to: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT r.created_at, MAX(v.at) FROM requests r JOIN votes v ON v.request_id = r.id
         WHERE r.{IN_PERIOD} AND r.status IN ('approved', 'denied') AND r.break_glass = 0
         GROUP BY r.id"
    ))?;
    let rows = stmt.query_map(params![from, to], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// The percentiles of the time from creation to decision.
fn decision_times(decisions: &[(String, String)]) -> Option<DecisionTimes> {
    let mut times = Vec::new();
    for (created, decided) in decisions {
        let parse = |text: &str| humantime::parse_rfc3339(text).ok();
        if let (Some(created), Some(decided)) = (parse(created), parse(decided)) {
            times.push(decided.duration_since(created).unwrap_or_default());
        }
    }
    times.sort_unstable();
    (!times.is_empty()).then(|| DecisionTimes {
        p50: percentile(&times, 50),
        p90: percentile(&times, 90),
        decided: times.len() as u64,
    })
}

/// Nearest rank: the smallest value with at least `p`% of `sorted` at or below it.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn break_glass(conn: &Connection, from: &str, to: &str) -> rusqlite::Result<Vec<BreakGlassUse>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, created_at, json_extract(requester, '$.user'),
                json_extract(requester, '$.host'), COALESCE(reason, ''), argv
         FROM requests WHERE {IN_PERIOD} AND break_glass = 1 ORDER BY created_at DESC"
    ))?;
    let rows = stmt.query_map(params![from, to], |row| {
        let argv: String = row.get(5)?;
        Ok(BreakGlassUse {
            request_id: row.get(0)?,
            at: row.get(1)?,
            user: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            host: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
            reason: row.get(4)?,
            argv: serde_json::from_str(&argv).unwrap_or_default(),
        })
    })?;
    rows.collect()
}

fn approvers(conn: &Connection, from: &str, to: &str) -> rusqlite::Result<Vec<ApproverVotes>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT v.person, SUM(v.verdict = 'approve'), SUM(v.verdict = 'deny')
         FROM votes v JOIN requests r ON r.id = v.request_id
         WHERE r.{IN_PERIOD} AND v.channel != '{}'
         GROUP BY v.person ORDER BY COUNT(*) DESC, v.person LIMIT {TOP}",
        crate::approval::protocol::BREAK_GLASS_CHANNEL
    ))?;
    let rows = stmt.query_map(params![from, to], |row| {
        Ok(ApproverVotes {
            person: row.get(0)?,
            approved: row.get::<_, i64>(1)? as u64,
            denied: row.get::<_, i64>(2)? as u64,
        })
    })?;
    rows.collect()
}

/// The store's time format (`rules::rfc3339`), so text comparison orders times.
fn rfc3339(time: SystemTime) -> String {
    super::super::rules::rfc3339(time)
}

/// Every UTC date from `from`'s to the one before `to`, at most [`MAX_DAYS`].
fn days_between(from: SystemTime, to: SystemTime) -> Vec<String> {
    const DAY: Duration = Duration::from_secs(86_400);
    let mut days = Vec::new();
    let mut at = from;
    while at < to && days.len() < MAX_DAYS {
        days.push(rfc3339(at)[..10].to_string());
        at += DAY;
    }
    // A period not starting at midnight ends on a day the steps skipped.
    if let Some(last) = to
        .checked_sub(Duration::from_millis(1))
        .filter(|l| *l >= from)
    {
        let date = rfc3339(last)[..10].to_string();
        if days.last() != Some(&date) && days.len() < MAX_DAYS {
            days.push(date);
        }
    }
    days
}
