//! Running gate in the background while it waits for a decision: its stderr read
//! line by line, so a test can wait for "the request was created" instead of
//! sleeping, then act (decide, signal, drop the broker) and collect the result.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub struct Waiting {
    pub child: Child,
    lines: Receiver<String>,
    pub stderr: Vec<String>,
}

pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Waiting {
    pub fn spawn(mut command: Command) -> Waiting {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gate");
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Waiting {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Wait (at most 30 s) for a stderr line containing `text`; returns it.
    pub fn expect_line(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "gate never printed {text:?}; stderr so far:\n{}",
                        self.stderr.join("\n")
                    )
                }
            }
        }
    }

    /// Wait for the "approval requested" line; the request id it names.
    pub fn expect_request_id(&mut self) -> String {
        let line = self.expect_line("approval requested");
        line.split("request ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("no request id in {line:?}"))
            .to_string()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the child we spawned and have not reaped.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Wait for gate to exit (at most 60 s) and collect what it printed.
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("gate did not exit; stderr:\n{}", self.stderr.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        use std::io::Read;
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push(line);
        }
        Finished {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.stderr.join("\n"),
        }
    }
}
