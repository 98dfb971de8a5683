//! Step 5 of the pipeline, record: the requester side's only writer of the audit
//! log. Every front end records through a [`Trail`], so a decision is written the
//! same way whoever asked.
//!
//! Decision records are durable before anything runs; outcome records follow.

use super::Decided;
use crate::audit::{ApproverRecord, AuditError, AuditLog, Decision, Entry, Outcome, RecordKind};
use crate::exec::Termination;
use crate::paths::Home;
use std::time::Duration;

/// The audit log and its signing key, opened before anything runs: if the trail
/// cannot be written, nothing runs.
#[derive(Debug)]
pub struct Trail {
    log: AuditLog,
    key: ed25519_dalek::SigningKey,
}

/// The decision record of `decided`, before its decision is set: who asked for
/// which action under which rules, with the requester's own (redacted) reason.
pub fn draft(decided: &Decided, reason: Option<&str>) -> Entry {
    let mut entry = Entry::draft(
        decided.requester.clone(),
        decided.command.clone(),
        decided.digest.clone(),
        decided.cwd().display().to_string(),
        decided.verdict.rules.clone(),
    );
    entry.reason = reason.map(|r| decided.redactor.redact(r));
    entry.policy_version = Some(decided.policy_version.clone()).filter(|v| !v.is_empty());
    entry
}

/// The decision record of an approval the broker signed: `draft` as approved,
/// with the approvers, break-glass, the broker's signature and the CI identity
/// it verified, all as the signed payload says.
pub fn approved(
    draft: &Entry,
    payload: &crate::approval::DecisionPayload,
    signed: &crate::approval::SignedDecision,
) -> Entry {
    let mut entry = draft.clone();
    entry.decision = Decision::Approved.into();
    entry.approvers = payload
        .approvers
        .iter()
        .map(|a| ApproverRecord {
            name: a.name.clone(),
            channel: a.channel.clone(),
        })
        .collect();
    entry.break_glass = payload.break_glass;
    entry.broker_signature = Some(signed.to_compact());
    entry.ci_identity = payload.ci_identity.clone();
    entry
}

/// The reason a refusal by the policy is recorded with: the policy's, and the
/// requester's if given.
pub fn refusal_reason(decided: &Decided, draft: &Entry) -> String {
    match &draft.reason {
        Some(given) => format!("{} (requester's reason: {given})", decided.verdict.reason),
        None => decided.verdict.reason.clone(),
    }
}

impl Trail {
    /// Open the log under `home` (creating the key and the log on first use).
    pub fn open(home: &Home) -> Result<Trail, AuditError> {
        let key = crate::keys::load_or_create(&home.key_file())?;
        let log = AuditLog::open(&home.log_file())?;
        Ok(Trail { log, key })
    }

    /// The log, for forwarding it.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// The public half of the key records are signed with.
    pub fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// Append `entry`; `durable` waits until it is on disk.
    pub fn append(&mut self, entry: &Entry, durable: bool) -> Result<u64, AuditError> {
        self.log.append(entry, &self.key, durable)
    }

    /// A decision record, durable before anything runs. An `allow` names the
    /// policy as its approver.
    pub fn decision(
        &mut self,
        draft: &Entry,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<u64, AuditError> {
        let mut entry = draft.clone();
        entry.decision = decision.into();
        entry.reason = reason;
        if decision == Decision::Allow {
            entry.approvers = vec![ApproverRecord {
                name: "policy".to_string(),
                channel: "policy".to_string(),
            }];
        }
        self.append(&entry, true)
    }

    /// How the command of decision record `seq` ended.
    pub fn outcome(
        &mut self,
        draft: &Entry,
        seq: u64,
        termination: Termination,
        duration: Duration,
    ) -> Result<u64, AuditError> {
        let mut entry = closing(draft, seq);
        entry.duration_ms = Some(duration.as_millis() as u64);
        match termination {
            Termination::Exited(code) => {
                entry.decision = Outcome::Exited.into();
                entry.exit_code = Some(code);
            }
            Termination::Signalled(signal) => {
                entry.decision = Outcome::Signalled.into();
                entry.signal = Some(signal);
            }
        }
        self.append(&entry, false)
    }

    /// The outcome of a command that could not be started: gate's exit `code`.
    pub fn failed(&mut self, draft: &Entry, seq: u64, code: u8) -> Result<u64, AuditError> {
        let mut entry = closing(draft, seq);
        entry.decision = Outcome::Failed.into();
        entry.exit_code = Some(i32::from(code));
        entry.duration_ms = Some(0);
        self.append(&entry, false)
    }
}

/// The outcome record that closes decision record `seq`.
pub(super) fn closing(draft: &Entry, seq: u64) -> Entry {
    let mut entry = draft.clone();
    entry.kind = RecordKind::Outcome;
    entry.decision_seq = Some(seq);
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{RecordDecision, VerifyReport};
    use crate::exec::Termination;

    fn decided() -> Decided {
        let policy = "version = 1\ndefault = \"allow\"\n";
        let argv = ["deploy", "--token=ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"];
        crate::guard::decided_for_test(policy, &argv, "carol").0
    }

    fn home(dir: &std::path::Path) -> Home {
        Home {
            data: dir.to_path_buf(),
            config: dir.to_path_buf(),
            cache: dir.join("cache"),
        }
    }

    #[test]
    fn an_allow_and_its_outcome_are_two_chained_records_naming_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        let home = home(dir.path());
        let decided = decided();
        let mut trail = Trail::open(&home).unwrap();
        let draft = draft(&decided, Some("weekly deploy"));
        let seq = trail
            .decision(&draft, Decision::Allow, draft.reason.clone())
            .unwrap();
        let termination = Termination::Exited(3);
        trail
            .outcome(&draft, seq, termination, Duration::from_millis(1500))
            .unwrap();
        let key = crate::keys::load_signing_key(&home.key_file()).unwrap();
        let report: VerifyReport =
            crate::audit::verify(&home.log_file(), &key.verifying_key()).unwrap();
        assert_eq!(report.problem, None);
        let records = AuditLog::open_read_only(&home.log_file())
            .unwrap()
            .records(&Default::default())
            .unwrap();
        let [decision, outcome] = records.as_slice() else {
            panic!("two records: {records:?}");
        };
        let (decision, outcome) = (&decision.body.entry, &outcome.body.entry);
        assert_eq!(decision.decision, RecordDecision::Decision(Decision::Allow));
        assert_eq!(decision.approvers[0].name, "policy");
        assert_eq!(decision.reason.as_deref(), Some("weekly deploy"));
        assert_eq!(decision.action_digest, decided.digest);
        assert!(
            !decision.command.concat().contains("ghp_"),
            "{:?}",
            decision.command
        );
        assert_eq!(outcome.decision, RecordDecision::Outcome(Outcome::Exited));
        assert_eq!(
            (outcome.exit_code, outcome.decision_seq),
            (Some(3), Some(seq))
        );
        assert_eq!(outcome.duration_ms, Some(1500));
    }

    #[test]
    fn a_refusal_records_the_policy_reason_and_the_requesters() {
        let decided = decided();
        let draft = draft(&decided, Some("because"));
        let reason = refusal_reason(&decided, &draft);
        assert!(reason.starts_with(&decided.verdict.reason), "{reason}");
        assert!(
            reason.ends_with("(requester's reason: because)"),
            "{reason}"
        );
    }
}
