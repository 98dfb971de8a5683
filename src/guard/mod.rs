//! The requester's pipeline. Every front end that asks to run something (`gate --`,
//! `gate --ticket`, `gate check`, the Claude Code hook, and `gate mcp`, which runs
//! `gate --`) goes through these steps, in this order, and through no other code:
//!
//! 1. load (`policy`): find and read the policy, refusing a file others could write;
//! 2. decide (`decide`): normalise the command once, evaluate it, redact, resolve
//!    the executable and compute the action digest, giving a [`Decided`] value;
//! 3. ask (`broker`): find the broker and build the one kind of request it gets;
//! 4. verify: `crate::approval::request` checks the broker's signed decision
//!    against this process's own digest, and `verify` checks it against gate's
//!    own verdict (rules, approvers, quorum, break-glass, not the requester's own
//!    person, what the approvers were shown) before anything runs;
//! 5. record (`trail`): the requester side's only audit-log writer;
//! 6. run (`wrap`): `gate --` runs the command with `crate::exec` and records how
//!    it ended.
//!
//! An MCP tool call (`gate mcp proxy`) takes the same steps through `tool`,
//! with a digest over the call instead of the command.
//!
//! A check added here holds for every front end. Front ends (`crate::commands`)
//! only turn their input into a [`Subject`] and the pipeline's results into their
//! output; they never repeat a step.

pub mod broker;
mod decide;
pub mod forward;
pub mod managed;
mod policy;
pub mod tool;
pub mod trail;
mod verify;
mod wrap;

pub use decide::{Decided, Resolved, Subject};
pub use policy::{LoadedPolicy, load, read_policy_text};
pub use trail::Trail;
pub use verify::check_approval;
pub use wrap::{Invocation, shown_as_json, wrap};

use crate::error::Error;
use crate::paths::Home;
use std::path::Path;

/// Steps 1 and 2: load the policy for `subject` and decide it. `color` only
/// affects how policy diagnostics render.
pub fn decide(
    explicit: Option<&Path>,
    home: &Home,
    color: bool,
    subject: Subject,
) -> Result<(LoadedPolicy, Decided), Error> {
    let resolved = subject.resolve();
    let loaded = load(explicit, home, color, &resolved.commands)?;
    let mut decided = Decided::new(&loaded.policy, subject, resolved).map_err(|bad| {
        Error::Internal(format!("redact pattern {:?}: {}", bad.pattern, bad.message))
    })?;
    decided.policy_version = loaded.version.clone();
    Ok((loaded, decided))
}

/// Steps 1 and 2 for an MCP tool call: load the policy and decide the call.
pub fn decide_tool(
    explicit: Option<&Path>,
    home: &Home,
    color: bool,
    subject: tool::ToolSubject,
) -> Result<(LoadedPolicy, Decided), Error> {
    let loaded = load(explicit, home, color, &[])?;
    let mut decided = Decided::for_tool(&loaded.policy, subject).map_err(|bad| {
        Error::Internal(format!("redact pattern {:?}: {}", bad.pattern, bad.message))
    })?;
    decided.policy_version = loaded.version.clone();
    Ok((loaded, decided))
}

/// Join an argv for display, quoting elements that a shell would split.
pub fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+*".contains(c));
            if plain { arg.clone() } else { shell_quote(arg) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word in single quotes, for any POSIX shell.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// What the pipeline's unit tests share: a decision under a policy text, for a
/// command in /srv asked by `user` on host `box`, with no PATH to resolve on.
#[cfg(test)]
pub(crate) fn decided_for_test(
    policy_text: &str,
    argv: &[&str],
    user: &str,
) -> (Decided, crate::policy::Policy) {
    let policy = crate::policy::Policy::parse(policy_text, "policy.toml").unwrap();
    let subject = Subject {
        argv: argv.iter().map(|a| a.to_string()).collect(),
        cwd: std::path::PathBuf::from("/srv"),
        env: Default::default(),
        requester: crate::identity::Requester {
            user: user.into(),
            host: "box".into(),
            ci: None,
            agent: None,
        },
        path: None,
        key: crate::action::DigestKey::random().unwrap(),
    };
    let resolved = subject.resolve();
    let decided = Decided::new(&policy, subject, resolved).unwrap();
    (decided, policy)
}
