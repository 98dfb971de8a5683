//! The front ends: what each subcommand does with its arguments. Argument
//! definitions are in `crate::cli`; turning errors into text and exit codes is
//! `crate::error`'s job. Whatever asks to run something (`gate --`, `check`, the
//! hook) goes through the requester pipeline, `crate::guard`, and does no step of
//! it itself. A command module never imports another.

mod approver;
mod audit;
mod audit_push;
mod check;
mod completions;
mod enroll;
mod hook;
mod init;
mod man;
mod mcp;
mod policy;
mod run;
mod serve;
mod usage;

pub use usage::misplaced_command;

use crate::cli::{Cli, Command, McpCommand, ServeArgs};
use crate::error::Error;
use crate::paths::Home;
use std::io::IsTerminal;

/// Run the parsed command line; `Ok` carries the exit code.
pub fn dispatch(cli: Cli) -> Result<u8, Error> {
    if prints_for_a_reader(&cli.command) {
        end_quietly_when_the_reader_goes();
    }
    let home = Home::from_env();
    match cli.command {
        None => run::wrap(cli.run, &home),
        Some(Command::Check {
            policy,
            json,
            tool: Some(tool),
            arguments,
            ..
        }) => check::check_tool(policy.policy.as_deref(), json, &tool, arguments, &home),
        Some(Command::Check {
            policy,
            json,
            command,
            ..
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
        Some(Command::Hook(command)) => Ok(hook::run(command, &home)),
        Some(Command::Mcp {
            command:
                Some(McpCommand::Proxy {
                    policy,
                    name,
                    url,
                    command,
                }),
            ..
        }) => {
            let target = match url {
                Some(url) => mcp::Target::Url(url),
                None => mcp::Target::Command(command),
            };
            mcp::proxy(policy.policy, name, target, &home)
        }
        Some(Command::Mcp {
            policy,
            command: None,
        }) => mcp::serve(policy.policy),
        Some(Command::Completions { shell }) => completions::print(shell),
        Some(Command::Man { dir }) => man::man(dir.as_deref()),
    }
}

/// Commands whose output is read by another program (`gate audit show | head -1`).
/// Not `gate --` (its stdout and stderr belong to the command it runs, and gate must
/// outlive a closed pipe to write the outcome record), nor what serves a peer
/// (`serve`, `mcp`, the hook, the inbox), which must not end when one goes away.
fn prints_for_a_reader(command: &Option<Command>) -> bool {
    match command {
        None
        | Some(Command::Serve(ServeArgs { command: None, .. }))
        | Some(Command::Mcp { .. })
        | Some(Command::Hook(_))
        | Some(Command::Inbox { .. }) => false,
        Some(_) => true,
    }
}

/// A reader that stops reading (`head`, a pager quit early) ends gate as it ends
/// `cat` or `grep`: quietly, by SIGPIPE (a shell reports 141). The Rust runtime
/// ignores SIGPIPE, which turns the closed pipe into an error on every later write
/// and a panic in `println!`; restoring the default is the one mechanism that
/// covers every write of every such command.
fn end_quietly_when_the_reader_goes() {
    // SAFETY: setting a signal's disposition to SIG_DFL has no preconditions; gate
    // installs no SIGPIPE handler that this could replace.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
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
