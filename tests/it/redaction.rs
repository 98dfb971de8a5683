//! Redaction end to end: secrets of every class given to the real binary, as an
//! argv, a `sh -c` line, an `env` assignment and a reason, reach none of what gate
//! prints or stores: `gate check` text and JSON, the exported log, and the raw
//! bytes of the SQLite database and its write-ahead log; and on the approval path,
//! the request at the broker, the broker's log, the Teams card and every call to
//! Slack.

use crate::support::common::*;
use crate::support::fixtures::POLICY_ALLOW_ALL;

/// One secret per class, and a command that holds it.
fn samples() -> Vec<(&'static str, Vec<String>)> {
    let words = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    vec![
        (
            "T3kQ9zLm2PvX8rWc4NdB",
            words(&["sk-proj-T3kQ9zLm2PvX8rWc4NdB7yHa"]),
        ),
        (
            "aZ4kQ8mW2pL9xR7c",
            words(&["sk-ant-api03-aZ4kQ8mW2pL9xR7c-Qx"]),
        ),
        (
            "Zr8Kp2Lq9Wm4Xv7Tn3Bc",
            words(&["glpat-Zr8Kp2Lq9Wm4Xv7Tn3Bc"]),
        ),
        (
            "Hq7Lm3Zp9Kx2Wv8Rt4Nc",
            words(&["AIzaSyHq7Lm3Zp9Kx2Wv8Rt4Nc0123456789ab"]),
        ),
        (
            "Dl0gInPa55",
            words(&["docker", "login", "-u", "me", "-p", "Dl0gInPa55", "reg"]),
        ),
        (
            "R3disAuthPw",
            words(&["redis-cli", "-a", "R3disAuthPw", "ping"]),
        ),
        (
            "LdapB1ndPw",
            words(&["ldapsearch", "-xwLdapB1ndPw", "-b", "dc=x"]),
        ),
        (
            "Gpg9Phrase",
            words(&["gpg", "--batch", "--passphrase=Gpg9Phrase", "-c", "f"]),
        ),
        (
            "SevenZ1pPw",
            words(&["7z", "a", "-pSevenZ1pPw", "o.7z", "d"]),
        ),
        (
            "Smb5ecretPw",
            words(&["smbclient", "//s/x", "-U", "bob%Smb5ecretPw"]),
        ),
        (
            "MyPwdValue7",
            words(&["env", "MYSQL_PWD=MyPwdValue7", "mysql", "db"]),
        ),
        ("Db9PassVal", words(&["env", "db_pass=Db9PassVal", "run"])),
        (
            "C00kieSess1on",
            words(&["curl", "-H", "Cookie: session=C00kieSess1on", "https://x"]),
        ),
        (
            "Am4zSigValue9",
            words(&[
                "curl",
                "https://b.s3.amazonaws.com/k?X-Amz-Signature=Am4zSigValue9",
            ]),
        ),
        (
            "Xk9fQ2mLp8ZrT4vN7bWc",
            words(&[
                "git",
                "clone",
                "https://Xk9fQ2mLp8ZrT4vN7bWc@github.com/o/r",
            ]),
        ),
        (
            "Fi3ldPw77",
            words(&["app", "--config", "{'password': 'Fi3ldPw77'}"]),
        ),
        (
            "Np7mAuthTok",
            words(&[
                "npm",
                "config",
                "set",
                "//r.example.com/:_authToken",
                "Np7mAuthTok",
            ]),
        ),
        ("Dq8LiteralPw", words(&["app", "--password=$Dq8LiteralPw"])),
    ]
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[track_caller]
fn assert_nowhere(ctx: &TestContext, secret: &str, printed: &[String]) {
    for text in printed {
        assert!(!text.contains(secret), "{secret} printed: {text}");
    }
    let exported = stdout(&ctx.run(&["audit", "export", "--format", "jsonl"]));
    assert!(!exported.contains(secret), "{secret} exported: {exported}");
    for file in ["audit.db", "audit.db-wal"] {
        let bytes = std::fs::read(ctx.home().join(file)).unwrap_or_default();
        assert!(!contains(&bytes, secret), "{secret} in {file}");
    }
}

#[test]
fn no_secret_reaches_check_output_the_log_or_the_database_files() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    for (secret, command) in samples() {
        let line = command.join(" ");
        let argv: Vec<&str> = command.iter().map(String::as_str).collect();
        let mut printed = Vec::new();
        for check in [
            [&["check", "--"][..], &argv].concat(),
            [&["check", "--json", "--"][..], &argv].concat(),
            vec!["check", "--json", "--", "sh", "-c", &line],
        ] {
            let out = ctx.run(&check);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            printed.extend([stdout(&out), stderr(&out)]);
        }
        let reason = format!("needed for the release: {line}");
        let mut wrapped = vec!["--reason", &reason, "--", "echo"];
        wrapped.extend(&argv);
        let out = ctx.run(&wrapped);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        printed.push(stderr(&out));
        let out = ctx.run(&["--", "sh", "-c", &format!("true {line}")]);
        printed.push(stderr(&out));
        assert_nowhere(&ctx, secret, &printed);
    }
    assert!(ctx.records().len() >= 2 * samples().len());
}

#[test]
fn check_shows_the_command_with_only_the_secret_masked() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let out = ctx.run(&[
        "check",
        "--json",
        "--",
        "docker",
        "login",
        "-u",
        "me",
        "-p",
        "Dl0gInPa55",
        "reg",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["command"],
        serde_json::json!(["docker", "login", "-u", "me", "-p", "****", "reg"])
    );
    let out = ctx.run(&["check", "--", "git", "commit", "-m", "fix the key parser"]);
    assert!(
        stdout(&out).contains("git commit -m 'fix the key parser'"),
        "{}",
        stdout(&out)
    );
}

/// What leaves the machine on the approval path is redacted too: the request the
/// broker stores and shows approvers, the broker's own log, the card it posts to
/// Teams and the Slack message it posts, updates and replies to carry the masked
/// command and reason, never the secret.
#[test]
fn no_secret_reaches_the_broker_its_log_teams_or_slack() {
    use crate::support::broker_support::Broker;
    use crate::support::fake_slack::FakeSlack;
    use crate::support::fake_teams::FakeTeams;
    use crate::support::fixtures::{
        POLICY_APPROVE_TOUCH, broker_config_sre_alice_bob_carol_teams_slack,
    };
    use crate::support::waiting::Waiting;

    let ctx = TestContext::with_policy(POLICY_APPROVE_TOUCH);
    let teams = FakeTeams::start(&[]);
    let slack = FakeSlack::start();
    let broker = Broker::start_with_env(
        &ctx,
        &broker_config_sre_alice_bob_carol_teams_slack(&slack.url()),
        &[
            ("OPS_TEAMS_HOOK", &teams.url()),
            ("SLACK_BOT_TOKEN", "xoxb-e2e"),
            ("SLACK_SIGNING_SECRET", "e2e-signing-secret"),
        ],
    );
    let pin = broker.pin_key(&ctx);
    let secrets = ["hunter2Secret", "Zr8Kp2Lq9Wm4Xv7Tn3Bc", "Kq7Wm2Lp9Zx4"];
    let marker = ctx.work().join("ran");
    let mut command = ctx.gate();
    command
        .env("GATE_SERVER", broker.url())
        .env("GATE_SERVER_KEY", &pin)
        .args(["--reason", "rotate glpat-Zr8Kp2Lq9Wm4Xv7Tn3Bc today", "--"])
        .args(["touch", "--password=hunter2Secret"])
        .arg(format!("{}?sig=Kq7Wm2Lp9Zx4", marker.display()));
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();
    let card = teams.wait_for(1);
    let posted = slack.wait("chat.postMessage", 1);
    let view = broker.get(&format!("/v1/requests/{id}"), Some(&broker.token("alice")));
    assert_eq!(view.status, 200, "{:?}", view.body);
    assert_eq!(
        broker.decide(&id, &broker.token("alice"), "deny").status,
        200
    );
    let done = waiting.finish();
    assert_eq!(done.code, 101, "{}", done.stderr);
    // The decision updates the message and replies in its thread.
    slack.wait("chat.update", 1);
    slack.wait("chat.postMessage", 2);
    let mut shown = vec![
        ("the Teams card".to_string(), card[0].to_string()),
        ("the request".to_string(), view.body.to_string()),
        ("the broker log".to_string(), broker.log()),
        ("stderr".to_string(), done.stderr),
    ];
    for (method, body) in slack.received() {
        shown.push((format!("Slack {method}"), body.to_string()));
    }
    for secret in secrets {
        for (what, text) in &shown {
            assert!(!text.contains(secret), "{secret} in {what}: {text}");
        }
    }
    assert!(view.body.to_string().contains("****"), "{:?}", view.body);
    // The message shows the command, masked, so the check above has something to read.
    assert!(posted.to_string().contains("--password=****"), "{posted}");
}
