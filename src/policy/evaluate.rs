//! Evaluation: a pure function from (policy, request) to a verdict. Strictest wins
//! (deny > approve > allow) over every matching rule and every simple command, so
//! rule order never matters.

use super::{Action, ApprovalRequirement, Conditions, Glob, Policy, Request, Rule, SimpleCommand};
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

/// Which rules to try for a command: the index's candidates, or (to check the
/// index) every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Search {
    Indexed,
    #[cfg_attr(not(test), allow(dead_code))]
    Exhaustive,
}

pub fn evaluate(policy: &Policy, request: &Request) -> Verdict {
    evaluate_commands(policy, super::normalise(&request.argv), request)
}

pub fn evaluate_commands(
    policy: &Policy,
    commands: Vec<SimpleCommand>,
    request: &Request,
) -> Verdict {
    decide(policy, commands, request, Search::Indexed)
}

pub(super) fn decide(
    policy: &Policy,
    commands: Vec<SimpleCommand>,
    request: &Request,
    search: Search,
) -> Verdict {
    let (verdicts, matched): (Vec<CommandVerdict>, Vec<Vec<usize>>) = commands
        .into_iter()
        .map(|command| decide_command(policy, command, request, search))
        .unzip();
    let Some(decision) = verdicts.iter().map(|v| v.decision).max() else {
        let reason = format!("no command found; default is {}", policy.default.as_str());
        return verdict_without_commands(policy.default, reason, policy);
    };
    let deciding: Vec<&CommandVerdict> =
        verdicts.iter().filter(|v| v.decision == decision).collect();
    let mut rules: Vec<String> = Vec::new();
    for rule_match in deciding.iter().flat_map(|v| &v.matched) {
        if rule_match.action == decision && !rules.contains(&rule_match.rule) {
            rules.push(rule_match.rule.clone());
        }
    }
    // The most telling explanation: a rule that decided, then an opaque command,
    // then the default.
    let explaining = deciding
        .iter()
        .min_by_key(|v| {
            let by_rule = v.matched.iter().any(|m| m.action == decision);
            (!by_rule, v.command.opaque.is_none())
        })
        .map_or_else(String::new, |v| v.why.clone());
    let mut verdict = Verdict {
        decision,
        reason: explaining,
        commands: verdicts,
        rules,
        approval: None,
    };
    if decision == Action::Approve {
        let approving: Vec<Vec<usize>> = verdict
            .commands
            .iter()
            .zip(matched)
            .filter(|(command, _)| command.decision == Action::Approve)
            .map(|(_, indices)| indices)
            .collect();
        super::approval::resolve(policy, &mut verdict, &approving);
    }
    verdict
}

fn verdict_without_commands(decision: Action, reason: String, policy: &Policy) -> Verdict {
    let mut verdict = Verdict {
        decision,
        reason,
        commands: Vec::new(),
        rules: Vec::new(),
        approval: None,
    };
    if decision == Action::Approve {
        // No rule asked, so `[approval]` applies as it does to a default decision.
        super::approval::resolve(policy, &mut verdict, &[Vec::new()]);
    }
    verdict
}

/// One simple command's decision and the indices of the rules that matched it.
fn decide_command(
    policy: &Policy,
    command: SimpleCommand,
    request: &Request,
    search: Search,
) -> (CommandVerdict, Vec<usize>) {
    let candidates = match search {
        Search::Indexed => policy
            .index
            .candidates(command.argv.first().map_or("", String::as_str)),
        Search::Exhaustive => (0..policy.rules.len()).collect(),
    };
    let mut matched = Vec::new();
    let mut matches = Vec::new();
    for index in candidates {
        let Some(rule) = policy.rules.get(index) else {
            continue;
        };
        if let Some(rule_match) = match_rule(rule, &command.argv, request) {
            matched.push(index);
            matches.push(rule_match);
        }
    }
    let by_rules = matches.iter().map(|m| m.action).max();
    // An opaque command may hide anything, so it gets at least `opaque`; a rule
    // that matches what is visible can still make it stricter.
    let floor = if command.opaque.is_some() {
        Some(policy.opaque)
    } else {
        None
    };
    let decision = by_rules.max(floor).unwrap_or(policy.default);
    let why = explain(policy, &command, &matches, decision);
    let verdict = CommandVerdict {
        command,
        decision,
        matched: matches,
        why,
    };
    (verdict, matched)
}

fn match_rule(rule: &Rule, argv: &[String], request: &Request) -> Option<RuleMatch> {
    let pattern = rule.patterns.iter().find(|p| p.matches(argv))?;
    conditions_hold(&rule.conditions, request).then(|| RuleMatch {
        rule: rule.name.clone(),
        action: rule.action,
        pattern: pattern.as_str().to_string(),
        reason: rule.reason.clone(),
    })
}

fn conditions_hold(conditions: &Conditions, request: &Request) -> bool {
    let env_holds = conditions.env.iter().all(|(name, glob)| {
        request
            .env
            .get(name)
            .is_some_and(|value| glob.is_match(value))
    });
    // A condition on agent or CI never holds when none was detected.
    let detected = |glob: &Option<Glob>, value: &Option<String>| match glob {
        None => true,
        Some(glob) => value.as_deref().is_some_and(|v| glob.is_match(v)),
    };
    env_holds
        && conditions
            .cwd
            .as_ref()
            .is_none_or(|g| g.is_match(&request.cwd.to_string_lossy()))
        && conditions
            .actor
            .as_ref()
            .is_none_or(|g| g.is_match(&request.actor))
        && detected(&conditions.agent, &request.agent)
        && detected(&conditions.ci, &request.ci)
}

/// The one-line `why` of a command's decision.
fn explain(
    policy: &Policy,
    command: &SimpleCommand,
    matches: &[RuleMatch],
    decision: Action,
) -> String {
    let deciding: Vec<&RuleMatch> = matches.iter().filter(|m| m.action == decision).collect();
    if let Some(reason) = &command.opaque
        && (deciding.is_empty() || decision == policy.opaque)
    {
        return format!(
            "cannot analyse command: {reason}; opaque commands {}",
            opaque_verb(policy.opaque)
        );
    }
    if deciding.is_empty() {
        return format!("no rule matched; default is {}", policy.default.as_str());
    }
    let names: Vec<String> = deciding.iter().map(|m| format!("\"{}\"", m.rule)).collect();
    let (noun, verb) = if names.len() == 1 {
        ("rule", singular_verb(decision))
    } else {
        ("rules", plural_verb(decision))
    };
    let mut line = format!(
        "{noun} {} {verb} \"{}\"",
        names.join(", "),
        display_argv(&command.argv)
    );
    let reasons: Vec<&str> = deciding
        .iter()
        .filter_map(|m| m.reason.as_deref())
        .collect();
    if !reasons.is_empty() {
        line.push_str(": ");
        line.push_str(&reasons.join("; "));
    }
    line
}

fn singular_verb(action: Action) -> &'static str {
    match action {
        Action::Allow => "allows",
        Action::Approve => "requires approval for",
        Action::Deny => "denies",
    }
}

fn plural_verb(action: Action) -> &'static str {
    match action {
        Action::Allow => "allow",
        Action::Approve => "require approval for",
        Action::Deny => "deny",
    }
}

fn opaque_verb(action: Action) -> &'static str {
    match action {
        Action::Allow => "are allowed",
        Action::Approve => "need approval",
        Action::Deny => "are denied",
    }
}

/// An argv as a shell line a reader can copy: arguments quoted only when needed.
pub(super) fn display_argv(argv: &[String]) -> String {
    let quote = |arg: &String| {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_alphanumeric() || "-_./:=@%+,".contains(c));
        if plain {
            arg.clone()
        } else {
            format!("'{}'", arg.replace('\'', "'\\''"))
        }
    };
    argv.iter().map(quote).collect::<Vec<_>>().join(" ")
}
