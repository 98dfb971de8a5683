//! The front ends: what each subcommand does with its arguments. Argument
//! definitions are in `crate::cli`; turning errors into text and exit codes is
//! `crate::error`'s job. Whatever asks to run something (`gate --`, `check`, the
//! hook) goes through the requester pipeline, `crate::guard`, and does no step of
//! it itself. A command module never imports another.

mod approver;
mod audit;
mod check;
mod enroll;
mod hook;
mod init;
mod mcp;
mod policy;
mod run;
mod serve;
mod usage;

pub use usage::misplaced_command;

use crate::cli::{Cli, Command, HookCommand};
use crate::error::Error;
use crate::paths::Home;
use std::io::IsTerminal;

/// Run the parsed command line; `Ok` carries the exit code.
pub fn dispatch(cli: Cli) -> Result<u8, Error> {
    let home = Home::from_env();
    match cli.command {
        None => run::wrap(cli.run, &home),
        Some(Command::Check {
            policy,
            json,
            command,
        }) => check::check(policy.policy.as_deref(), json, &command, &home),
        Some(Command::Policy(command)) => policy::policy(command, &home),
        Some(Command::Init) => init::init(&home),
        Some(Command::Audit(command)) => audit::audit(command, &home),
        Some(Command::Serve(args)) => serve::serve(args, &home),
        Some(Command::Enroll {
            code,
            server,
            policy,
        }) => enroll::enroll(&code, server, policy.policy.as_deref(), &home),
        Some(Command::Approve { id, reason, broker }) => approver::approve(&id, reason, &broker),
        Some(Command::Deny { id, reason, broker }) => approver::deny(&id, reason, &broker),
        Some(Command::Pending { json, broker }) => approver::pending(json, &broker),
        Some(Command::Inbox { broker }) => approver::inbox(&broker),
        Some(Command::Hook(HookCommand::ClaudeCode { policy })) => {
            Ok(hook::claude_code(policy.policy.as_deref(), &home))
        }
        Some(Command::Mcp { policy }) => mcp::serve(policy.policy),
    }
}

/// Colour on stderr only for a terminal, and never with `NO_COLOR` set.
fn stderr_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Colour on stdout only for a terminal, and never with `NO_COLOR` set.
fn stdout_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}
