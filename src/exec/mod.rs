//! Running the approved command: spawn it with the terminal and stdio inherited,
//! forward signals, and report how it ended.
//!
//! The child stays in gate's process group, so Ctrl-C and Ctrl-\ from the terminal
//! reach it directly; gate only catches SIGINT/SIGQUIT so it is not killed first,
//! and forwards them itself only when no terminal delivered them (gate is not in
//! the terminal's foreground group). SIGTERM and SIGHUP sent to gate are always
//! forwarded. Handlers are installed before the spawn, so no signal is lost.

mod signals;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    Exited(i32),
    Signalled(i32),
}

impl Termination {
    /// The shell convention: the exit code, or 128+N for signal N.
    pub fn exit_code(self) -> u8 {
        match self {
            Termination::Exited(code) => (code & 0xff) as u8,
            Termination::Signalled(signal) => (128 + signal).clamp(0, 255) as u8,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub termination: Termination,
    pub duration: Duration,
}

/// Run `argv` with `executable` as the program file, wait for it, forward signals.
/// `argv[0]` is passed through unchanged so the program sees the name it was called by.
pub fn run(executable: &Path, argv: &[String]) -> std::io::Result<Outcome> {
    let forwarder = signals::Forwarder::install()?;
    let started = Instant::now();
    let mut command = Command::new(executable);
    command.args(&argv[1..]);
    {
        use std::os::unix::process::CommandExt;
        command.arg0(&argv[0]);
    }
    let mut child = command.spawn()?;
    forwarder.set_child(child.id());
    let status = child.wait();
    forwarder.finish();
    let status = status?;
    let termination = {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Termination::Exited(code),
            (None, Some(signal)) => Termination::Signalled(signal),
            (None, None) => Termination::Exited(1),
        }
    };
    Ok(Outcome {
        termination,
        duration: started.elapsed(),
    })
}
