//! The one place that turns a failure into text on stderr and an exit code.
//!
//! Every outcome gate owns has a named exit code here, documented in the README.
//! The wrapped command's own exit status is passed through untouched; gate's codes
//! sit in the 100–111 block, away from the codes commands commonly use
//! (0–2, 126, 127, 128+N).

use crate::paths::InsecureFile;
use crate::policy::Diagnostic;
use std::path::PathBuf;

/// What made an HTTP call fail, for one line: its innermost cause ("Connection
/// refused", "invalid peer certificate: UnknownIssuer"), or "timed out"; never
/// the URL, which could carry a query.
pub fn http_cause(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".to_string();
    }
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

/// Named exit codes. The wrapped command's own status is used when it ran.
pub mod exit {
    /// The command ran and succeeded, or a gate subcommand succeeded.
    pub const OK: u8 = 0;
    /// `gate approve`, `deny`, `pending`: the broker refused (not an approver of this
    /// request, your own request, already decided, unknown id, unknown token). These
    /// commands wrap nothing, so they use the conventional failure code.
    pub const BROKER_REFUSED: u8 = 1;
    /// The policy denied the command; nothing ran.
    pub const DENIED: u8 = 100;
    /// An approver denied the request; nothing ran.
    pub const REJECTED: u8 = 101;
    /// No decision arrived before the request's timeout; nothing ran.
    pub const TIMED_OUT: u8 = 102;
    /// The command needs approval and no request could be made (no channel or pinned
    /// broker key, a required reason missing, break-glass not allowed, the broker
    /// unreachable or refusing); nothing ran. Also `gate approve`, `deny`, `pending`,
    /// `inbox` when the broker cannot be reached.
    pub const NEEDS_APPROVAL: u8 = 103;
    /// The requester cancelled while waiting (Ctrl-C); nothing ran.
    pub const CANCELLED: u8 = 104;
    /// The policy (or another config file) is invalid or insecure; nothing ran.
    pub const BAD_POLICY: u8 = 105;
    /// The audit log could not be written or read; nothing ran.
    pub const AUDIT_FAILED: u8 = 106;
    /// `gate audit verify` found a tampered or broken log (or, with `--broker`,
    /// one that lost or changed records the broker holds); `gate audit push`: the
    /// broker refused the log as not extending the chain it holds.
    pub const VERIFY_FAILED: u8 = 107;
    /// `gate policy test` / `lint` found failing `[[test]]` cases.
    pub const POLICY_TESTS_FAILED: u8 = 108;
    /// An approval did not verify (signature, digest, expiry); nothing ran.
    pub const APPROVAL_INVALID: u8 = 109;
    /// Bad command-line usage.
    pub const USAGE: u8 = 110;
    /// An unexpected internal error.
    pub const INTERNAL: u8 = 111;
    /// `gate mcp proxy`: the MCP server exited (or closed its output) while the
    /// client was still connected; calls in flight were answered with errors.
    pub const MCP_SERVER_EXITED: u8 = 112;
    /// `gate serve`: the broker's store could not be opened or used (the
    /// database is unreachable, refuses the login, or has a newer schema).
    pub const BROKER_STORE: u8 = 113;
    /// The command was found but could not be executed.
    pub const NOT_EXECUTABLE: u8 = 126;
    /// The command was not found.
    pub const NOT_FOUND: u8 = 127;
}

#[derive(Debug)]
pub enum Error {
    /// Bad command-line usage (clap renders its own text).
    Usage(String),
    /// Denied by policy; `reason` names the rule.
    Denied {
        reason: String,
    },
    /// The command needs approval and no request could be made; `hint` says why.
    NeedsApproval {
        reason: String,
        hint: String,
    },
    /// An approver denied the request.
    Rejected {
        request_id: String,
        by: String,
        reason: Option<String>,
    },
    /// No decision before the request expired.
    ApprovalTimedOut {
        request_id: String,
    },
    /// The requester cancelled while waiting.
    Cancelled {
        request_id: String,
        why: String,
    },
    /// An approval arrived but did not verify or could not be claimed.
    ApprovalInvalid {
        request_id: String,
        reason: String,
    },
    /// The policy file is invalid; every diagnostic, rendered.
    Policy {
        diagnostics: Vec<Diagnostic>,
        color: bool,
    },
    /// `gate policy lint|test|publish` found problems in the policy it examined
    /// (nothing was ever going to run): errors, or `[[test]]` cases that fail.
    PolicyLint {
        diagnostics: Vec<Diagnostic>,
        color: bool,
        failing_tests: bool,
    },
    /// The broker config file is invalid; every diagnostic, rendered.
    Config {
        diagnostics: Vec<Diagnostic>,
        color: bool,
    },
    /// A file that decides what runs is writable by others.
    Insecure(InsecureFile),
    /// Managed mode: the organisation policy cannot be had or does not verify.
    OrgPolicy(String),
    /// A policy or other config file could not be read; nothing ran.
    ConfigUnreadable {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// A file could not be read or written.
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// `[[test]]` cases failed.
    PolicyTests {
        failed: usize,
        total: usize,
    },
    /// The audit log (or its key) could not be opened, read or written.
    Audit {
        source: crate::audit::AuditError,
        /// The failure kept a command from running (the requester side).
        nothing_ran: bool,
    },
    /// Writing audit records to stdout failed.
    AuditOutput(std::io::Error),
    /// `gate audit verify` found a problem.
    Verify(crate::audit::Problem),
    /// The command could not be found.
    NotFound {
        program: String,
    },
    /// The command could not be executed.
    NotExecutable {
        program: String,
        source: std::io::Error,
    },
    /// The broker's signing key could not be created or loaded.
    BrokerKey(crate::keys::KeyError),
    /// A refusal with its own message and code (e.g. `gate init` finding files).
    Refused {
        message: String,
        code: u8,
    },
    Internal(String),
    /// `gate --json`: the failure was already printed as one JSON object on stdout,
    /// which is then gate's only report of it (no line on stderr).
    ShownAsJson(Box<Error>),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Denied { .. } => exit::DENIED,
            Error::NeedsApproval { .. } => exit::NEEDS_APPROVAL,
            Error::Rejected { .. } => exit::REJECTED,
            Error::ApprovalTimedOut { .. } => exit::TIMED_OUT,
            Error::Cancelled { .. } => exit::CANCELLED,
            Error::ApprovalInvalid { .. } => exit::APPROVAL_INVALID,
            Error::Policy { .. }
            | Error::PolicyLint { .. }
            | Error::Config { .. }
            | Error::Insecure(_)
            | Error::OrgPolicy(_)
            | Error::ConfigUnreadable { .. } => exit::BAD_POLICY,
            Error::Io { .. } | Error::Internal(_) => exit::INTERNAL,
            Error::PolicyTests { .. } => exit::POLICY_TESTS_FAILED,
            Error::Audit { .. } | Error::AuditOutput(_) => exit::AUDIT_FAILED,
            Error::Verify(_) => exit::VERIFY_FAILED,
            Error::NotFound { .. } => exit::NOT_FOUND,
            Error::NotExecutable { .. } => exit::NOT_EXECUTABLE,
            Error::BrokerKey(_) => exit::INTERNAL,
            Error::Refused { code, .. } => *code,
            Error::ShownAsJson(error) => error.exit_code(),
        }
    }

    /// The text for stderr, unless it was already reported another way.
    pub fn stderr_text(&self) -> Option<String> {
        match self {
            Error::ShownAsJson(_) => None,
            _ => Some(self.render()),
        }
    }

    /// The text for stderr: one line (policy errors render each diagnostic).
    pub fn render(&self) -> String {
        match self {
            Error::Usage(text) => text.trim_end().to_string(),
            Error::Denied { reason } => format!("gate: denied: {reason}"),
            Error::NeedsApproval { reason, hint } => {
                format!("gate: needs approval: {reason}; {hint}")
            }
            Error::Rejected {
                request_id,
                by,
                reason,
            } => match reason {
                Some(why) => {
                    format!("gate: denied by {by}: {why} (request {request_id}); nothing was run")
                }
                None => format!("gate: denied by {by} (request {request_id}); nothing was run"),
            },
            Error::ApprovalTimedOut { request_id } => {
                format!("gate: no decision before request {request_id} expired; nothing was run")
            }
            Error::Cancelled { request_id, why } => {
                format!("gate: cancelled ({why}); request {request_id} withdrawn, nothing was run")
            }
            Error::ApprovalInvalid { request_id, reason } => format!(
                "gate: approval for request {request_id} refused: {reason}; nothing was run"
            ),
            Error::Policy { diagnostics, color } => render_diagnostics(
                diagnostics,
                *color,
                "gate: the policy has {n}; nothing was run",
            ),
            Error::PolicyLint {
                diagnostics,
                color,
                failing_tests: false,
            } => render_diagnostics(
                diagnostics,
                *color,
                "gate: the policy has {n}; until they are fixed gate refuses every command under it",
            ),
            Error::PolicyLint {
                diagnostics,
                color,
                failing_tests: true,
            } => {
                let n = diagnostics.len();
                let summary = format!(
                    "gate: {n} policy test{} failed; the rules do not decide as the [[test]] \
                     cases expect: fix the rules or the cases",
                    if n == 1 { "" } else { "s" }
                );
                render_diagnostics(diagnostics, *color, &summary)
            }
            Error::Config { diagnostics, color } => render_diagnostics(
                diagnostics,
                *color,
                "gate serve: the broker config has {n}; fix them and run again",
            ),
            Error::Insecure(file) => format!("gate: refusing insecure file: {file}"),
            Error::OrgPolicy(detail) => {
                format!("gate: organisation policy: {detail}")
            }
            Error::ConfigUnreadable {
                path,
                action,
                source,
            } => {
                format!(
                    "gate: cannot {action} {}: {}",
                    path.display(),
                    io_reason(source)
                )
            }
            Error::Io {
                path,
                action,
                source,
            } => {
                format!("gate: cannot {action} {}: {source}", path.display())
            }
            Error::PolicyTests { failed, total } => {
                format!("gate: {failed} of {total} policy tests failed")
            }
            Error::Audit {
                source,
                nothing_ran,
            } => {
                let nothing_ran = if *nothing_ran {
                    "; nothing was run"
                } else {
                    ""
                };
                format!("gate: audit log: {source}{nothing_ran}")
            }
            Error::AuditOutput(source) => format!("gate: audit log: {source}"),
            Error::Verify(problem) => format!("gate: audit verify failed: {problem}"),
            Error::NotFound { program } => format!("gate: {program}: command not found"),
            Error::NotExecutable { program, source } => {
                format!("gate: {program}: cannot execute: {source}")
            }
            Error::BrokerKey(source) => format!("gate: broker key: {source}"),
            Error::Refused { message, .. } => format!("gate: {message}"),
            Error::Internal(message) => format!("gate: internal error: {message}"),
            Error::ShownAsJson(error) => error.render(),
        }
    }
}

impl Error {
    /// A policy or config file that could not be read for `action` ("read policy").
    pub fn file(action: &'static str, err: crate::files::FileError) -> Error {
        match err {
            crate::files::FileError::Io { path, source } => Error::ConfigUnreadable {
                path,
                action,
                source,
            },
            crate::files::FileError::Insecure(file) => Error::Insecure(file),
        }
    }
}

impl From<InsecureFile> for Error {
    fn from(file: InsecureFile) -> Error {
        Error::Insecure(file)
    }
}

/// "no such file", "permission denied": the OS reason without Rust's "(os error 2)".
fn io_reason(source: &std::io::Error) -> String {
    let text = source.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Every diagnostic, then a summary line from `summary` with `{n}` replaced by
/// "1 error" or "N errors".
fn render_diagnostics(diagnostics: &[Diagnostic], color: bool, summary: &str) -> String {
    let mut text: Vec<String> = diagnostics.iter().map(|d| d.render(color)).collect();
    let n = diagnostics.len();
    let count = format!("{n} error{}", if n == 1 { "" } else { "s" });
    text.push(summary.replace("{n}", &count));
    text.join("\n")
}
