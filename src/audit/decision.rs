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

/// Every record value, in the order `--decision`'s error lists them.
pub const RECORD_VALUES: [RecordDecision; 11] = [
    RecordDecision::Decision(Decision::Allow),
    RecordDecision::Decision(Decision::Deny),
    RecordDecision::Decision(Decision::NeedsApproval),
    RecordDecision::Decision(Decision::Approved),
    RecordDecision::Decision(Decision::Rejected),
    RecordDecision::Decision(Decision::TimedOut),
    RecordDecision::Decision(Decision::Cancelled),
    RecordDecision::Decision(Decision::ApprovalInvalid),
    RecordDecision::Outcome(Outcome::Exited),
    RecordDecision::Outcome(Outcome::Signalled),
    RecordDecision::Outcome(Outcome::Failed),
];

/// The words people use for a record value, as the CLI and docs say them
/// ("denied by an approver" is `rejected`), and their record value.
pub const USER_WORDS: [(&str, RecordDecision); 6] = [
    ("allowed", RecordDecision::Decision(Decision::Allow)),
    ("denied", RecordDecision::Decision(Decision::Rejected)),
    ("timeout", RecordDecision::Decision(Decision::TimedOut)),
    ("expired", RecordDecision::Decision(Decision::TimedOut)),
    ("canceled", RecordDecision::Decision(Decision::Cancelled)),
    ("signaled", RecordDecision::Outcome(Outcome::Signalled)),
];

impl RecordDecision {
    /// The record value a user's word names (`gate audit show --decision WORD`):
    /// a record value itself, or one of [`USER_WORDS`], in any case.
    pub fn from_user_word(word: &str) -> Option<RecordDecision> {
        let word = word.trim().to_ascii_lowercase();
        RECORD_VALUES
            .into_iter()
            .find(|value| value.as_str() == word)
            .or_else(|| {
                USER_WORDS
                    .into_iter()
                    .find(|(alias, _)| *alias == word)
                    .map(|(_, value)| value)
            })
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

    #[test]
    fn user_words_name_record_values() {
        let word = |w| RecordDecision::from_user_word(w).map(RecordDecision::as_str);
        assert_eq!(word("denied"), Some("rejected"));
        assert_eq!(word("Rejected"), Some("rejected"));
        assert_eq!(word("deny"), Some("deny"));
        assert_eq!(word("allowed"), Some("allow"));
        assert_eq!(word("bogus"), None);
        for value in RECORD_VALUES {
            assert_eq!(word(value.as_str()), Some(value.as_str()));
        }
    }

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
