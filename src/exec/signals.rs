//! Signal forwarding from gate to its child while the child runs.

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::JoinHandle;

const NOT_YET: i32 = 0;
const DONE: i32 = -1;

/// Catches SIGINT, SIGQUIT, SIGTERM and SIGHUP for as long as it lives and passes
/// them on to the child once its pid is known.
pub(super) struct Forwarder {
    child: Arc<AtomicI32>,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl Forwarder {
    pub(super) fn install() -> std::io::Result<Forwarder> {
        let mut signals = Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP])?;
        let handle = signals.handle();
        let child = Arc::new(AtomicI32::new(0));
        let target = Arc::clone(&child);
        let thread = std::thread::spawn(move || {
            for signal in signals.forever() {
                // A signal that beats the spawn waits for the child's pid (rare, brief).
                loop {
                    match target.load(Ordering::SeqCst) {
                        NOT_YET => std::thread::sleep(std::time::Duration::from_millis(1)),
                        DONE => break,
                        pid => {
                            forward(pid, signal);
                            break;
                        }
                    }
                }
            }
        });
        Ok(Forwarder {
            child,
            handle,
            thread: Some(thread),
        })
    }

    pub(super) fn set_child(&self, pid: u32) {
        self.child.store(pid as i32, Ordering::SeqCst);
    }

    /// Stop forwarding: the child has been reaped, its pid may be reused.
    pub(super) fn finish(mut self) {
        self.child.store(DONE, Ordering::SeqCst);
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn forward(pid: i32, signal: i32) {
    let from_terminal = matches!(signal, SIGINT | SIGQUIT) && in_terminal_foreground();
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
