//! Step 2 of the pipeline, decide: the policy's verdict on one action, with what
//! every later step needs computed once: the redacted command and verdict, the
//! executable as exec will find it, and the action digest.
//!
//! Touches no audit log and no broker and runs nothing; the only outside state it
//! reads is the file system, to resolve the program on PATH.

use crate::action::{ActionDigest, DigestKey, ResolveError, copy_of, resolve_executable};
use crate::identity::Requester;
use crate::policy::{Policy, Request, SimpleCommand, ToolCall, Verdict, normalise_resolved};
use crate::redact::{BadPattern, Redactor};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Who wants to run what, where: everything the policy may look at.
#[derive(Debug, Clone)]
pub struct Subject {
    pub argv: Vec<String>,
    /// The directory the command runs in.
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    pub requester: Requester,
    /// The PATH the program is looked up on.
    pub path: Option<OsString>,
    /// The key of this request's action digest.
    pub key: DigestKey,
}

impl Subject {
    /// `argv` as this process would run it: its directory, environment and user,
    /// with a fresh digest key.
    pub fn this_process(argv: Vec<String>) -> Result<Subject, crate::error::Error> {
        let key = DigestKey::random().map_err(|e| {
            crate::error::Error::Internal(format!("no randomness for the action digest: {e}"))
        })?;
        Ok(Subject {
            argv,
            cwd: std::env::current_dir().unwrap_or_default(),
            env: std::env::vars().collect(),
            requester: Requester::current(),
            path: std::env::var_os("PATH"),
            key,
        })
    }

    /// The program as exec will find it (symlinks followed), and the simple
    /// commands this subject runs: its argv normalised with that executable (a
    /// shell reached through a symlink or another name is still a shell) and the
    /// environment it runs with.
    pub fn resolve(&self) -> Resolved {
        let program = self.argv.first().map_or("", String::as_str);
        let executable = resolve_executable(program, self.path.as_deref());
        let real = executable.as_ref().ok().map(|path| identified(path));
        let name = real.as_ref().and_then(|path| path.to_str());
        let commands = normalise_resolved(&self.argv, name, &self.env);
        Resolved {
            executable,
            commands: self.resolve_wrapped(commands),
        }
    }

    /// Programs run by wrappers (`sudo ./k -c …`, `env ./build …`) resolved too:
    /// one that is really a shell or another program normalisation reads (a
    /// symlink, a copy under another name) is normalised again as that program.
    fn resolve_wrapped(&self, commands: Vec<SimpleCommand>) -> Vec<SimpleCommand> {
        let mut todo = commands;
        todo.reverse();
        let mut done = Vec::new();
        let mut renormalised = 0;
        while let Some(command) = todo.pop() {
            let wrapped =
                !command.via.is_empty() && command.opaque.is_none() && command.executable.is_none();
            let real = wrapped
                .then(|| self.real_program(&command.argv[0]))
                .flatten()
                .filter(|real| basename(real) != basename(Path::new(&command.argv[0])));
            let (Some(real), true) = (real, renormalised < MAX_RENORMALISED) else {
                done.push(command);
                continue;
            };
            renormalised += 1;
            let inner = normalise_resolved(&command.argv, real.to_str(), &self.env);
            for mut found in inner.into_iter().rev() {
                found.via = [command.via.clone(), found.via].concat();
                todo.push(found);
            }
        }
        done
    }

    /// The file a wrapped program name runs, as what it really is.
    fn real_program(&self, program: &str) -> Option<PathBuf> {
        let found = if program.contains('/') {
            resolve_executable(self.cwd.join(program).to_str()?, None)
        } else {
            resolve_executable(program, self.path.as_deref())
        };
        found.ok().map(|path| identified(&path))
    }
}

/// How many wrapped programs are normalised again as what they really are.
const MAX_RENORMALISED: usize = 16;

/// `path`, or the system program it is a copy of.
fn identified(path: &Path) -> PathBuf {
    copy_of(path).unwrap_or_else(|| path.to_path_buf())
}

fn basename(path: &Path) -> Option<&std::ffi::OsStr> {
    path.file_name()
}

/// What a [`Subject`] runs, found once: the policy load picks its candidate rules
/// from `commands`, and the decision evaluates them.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub executable: Result<PathBuf, ResolveError>,
    pub commands: Vec<SimpleCommand>,
}

/// The policy's decision on one action, ready for the steps after it.
#[derive(Debug, Clone)]
pub struct Decided {
    pub requester: Requester,
    /// What the policy evaluated. Holds the unredacted argv: it never leaves
    /// the process.
    pub request: Request,
    /// The verdict, secrets redacted.
    pub verdict: Verdict,
    /// The argv, secrets redacted: what the audit log and approvers see.
    pub command: Vec<String>,
    /// The program, resolved on PATH as exec will resolve it.
    pub executable: Result<PathBuf, ResolveError>,
    /// Keyed hash over argv, cwd and executable: what an approval is bound to.
    pub digest: String,
    /// The digest's key: never recorded, never sent to the broker.
    pub key: DigestKey,
    pub redactor: Redactor,
    /// Hex SHA-256 of the policy text that decided (set by `guard::decide`).
    pub policy_version: String,
    /// The MCP tool call this decision is about, unredacted, when the action is
    /// a tool call (`gate mcp proxy`) rather than a command: its digest binds
    /// the call, not `command`.
    pub tool: Option<ToolCall>,
}

impl Decided {
    /// Evaluate `subject` under `policy`; `resolved` is `subject.resolve()` (the
    /// same normalisation chose the policy's candidate rules).
    pub fn new(
        policy: &Policy,
        subject: Subject,
        resolved: Resolved,
    ) -> Result<Decided, BadPattern> {
        let redactor = Redactor::new(&policy.redact)?;
        let Resolved {
            executable,
            commands,
        } = resolved;
        let Subject {
            argv,
            cwd,
            env,
            requester,
            path: _,
            key,
        } = subject;
        let request = Request {
            executable: executable
                .as_ref()
                .ok()
                .and_then(|path| path.to_str())
                .map(String::from),
            actor: requester.policy_actor(),
            agent: requester.agent_name(),
            ci: requester.ci_system(),
            repository: requester.ci_repository(),
            git_ref: requester.ci_ref(),
            // The requester cannot verify an ID token; the broker does.
            ci_verified: None,
            argv,
            cwd,
            env,
        };
        let mut verdict = policy.evaluate_commands(commands, &request);
        redact_verdict(&mut verdict, &redactor);
        let program = request.argv.first().map_or("", String::as_str);
        let digest = ActionDigest::compute(
            &key,
            &request.argv,
            &request.cwd,
            &digest_executable(&executable, program),
        )
        .0;
        Ok(Decided {
            requester,
            command: redactor.redact_argv(&request.argv),
            request,
            verdict,
            executable,
            digest,
            key,
            redactor,
            policy_version: String::new(),
            tool: None,
        })
    }

    /// The same decision with the digest under `key`: for `gate --ticket`, whose
    /// approval was asked for with the key its ticket holds.
    pub fn rekeyed(&self, key: DigestKey) -> Decided {
        let digest = match &self.tool {
            Some(call) => super::tool::tool_digest(&key, call),
            None => {
                ActionDigest::compute(&key, self.argv(), self.cwd(), &self.digest_executable()).0
            }
        };
        Decided {
            digest,
            key,
            ..self.clone()
        }
    }

    /// The argv as given (unredacted), for running it.
    pub fn argv(&self) -> &[String] {
        &self.request.argv
    }

    pub fn cwd(&self) -> &Path {
        &self.request.cwd
    }

    /// The executable the action digest names.
    pub fn digest_executable(&self) -> PathBuf {
        let program = self.request.argv.first().map_or("", String::as_str);
        digest_executable(&self.executable, program)
    }
}

/// The path the digest binds: the resolved executable, or the name as typed when
/// none was found.
fn digest_executable(executable: &Result<PathBuf, ResolveError>, program: &str) -> PathBuf {
    match executable {
        Ok(path) | Err(ResolveError::NotExecutable(path)) => path.clone(),
        Err(ResolveError::NotFound) => PathBuf::from(program),
    }
}

/// Secrets in the argv also appear in the explanation (each command found, the
/// wrappers it was found through, why it is opaque, what its run-time words can
/// be); mask them there too.
fn redact_verdict(verdict: &mut Verdict, redactor: &Redactor) {
    verdict.reason = redactor.redact(&verdict.reason);
    for command in &mut verdict.commands {
        let found = &mut command.command;
        found.argv = redactor.redact_argv(&found.argv);
        found.via = found
            .via
            .iter()
            .map(|label| redactor.redact(label))
            .collect();
        found.opaque = found.opaque.as_deref().map(|why| redactor.redact(why));
        for word in &mut found.runtime {
            word.values = word.values.as_deref().map(|glob| redactor.redact(glob));
        }
        command.why = redactor.redact(&command.why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::CiJob;
    use crate::policy::Action;

    const POLICY: &str = r#"
version = 1
default = "allow"

[redact]
patterns = ["s3cret[a-z]*"]

[[rule]]
name = "deletes"
action = "deny"
match = "kubectl delete **"

[[rule]]
name = "bots deploy"
action = "deny"
match = "deploy **"
actor = "dependabot"
"#;

    fn subject(argv: &[&str]) -> Subject {
        Subject {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: PathBuf::from("/srv"),
            env: BTreeMap::new(),
            requester: Requester {
                user: "alice".into(),
                host: "box".into(),
                ci: None,
                agent: None,
            },
            path: Some("/nonexistent-dir".into()),
            key: DigestKey::from_hex(&"ab".repeat(32)).unwrap(),
        }
    }

    fn decide(subject: Subject) -> Decided {
        let policy = Policy::parse(POLICY, "policy.toml").unwrap();
        let resolved = subject.resolve();
        Decided::new(&policy, subject, resolved).unwrap()
    }

    #[test]
    fn the_verdict_and_command_are_redacted_and_the_argv_kept_for_running() {
        let decided = decide(subject(&["kubectl", "delete", "--token=s3cret"]));
        assert_eq!(decided.verdict.decision, Action::Deny);
        assert_eq!(decided.command[..2], ["kubectl", "delete"]);
        assert!(
            !decided.command[2].contains("s3cret"),
            "{:?}",
            decided.command
        );
        assert_eq!(decided.argv(), ["kubectl", "delete", "--token=s3cret"]);
        let explained = serde_json::to_string(&decided.verdict).unwrap();
        assert!(!explained.contains("s3cret"), "{explained}");
    }

    #[test]
    fn the_digest_binds_the_unredacted_argv_the_cwd_and_the_program() {
        let decided = decide(subject(&["kubectl", "delete", "--token=s3cret"]));
        assert_eq!(decided.executable, Err(ResolveError::NotFound));
        let argv: Vec<String> = decided.argv().to_vec();
        let expected =
            ActionDigest::compute(&decided.key, &argv, Path::new("/srv"), Path::new("kubectl"));
        assert_eq!(decided.digest, expected.0);
        let other = decide(subject(&["kubectl", "delete", "--token=s3cretother"]));
        assert_ne!(other.digest, decided.digest);
        assert_eq!(other.command, decided.command);
    }

    #[test]
    fn an_executable_found_on_path_is_what_the_digest_names() {
        let mut with_path = subject(&["sh", "-c", "true"]);
        with_path.path = Some("/bin:/usr/bin".into());
        let decided = decide(with_path);
        let sh = decided.executable.clone().expect("sh on /bin or /usr/bin");
        assert!(sh.is_absolute(), "{}", sh.display());
        let expected = ActionDigest::compute(&decided.key, decided.argv(), Path::new("/srv"), &sh);
        assert_eq!(decided.digest, expected.0);
        // The same action under another key has another digest, and a ticket's
        // key gives back the digest its approval was asked for.
        let other = DigestKey::random().unwrap();
        let rekeyed = decided.rekeyed(other.clone());
        assert_ne!(rekeyed.digest, decided.digest);
        assert_eq!(rekeyed.rekeyed(decided.key.clone()).digest, decided.digest);
    }

    #[test]
    fn in_ci_the_policy_actor_is_the_ci_actor() {
        let mut bot = subject(&["deploy", "prod"]);
        bot.requester.ci = Some(CiJob {
            system: "github".into(),
            actor: Some("dependabot".into()),
            repository: None,
            branch: None,
            commit: None,
            url: None,
        });
        let decided = decide(bot);
        assert_eq!(decided.request.actor, "dependabot");
        assert_eq!(decided.request.ci.as_deref(), Some("github"));
        assert_eq!(decided.verdict.decision, Action::Deny);
        assert_eq!(
            decide(subject(&["deploy", "prod"])).verdict.decision,
            Action::Allow
        );
    }
}
