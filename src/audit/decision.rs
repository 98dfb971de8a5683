//! What a record says happened: the decision gate made about a command (decision
//! records) or how the command ended (outcome records). Each is an enum here and
//! a fixed string in the signed body, the `decision` column and exports, as
//! docs/audit-format.md documents; logs written before these types existed read
//! back unchanged.

use serde::{Deserialize, Serialize};

/// The decision of a decision record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The policy allowed the command.
    Allow,
    /// The policy denied the command.
    Deny,
    /// The policy asks for approval and no request could be made.
    NeedsApproval,
    /// The broker's signed approval was verified and claimed.
    Approved,
    /// An approver denied the request.
    Rejected,
    /// No decision before the request expired.
    TimedOut,
    /// The requester withdrew the request (or the broker reports it cancelled).
    Cancelled,
    /// An approval came back that gate would not act on.
    ApprovalInvalid,
}

/// How a command ended, in its outcome record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Exited,
    Signalled,
    /// It could not be started.
    Failed,
}

/// The `decision` field of any record: a decision, or an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RecordDecision {
    Decision(Decision),
    Outcome(Outcome),
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::NeedsApproval => "needs-approval",
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
            Decision::TimedOut => "timed-out",
            Decision::Cancelled => "cancelled",
            Decision::ApprovalInvalid => "approval-invalid",
        }
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Exited => "exited",
            Outcome::Signalled => "signalled",
            Outcome::Failed => "failed",
        }
    }
}

impl RecordDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordDecision::Decision(decision) => decision.as_str(),
            RecordDecision::Outcome(outcome) => outcome.as_str(),
        }
    }
}

impl From<Decision> for RecordDecision {
    fn from(decision: Decision) -> RecordDecision {
        RecordDecision::Decision(decision)
    }
}

impl From<Outcome> for RecordDecision {
    fn from(outcome: Outcome) -> RecordDecision {
        RecordDecision::Outcome(outcome)
    }
}

impl std::fmt::Display for RecordDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECISIONS: [Decision; 8] = [
        Decision::Allow,
        Decision::Deny,
        Decision::NeedsApproval,
        Decision::Approved,
        Decision::Rejected,
        Decision::TimedOut,
        Decision::Cancelled,
        Decision::ApprovalInvalid,
    ];
    const OUTCOMES: [Outcome; 3] = [Outcome::Exited, Outcome::Signalled, Outcome::Failed];

    #[test]
    fn every_value_serialises_to_its_documented_string_and_back() {
        let documented = [
            "allow",
            "deny",
            "needs-approval",
            "approved",
            "rejected",
            "timed-out",
            "cancelled",
            "approval-invalid",
            "exited",
            "signalled",
            "failed",
        ];
        let all = DECISIONS
            .map(RecordDecision::from)
            .into_iter()
            .chain(OUTCOMES.map(RecordDecision::from));
        for (value, text) in all.zip(documented) {
            assert_eq!(value.as_str(), text);
            assert_eq!(
                serde_json::to_string(&value).unwrap(),
                format!("\"{text}\"")
            );
            let back: RecordDecision = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn an_unknown_string_is_not_a_decision() {
        for text in ["\"timeout\"", "\"Allow\"", "\"\"", "\"approve\""] {
            assert!(
                serde_json::from_str::<RecordDecision>(text).is_err(),
                "{text}"
            );
        }
    }
}
