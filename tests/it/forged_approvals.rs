//! Approvals the requester cannot forge. Each test is an attack an agent with only
//! curl and the files it can write would try against a real broker: it asks the
//! broker itself, with requirements or an identity of its own making, writes the
//! ticket `gate --ticket` reads, and runs the command. The command must not run,
//! the audit log must say why, and the broker's log who tried.

use crate::support::broker_support::Broker;
use crate::support::common::{TestContext, code, stderr};
use crate::support::fixtures::{
    broker_config_forgery, broker_config_forgery_with_policy, current_login, policy_two_for_touch,
};
use crate::support::waiting::Waiting;
use gate::action::{ActionDigest, DigestKey, resolve_executable};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// The digest key the agent picks for its requests and writes into its tickets.
fn agent_key() -> DigestKey {
    DigestKey::from_hex(&"5a".repeat(32)).unwrap()
}

struct Attack {
    ctx: TestContext,
    broker: Broker,
}

impl Attack {
    fn new(config: impl FnOnce(&TestContext) -> String) -> Attack {
        let ctx = TestContext::with_policy(&policy_two_for_touch());
        let broker = Broker::start(&ctx, &config(&ctx));
        broker.pin_key(&ctx);
        Attack { ctx, broker }
    }

    fn marker(&self) -> PathBuf {
        self.ctx.work().join("ran")
    }

    /// What `gate -- touch MARKER` would run, as the agent can work it out itself.
    fn argv(&self) -> Vec<String> {
        vec!["touch".into(), self.marker().display().to_string()]
    }

    /// A request body for `argv` in the work directory, with the digest of the
    /// touch command under the agent's own key (it knows how gate computes it).
    fn request(&self, user: &str, argv: &[String]) -> Value {
        let cwd = self.ctx.work().canonicalize().unwrap();
        let touch = resolve_executable("touch", std::env::var_os("PATH").as_deref()).unwrap();
        let digest = ActionDigest::compute(&agent_key(), &self.argv(), &cwd, &touch).0;
        json!({
            "requester": { "user": user, "host": "agent-box", "ci": null, "agent": null },
            "argv": argv,
            "cwd": cwd,
            "executable": touch,
            "action_digest": digest,
            // The agent names the rule `gate check` showed it.
            "rules": ["two for touch"],
            "rule_reason": "",
        })
    }

    /// The agent writes a ticket for request `id` holding `token` and its key, as
    /// the hook would.
    fn write_ticket(&self, id: &str, token: &str) {
        let dir = self.ctx.home().join("tickets");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join(id);
        std::fs::write(&path, format!("{token}\n{}\n", agent_key().to_hex())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// `gate --ticket ID -- touch MARKER`, pointed at the broker.
    fn run_ticket(&self, id: &str) -> std::process::Output {
        self.gate()
            .args(["--ticket", id, "--"])
            .args(self.argv())
            .output()
            .unwrap()
    }

    fn gate(&self) -> std::process::Command {
        let mut command = self.ctx.gate();
        command
            .env("GATE_SERVER", self.broker.url())
            .env("GATE_SERVER_KEY", self.ctx.dir.path().join("broker.pub"));
        command
    }

    /// Nothing ran; the last decision record says `approval-invalid` for `why`.
    fn assert_refused(&self, out: &std::process::Output, why: &str) {
        assert_eq!(code(out), 109, "{}", stderr(out));
        assert!(stderr(out).contains(why), "{}", stderr(out));
        assert!(!self.marker().exists(), "the command ran");
        let record = last_decision(&self.ctx);
        assert_eq!(record["decision"], "approval-invalid", "{record}");
        let reason = record["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{reason}");
    }
}

fn last_decision(ctx: &TestContext) -> Value {
    ctx.records()
        .into_iter()
        .rev()
        .find(|r| r["kind"] == "decision")
        .expect("a decision record")
}

fn approve(broker: &Broker, id: &str, people: &[&str]) {
    for person in people {
        let token = broker.token(person);
        let reply = broker.decide(id, &token, "approve");
        assert_eq!(reply.status, 200, "{person}: {:?}", reply.body);
    }
}

/// 1. The agent asks for break-glass on a rule that has none, and writes itself
///    a ticket: the broker refuses the request, and no ticket the agent writes
///    stands for an approval.
#[test]
fn a_requester_cannot_grant_itself_break_glass() {
    let attack = Attack::new(|_| broker_config_forgery());
    let mut body = attack.request(&current_login(), &attack.argv());
    body["break_glass_allowed"] = json!(true);
    body["break_glass"] = json!(true);
    body["reason"] = json!("it is an emergency, trust me");
    let refused = attack.broker.post("/v1/requests", None, &body);
    assert_eq!(
        (refused.status, refused.code()),
        (403, "break_glass_not_allowed"),
        "{:?}",
        refused.body
    );
    assert!(
        attack.broker.log_has(&format!(
            "refused a request by {}@agent-box (unverified): touch",
            current_login()
        )),
        "{}",
        attack.broker.log()
    );
    attack.write_ticket("0123456789abcdef0123456789abcdef", "gate_forged-token");
    let out = attack.run_ticket("0123456789abcdef0123456789abcdef");
    assert_eq!(code(&out), 109, "{}", stderr(&out));
    assert!(!attack.marker().exists(), "the command ran");
    assert_eq!(last_decision(&attack.ctx)["decision"], "approval-invalid");
}

/// 2. The agent's request claims another user, so the real requester's own person
///    may vote on it; with one more approver it is approved. gate knows whose
///    process it is: an approval its own requester voted for is refused.
#[test]
fn an_approval_the_requester_voted_for_under_another_name_is_refused() {
    let attack = Attack::new(|_| broker_config_forgery());
    let mut body = attack.request("carol", &attack.argv());
    body["quorum"] = json!(2);
    let (id, token, _) = attack.broker.create(&body);
    assert!(
        attack
            .broker
            .log_has(&format!("created {id} by carol@agent-box"))
    );
    approve(&attack.broker, &id, &["me", "alice"]);
    attack.write_ticket(&id, &token);
    let out = attack.run_ticket(&id);
    attack.assert_refused(&out, "me is the requester");
}

/// 3. The agent asks for one approval from bob where the rule says two from
///    group sre. A broker deciding under the organisation's policy will not
///    admit it; a broker that admits it cannot make gate run on it.
#[test]
fn a_request_asking_for_fewer_approvers_than_the_rule_gets_nothing() {
    let attack = Attack::new(broker_config_forgery_with_policy);
    let mut body = attack.request(&current_login(), &attack.argv());
    body["quorum"] = json!(1);
    body["approvers"] = json!(["bob"]);
    let refused = attack.broker.post("/v1/requests", None, &body);
    assert_eq!(
        (refused.status, refused.field()),
        (400, "quorum"),
        "{:?}",
        refused.body
    );
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("quorum 2 cannot be reached")
    );
    assert!(
        attack.broker.log_has("refused a request by"),
        "{}",
        attack.broker.log()
    );

    let attack = Attack::new(|_| broker_config_forgery());
    let mut body = attack.request(&current_login(), &attack.argv());
    body["quorum"] = json!(1);
    body["approvers"] = json!(["bob"]);
    let (id, token, _) = attack.broker.create(&body);
    approve(&attack.broker, &id, &["bob"]);
    attack.write_ticket(&id, &token);
    let out = attack.run_ticket(&id);
    attack.assert_refused(&out, "1 of the 2 approvals");
}

/// 4. Run in "CI" as another person's GitHub login: the broker takes the
///    requester to be everyone either identity names, so the real user's own
///    person cannot approve, and a person reached through the CI actor cannot
///    either.
#[test]
fn a_ci_actor_claim_does_not_let_the_real_user_approve() {
    let attack = Attack::new(|_| broker_config_forgery());
    let dir = attack.ctx.work().join("made");
    let mut command = attack.gate();
    command
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_ACTOR", "alice-gh")
        .args(["--", "mkdir"])
        .arg(&dir);
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();
    for person in ["me", "alice"] {
        let token = attack.broker.token(person);
        let reply = attack.broker.decide(&id, &token, "approve");
        assert_eq!(
            (reply.status, reply.code()),
            (403, "self_approval"),
            "{person}"
        );
        assert!(
            attack
                .broker
                .log_has(&format!("refused a vote on {id} by {person} via cli")),
            "{}",
            attack.broker.log()
        );
    }
    assert!(!dir.exists());
    approve(&attack.broker, &id, &["bob"]);
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(dir.exists());
    let record = last_decision(&attack.ctx);
    assert_eq!(record["approvers"][0]["name"], "bob");
}

/// 5. The approvers are shown a harmless command while the digest is the one the
///    agent means to run: gate compares what the approvers saw with its own
///    redaction of the command and refuses.
#[test]
fn an_approval_of_another_command_shown_to_the_approvers_is_refused() {
    let attack = Attack::new(|_| broker_config_forgery());
    let shown = vec!["ls".to_string(), "-l".to_string()];
    let mut body = attack.request(&current_login(), &shown);
    body["quorum"] = json!(2);
    let (id, token, _) = attack.broker.create(&body);
    approve(&attack.broker, &id, &["alice", "bob"]);
    attack.write_ticket(&id, &token);
    let out = attack.run_ticket(&id);
    attack.assert_refused(&out, "shown another command");
}

/// The same ticket trick from a shell line (what the Claude Code hook judges):
/// `gate --ticket ID -- touch …` is judged as the `touch` it would run.
#[test]
fn a_gate_ticket_line_is_judged_as_the_command_it_runs() {
    let attack = Attack::new(|_| broker_config_forgery());
    let line = format!(
        "gate --ticket 0123456789abcdef0123456789abcdef -- touch {}",
        attack.marker().display()
    );
    let out = attack
        .gate()
        .args(["check", "--json", "--", "bash", "-c", &line])
        .output()
        .unwrap();
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["decision"], "approve", "{verdict}");
    assert_eq!(verdict["rules"], json!(["two for touch"]), "{verdict}");
}

/// A `./.gate/policy.toml` that another user owns, or that sits in a directory
/// others can write to without the sticky bit, is not the requester's policy:
/// gate refuses it, naming the file and the reason, and decides nothing.
#[test]
fn a_policy_someone_else_could_have_written_is_refused() {
    let ctx = TestContext::new();
    let shared = ctx.work().join("shared");
    std::fs::create_dir_all(shared.join(".gate")).unwrap();
    let policy = shared.join(".gate/policy.toml");
    std::fs::write(
        &policy,
        "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o644)).unwrap();
    let check = |dir: &std::path::Path| {
        ctx.gate()
            .current_dir(dir)
            .args(["check", "--", "rm", "-rf", "/"])
            .output()
            .unwrap()
    };
    // Its directory is writable by everyone, without the sticky bit.
    std::fs::set_permissions(shared.join(".gate"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = check(&shared);
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(".gate/policy.toml is in") && stderr(&out).contains("sticky"),
        "{}",
        stderr(&out)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("allow"));
    // With the sticky bit (like /tmp) the directory is fine, but a file another
    // user owns is still not ours. Changing an owner takes root.
    std::fs::set_permissions(
        shared.join(".gate"),
        std::fs::Permissions::from_mode(0o1777),
    )
    .unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&policy, Some(65534), Some(65534)).unwrap();
        let out = check(&shared);
        assert_eq!(code(&out), 105, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("is owned by uid 65534, not by you or root"),
            "{}",
            stderr(&out)
        );
    }
}
