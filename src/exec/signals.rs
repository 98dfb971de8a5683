//! Signal forwarding from gate to its child while the child runs.
//!
//! A plain `sigaction` handler does the forwarding itself (`kill` is
//! async-signal-safe), so no helper thread is started on every command. Signals
//! that arrive before the child's pid is known are remembered and delivered as
//! soon as it is.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP];

/// The child's pid while it runs; 0 before it starts and after it is reaped.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// Signals (bit N = signal N) that arrived while there was no child to forward to.
static PENDING: AtomicU64 = AtomicU64::new(0);

/// Catches SIGINT, SIGQUIT, SIGTERM and SIGHUP for as long as it lives and passes
/// them on to the child once its pid is known. Dropping it restores the previous
/// dispositions.
pub(super) struct Forwarder {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl Forwarder {
    pub(super) fn install() -> std::io::Result<Forwarder> {
        CHILD.store(0, Ordering::SeqCst);
        PENDING.store(0, Ordering::SeqCst);
        let mut forwarder = Forwarder {
            previous: Vec::with_capacity(FORWARDED.len()),
        };
        for signal in FORWARDED {
            forwarder.previous.push((
                signal,
                set_handler(
                    signal,
                    on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
                )?,
            ));
        }
        Ok(forwarder)
    }

    /// From now on signals go to `pid`, starting with any that arrived already.
    pub(super) fn set_child(&self, pid: u32) {
        let pid = pid as i32;
        CHILD.store(pid, Ordering::SeqCst);
        let pending = PENDING.swap(0, Ordering::SeqCst);
        for signal in FORWARDED {
            if pending & (1 << signal) != 0 {
                forward(pid, signal);
            }
        }
    }

    /// Stop forwarding: the child has been reaped, its pid may be reused.
    pub(super) fn finish(self) {
        CHILD.store(0, Ordering::SeqCst);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        for (signal, previous) in &self.previous {
            // SAFETY: restores a disposition that sigaction returned for this signal.
            unsafe {
                libc::sigaction(*signal, previous, std::ptr::null_mut());
            }
        }
    }
}

/// Install `handler` for `signal` (restarting interrupted system calls); returns
/// the previous disposition.
fn set_handler(
    signal: libc::c_int,
    handler: libc::sighandler_t,
) -> std::io::Result<libc::sigaction> {
    // SAFETY: sigaction is plain data; all-zero is a valid empty value for it.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: a zeroed sigaction is valid to hand out; sigemptyset initialises the mask.
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers point at live locals; `handler` is an `extern "C"`
    // function that only does async-signal-safe work.
    let rc = unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, &mut previous)
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(previous)
}

/// The handler: forward to the child, or remember the signal for later. Uses only
/// atomics and async-signal-safe calls, and preserves errno.
extern "C" fn on_signal(signal: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    let errno = unsafe { *libc::__errno_location() };
    match CHILD.load(Ordering::SeqCst) {
        0 => {
            PENDING.fetch_or(1 << signal, Ordering::SeqCst);
        }
        pid => forward(pid, signal),
    }
    // SAFETY: as above; restores the interrupted code's errno.
    unsafe { *libc::__errno_location() = errno };
}

fn forward(pid: i32, signal: libc::c_int) {
    let from_terminal = matches!(signal, libc::SIGINT | libc::SIGQUIT) && in_terminal_foreground();
    if from_terminal {
        // The terminal already delivered it to the whole foreground group, child included.
        return;
    }
    // SAFETY: kill(2) with a pid we spawned and a valid signal number; no memory is shared.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Whether gate's process group is the foreground group of its controlling terminal.
fn in_terminal_foreground() -> bool {
    (0..=2).any(|fd| {
        // SAFETY: tcgetpgrp/getpgrp only read process state; a descriptor that is not
        // a terminal makes tcgetpgrp fail with -1, which never equals a process group.
        unsafe { libc::tcgetpgrp(fd) == libc::getpgrp() }
    })
}
