//! The message within Slack's limits, whatever the request holds.

use crate::approval::protocol::{Choice, RequestView, Status, Vote};
use crate::identity::{Agent, CiJob, Requester};
use crate::server::slack::blocks::*;
use serde_json::Value;
use std::time::{Duration, SystemTime};

fn view(argv: Vec<String>) -> RequestView {
    RequestView {
        id: "0123456789abcdef0123456789abcdef".into(),
        status: Status::Pending,
        version: 1,
        requester: Requester {
            user: "carol".into(),
            host: "ci-runner".into(),
            ci: Some(CiJob {
                system: "github".into(),
                actor: Some("carol-gh".into()),
                repository: Some("acme/infra".into()),
                branch: Some("main".into()),
                commit: None,
                url: Some("https://github.com/acme/infra/actions/runs/1".into()),
            }),
            agent: Some(Agent {
                name: "claude-code".into(),
                session: Some("s-1".into()),
            }),
        },
        argv,
        cwd: "/srv".into(),
        action_digest: "ab".repeat(32),
        rules: vec!["prod".into()],
        rule_reason: "prod <needs> & review".into(),
        policy_version: String::new(),
        ci_identity: None,
        reason: Some("x".repeat(5000)),
        approvers: vec!["alice".into(), "bob".into()],
        quorum: 2,
        break_glass: false,
        created_at: "2026-01-01T00:00:00Z".into(),
        expires_at: "2026-01-01T00:15:00Z".into(),
        votes: vec![],
        decision: None,
        claimed: false,
        url: "http://127.0.0.1:8787/r/0123456789abcdef0123456789abcdef".into(),
    }
}

fn at() -> SystemTime {
    humantime::parse_rfc3339("2026-01-01T00:01:00Z").unwrap() + Duration::from_secs(1)
}

fn texts(blocks: &[Value]) -> Vec<String> {
    blocks
        .iter()
        .filter_map(|b| b["text"]["text"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_huge_command_is_shortened_and_says_so() {
    let argv = vec!["echo".to_string(), "a&b<c>".repeat(2000)];
    let message = render(&view(argv), at());
    assert!(message.blocks.len() <= BLOCKS_MAX);
    let header = message.blocks[0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), HEADER_MAX);
    assert!(header.ends_with('…'));
    for text in texts(&message.blocks) {
        assert!(text.chars().count() <= SECTION_MAX, "{}", text.len());
    }
    let code = texts(&message.blocks)
        .into_iter()
        .find(|t| t.starts_with("```"))
        .unwrap();
    assert!(code.contains("…```\n_Shortened to fit Slack:"), "{code}");
    assert!(code.contains("of 12007 characters shown"), "{code}");
    // No entity is cut in half.
    let inside = code.split("```").nth(1).unwrap();
    assert!(!inside.trim_end_matches('…').ends_with("&am"));
    let justification = texts(&message.blocks)
        .into_iter()
        .find(|t| t.starts_with("*Justification:*"))
        .unwrap();
    assert!(justification.ends_with("_(shortened to fit Slack)_"));
    assert!(message.text.chars().count() <= FALLBACK_MAX);
    assert!(
        message
            .text
            .starts_with("Approval needed: echo 'a&amp;b&lt;c&gt;"),
        "{}",
        message.text
    );
}

#[test]
fn buttons_fit_and_carry_the_request_id() {
    let message = render(&view(vec!["ls".into()]), at());
    let actions = message.blocks.last().unwrap();
    assert_eq!(actions["type"], "actions");
    let elements = actions["elements"].as_array().unwrap();
    assert!(elements.len() <= ACTIONS_MAX);
    let ids: Vec<&str> = elements
        .iter()
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [APPROVE, DENY]);
    for element in elements {
        assert!(element["text"]["text"].as_str().unwrap().chars().count() <= BUTTON_MAX);
        assert_eq!(element["value"], "0123456789abcdef0123456789abcdef");
    }
    assert_eq!(elements[0]["style"], "primary");
    assert_eq!(elements[1]["style"], "danger");
}

#[test]
fn the_requester_links_their_ci_job_and_names_their_agent() {
    let message = render(&view(vec!["ls".into()]), at());
    let text = texts(&message.blocks).join("\n");
    assert!(
        text.contains("<https://github.com/acme/infra/actions/runs/1|github job>"),
        "{text}"
    );
    assert!(
        text.contains("*Agent:* claude-code · session `s-1`"),
        "{text}"
    );
    assert!(
        text.contains("*Why:* prod &lt;needs&gt; &amp; review"),
        "{text}"
    );
    let context = message
        .blocks
        .iter()
        .find(|b| b["type"] == "context")
        .unwrap();
    let progress = context["elements"][0]["text"].as_str().unwrap();
    assert!(progress.contains("*Approvals:* 0 of 2"), "{progress}");
    assert!(
        progress.contains("*Expires* in 13m 59s (<!date^1767226500^"),
        "{progress}"
    );
}

#[test]
fn a_final_message_shows_the_outcome_instead_of_buttons() {
    let mut request = view(vec!["ls".into()]);
    request.status = Status::Denied;
    request.votes = vec![Vote {
        person: "bob".into(),
        channel: "slack".into(),
        verdict: Choice::Deny,
        reason: Some("not now".into()),
        at: "2026-01-01T00:02:00Z".into(),
    }];
    let message = render(&request, at());
    assert!(message.blocks.iter().all(|b| b["type"] != "actions"));
    let last = message.blocks.last().unwrap()["text"]["text"]
        .as_str()
        .unwrap();
    assert_eq!(last, ":no_entry: *Denied* by bob via slack (“not now”)");
    assert_eq!(
        thread_reply(&request, Some("U0CAROL")),
        "<@U0CAROL>: :no_entry: *Denied* by bob via slack (“not now”)"
    );
    assert!(thread_reply(&request, None).starts_with("carol: "));
}
