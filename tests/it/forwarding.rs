//! Every machine's audit trail at the broker. Installations forward their
//! signed records; the broker verifies and keeps them. The requester owns its
//! local log, so it can truncate it or start it over with its own key after
//! forwarding: the broker refuses what does not extend the chain it holds, keeps
//! it as evidence, marks the installation broken, and `gate audit verify
//! --broker` shows it, while other installations carry on. A rule with
//! `forward = "strict"` runs nothing the broker has not recorded.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ALLOW_ALL: &str = "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n";

/// One machine: its own GATE_HOME and policy, enrolled with the broker as `name`.
struct Installation {
    ctx: TestContext,
    name: String,
}

impl Installation {
    fn enrolled(broker: &Broker, name: &str, policy: &str) -> Installation {
        let ctx = TestContext::with_policy(policy);
        let code = broker.enrollment_code(name, "1h");
        let out = ctx
            .gate()
            .args(["enroll", "--server", &broker.url(), &code])
            .output()
            .unwrap();
        assert_eq!(code_of(&out), 0, "{}", stderr(&out));
        Installation {
            ctx,
            name: name.to_string(),
        }
    }

    fn run(&self, argv: &[&str]) -> std::process::Output {
        let mut all = vec!["--"];
        all.extend_from_slice(argv);
        self.ctx.run(&all)
    }

    fn push(&self) -> std::process::Output {
        self.ctx.gate().args(["audit", "push"]).output().unwrap()
    }

    fn verify_with_broker(&self) -> std::process::Output {
        self.ctx
            .gate()
            .args(["audit", "verify", "--broker"])
            .output()
            .unwrap()
    }

    fn log_files(&self) -> Vec<PathBuf> {
        ["audit.db", "audit.db-wal", "audit.db-shm"]
            .iter()
            .map(|name| self.ctx.home().join(name))
            .collect()
    }

    /// Copy the log aside (no gate runs meanwhile).
    fn save_log(&self) -> PathBuf {
        let aside = self.ctx.dir.path().join("saved");
        std::fs::create_dir_all(&aside).unwrap();
        for file in self.log_files().iter().filter(|f| f.exists()) {
            std::fs::copy(file, aside.join(file.file_name().unwrap())).unwrap();
        }
        aside
    }

    /// Put the saved log back, dropping every record written since.
    fn restore_log(&self, aside: &std::path::Path) {
        for file in self.log_files() {
            let _ = std::fs::remove_file(&file);
            let saved = aside.join(file.file_name().unwrap());
            if saved.exists() {
                std::fs::copy(saved, &file).unwrap();
            }
        }
    }

    fn delete_log(&self) {
        for file in self.log_files() {
            let _ = std::fs::remove_file(file);
        }
    }
}

fn code_of(out: &std::process::Output) -> i32 {
    code(out)
}

/// Wait until the broker's log says `needle` (a background push is on its way).
fn wait_for_log(broker: &Broker, needle: &str) {
    let start = Instant::now();
    while !broker.log_has(needle) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the broker never logged {needle:?}:\n{}",
            broker.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_installations_forward_and_a_truncated_and_a_rewritten_log_are_flagged() {
    let anchor = TestContext::new();
    let broker = Broker::start(&anchor, BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY);
    let [steady, cut, redone] =
        ["steady", "cut", "redone"].map(|name| Installation::enrolled(&broker, name, ALLOW_ALL));

    // Each run forwards in the background, without anyone asking.
    for machine in [&steady, &cut, &redone] {
        assert_eq!(code(&machine.run(&["true"])), 0);
        wait_for_log(
            &broker,
            &format!("installation {} forwards its audit log", machine.name),
        );
    }
    // From here on, pushes are explicit, so no background push races the
    // changes made to the logs below.
    for machine in [&steady, &cut, &redone] {
        machine
            .ctx
            .write_policy(&format!("{ALLOW_ALL}[audit]\nforward = \"off\"\n"));
        assert_eq!(code(&machine.run(&["true"])), 0);
        let out = machine.push();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            stdout(&out).contains("the broker holds records 1 to 4"),
            "{}",
            stdout(&out)
        );
        let out = machine.verify_with_broker();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("(record 4) is in this log, unchanged"));
    }

    // `cut` drops its two newest records after they were forwarded.
    let aside = cut.save_log();
    assert_eq!(code(&cut.run(&["true"])), 0);
    assert_eq!(code(&cut.push()), 0);
    cut.restore_log(&aside);
    let out = cut.verify_with_broker();
    assert_eq!(code(&out), 107, "{}", stdout(&out));
    assert!(
        stderr(&out).contains(
            "this log ends at record 4 but the broker holds records up to 6: the newest records were removed"
        ),
        "{}",
        stderr(&out)
    );
    // Carrying on from the truncated log writes a different record 5: refused.
    assert_eq!(code(&cut.run(&["true"])), 0);
    let out = cut.push();
    assert_eq!(code(&out), 107, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("record 5 differs from the record 5 the broker holds"),
        "{}",
        stderr(&out)
    );

    // `redone` starts its log over, signed with its own key.
    redone.delete_log();
    assert_eq!(code(&redone.run(&["true"])), 0);
    let out = redone.push();
    assert_eq!(code(&out), 107, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("record 1 differs from the record 1 the broker holds"),
        "{}",
        stderr(&out)
    );
    assert!(
        broker.log_has("refused a record from installation redone, kept as evidence"),
        "{}",
        broker.log()
    );
    for machine in [&cut, &redone] {
        let out = machine.verify_with_broker();
        assert_eq!(code(&out), 107, "{}", stdout(&out));
        assert!(
            stderr(&out).contains("marked installation"),
            "{}",
            stderr(&out)
        );
    }

    // The refusals are counted for the operators, without naming anyone.
    let metrics = crate::support::web_support::send(&broker, "GET", "/metrics", None, None, None);
    assert!(
        metrics
            .body
            .lines()
            .any(|l| l == "gate_forwarded_records_total{outcome=\"refused\"} 2"),
        "{}",
        metrics.body
    );
    assert!(!metrics.body.contains("redone"), "{}", metrics.body);

    // `steady` is untouched by all of it.
    assert_eq!(code(&steady.run(&["true"])), 0);
    let out = steady.push();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = steady.verify_with_broker();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("is in this log, unchanged"));
}

#[test]
fn an_unenrolled_machine_or_a_new_audit_key_cannot_continue_an_installations_chain() {
    let anchor = TestContext::new();
    let broker = Broker::start(&anchor, BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY);
    let first = Installation::enrolled(&broker, "first", ALLOW_ALL);
    let second = Installation::enrolled(&broker, "second", ALLOW_ALL);
    assert_eq!(code(&first.run(&["true"])), 0);
    assert_eq!(code(&first.push()), 0);

    // `second` pushes its own records under the other's name: the signature is
    // `second`'s, so the broker refuses.
    assert_eq!(code(&second.run(&["true"])), 0);
    let out = second
        .ctx
        .gate()
        .args(["audit", "verify", "--broker"])
        .env("GATE_INSTALLATION", "first")
        .output()
        .unwrap();
    assert_eq!(
        code(&out),
        0,
        "its own head, whatever the env says: {}",
        stderr(&out)
    );

    // An unenrolled machine cannot push at all.
    let stranger = TestContext::with_policy(ALLOW_ALL);
    assert_eq!(code(&stranger.run(&["--", "true"])), 0);
    let out = stranger
        .gate()
        .args(["audit", "push", "--server", &broker.url()])
        .env("GATE_INSTALLATION", "first")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only accepts requests signed by an enrolled installation"),
        "{}",
        stderr(&out)
    );

    // `first` with a new audit key (its log started over under another key).
    first.delete_log();
    std::fs::remove_file(first.ctx.home().join("audit.key")).unwrap();
    assert_eq!(code(&first.run(&["true"])), 0);
    let out = first.push();
    assert_eq!(code(&out), 107, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not the key registered for installation first"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pinned_installation_forwards_without_enrollment() {
    let anchor = TestContext::new();
    let machine = TestContext::with_policy(ALLOW_ALL);
    assert_eq!(code(&machine.run(&["--", "true"])), 0);
    let key = machine.gate().args(["audit", "pubkey"]).output().unwrap();
    anchor.write_private("pinned.pem", &stdout(&key));
    let broker = Broker::start(
        &anchor,
        "version = 1\nrequire_enrollment = false\n[people.alice]\n\
         [installations.build-7]\naudit_key = \"pinned.pem\"\n",
    );
    let push = |name: &str| {
        machine
            .gate()
            .args(["audit", "push", "--server", &broker.url()])
            .env("GATE_INSTALLATION", name)
            .output()
            .unwrap()
    };
    let out = push("build-7");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("holds records 1 to 2"),
        "{}",
        stdout(&out)
    );
    let out = push("build-8");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("installation \"build-8\" is neither enrolled nor pinned"),
        "{}",
        stderr(&out)
    );
    // Another machine claiming the pinned name signs with another key.
    let other = TestContext::with_policy(ALLOW_ALL);
    assert_eq!(code(&other.run(&["--", "true"])), 0);
    let out = other
        .gate()
        .args(["audit", "push", "--server", &broker.url()])
        .env("GATE_INSTALLATION", "build-7")
        .output()
        .unwrap();
    assert_eq!(code(&out), 107, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not the key registered"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_strict_rule_runs_nothing_the_broker_has_not_recorded() {
    let anchor = TestContext::new();
    let mut broker = Broker::start(&anchor, BROKER_CONFIG_ALICE_APPROVES_ENROLLED_ONLY);
    let policy = "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n\
        [audit]\nforward = \"off\"\n\
        [[rule]]\nname = \"exports are on the record\"\naction = \"allow\"\n\
        match = \"touch **\"\nforward = \"strict\"\n";
    let machine = Installation::enrolled(&broker, "strict-1", policy);
    let marker = machine.ctx.work().join("exported");
    let out = machine.run(&["touch", marker.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(marker.exists());
    // The broker took the decision record before the command started.
    let out = machine.verify_with_broker();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("(record 1) is in this log"),
        "{}",
        stdout(&out)
    );

    broker.stop();
    std::fs::remove_file(&marker).unwrap();
    let out = machine.run(&["touch", marker.to_str().unwrap()]);
    assert_eq!(code(&out), 103, "{}", stderr(&out));
    assert!(!marker.exists(), "nothing ran");
    assert!(
        stderr(&out).contains(
            "rule \"exports are on the record\" needs its decision record at the broker before the command starts"
        ) && stderr(&out).contains("nothing was run"),
        "{}",
        stderr(&out)
    );
    // A command no strict rule covers still runs with the broker down.
    assert_eq!(code(&machine.run(&["true"])), 0);
    let records = machine.ctx.records();
    let failed = records
        .iter()
        .find(|r| r["decision"] == "failed")
        .expect("the refused start is recorded");
    assert_eq!(failed["exit_code"], 103);
}
