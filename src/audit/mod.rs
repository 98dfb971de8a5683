//! The audit log: signed, hash-chained records in SQLite.
//!
//! Owns the record layout (the exact signed bytes, documented in
//! docs/audit-format.md), the signing key file, appending under concurrency without
//! forking the chain, verification, and show/export formatting. It never sees an
//! unredacted secret: callers redact before building an [`Entry`], and it never
//! updates or deletes a record.
//!
//! Files: `record` (signed bytes, hash), `store` (open, append), `query` (read back),
//! `verify`, `show` and `export` (output), `decision` (what a record says
//! happened), `error`. The signing key file is
//! `crate::keys`; private files and directories are `crate::files`.

mod decision;
mod error;
mod export;
mod forward;
mod query;
mod record;
mod show;
mod store;
mod verify;

pub use decision::{Decision, Outcome, RECORD_VALUES, RecordDecision, USER_WORDS};
pub use error::AuditError;
pub use export::{export_csv, export_jsonl};
pub use forward::{Forwarded, RawRecord, check_record};
pub use query::{Filter, Newest, SINCE_FORMS, parse_since};
pub use record::{DOMAIN, GENESIS_PREV_HASH, Record, RecordBody};
pub use show::show;
pub use store::{AuditLog, FORMAT_VERSION, use_one_command_heap};
pub use verify::{Expect, Problem, VerifyReport, verify, verify_with};

use crate::identity::Requester;
use serde::{Deserialize, Serialize};

/// What kind of record this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// Written (durably) before the command starts, or when it is refused.
    Decision,
    /// Written after the command ends.
    Outcome,
}

impl RecordKind {
    /// The name used in the signed body and the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Decision => "decision",
            RecordKind::Outcome => "outcome",
        }
    }
}

/// Who decided, and through which channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproverRecord {
    pub name: String,
    /// "policy", "slack", "teams", "web", "cli", "break-glass", ...
    pub channel: String,
}

/// The content of one record as the caller supplies it. The store adds sequence,
/// time, previous hash and signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: RecordKind,
    pub requester: Requester,
    /// Redacted argv as given to gate.
    pub command: Vec<String>,
    /// Hex SHA-256 action digest (argv, cwd, resolved executable).
    pub action_digest: String,
    pub cwd: String,
    /// Names of the rules that decided.
    pub rules: Vec<String>,
    /// A [`Decision`] for decision records, an [`Outcome`] for outcome records
    /// (docs/audit-format.md).
    pub decision: RecordDecision,
    pub approvers: Vec<ApproverRecord>,
    /// The requester's `--reason`, or the policy's reason for a deny (redacted).
    pub reason: Option<String>,
    pub break_glass: bool,
    /// Outcome records: exit code when the command exited.
    pub exit_code: Option<i32>,
    /// Outcome records: signal number when the command died of a signal.
    pub signal: Option<i32>,
    /// Outcome records: wall-clock duration in milliseconds.
    pub duration_ms: Option<u64>,
    /// Outcome records: sequence number of the decision record this closes.
    pub decision_seq: Option<u64>,
    /// The broker's signed approval, `base64url(payload).hex(signature)`
    /// (`SignedDecision::to_compact`), on `approved` records.
    pub broker_signature: Option<String>,
    /// Hex SHA-256 of the policy text that decided. Absent in records written
    /// before gate recorded it (they verify as they always did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    /// The CI identity the broker verified from the job's OIDC ID token, on
    /// records of requests the broker decided; absent when none was verified
    /// (`requester.ci` is then the job's own claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_identity: Option<crate::approval::protocol::VerifiedCi>,
}

impl Entry {
    /// A decision record about to be written: who asked for which action under
    /// which rules. The caller sets the decision (`deny` until then) and whatever
    /// else applies; the outcome fields start empty.
    pub fn draft(
        requester: Requester,
        command: Vec<String>,
        action_digest: String,
        cwd: String,
        rules: Vec<String>,
    ) -> Entry {
        Entry {
            kind: RecordKind::Decision,
            requester,
            command,
            action_digest,
            cwd,
            rules,
            decision: RecordDecision::Decision(Decision::Deny),
            approvers: Vec::new(),
            reason: None,
            break_glass: false,
            exit_code: None,
            signal: None,
            duration_ms: None,
            decision_seq: None,
            broker_signature: None,
            policy_version: None,
            ci_identity: None,
        }
    }
}
