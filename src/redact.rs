//! Secret redaction: everything that leaves the process (audit log, broker, messages)
//! passes through here first. Built-in detectors plus the policy's `[redact]` regexes.

/// What a redacted secret is replaced with.
pub const MASK: &str = "****";

#[derive(Debug, Clone)]
pub struct Redactor {}

/// A `[redact]` pattern that does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern {
    pub pattern: String,
    pub message: String,
}

impl Redactor {
    /// Built-in detectors plus extra regexes (from the policy's `[redact]`).
    pub fn new(extra: &[String]) -> Result<Redactor, BadPattern> {
        todo!("{extra:?}")
    }
    /// Redact secrets inside one string (a log line, a shell line, a reason).
    pub fn redact(&self, text: &str) -> String {
        todo!("{text}")
    }
    /// Redact an argv, aware of flags whose *next* argument is a secret
    /// (`--password VALUE`, `-p VALUE` where known, `--token VALUE`).
    pub fn redact_argv(&self, argv: &[String]) -> Vec<String> {
        todo!("{argv:?}")
    }
}
