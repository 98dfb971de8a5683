//! `[policy]`: the organisation's policy, which the broker evaluates every new
//! request under, whatever the request itself says it needs. `file` names a
//! policy file in gate's policy language, relative to broker.toml's directory;
//! without `[policy]`, the embedded default policy applies.
//!
//! The broker sees the command as the requester sent it (redacted) and not the
//! requester's environment, so a rule's `env` condition can never match here:
//! such rules are for the requester's own policy.

use crate::approval::protocol::NewRequest;
use crate::error::Error;
use crate::policy::read::{Reader, Value};
use crate::policy::{DEFAULT_POLICY, Diagnostic, Policy, Request, ToolCall, Verdict, normalise};
use std::path::{Path, PathBuf};

const POLICY_KEYS: &[&str] = &["file", "admins", "admin_quorum"];

/// The policy the broker decides under, and which text it was.
#[derive(Debug, Clone)]
pub struct OrgPolicy {
    pub policy: Policy,
    /// SHA-256 (hex) of the policy text: the version every decision names.
    pub version: String,
    /// Where it came from, for messages.
    pub label: String,
    /// The exact text, as the broker serves it (`GET /v1/policy`).
    pub text: String,
}

impl Default for OrgPolicy {
    fn default() -> OrgPolicy {
        let label = "<built-in default policy>";
        let policy = Policy::parse(DEFAULT_POLICY, label).expect("the embedded policy is valid");
        OrgPolicy {
            policy,
            version: version(DEFAULT_POLICY),
            label: label.to_string(),
            text: DEFAULT_POLICY.to_string(),
        }
    }
}

impl PartialEq for OrgPolicy {
    fn eq(&self, other: &OrgPolicy) -> bool {
        self.version == other.version
    }
}

impl OrgPolicy {
    /// Read and validate the policy file at `path`, refusing one others could change.
    pub fn load(path: &Path, color: bool) -> Result<OrgPolicy, Error> {
        let text = crate::files::read_trusted(path)
            .map_err(|err| Error::file("read the broker's policy", err))?;
        OrgPolicy::parse(&text, &path.display().to_string())
            .map_err(|diagnostics| Error::Policy { diagnostics, color })
    }

    /// The policy in `text`; `label` names it in diagnostics and messages.
    pub fn parse(text: &str, label: &str) -> Result<OrgPolicy, Vec<Diagnostic>> {
        Ok(OrgPolicy {
            policy: Policy::parse(text, label)?,
            version: version(text),
            label: label.to_string(),
            text: text.to_string(),
        })
    }

    /// The broker's own verdict on a new request: its argv, cwd and requester,
    /// whose CI job is verified when `ci_verified` (the broker checked its ID
    /// token and put the token's claims in place of the requester's).
    pub fn evaluate(&self, new: &NewRequest, ci_verified: bool) -> Verdict {
        let requester = &new.requester;
        let request = Request {
            argv: new.argv.clone(),
            // What the requester's PATH resolves to is its claim, and must not
            // change the broker's verdict.
            executable: None,
            cwd: PathBuf::from(&new.cwd),
            env: Default::default(),
            actor: requester.policy_actor(),
            agent: requester.agent_name(),
            ci: requester.ci_system(),
            repository: requester.ci_repository(),
            git_ref: requester.ci_ref(),
            ci_verified: Some(ci_verified),
        };
        let command = self
            .policy
            .evaluate_commands(normalise(&request.argv), &request);
        // An MCP tool call comes as `mcp SERVER TOOL ARGUMENTS-JSON` (what
        // `gate mcp proxy` shows approvers). The requester says which it is, so
        // the broker takes the stricter of both readings: its `[[tool]]` rules
        // as well as its command rules.
        match tool_call(&request.argv) {
            Some(call) => stricter(command, self.policy.evaluate_tool(&call, &request)),
            None => command,
        }
    }
}

/// The tool call an argv of the shape `mcp SERVER TOOL {JSON object}` shows.
fn tool_call(argv: &[String]) -> Option<ToolCall> {
    let [program, server, tool, arguments] = argv else {
        return None;
    };
    if program != "mcp" {
        return None;
    }
    let arguments: serde_json::Value = serde_json::from_str(arguments).ok()?;
    arguments.is_object().then(|| ToolCall {
        server: server.clone(),
        tool: tool.clone(),
        arguments,
    })
}

/// Both verdicts at once: the stricter decision; when both ask for approval,
/// every rule, approvers acceptable to both, the larger quorum, the shorter
/// timeout, a reason if either wants one, break-glass only if both allow it.
fn stricter(a: Verdict, b: Verdict) -> Verdict {
    if a.decision != b.decision {
        return if a.decision > b.decision { a } else { b };
    }
    let (Some(x), Some(y)) = (&a.approval, &b.approval) else {
        return a;
    };
    let Some(approval) = x.and(y) else {
        // No approver both readings accept (an empty list would mean anyone).
        let mut denied = a;
        denied.decision = crate::policy::Action::Deny;
        denied.approval = None;
        denied.reason = format!(
            "no approver is acceptable to both the command rules and the tool rules ({}; {})",
            denied.reason, b.reason
        );
        return denied;
    };
    let mut merged = a;
    merged.reason = format!("{}; {}", merged.reason, b.reason);
    for rule in b.rules {
        if !merged.rules.contains(&rule) {
            merged.rules.push(rule);
        }
    }
    merged.approval = Some(approval);
    merged
}

fn version(text: &str) -> String {
    crate::approval::signed_policy::policy_version(text)
}

/// Who approves a new version of the organisation's policy (`gate policy
/// publish`): `[policy] admins` (people or `group:NAME`) and how many of them.
/// Without admins, publishing is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyAdmins {
    pub admins: Vec<String>,
    pub quorum: u32,
}

/// `[policy]`: the policy file's path as written, and its admins.
pub(super) fn read(
    reader: &mut Reader<'_>,
    value: &Value<'_>,
    people: &std::collections::BTreeMap<String, crate::policy::Person>,
    groups: &std::collections::BTreeMap<String, Vec<String>>,
) -> (Option<PathBuf>, PolicyAdmins) {
    let Some(table) = reader.table(value, "policy") else {
        return Default::default();
    };
    reader.reject_unknown_keys(table, POLICY_KEYS, "[policy]");
    let file = table
        .get("file")
        .and_then(|file| reader.string(file, "file"))
        .map(PathBuf::from);
    let admins = table
        .get("admins")
        .and_then(|value| reader.strings(value, "admins"))
        .unwrap_or_default();
    let known = crate::policy::validate::check_approvers(reader, &admins, people, groups);
    let quorum = table
        .get("admin_quorum")
        .and_then(|value| {
            let if_zero = "a new organisation policy needs at least one admin's approval";
            reader.count(value, "admin_quorum", if_zero)
        })
        .unwrap_or(1);
    let names: Vec<String> = admins.iter().map(|a| a.get_ref().clone()).collect();
    let mut distinct = std::collections::BTreeSet::new();
    for name in &names {
        match name.strip_prefix("group:") {
            Some(group) => distinct.extend(groups.get(group).into_iter().flatten().cloned()),
            None => {
                distinct.insert(name.clone());
            }
        }
    }
    if known && !names.is_empty() && (distinct.len() as u32) < quorum {
        let at = table.get("admin_quorum").or(table.get("admins"));
        if let Some(at) = at {
            reader.error(
                at.span(),
                format!(
                    "admin_quorum {quorum} cannot be reached: [policy] admins are {} people",
                    distinct.len()
                ),
                Some("lower admin_quorum or add admins".into()),
            );
        }
    }
    (
        file,
        PolicyAdmins {
            admins: names,
            quorum,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Requester;
    use crate::policy::Action;

    pub(super) fn new_request(argv: &[&str]) -> NewRequest {
        NewRequest {
            requester: Requester {
                user: "alice".into(),
                host: "h".into(),
                ci: None,
                agent: None,
            },
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: "/".into(),
            executable: "/bin/true".into(),
            action_digest: "ab".repeat(32),
            rules: Vec::new(),
            rule_reason: String::new(),
            approvers: Vec::new(),
            quorum: 0,
            timeout_seconds: 0,
            reason: None,
            require_reason: false,
            break_glass_allowed: false,
            break_glass: false,
            id_token: None,
        }
    }

    #[test]
    fn without_a_file_the_embedded_policy_decides() {
        let org = OrgPolicy::default();
        assert_eq!(org.version, version(DEFAULT_POLICY));
        assert_eq!(
            org.evaluate(&new_request(&["ls"]), false).decision,
            Action::Allow
        );
        let wipe = org.evaluate(&new_request(&["rm", "-rf", "/"]), false);
        assert_eq!(wipe.decision, Action::Deny);
        let delete = org.evaluate(&new_request(&["rm", "-r", "build"]), false);
        assert_eq!(delete.decision, Action::Approve);
    }

    #[test]
    fn a_policy_file_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.toml");
        std::fs::write(&path, "version = 1\ndefault = \"deny\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            OrgPolicy::load(&path, false),
            Err(Error::Insecure(_))
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let org = OrgPolicy::load(&path, false).unwrap();
        assert_eq!(
            org.evaluate(&new_request(&["ls"]), false).decision,
            Action::Deny
        );
        assert_ne!(org.version, OrgPolicy::default().version);
    }
}

#[cfg(test)]
mod tool_calls {
    use super::*;

    fn org(text: &str) -> OrgPolicy {
        OrgPolicy::parse(text, "org.toml").unwrap()
    }

    const TOOLS: &str = "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n\
        [people.alice]\n[people.bob]\n[people.carol]\n\
        [[tool]]\nname = \"no repo deletes\"\naction = \"deny\"\ntool = \"delete_*\"\n\
        [[tool]]\nname = \"prod writes\"\naction = \"approve\"\ntool = \"write\"\n\
        arguments.repo = \"prod-*\"\nquorum = 2\napprovers = [\"alice\", \"bob\"]\n\
        [[rule]]\nname = \"mcp from carol\"\naction = \"approve\"\nmatch = \"mcp **\"\n\
        approvers = [\"carol\"]\n";

    #[test]
    fn a_tool_call_is_decided_by_the_tool_rules_as_well_as_the_command_rules() {
        let policy = org(TOOLS);
        let verdict = policy.evaluate(
            &super::tests::new_request(&["mcp", "forge", "delete_repo", "{}"]),
            false,
        );
        assert_eq!(verdict.decision, crate::policy::Action::Deny, "{verdict:?}");
        assert!(
            verdict.reason.contains("no repo deletes"),
            "{}",
            verdict.reason
        );
        // Approve by both readings, with approvers neither shares: denied.
        let verdict = policy.evaluate(
            &super::tests::new_request(&["mcp", "forge", "write", "{\"repo\":\"prod-db\"}"]),
            false,
        );
        assert_eq!(verdict.decision, crate::policy::Action::Deny, "{verdict:?}");
        assert!(verdict.reason.contains("no approver is acceptable to both"));
    }

    #[test]
    fn both_readings_asking_for_approval_ask_for_the_stricter_of_each() {
        let policy = org(&TOOLS.replace(
            "approvers = [\"carol\"]",
            "approvers = [\"alice\", \"carol\"]",
        ));
        let verdict = policy.evaluate(
            &super::tests::new_request(&["mcp", "forge", "write", "{\"repo\":\"prod-db\"}"]),
            false,
        );
        let approval = verdict.approval.expect("approve");
        assert_eq!(approval.approvers, ["alice"]);
        assert_eq!(approval.quorum, 2);
        assert!(approval.rules.contains(&"prod writes".to_string()));
        assert!(approval.rules.contains(&"mcp from carol".to_string()));
        // Not a tool call's shape: the command rules alone.
        for argv in [
            &["mcp", "forge", "write", "not json"][..],
            &["mcp", "forge", "write"][..],
            &["mcpx", "forge", "delete_repo", "{}"][..],
        ] {
            let verdict = policy.evaluate(&super::tests::new_request(argv), false);
            assert_ne!(verdict.decision, crate::policy::Action::Deny, "{argv:?}");
        }
    }
}
