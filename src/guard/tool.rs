//! The pipeline for one MCP tool call (`gate mcp proxy`): decide it under the
//! `[[tool]]` rules, ask the broker where the verdict says so, verify the signed
//! decision against this call's own digest and gate's own verdict, and record
//! every way out. The same steps as `gate --` (`decide`, `broker`, `verify`,
//! `trail`), for an action that is a tool call instead of a command.
//!
//! The action a tool call's approval is bound to is (server, tool, canonical
//! arguments): see [`ActionDigest::tool`]. Approvers and the audit log see it as
//! the argv `mcp SERVER TOOL ARGUMENTS-JSON`, secrets redacted. Forwarding the
//! call and reading its result is the front end's.

use super::Decided;
use crate::action::{ActionDigest, DigestKey};
use crate::audit::{AuditError, Entry, Outcome};
use crate::error::Error;
use crate::guard::trail::{self, Trail};
use crate::identity::Requester;
use crate::policy::{Policy, Request, ToolCall, canonical_json};
use crate::redact::{BadPattern, Redactor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

mod ask;

pub use ask::judge;

/// Who calls which tool of which server, from where.
#[derive(Debug, Clone)]
pub struct ToolSubject {
    pub call: ToolCall,
    /// The proxy's working directory.
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    pub requester: Requester,
    /// The upstream server's program, resolved: what approvers see as the
    /// executable.
    pub executable: PathBuf,
    pub key: DigestKey,
}

impl Decided {
    /// Evaluate a tool call under `policy`'s `[[tool]]` rules.
    pub fn for_tool(policy: &Policy, subject: ToolSubject) -> Result<Decided, BadPattern> {
        let redactor = Redactor::new(&policy.redact)?;
        let ToolSubject {
            call,
            cwd,
            env,
            requester,
            executable,
            key,
        } = subject;
        let shown = redactor.redact(&canonical_json(&masked(&call.arguments)));
        let argv = vec![
            "mcp".to_string(),
            call.server.clone(),
            call.tool.clone(),
            shown,
        ];
        let request = Request {
            executable: executable.to_str().map(String::from),
            actor: requester.policy_actor(),
            agent: requester.agent_name(),
            ci: requester.ci_system(),
            repository: requester.ci_repository(),
            git_ref: requester.ci_ref(),
            ci_verified: None,
            argv: argv.clone(),
            cwd,
            env,
        };
        let mut verdict = policy.evaluate_tool(&call, &request);
        verdict.reason = redactor.redact(&verdict.reason);
        let digest = tool_digest(&key, &call);
        Ok(Decided {
            requester,
            command: argv,
            request,
            verdict,
            executable: Ok(executable),
            digest,
            key,
            redactor,
            policy_version: String::new(),
            tool: Some(call),
        })
    }
}

pub(super) fn tool_digest(key: &DigestKey, call: &ToolCall) -> String {
    ActionDigest::tool(key, &call.server, &call.tool, &call.canonical_arguments()).0
}

/// Argument names whose values are secrets whatever they look like.
const SECRET_NAMES: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "credential",
    "authorization",
    "private_key",
];

/// The arguments with the values of secret-named keys masked.
fn masked(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(name, inner)| {
                    let lower = name.to_ascii_lowercase();
                    let secret = SECRET_NAMES.iter().any(|s| lower.contains(s));
                    let shown = if secret && !inner.is_null() {
                        Value::String("****".into())
                    } else {
                        masked(inner)
                    };
                    (name.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        other => other.clone(),
    }
}

/// What to do with one tool call.
#[derive(Debug)]
pub enum ToolVerdict {
    /// Send it to the server; `seq` is its decision record, `entry` what the
    /// outcome record repeats.
    Forward { seq: u64, entry: Box<Entry> },
    /// Answer the client with this refusal; the server never sees the call.
    Refuse(Error),
    /// The client cancelled it while it waited for approval: answer nothing.
    Cancelled,
}

/// How a tool call sent to the server ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolEnd {
    /// A result: recorded as `exited` with exit code 0, or 1 when `isError`.
    Result { is_error: bool },
    /// A JSON-RPC error: recorded as `failed` with the error's code.
    RpcError(i64),
    /// No answer (the server exited, or the call was withdrawn before it was
    /// sent): `failed` with no code, and why.
    NoAnswer(String),
}

impl ToolEnd {
    /// How a JSON-RPC response from the server ended its call.
    pub fn of_response(response: &Value) -> ToolEnd {
        match response.get("error") {
            Some(error) => {
                ToolEnd::RpcError(error.get("code").and_then(Value::as_i64).unwrap_or(0))
            }
            None => ToolEnd::Result {
                is_error: response["result"]["isError"].as_bool().unwrap_or(false),
            },
        }
    }
}

/// The outcome record of a call whose decision record `seq` (from `entry`)
/// let it through.
pub fn record_end(
    trail: &mut Trail,
    entry: &Entry,
    seq: u64,
    end: ToolEnd,
    duration: std::time::Duration,
) -> Result<u64, AuditError> {
    let mut closing = trail::closing(entry, seq);
    closing.duration_ms = Some(duration.as_millis() as u64);
    match end {
        ToolEnd::Result { is_error } => {
            closing.decision = Outcome::Exited.into();
            closing.exit_code = Some(i32::from(is_error));
        }
        ToolEnd::RpcError(code) => {
            closing.decision = Outcome::Failed.into();
            closing.exit_code = Some(i32::try_from(code).unwrap_or(i32::MIN));
        }
        ToolEnd::NoAnswer(why) => {
            closing.decision = Outcome::Failed.into();
            closing.reason = Some(why);
        }
    }
    trail.append(&closing, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Action;
    use serde_json::json;

    fn subject(arguments: Value) -> ToolSubject {
        ToolSubject {
            call: ToolCall {
                server: "forge".into(),
                tool: "delete_repo".into(),
                arguments,
            },
            cwd: PathBuf::from("/srv"),
            env: BTreeMap::new(),
            requester: Requester {
                user: "carol".into(),
                host: "box".into(),
                ci: None,
                agent: None,
            },
            executable: PathBuf::from("/usr/bin/python3"),
            key: DigestKey::from_hex(&"ab".repeat(32)).unwrap(),
        }
    }

    fn decide(arguments: Value) -> Decided {
        let policy = "version = 1\n[[tool]]\nname = \"deletes\"\naction = \"approve\"\n\
                      tool = \"delete_*\"\napprovers = [\"alice\"]\n";
        let policy = Policy::parse(policy, "p.toml").unwrap();
        Decided::for_tool(&policy, subject(arguments)).unwrap()
    }

    #[test]
    fn the_digest_binds_server_tool_and_canonical_arguments_and_secrets_are_masked() {
        let one = decide(json!({"repo": "a", "token": "hunter2", "n": 1}));
        let same = decide(json!({"n": 1, "token": "hunter2", "repo": "a"}));
        assert_eq!(one.digest, same.digest);
        let other = decide(json!({"repo": "b", "token": "hunter2", "n": 1}));
        assert_ne!(one.digest, other.digest);
        let secret = decide(json!({"repo": "a", "token": "other", "n": 1}));
        assert_ne!(one.digest, secret.digest);
        assert_eq!(one.command[..3], ["mcp", "forge", "delete_repo"]);
        assert_eq!(one.command[3], r#"{"n":1,"repo":"a","token":"****"}"#);
        assert_eq!(one.verdict.decision, Action::Approve);
        assert_eq!(one.verdict.approval.as_ref().unwrap().approvers, ["alice"]);
        // A tool call's digest is never a command's.
        let command = ActionDigest::compute(
            &one.key,
            &one.command,
            &one.request.cwd,
            &one.digest_executable(),
        );
        assert_ne!(command.0, one.digest);
        assert_eq!(one.rekeyed(one.key.clone()).digest, one.digest);
    }
}
