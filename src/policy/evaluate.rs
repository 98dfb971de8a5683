//! Evaluation: a pure function from (policy, request) to a verdict. Strictest wins
//! (deny > approve > allow) over every matching rule and every simple command.

use super::{Action, ApprovalRequirement, Policy, Request, SimpleCommand, TestOutcome};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule: String,
    pub action: Action,
    /// The pattern of the rule that matched.
    pub pattern: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandVerdict {
    #[serde(flatten)]
    pub command: SimpleCommand,
    pub decision: Action,
    pub matched: Vec<RuleMatch>,
    /// One line: why this command got its decision.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub decision: Action,
    /// One line naming the deciding rule(s) and reason, for stderr and messages.
    pub reason: String,
    pub commands: Vec<CommandVerdict>,
    /// Names of rules that produced the final decision.
    pub rules: Vec<String>,
    /// Present when `decision` is `approve`.
    pub approval: Option<ApprovalRequirement>,
}

pub fn evaluate(policy: &Policy, request: &Request) -> Verdict {
    todo!("{policy:?} {request:?}")
}

pub fn run_tests(policy: &Policy) -> Vec<TestOutcome> {
    todo!("{policy:?}")
}
