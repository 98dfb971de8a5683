//! Resolving what an `approve` verdict requires: who may approve, how many, how
//! long, and whether a reason or break-glass applies, combined over every approve
//! rule that decided. Combining always takes the stricter side.

use super::{Action, ApprovalRequirement, Policy, Rule, Verdict};
use std::collections::{BTreeMap, BTreeSet};

/// Person names of approver entries, groups expanded.
pub(super) fn expand_approvers(
    entries: &[String],
    groups: &BTreeMap<String, Vec<String>>,
) -> BTreeSet<String> {
    let mut people = BTreeSet::new();
    for entry in entries {
        match entry.strip_prefix("group:") {
            Some(group) => people.extend(groups.get(group).into_iter().flatten().cloned()),
            None => {
                people.insert(entry.clone());
            }
        }
    }
    people
}

/// The requirement of one approve rule, or of `[approval]` alone (opaque or
/// default decisions), before combining.
struct Demand {
    /// `None`: any approver the broker knows.
    approvers: Option<BTreeSet<String>>,
    quorum: u32,
    timeout: std::time::Duration,
    require_reason: bool,
    break_glass: bool,
}

impl Demand {
    fn new(policy: &Policy, rule: Option<&Rule>) -> Demand {
        let defaults = &policy.approval;
        let entries = rule
            .and_then(|r| r.approvers.as_ref())
            .unwrap_or(&defaults.approvers);
        let approvers = (!entries.is_empty()).then(|| expand_approvers(entries, &policy.groups));
        Demand {
            approvers,
            quorum: rule.and_then(|r| r.quorum).unwrap_or(defaults.quorum),
            timeout: rule.and_then(|r| r.timeout).unwrap_or(defaults.timeout),
            require_reason: rule.is_some_and(|r| r.require_reason),
            break_glass: rule.is_some_and(|r| r.break_glass),
        }
    }

    /// Both demands at once: more approvals, less time, a reason if either wants
    /// one, break-glass only if both allow it, approvers acceptable to both.
    fn and(self, other: Demand) -> Demand {
        let approvers = match (self.approvers, other.approvers) {
            (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
            (a, b) => a.or(b),
        };
        Demand {
            approvers,
            quorum: self.quorum.max(other.quorum),
            timeout: self.timeout.min(other.timeout),
            require_reason: self.require_reason || other.require_reason,
            break_glass: self.break_glass && other.break_glass,
        }
    }
}

impl ApprovalRequirement {
    /// Both requirements at once, as the rules that decided one verdict combine
    /// ([`Demand::and`]), and every rule of both. `None` when both restrict
    /// approvers and none is acceptable to both (nobody could ever approve).
    pub fn and(&self, other: &ApprovalRequirement) -> Option<ApprovalRequirement> {
        let demand = |r: &ApprovalRequirement| Demand {
            approvers: (!r.approvers.is_empty()).then(|| r.approvers.iter().cloned().collect()),
            quorum: r.quorum,
            timeout: r.timeout,
            require_reason: r.require_reason,
            break_glass: r.break_glass,
        };
        let both = demand(self).and(demand(other));
        let approvers: Vec<String> = match both.approvers {
            Some(people) if people.is_empty() => return None,
            Some(people) => people.into_iter().collect(),
            None => Vec::new(),
        };
        let mut rules = self.rules.clone();
        rules.extend(
            other
                .rules
                .iter()
                .filter(|r| !self.rules.contains(r))
                .cloned(),
        );
        Some(ApprovalRequirement {
            rules,
            approvers,
            quorum: both.quorum,
            timeout: both.timeout,
            require_reason: both.require_reason,
            break_glass: both.break_glass,
        })
    }
}

/// Fill in `verdict.approval` for an approve verdict. When the deciding rules
/// restrict approvers so that no set of them can reach the quorum, the request
/// could never be approved, so it is denied outright with a reason saying so.
///
/// `approving` has one entry per command that decided approve: the indices of the
/// rules that matched it. A command no approve rule matched (an opaque or default
/// decision) contributes `[approval]` alone.
pub(super) fn resolve(policy: &Policy, verdict: &mut Verdict, approving: &[Vec<usize>]) {
    let approving: Vec<Vec<&Rule>> = approving
        .iter()
        .map(|matched| {
            matched
                .iter()
                .filter_map(|&i| policy.rules.get(i))
                .collect()
        })
        .collect();
    resolve_rules(policy, verdict, &approving);
}

/// [`resolve`] with the matched rules themselves (`[[tool]]` rules are not in
/// `policy.rules`).
pub(super) fn resolve_rules(policy: &Policy, verdict: &mut Verdict, approving: &[Vec<&Rule>]) {
    let mut demands = Vec::new();
    let mut rules: Vec<&Rule> = Vec::new();
    for matched in approving {
        let asking: Vec<&Rule> = matched
            .iter()
            .copied()
            .filter(|rule| rule.action == Action::Approve)
            .collect();
        if asking.is_empty() {
            demands.push(Demand::new(policy, None));
        }
        for rule in asking {
            if !rules.iter().any(|seen| std::ptr::eq(*seen, rule)) {
                rules.push(rule);
                demands.push(Demand::new(policy, Some(rule)));
            }
        }
    }
    let Some(demand) = demands.into_iter().reduce(Demand::and) else {
        return;
    };
    let names: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    let approvers: Vec<String> = demand.approvers.iter().flatten().cloned().collect();
    if demand.approvers.is_some() && approvers.len() < demand.quorum as usize {
        verdict.decision = Action::Deny;
        verdict.reason = unreachable_reason(&names, demand.quorum, &approvers);
        return;
    }
    verdict.approval = Some(ApprovalRequirement {
        rules: names,
        approvers,
        quorum: demand.quorum,
        timeout: demand.timeout,
        require_reason: demand.require_reason,
        break_glass: demand.break_glass,
    });
}

fn unreachable_reason(rules: &[String], quorum: u32, approvers: &[String]) -> String {
    let quoted: Vec<String> = rules.iter().map(|r| format!("\"{r}\"")).collect();
    let who = if approvers.is_empty() {
        "nobody".to_string()
    } else {
        approvers.join(", ")
    };
    format!(
        "rules {} need {quorum} approvals from approvers they all accept, but only {} qualify ({who}); denied",
        quoted.join(", "),
        approvers.len()
    )
}
