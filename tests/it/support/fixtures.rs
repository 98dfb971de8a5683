//! The scenarios the integration tests are run with, in one place: the policies
//! gate reads, the configs `gate serve` starts with, and the requests put to the
//! broker. Each name says what its text holds; the details a test relies on (a
//! rule's name or reason, a timeout, who approves) are in its doc comment.

use crate::support::broker_support::Broker;
use crate::support::common::TestContext;
use crate::support::fake_broker::FakeBroker;
use crate::support::waiting::Waiting;
use gate::approval::BrokerClient;
use gate::approval::protocol::{Created, NewRequest, RequestView};
use gate::identity::Requester;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

// Policies (GATE_POLICY).

/// Everything is allowed, for tests about running rather than deciding.
pub const POLICY_ALLOW_ALL: &str = "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n";

/// Every command needs approval.
pub const POLICY_APPROVE_ALL: &str = "version = 1\ndefault = \"approve\"\nopaque = \"approve\"\n";

/// Everything is denied.
pub const POLICY_DENY_ALL: &str = "version = 1\ndefault = \"deny\"\nopaque = \"deny\"\n";

/// `touch` needs approval (rule "touch needs approval"); everything else is allowed.
pub const POLICY_APPROVE_TOUCH: &str = r#"
version = 1
default = "allow"
opaque = "allow"

[[rule]]
name = "touch needs approval"
action = "approve"
match = "touch **"
"#;

/// [`POLICY_APPROVE_TOUCH`] with the approval timing out after `timeout`.
pub fn policy_approve_touch_timeout(timeout: &str) -> String {
    format!("{POLICY_APPROVE_TOUCH}timeout = \"{timeout}\"\n")
}

/// For the real broker: "touch needs approval" (quorum 1), "mkdir needs two"
/// (quorum 2), "ln is quick" (times out after 2 s), "cp may break glass";
/// everything else is allowed.
pub const POLICY_APPROVE_QUORUM_TIMEOUT_BREAK_GLASS: &str = r#"
version = 1
default = "allow"
opaque = "allow"

[[rule]]
name = "touch needs approval"
action = "approve"
match = "touch **"

[[rule]]
name = "mkdir needs two"
action = "approve"
match = "mkdir **"
quorum = 2

[[rule]]
name = "ln is quick"
action = "approve"
match = "ln **"
timeout = "2s"

[[rule]]
name = "cp may break glass"
action = "approve"
match = "cp **"
break_glass = true
"#;

/// For the fake broker: "touch needs approval" (timeout 60 s), "ln is quick"
/// (times out after 2 s), "mkdir needs a reason" (requires a reason, may break
/// glass); everything else is allowed. `touch` may not break glass.
pub const POLICY_APPROVE_TIMEOUT_REASON_BREAK_GLASS: &str = r#"
version = 1
default = "allow"
opaque = "allow"

[[rule]]
name = "touch needs approval"
action = "approve"
match = "touch **"
timeout = "60s"

[[rule]]
name = "ln is quick"
action = "approve"
match = "ln **"
timeout = "2s"

[[rule]]
name = "mkdir needs a reason"
action = "approve"
match = "mkdir **"
require_reason = true
break_glass = true
"#;

/// "no rm" denies `rm` ("deleting files is not allowed"); everything else is allowed.
pub const POLICY_DENY_RM: &str = r#"
version = 1
default = "allow"
opaque = "allow"

[[rule]]
name = "no rm"
action = "deny"
match = "rm **"
reason = "deleting files is not allowed"
"#;

/// "no psql" denies `psql` ("use the read replica"), "no rm" denies `rm` (no
/// reason); everything else is allowed.
pub const POLICY_DENY_PSQL_AND_RM: &str = r#"
version = 1
default = "allow"
opaque = "allow"

[[rule]]
name = "no psql"
action = "deny"
match = "psql **"
reason = "use the read replica"

[[rule]]
name = "no rm"
action = "deny"
match = "rm **"
"#;

/// For `gate hook claude-code`: "no rm" denies `rm` ("deleting files is not
/// allowed here"), "touch needs approval"; Claude Code waits at most 3 s for an
/// approval, its WebFetch tool is denied and Write is asked about.
pub const POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH: &str = r#"
version = 1
default = "allow"
opaque = "allow"

[[rule]]
name = "no rm"
action = "deny"
match = "rm **"
reason = "deleting files is not allowed here"

[[rule]]
name = "touch needs approval"
action = "approve"
match = "touch **"

[agents.claude-code]
approval_timeout = "3s"
tools = { WebFetch = "deny", Write = "ask" }
"#;

/// "never wipe" denies `rm ** -rf /` ("wipes the root filesystem"), "touch needs
/// approval"; opaque commands need approval, everything else is allowed.
pub const POLICY_DENY_WIPE_APPROVE_TOUCH_AND_OPAQUE: &str = r#"
version = 1
default = "allow"
opaque = "approve"

[[rule]]
name = "never wipe"
action = "deny"
match = "rm ** -rf /"
reason = "wipes the root filesystem"

[[rule]]
name = "touch needs approval"
action = "approve"
match = "touch **"
"#;

/// Everything needs approval but "read-only kubectl" (get, describe, logs);
/// "deleting namespaces" is denied ("namespaces are deleted by the platform
/// team"). One `[[test]]`: `kubectl get pods` is allowed.
pub const POLICY_ALLOW_KUBECTL_READS_DENY_NS_DELETES: &str = r#"version = 1
default = "approve"
opaque = "approve"

[[rule]]
name = "read-only kubectl"
action = "allow"
match = "kubectl {get,describe,logs} **"

[[rule]]
name = "deleting namespaces"
action = "deny"
match = "kubectl ** delete {ns,namespace} **"
reason = "namespaces are deleted by the platform team"

[[test]]
command = "kubectl get pods"
expect = "allow"
"#;

/// Everything needs approval but "the deploy bot deploys" (`deploy **` by actor
/// deploy-bot) and "github may test" (`make test` in GitHub Actions).
pub const POLICY_ALLOW_DEPLOY_BOT_AND_GITHUB_TESTS: &str = r#"
version = 1
default = "approve"
opaque = "approve"

[[rule]]
name = "the deploy bot deploys"
action = "allow"
match = "deploy **"
actor = "deploy-bot"

[[rule]]
name = "github may test"
action = "allow"
match = "make test"
ci = "github"
"#;

// Broker configs (`gate serve --config`).

/// The broker's own policy for tests that break glass: `kubectl delete` (rule
/// "production changes") and `cp` (rule "cp may break glass") need approval and
/// may break glass; everything else is left to what the request asks.
/// `write_config` writes it beside every broker.toml as broker-policy.toml.
/// `config_toml` as the scenarios that send unsigned requests need it: with
/// `require_enrollment = false` unless the config says otherwise itself.
pub fn accepting_unsigned(config_toml: &str) -> String {
    if config_toml.contains("require_enrollment") {
        return config_toml.to_string();
    }
    format!("require_enrollment = false\n{config_toml}")
}

pub const BROKER_POLICY_BREAK_GLASS: &str = r#"version = 1
default = "allow"
opaque = "allow"

[[rule]]
name = "production changes"
action = "approve"
match = "kubectl delete **"
break_glass = true

[[rule]]
name = "cp may break glass"
action = "approve"
match = "cp **"
break_glass = true
"#;

/// `config_toml` deciding under [`BROKER_POLICY_BREAK_GLASS`] (`[policy]`).
pub fn with_broker_policy(config_toml: &str) -> String {
    format!("{config_toml}\n[policy]\nfile = \"broker-policy.toml\"\n")
}

/// alice, bob and carol, all in group `sre`, the default approvers (quorum 1,
/// 15 minutes); carol's login is `cbrown`, alice's GitHub login `alice-gh`.
pub const BROKER_CONFIG_SRE_ALICE_BOB_CAROL: &str = r#"version = 1
[people.alice]
github = "alice-gh"
[people.bob]
[people.carol]
unix = "cbrown"
[groups]
sre = ["alice", "bob", "carol"]
[defaults]
approvers = ["group:sre"]
quorum = 1
timeout = "15m"
"#;

/// [`BROKER_CONFIG_SRE_ALICE_BOB_CAROL`] posting to Teams through the webhook in
/// OPS_TEAMS_HOOK, waiting at most 5 s for each post.
pub fn broker_config_sre_alice_bob_carol_teams() -> String {
    format!(
        "{BROKER_CONFIG_SRE_ALICE_BOB_CAROL}[channels.teams]\nwebhook_url_env = \"OPS_TEAMS_HOOK\"\ntimeout = \"5s\"\n"
    )
}

/// [`broker_config_sre_alice_bob_carol_teams`] also posting to Slack channel
/// C0GATE through the Web API at `api_url` (bot token and signing secret from
/// SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET).
pub fn broker_config_sre_alice_bob_carol_teams_slack(api_url: &str) -> String {
    format!(
        "{}[channels.slack]\nchannel = \"C0GATE\"\napi_url = \"{api_url}\"\n",
        broker_config_sre_alice_bob_carol_teams()
    )
}

/// alice, bob (Unix login `bob`) and carol in group `sre`, erin alone in group
/// `dba`; both groups approve by default (quorum 1, 15 minutes), so a request
/// may ask for either.
pub const BROKER_CONFIG_SRE_AND_DBA: &str = r#"version = 1
[people.alice]
[people.bob]
unix = "bob"
[people.carol]
[people.erin]
[groups]
sre = ["alice", "bob", "carol"]
dba = ["erin"]
[defaults]
approvers = ["group:sre", "group:dba"]
quorum = 1
timeout = "15m"
"#;

/// alice and bob, in group `sre`, the default approvers (quorum 1, 15 minutes).
pub const BROKER_CONFIG_SRE_ALICE_BOB: &str = r#"version = 1
[people.alice]
[people.bob]
[groups]
sre = ["alice", "bob"]
[defaults]
approvers = ["group:sre"]
quorum = 1
timeout = "15m"
"#;

/// [`BROKER_CONFIG_SRE_ALICE_BOB`] with the Teams channel (webhook URL from
/// TEAMS_WEBHOOK_URL).
pub fn broker_config_sre_alice_bob_teams() -> String {
    format!("{BROKER_CONFIG_SRE_ALICE_BOB}[channels.teams]\n")
}

/// alice, bob and `me` (the person running the tests, see [`current_login`]) in
/// group `sre`, the default approvers (quorum 1, 15 minutes).
pub fn broker_config_sre_alice_bob_me() -> String {
    format!(
        r#"version = 1
[people.alice]
[people.bob]
[people.me]
unix = "{}"
[groups]
sre = ["alice", "bob", "me"]
[defaults]
approvers = ["group:sre"]
quorum = 1
timeout = "15m"
"#,
        current_login()
    )
}

/// alice (Slack user U0ALICE) and `me` (the person running the tests) in group
/// `sre`, the default approvers; the Slack channel posts to C0GATE through the
/// Web API at `api_url`.
pub fn broker_config_slack_alice_me(api_url: &str) -> String {
    let me = current_login();
    format!(
        r#"version = 1
[people.alice]
slack = "U0ALICE"
[people.me]
unix = "{me}"
[groups]
sre = ["alice", "me"]
[defaults]
approvers = ["group:sre"]
[channels.slack]
channel = "C0GATE"
api_url = "{api_url}"
"#
    )
}

/// Alice and Bob approve; Carol asks; Dave is known but approves nothing.
pub const BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS: &str = r#"
version = 1
[people.alice]
unix = "alice"
[people.bob]
unix = "bob"
[people.carol]
unix = "carol"
[people.dave]
unix = "dave"
[defaults]
approvers = ["alice", "bob"]
quorum = 1
timeout = "15m"
"#;

/// alice alone approves.
pub const BROKER_CONFIG_ALICE_APPROVES: &str =
    "version = 1\n[people.alice]\n[defaults]\napprovers = [\"alice\"]\n";

/// alice alone approves, and only enrolled installations may ask.
pub const BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY: &str = "version = 1\nrequire_enrollment = true\n\
     [people.alice]\n[defaults]\napprovers = [\"alice\"]\n";

/// alice alone approves; unsigned requests are accepted, recorded as unverified.
pub const BROKER_CONFIG_ALICE_APPROVES_UNSIGNED_TOO: &str = "version = 1\nrequire_enrollment = false\n\
     [people.alice]\n[defaults]\napprovers = [\"alice\"]\n";

/// The login gate will report as the requester: the person running the tests.
pub fn current_login() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

// Requests to the broker.

/// A valid request body from `user`: `kubectl delete ns payments` (the program
/// /usr/bin/kubectl) in /srv on
/// build-1 under rule "production changes"; edit fields with `body["x"] = ...`.
pub fn delete_payments_request(user: &str) -> Value {
    json!({
        "requester": { "user": user, "host": "build-1", "ci": null, "agent": null },
        "argv": ["kubectl", "delete", "ns", "payments"],
        "cwd": "/srv",
        "executable": "/usr/bin/kubectl",
        "action_digest": "ab".repeat(32),
        "rules": ["production changes"],
        "rule_reason": "production needs a second pair of eyes",
    })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Carol (on build-7, reason "rotate the key") asks the broker for a decision on
/// `argv` under rule "production changes", through gate's own client.
pub fn create_carol_request(broker: &Broker, argv: &[&str], quorum: u32) -> Created {
    let request = NewRequest {
        requester: Requester {
            user: "carol".into(),
            host: "build-7".into(),
            ci: None,
            agent: None,
        },
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: "/srv".into(),
        executable: "/usr/bin/kubectl".into(),
        action_digest: "ab".repeat(32),
        rules: vec!["production changes".into()],
        rule_reason: "production needs a second person".into(),
        approvers: Vec::new(),
        quorum,
        timeout_seconds: 0,
        reason: Some("rotate the key".into()),
        require_reason: false,
        break_glass_allowed: false,
        break_glass: false,
        id_token: None,
    };
    let client = BrokerClient::new(&broker.url()).unwrap();
    block_on(client.create(&request)).expect("create a request")
}

/// The request as the broker has it now.
pub fn fetch_request(broker: &Broker, created: &Created) -> RequestView {
    let client = BrokerClient::new(&broker.url()).unwrap();
    block_on(client.get(&created.request.id, &created.requester_token, None, None))
        .expect("read the request back")
}

// Gate against the fake broker.

/// A context with [`POLICY_APPROVE_TIMEOUT_REASON_BREAK_GLASS`] and a
/// [`FakeBroker`] whose key is pinned in `broker.pem` beside the policy.
pub struct FakeBrokerSetup {
    pub ctx: TestContext,
    pub fake: FakeBroker,
}

impl FakeBrokerSetup {
    pub fn new() -> FakeBrokerSetup {
        let ctx = TestContext::with_policy(POLICY_APPROVE_TIMEOUT_REASON_BREAK_GLASS);
        let fake = FakeBroker::start();
        ctx.write_private("broker.pem", &fake.pubkey_pem());
        FakeBrokerSetup { ctx, fake }
    }

    pub fn key_path(&self) -> PathBuf {
        self.ctx.dir.path().join("broker.pem")
    }

    pub fn marker(&self) -> PathBuf {
        self.ctx.work().join("ran")
    }

    pub fn gate(&self, args: &[&str]) -> Command {
        let mut command = self.ctx.gate();
        command
            .env("GATE_SERVER", self.fake.url())
            .env("GATE_SERVER_KEY", self.key_path())
            .args(args);
        command
    }

    /// `gate -- touch MARKER` waiting on the fake, the request created and polled.
    pub fn touch_waiting(&self) -> Waiting {
        let marker = self.marker();
        let mut waiting = Waiting::spawn(self.gate(&["--", "touch", marker.to_str().unwrap()]));
        waiting.expect_line("approval requested");
        self.fake.wait_for_poll();
        waiting
    }

    pub fn last_record(&self) -> Value {
        self.ctx.records().pop().expect("a record")
    }
}

// Forged approvals: what an agent with curl and its own files tries.

/// The requester's policy for the forgery tests: `touch` needs two of group sre
/// (me, alice, bob; rule "two for touch"); `mkdir` needs one (rule "one for
/// mkdir"); neither may break glass. `me` is the login running the tests, alice's
/// GitHub login is `alice-gh`.
pub fn policy_two_for_touch() -> String {
    format!(
        r#"version = 1
default = "allow"
opaque = "allow"

[people.me]
unix = "{me}"
[people.alice]
unix = "alice"
github = "alice-gh"
[people.bob]
unix = "bob"
[groups]
sre = ["me", "alice", "bob"]

[[rule]]
name = "two for touch"
action = "approve"
match = "touch **"
approvers = ["group:sre"]
quorum = 2

[[rule]]
name = "one for mkdir"
action = "approve"
match = "mkdir **"
approvers = ["group:sre"]
quorum = 1
"#,
        me = current_login()
    )
}

/// The broker's people for the forgery tests: me, alice (GitHub `alice-gh`) and
/// bob in group sre, the default approvers; the broker's own policy is the
/// embedded default (which allows `touch` and `mkdir`), so only gate's own check
/// stands between a forged request and the command.
pub fn broker_config_forgery() -> String {
    format!(
        r#"version = 1
[people.me]
unix = "{me}"
[people.alice]
github = "alice-gh"
[people.bob]
[groups]
sre = ["me", "alice", "bob"]
[defaults]
approvers = ["group:sre"]
quorum = 1
timeout = "15m"
"#,
        me = current_login()
    )
}

/// [`broker_config_forgery`] deciding under the requester's own policy,
/// [`policy_two_for_touch`], written as org-policy.toml beside broker.toml.
pub fn broker_config_forgery_with_policy(ctx: &TestContext) -> String {
    ctx.write_private("org-policy.toml", &policy_two_for_touch());
    format!(
        "{}[policy]\nfile = \"org-policy.toml\"\n",
        broker_config_forgery()
    )
}

/// The organisation policy of the managed-mode tests: `curl` is denied, all else allowed.
pub const ORG_POLICY_DENY_CURL: &str = r#"version = 1
default = "allow"
opaque  = "approve"

[[rule]]
name   = "no downloads"
action = "deny"
match  = "curl **"
"#;

/// The next version of [`ORG_POLICY_DENY_CURL`]: `wget` is denied too.
pub const ORG_POLICY_DENY_CURL_AND_WGET: &str = r#"version = 1
default = "allow"
opaque  = "approve"

[[rule]]
name   = "no downloads"
action = "deny"
match  = ["curl **", "wget **"]

[[test]]
command = "wget https://example.com/x"
expect  = "deny"
"#;

/// A broker deciding under [`ORG_POLICY_DENY_CURL`] (org.toml beside broker.toml)
/// whose policy changes need one of bob and carol.
pub fn broker_config_policy_admins(ctx: &TestContext) -> String {
    ctx.write_private("org.toml", ORG_POLICY_DENY_CURL);
    format!(
        "{BROKER_CONFIG_SRE_ALICE_BOB_CAROL}[policy]\nfile = \"org.toml\"\nadmins = [\"bob\", \"carol\"]\nadmin_quorum = 1\n"
    )
}

/// The shapes tests' policy: `rm -rf` denied; kubectl deletes, terraform apply
/// and force pushes need approval; everything else allowed, opaque approved.
pub const POLICY_SHAPES_GUARDED: &str = r#"
version = 1
default = "allow"
opaque = "approve"

[[rule]]
name = "no rm -rf"
action = "deny"
match = "rm ** -rf **"

[[rule]]
name = "kubectl delete"
action = "approve"
match = "kubectl ** delete **"

[[rule]]
name = "terraform apply"
action = "approve"
match = "terraform apply **"

[[rule]]
name = "force push"
action = "approve"
match = "git push ** --force **"
"#;

// MCP tool rules (`gate mcp proxy`, tests/it/mcp_proxy.rs).

/// Tools of the test's MCP server (tests/python/mcp_upstream.py, named
/// `upstream` or, by default, after `python3`): `echo` is allowed, `delete_repo` is denied for `prod-*` repos and needs alice's
/// approval otherwise, `crash` is allowed, and anything else is denied (and
/// hidden from `tools/list`).
pub const POLICY_MCP_TOOLS: &str = r#"
version = 1
default = "allow"

[people.alice]
unix = "alice"

[mcp]
default = "deny"
hide_denied = true

[[tool]]
name = "harmless"
action = "allow"
server = "{upstream,python3}"
tool = "{echo,crash}"

[[tool]]
name = "no prod repos"
action = "deny"
tool = "delete_repo"
arguments.repo = "prod-*"
reason = "production repositories are never deleted from an agent"

[[tool]]
name = "repo deletes"
action = "approve"
tool = "delete_repo"
approvers = ["alice"]
timeout = "2m"

[[tool]]
name = "never the shell"
action = "deny"
tool = "shell"

[[test]]
tool = { server = "upstream", name = "delete_repo", arguments = { repo = "prod-db" } }
expect = "deny"

[[test]]
tool = { server = "upstream", name = "delete_repo", arguments = { repo = "scratch" } }
expect = "approve"
"#;
