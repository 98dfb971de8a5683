//! Evaluation: a pure function from (policy, request) to a verdict. Strictest wins
//! (deny > approve > allow) over every matching rule and every simple command, so
//! rule order never matters.

use super::flags::{Grammars, Scope, spell};
use super::pattern::{Arg, Reach, grammar_for};
use super::{
    Action, ApprovalRequirement, Conditions, Glob, Pattern, Policy, Request, Rule, RuntimeWord,
    SimpleCommand,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::RefCell;

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
    let executable = request.executable.as_deref();
    let commands = super::normalise_resolved(&request.argv, executable, &request.env);
    evaluate_commands(policy, commands, request)
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
    mut command: SimpleCommand,
    request: &Request,
    search: Search,
) -> (CommandVerdict, Vec<usize>) {
    let candidates = match search {
        Search::Indexed => candidates(policy, &command),
        Search::Exhaustive => (0..policy.rules.len()).collect(),
    };
    let grammars = Grammars {
        declared: &policy.options,
    };
    let argv = RuntimeArgv::new(&command, grammars);
    let mut matched = Vec::new();
    let mut matches = Vec::new();
    let mut might_match = Vec::new();
    for index in candidates {
        let Some(rule) = policy.rules.get(index) else {
            continue;
        };
        if !conditions_hold(&rule.conditions, request) {
            continue;
        }
        let Some(action) = action_given_verification(rule, request.ci_verified) else {
            continue;
        };
        let reach = rule
            .patterns
            .iter()
            .map(|pattern| (argv.reach(pattern), pattern))
            .max_by_key(|(reach, _)| *reach);
        match reach {
            Some((Reach::Always, pattern)) => {
                matched.push(index);
                matches.push(RuleMatch {
                    rule: rule.name.clone(),
                    action,
                    pattern: pattern.as_str().to_string(),
                    reason: rule.reason.clone(),
                });
            }
            Some((Reach::Sometimes, _)) => might_match.push(rule),
            _ => {}
        }
    }
    let by_rules = matches.iter().map(|m| m.action).max();
    if command.opaque.is_none() {
        command.opaque = runtime_words_decide(policy, &command, by_rules, &might_match);
    }
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

/// The index's candidates for the program as typed and as resolved.
fn candidates(policy: &Policy, command: &SimpleCommand) -> Vec<usize> {
    let mut candidates = policy
        .index
        .candidates(command.argv.first().map_or("", String::as_str));
    if let Some(executable) = &command.executable {
        candidates.extend(policy.index.candidates(executable));
        candidates.sort_unstable();
        candidates.dedup();
    }
    candidates
}

/// Why the command is opaque because a word known only at run time could change
/// its decision: a rule matches for some of its values and not others, and that
/// rule's action differs from what the command gets without it.
fn runtime_words_decide(
    policy: &Policy,
    command: &SimpleCommand,
    by_rules: Option<Action>,
    might_match: &[&Rule],
) -> Option<String> {
    let changes = |rule: &&&Rule| match by_rules {
        Some(decided) => rule.action > decided,
        None => rule.action != policy.default,
    };
    let rule = might_match.iter().find(changes)?;
    let words: Vec<&str> = command
        .runtime
        .iter()
        .filter_map(|word| command.argv.get(word.at).map(String::as_str))
        .collect();
    Some(format!(
        "{} only known at run time, and rule \"{}\" could match depending on {}",
        if words.len() == 1 {
            "a word is"
        } else {
            "words are"
        },
        rule.name,
        words.join(" "),
    ))
}

/// A command's argv as the matcher sees it: literal words, and the words known
/// only at run time with what they can become; argv[0] also as the resolved
/// executable, when that differs.
struct RuntimeArgv<'a> {
    argv: &'a [String],
    executable: Option<&'a str>,
    globs: Vec<Option<Glob>>,
    runtime: &'a [RuntimeWord],
    grammars: Grammars<'a>,
    /// The grammar of each program name rules have asked about (as typed, and
    /// as resolved), read once per command.
    grammar: RefCell<Vec<(String, Cow<'a, Scope>)>>,
}

impl<'a> RuntimeArgv<'a> {
    fn new(command: &'a SimpleCommand, grammars: Grammars<'a>) -> RuntimeArgv<'a> {
        // An opaque command's words are matched as written; it is opaque anyway.
        let runtime: &[RuntimeWord] = if command.opaque.is_some() {
            &[]
        } else {
            &command.runtime
        };
        RuntimeArgv {
            argv: &command.argv,
            executable: command.executable.as_deref(),
            globs: runtime
                .iter()
                .map(|word| word.values.as_deref().and_then(|v| Glob::parse(v).ok()))
                .collect(),
            runtime,
            grammars,
            grammar: RefCell::new(Vec::new()),
        }
    }

    fn reach(&self, pattern: &Pattern) -> Reach {
        let as_typed = self.reach_with_program(pattern, None);
        match self.executable {
            Some(executable) if as_typed != Reach::Always => {
                as_typed.max(self.reach_with_program(pattern, Some(executable)))
            }
            _ => as_typed,
        }
    }

    /// The pattern as written, and read with the program's option grammar.
    fn reach_with_program(&self, pattern: &Pattern, program: Option<&'a str>) -> Reach {
        let as_written = self.reach_as_written(pattern, program);
        if as_written == Reach::Always {
            return as_written;
        }
        let name = program.unwrap_or_else(|| self.argv.first().map_or("", String::as_str));
        let base = super::pattern::basename(name);
        let possible = if self.runtime.is_empty() {
            pattern.may_match_spelled(base, &self.argv[1..])
        } else {
            pattern.spelled_for(base).is_some()
        };
        if !possible {
            return as_written;
        }
        let args = self.args(program);
        let mut cache = self.grammar.borrow_mut();
        if !cache.iter().any(|(program, _)| program == base) {
            cache.push((base.to_string(), grammar_for(&self.grammars, base)));
        }
        let Some((_, grammar)) = cache.iter().find(|(program, _)| program == base) else {
            return as_written;
        };
        let spelled = spell(grammar, &args);
        as_written.max(pattern.reach_spelled(name, base, &spelled))
    }

    fn reach_as_written(&self, pattern: &Pattern, program: Option<&'a str>) -> Reach {
        if self.runtime.is_empty() {
            let matches = match program {
                None => pattern.matches(self.argv),
                Some(program) => {
                    let mut argv = self.argv.to_vec();
                    argv[0] = program.to_string();
                    pattern.matches(&argv)
                }
            };
            return if matches { Reach::Always } else { Reach::Never };
        }
        pattern.reach(&self.args(program))
    }

    /// The argv as the matcher's arguments, argv[0] replaced by `program`.
    fn args(&self, program: Option<&'a str>) -> Vec<Arg<'_>> {
        let mut args: Vec<Arg> = self.argv.iter().map(|a| Arg::Known(a)).collect();
        if let (Some(program), Some(first)) = (program, args.first_mut()) {
            *first = Arg::Known(program);
        }
        for (word, glob) in self.runtime.iter().zip(&self.globs) {
            if let Some(arg) = args.get_mut(word.at) {
                *arg = if word.splits {
                    Arg::Many(glob.as_ref())
                } else {
                    Arg::One(glob.as_ref())
                };
            }
        }
        args
    }
}

pub(super) fn conditions_hold(conditions: &Conditions, request: &Request) -> bool {
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
        && detected(&conditions.repository, &request.repository)
        && detected(&conditions.git_ref, &request.git_ref)
}

/// What a rule does given what is known about CI verification, `None` when it
/// does not apply. Only the broker knows (`Some`): there the condition simply
/// holds or not. Where it is unknown (the requester, which cannot verify an ID
/// token) a `ci_verified` rule never allows, and one that would deny asks for
/// approval instead, so the broker, which knows, decides.
pub(super) fn action_given_verification(rule: &Rule, ci_verified: Option<bool>) -> Option<Action> {
    match (rule.conditions.ci_verified, ci_verified) {
        (None, _) => Some(rule.action),
        (Some(wanted), Some(is)) => (wanted == is).then_some(rule.action),
        (Some(_), None) => match rule.action {
            Action::Allow => None,
            Action::Approve | Action::Deny => Some(Action::Approve),
        },
    }
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
