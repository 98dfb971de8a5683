//! `GET /metrics`: the broker's counters in the Prometheus text format, for
//! the operators' monitoring. Only numbers and fixed label values (states,
//! channels, verdicts) leave here: never a person, a requester, a command or an
//! id, so a scraper learns how busy the broker is, not what it approved.
//!
//! Changes are counted where every one of them passes ([`Broker::publish`]):
//! votes by channel and verdict, requests that reached a final state, the time
//! from a request to its decision, and how long the store took to write it.
//! Long-polls waiting, forwarded audit records and failed Slack or Teams calls
//! are counted where they happen.
//!
//! [`Broker::publish`]: super::state::Broker

use crate::approval::protocol::{Choice, Status};
use crate::server::rules::Request;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VoteLabels {
    channel: String,
    verdict: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// Every metric the broker keeps, and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pending: Gauge,
    finished: Family<StateLabel, Counter>,
    votes: Family<VoteLabels, Counter>,
    time_to_decision: Histogram,
    store_seconds: Histogram,
    long_polls: Gauge,
    forwarded: Family<OutcomeLabel, Counter>,
    channel_errors: Family<ChannelLabel, Counter>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: &'static str,
}

/// The channels a vote is counted under; anything else is "other", so a
/// requester cannot grow the label set.
const CHANNELS: &[&str] = &[
    "api",
    "cli",
    "inbox",
    "web",
    "slack",
    "teams",
    "break-glass",
];

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("gate");
        let pending = Gauge::default();
        let finished = Family::<StateLabel, Counter>::default();
        let votes = Family::<VoteLabels, Counter>::default();
        let time_to_decision = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        let store_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        let long_polls = Gauge::default();
        let forwarded = Family::<OutcomeLabel, Counter>::default();
        let channel_errors = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "requests_pending",
            "Requests waiting for a decision",
            pending.clone(),
        );
        registry.register(
            "requests_finished",
            "Requests that reached a final state, by state",
            finished.clone(),
        );
        registry.register(
            "votes",
            "Votes counted, by channel and verdict",
            votes.clone(),
        );
        registry.register(
            "time_to_decision_seconds",
            "From a request to the decision that ended it (approved or denied)",
            time_to_decision.clone(),
        );
        registry.register(
            "store_write_seconds",
            "How long the store took to write a change",
            store_seconds.clone(),
        );
        registry.register(
            "long_polls_waiting",
            "Long-polls waiting for a change",
            long_polls.clone(),
        );
        registry.register(
            "forwarded_records",
            "Forwarded audit records, by outcome (accepted: stored or held already; refused)",
            forwarded.clone(),
        );
        registry.register(
            "channel_errors",
            "Slack or Teams calls that failed for good (after retries), by channel",
            channel_errors.clone(),
        );
        Metrics {
            registry,
            pending,
            finished,
            votes,
            time_to_decision,
            store_seconds,
            long_polls,
            forwarded,
            channel_errors,
        }
    }
}

impl Metrics {
    /// A change was stored, `took` to write: count its new votes and, when it
    /// just became final, its state and time to decision.
    pub fn changed(&self, before: Option<&Request>, after: &Request, took: Duration) {
        self.store_seconds.observe(took.as_secs_f64());
        let seen = before.map_or(0, |b| b.view.votes.len());
        for vote in after.view.votes.iter().skip(seen) {
            let channel = CHANNELS
                .iter()
                .find(|c| **c == vote.channel)
                .map_or("other", |c| c);
            let verdict = match vote.verdict {
                Choice::Approve => "approve",
                Choice::Deny => "deny",
            };
            self.votes
                .get_or_create(&VoteLabels {
                    channel: channel.to_string(),
                    verdict,
                })
                .inc();
        }
        let was_final = before.is_some_and(|b| b.view.status.is_final());
        if !after.view.status.is_final() || was_final {
            return;
        }
        let state = match after.view.status {
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::TimedOut => "timed_out",
            Status::Cancelled => "cancelled",
            Status::Pending => return,
        };
        self.finished.get_or_create(&StateLabel { state }).inc();
        if matches!(after.view.status, Status::Approved | Status::Denied) {
            let created = humantime::parse_rfc3339_weak(&after.view.created_at).ok();
            let took = created.and_then(|at| SystemTime::now().duration_since(at).ok());
            if let Some(took) = took {
                self.time_to_decision.observe(took.as_secs_f64());
            }
        }
    }

    /// A long-poll starts waiting; it is counted until the guard is dropped.
    pub fn long_poll(&self) -> LongPoll {
        self.long_polls.inc();
        LongPoll(self.long_polls.clone())
    }

    /// Forwarded audit records: `accepted` taken, `refused` 0 or 1.
    pub fn forwarded(&self, accepted: u64, refused: u64) {
        for (outcome, n) in [("accepted", accepted), ("refused", refused)] {
            if n > 0 {
                self.forwarded
                    .get_or_create(&OutcomeLabel { outcome })
                    .inc_by(n);
            }
        }
    }

    /// A Slack or Teams call failed for good.
    pub fn channel_error(&self, channel: &'static str) {
        self.channel_errors
            .get_or_create(&ChannelLabel { channel })
            .inc();
    }

    /// The text exposition, with `pending` requests waiting now.
    pub fn render(&self, pending: usize) -> String {
        self.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Counts one waiting long-poll while it lives.
#[derive(Debug)]
pub struct LongPoll(Gauge);

impl Drop for LongPoll {
    fn drop(&mut self) {
        self.0.dec();
    }
}
