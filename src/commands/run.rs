//! `gate -- CMD`: decide, record the decision durably, run, record the outcome.
//! The approve branch (ask the broker, verify, then run) is in `approval`.

use super::check::{build_request, redact_verdict, shell_join};
use super::load_policy;
use crate::action::{ActionDigest, ResolveError, resolve_executable};
use crate::audit::{ApproverRecord, AuditLog, Entry, RecordKind};
use crate::cli::RunArgs;
use crate::error::{Error, exit};
use crate::exec::{self, Termination};
use crate::identity::Requester;
use crate::paths::{Home, PolicySource};
use crate::policy::{Action, Verdict};
use crate::redact::Redactor;
use std::path::PathBuf;

mod approval;

pub(super) fn wrap(args: RunArgs, home: &Home) -> Result<u8, Error> {
    if args.command.is_empty() {
        return Err(Error::Usage(
            "gate: no command given; usage: gate [--policy FILE] [--reason TEXT] [--json] -- COMMAND [ARG...]\n\
             (see `gate --help`)"
                .to_string(),
        ));
    }
    let loaded = load_policy(args.policy.policy.as_deref(), home, &args.command)?;
    let redactor = Redactor::new(&loaded.policy.redact).map_err(|bad| {
        Error::Internal(format!("redact pattern {:?}: {}", bad.pattern, bad.message))
    })?;
    let requester = Requester::current();
    let request = build_request(&args.command, &requester);
    let mut verdict = loaded.policy.evaluate(&request);
    redact_verdict(&mut verdict, &redactor);

    let resolved = resolve_executable(&args.command[0], std::env::var_os("PATH").as_deref());
    let executable = match &resolved {
        Ok(path) => path.clone(),
        Err(ResolveError::NotExecutable(path)) => path.clone(),
        Err(ResolveError::NotFound) => PathBuf::from(&args.command[0]),
    };
    let mut trail = Trail::open(home)?;
    let mut draft = Entry::draft(
        requester,
        redactor.redact_argv(&args.command),
        ActionDigest::compute(&args.command, &request.cwd, &executable).0,
        request.cwd.display().to_string(),
        verdict.rules.clone(),
    );
    draft.reason = args.reason.as_deref().map(|r| redactor.redact(r));

    // Built only on the approval paths: a plain allow or deny never touches it.
    let asking = || approval::Asking {
        args: &args,
        verdict: &verdict,
        draft: &draft,
        redactor: &redactor,
        channels: &loaded.policy.channels,
        policy_dir: policy_dir(&loaded.source),
    };
    match verdict.decision {
        Action::Deny => {
            trail.decision(&draft, "deny", Some(refusal_reason(&verdict, &draft)))?;
            refuse(
                args.json,
                &verdict,
                Error::Denied {
                    reason: verdict.reason.clone(),
                },
            )
        }
        Action::Approve | Action::Allow if args.ticket.is_some() => {
            let ticket = args.ticket.clone().unwrap_or_default();
            asking().redeem(&mut trail, resolved, home, &ticket)
        }
        Action::Approve => asking().approve(&mut trail, resolved),
        Action::Allow => {
            let seq = trail.decision(&draft, "allow", draft.reason.clone())?;
            start(&mut trail, &draft, seq, resolved, &args.command)
        }
    }
}

/// The policy file's directory, for a relative `server_key`.
fn policy_dir(source: &PolicySource) -> Option<PathBuf> {
    match source {
        PolicySource::File(path) => path.parent().map(std::path::Path::to_path_buf),
        PolicySource::Builtin => None,
    }
}

/// Run a command whose decision record (`seq`) is already durable: the same path
/// for a policy allow and a verified approval.
fn start(
    trail: &mut Trail,
    draft: &Entry,
    seq: u64,
    resolved: Result<PathBuf, ResolveError>,
    argv: &[String],
) -> Result<u8, Error> {
    let executable = match resolved {
        Ok(path) => path,
        Err(ResolveError::NotFound) => {
            trail.failed(draft, seq, exit::NOT_FOUND)?;
            return Err(Error::NotFound {
                program: argv[0].clone(),
            });
        }
        Err(ResolveError::NotExecutable(path)) => {
            trail.failed(draft, seq, exit::NOT_EXECUTABLE)?;
            let source = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
            return Err(Error::NotExecutable {
                program: path.display().to_string(),
                source,
            });
        }
    };
    run_allowed(trail, draft, seq, &executable, argv)
}

fn run_allowed(
    trail: &mut Trail,
    draft: &Entry,
    seq: u64,
    executable: &std::path::Path,
    argv: &[String],
) -> Result<u8, Error> {
    let outcome = match exec::run(executable, argv) {
        Ok(outcome) => outcome,
        Err(source) => {
            let code = if source.kind() == std::io::ErrorKind::PermissionDenied {
                exit::NOT_EXECUTABLE
            } else {
                exit::NOT_FOUND
            };
            trail.failed(draft, seq, code)?;
            let program = argv[0].clone();
            return Err(if code == exit::NOT_FOUND {
                Error::NotFound { program }
            } else {
                Error::NotExecutable { program, source }
            });
        }
    };
    let mut entry = draft.clone();
    entry.kind = RecordKind::Outcome;
    entry.decision_seq = Some(seq);
    entry.duration_ms = Some(outcome.duration.as_millis() as u64);
    match outcome.termination {
        Termination::Exited(code) => {
            entry.decision = "exited".to_string();
            entry.exit_code = Some(code);
        }
        Termination::Signalled(signal) => {
            entry.decision = "signalled".to_string();
            entry.signal = Some(signal);
        }
    }
    trail.append(&entry, false)?;
    Ok(outcome.termination.exit_code())
}

/// The reason a refusal is recorded with: the policy's, and the requester's if given.
fn refusal_reason(verdict: &Verdict, draft: &Entry) -> String {
    match &draft.reason {
        Some(given) => format!("{} (requester's reason: {given})", verdict.reason),
        None => verdict.reason.clone(),
    }
}

/// Print the refusal as JSON on stdout when asked (nothing ran, so stdout is free),
/// and return the error for the one stderr line and the exit code.
fn refuse(json: bool, verdict: &Verdict, error: Error) -> Result<u8, Error> {
    if json {
        println!("{}", refusal_json(verdict, &error));
    }
    Err(error)
}

/// The JSON object of a refusal (see [`refuse`]).
fn refusal_json(verdict: &Verdict, error: &Error) -> serde_json::Value {
    serde_json::json!({
            "decision": verdict.decision.as_str(),
            "ran": false,
            "exit_code": error.exit_code(),
            "reason": verdict.reason,
            "rules": verdict.rules,
        "commands": verdict.commands.iter().map(|c| shell_join(&c.command.argv)).collect::<Vec<_>>(),
    })
}

fn refused_audit(e: crate::audit::AuditError) -> Error {
    Error::Audit(format!("{e}; nothing was run"))
}

/// The audit log and its signing key, opened before anything runs: if the trail
/// cannot be written, nothing runs.
struct Trail {
    log: AuditLog,
    key: ed25519_dalek::SigningKey,
}

impl Trail {
    fn open(home: &Home) -> Result<Trail, Error> {
        crate::audit::use_one_command_heap();
        let key =
            crate::keys::load_or_create(&home.key_file()).map_err(|e| refused_audit(e.into()))?;
        let log = AuditLog::open(&home.log_file()).map_err(refused_audit)?;
        Ok(Trail { log, key })
    }

    fn append(&mut self, entry: &Entry, durable: bool) -> Result<u64, Error> {
        self.log
            .append(entry, &self.key, durable)
            .map_err(refused_audit)
    }

    /// A decision record, durable before anything runs.
    fn decision(
        &mut self,
        draft: &Entry,
        decision: &str,
        reason: Option<String>,
    ) -> Result<u64, Error> {
        let mut entry = draft.clone();
        entry.decision = decision.to_string();
        entry.reason = reason;
        if decision == "allow" {
            entry.approvers = vec![ApproverRecord {
                name: "policy".to_string(),
                channel: "policy".to_string(),
            }];
        }
        self.append(&entry, true)
    }

    /// The outcome of a command that could not be started.
    fn failed(&mut self, draft: &Entry, seq: u64, code: u8) -> Result<u64, Error> {
        let mut entry = draft.clone();
        entry.kind = RecordKind::Outcome;
        entry.decision = "failed".to_string();
        entry.exit_code = Some(i32::from(code));
        entry.decision_seq = Some(seq);
        entry.duration_ms = Some(0);
        self.append(&entry, false)
    }
}
