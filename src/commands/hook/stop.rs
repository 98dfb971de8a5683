//! The hook's one answer, written whole exactly once, even when the host stops
//! the hook while it waits.
//!
//! Hosts stop a slow hook with SIGTERM (then SIGKILL) and several then run the
//! tool. So SIGINT, SIGTERM and SIGHUP are blocked in every thread from the
//! start and taken by one thread that answers a deny in the host's blocking terms
//! ("approval pending: ID" once a request exists) and exits. SIGKILL cannot be
//! caught: that is why each host's wait stays under its hook timeout.

use super::host::{Decision, Reply};
use std::io::Write;
use std::sync::Mutex;

/// `Some(code)` once the answer is out.
static ANSWERED: Mutex<Option<u8>> = Mutex::new(None);
/// The request this hook is waiting on, for the answer on a signal.
static WAITING_ON: Mutex<Option<String>> = Mutex::new(None);

/// Take the stop signals from here on; on one, answer with `reply` and exit.
pub fn install(reply: fn(&Decision, Option<&serde_json::Value>) -> Reply) {
    // SAFETY: sigset_t is plain data initialised by sigemptyset before use;
    // pthread_sigmask only changes this thread's mask, which threads started
    // later inherit.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut signal: libc::c_int = 0;
        // SAFETY: `set` is a valid, initialised signal set; `signal` outlives the call.
        if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
            return;
        }
        let name = match signal {
            libc::SIGINT => "SIGINT",
            libc::SIGHUP => "SIGHUP",
            _ => "SIGTERM",
        };
        let reason = match WAITING_ON.lock().ok().and_then(|id| id.clone()) {
            Some(id) => super::bash::pending_reason(&id),
            None => format!(
                "gate: the hook was stopped ({name}) before it decided; nothing ran. Retry the \
                 same command."
            ),
        };
        let code = answer(&reply(&Decision::Deny(reason), None));
        // SAFETY: _exit ends the process without running destructors, which is
        // what a process answering its last signal needs; the answer is flushed.
        unsafe { libc::_exit(i32::from(code)) }
    });
}

/// Remember the request a signal should name.
pub fn waiting_on(id: &str) {
    if let Ok(mut slot) = WAITING_ON.lock() {
        *slot = Some(id.to_string());
    }
}

/// Write `reply` unless an answer is already out; the exit code to use.
pub fn answer(reply: &Reply) -> u8 {
    let mut answered = ANSWERED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(code) = *answered {
        return code;
    }
    if let Some(text) = &reply.stderr {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
    }
    if let Some(text) = &reply.stdout {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
    *answered = Some(reply.code);
    reply.code
}
