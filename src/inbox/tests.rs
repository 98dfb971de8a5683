//! The inbox's state machine and its rendering at 80x24, without a terminal.

use super::state::{Connection, Effect, Inbox, Key, Mode, Notice};
use super::view::{self, Style};
use crate::approval::protocol::{Choice, RequestList, RequestView, Status, Vote};
use crate::approval::summary::parse_time;
use crate::identity::{Agent, CiJob, Requester};
use std::time::SystemTime;

fn now() -> SystemTime {
    parse_time("2026-03-01T12:00:00Z").unwrap()
}

fn request(id: &str, created: &str, argv: &[&str]) -> RequestView {
    RequestView {
        id: id.to_string(),
        status: Status::Pending,
        version: 1,
        requester: Requester {
            user: "carol".into(),
            host: "build-7".into(),
            ci: None,
            agent: Some(Agent {
                name: "claude-code".into(),
                session: None,
            }),
        },
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: "/srv/payments".into(),
        action_digest: "ab".repeat(32),
        rules: vec!["production changes".into()],
        rule_reason: "production needs a second person".into(),
        policy_version: String::new(),
        ci_identity: None,
        reason: Some("rotate the leaked key".into()),
        approvers: vec!["alice".into(), "bob".into()],
        quorum: 2,
        break_glass: false,
        created_at: created.to_string(),
        expires_at: "2026-03-01T12:14:03Z".into(),
        votes: Vec::new(),
        decision: None,
        claimed: false,
        url: format!("http://127.0.0.1:8787/r/{id}"),
    }
}

fn two_requests() -> Inbox {
    let mut inbox = Inbox::new("http://127.0.0.1:8787");
    let mut newer = request(
        "r2bbbbbbbbbbbbbbbbbbbb",
        "2026-03-01T11:59:30Z",
        &[
            "terraform",
            "apply",
            "-auto-approve",
            "-var",
            "region=eu-west-1",
            "infra/prod",
        ],
    );
    newer.requester = Requester {
        user: "runner".into(),
        host: "gha-4".into(),
        ci: Some(CiJob {
            system: "github".into(),
            actor: Some("octocat".into()),
            repository: Some("acme/infra".into()),
            branch: Some("main".into()),
            commit: None,
            url: Some("https://github.com/acme/infra/actions/runs/1".into()),
        }),
        agent: None,
    };
    newer.votes.push(Vote {
        person: "alice".into(),
        channel: "slack".into(),
        verdict: Choice::Approve,
        reason: Some("plan reviewed".into()),
        at: "2026-03-01T11:59:50Z".into(),
    });
    let older = request(
        "r1aaaaaaaaaaaaaaaaaaaa",
        "2026-03-01T11:55:00Z",
        &["kubectl", "delete", "namespace", "payments"],
    );
    // The broker's order is not the inbox's: newest last.
    inbox.list(RequestList {
        version: 7,
        requests: vec![newer, older],
    });
    inbox
}

fn screen(inbox: &Inbox) -> String {
    let lines = view::render(inbox, 80, 24, now());
    assert_eq!(lines.len(), 24);
    for line in &lines {
        assert!(line.text.chars().count() <= 80, "too wide: {:?}", line.text);
    }
    lines
        .iter()
        .map(|l| l.text.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn lists_newest_last_and_selection_moves_within_bounds() {
    let mut inbox = two_requests();
    assert_eq!(inbox.connection, Connection::Live);
    assert_eq!(inbox.requests[0].id, "r1aaaaaaaaaaaaaaaaaaaa");
    assert_eq!(inbox.selected, 0);
    assert_eq!(inbox.key(Key::Up), Effect::None);
    assert_eq!(inbox.selected, 0);
    inbox.key(Key::Down);
    assert_eq!(inbox.selected, 1);
    inbox.key(Key::Char('j'));
    assert_eq!(inbox.selected, 1);
    inbox.key(Key::Char('k'));
    assert_eq!(inbox.selected, 0);
}

#[test]
fn selection_follows_its_request_when_the_list_changes() {
    let mut inbox = two_requests();
    inbox.key(Key::Down);
    let selected = inbox.requests[1].clone();
    let mut earliest = request("r0", "2026-03-01T11:00:00Z", &["reboot"]);
    earliest.version = 9;
    inbox.list(RequestList {
        version: 9,
        requests: vec![selected.clone(), earliest, inbox.requests[0].clone()],
    });
    assert_eq!(inbox.selected_request().unwrap().id, selected.id);
    // The selected one is decided elsewhere and leaves: the selection stays in range.
    inbox.list(RequestList {
        version: 10,
        requests: vec![inbox.requests[0].clone()],
    });
    assert_eq!(inbox.selected, 0);
}

#[test]
fn approve_asks_for_confirmation_of_the_selected_request() {
    let mut inbox = two_requests();
    inbox.key(Key::Down);
    assert_eq!(inbox.key(Key::Char('a')), Effect::None, "not at once");
    assert_eq!(
        inbox.mode,
        Mode::ConfirmApprove {
            id: "r2bbbbbbbbbbbbbbbbbbbb".into()
        }
    );
    let lines = view::render(&inbox, 80, 24, now());
    assert_eq!(
        lines[22].text,
        "Approve r2bbbbbb…: terraform apply -auto-approve -var region=eu-west-1 infra/p…?"
    );
    assert_eq!(lines[23].text, "y or Enter approve   any other key cancels");
    let effect = inbox.key(Key::Char('y'));
    assert_eq!(
        effect,
        Effect::Decide {
            id: "r2bbbbbbbbbbbbbbbbbbbb".into(),
            verdict: Choice::Approve,
            reason: None,
        }
    );
    assert_eq!(inbox.mode, Mode::Browse);
    // Enter confirms too.
    inbox.key(Key::Char('a'));
    assert!(matches!(inbox.key(Key::Enter), Effect::Decide { .. }));
}

#[test]
fn any_other_key_cancels_an_approval() {
    for key in [
        Key::Char('n'),
        Key::Esc,
        Key::Char('a'),
        Key::Down,
        Key::Char('q'),
    ] {
        let mut inbox = two_requests();
        inbox.key(Key::Char('a'));
        assert_eq!(inbox.key(key), Effect::None, "{key:?}");
        assert_eq!(inbox.mode, Mode::Browse, "{key:?}");
        assert_eq!(
            inbox.notice,
            Some(Notice::Info("not approved: r1aaaaaaaaaaaaaaaaaaaa".into())),
            "{key:?}"
        );
    }
}

#[test]
fn a_confirmation_stays_with_its_request_when_the_list_changes() {
    let mut inbox = two_requests();
    inbox.key(Key::Char('a'));
    // A newer request arrives and the confirmed one is still pending.
    let mut list = inbox.requests.clone();
    list.insert(
        0,
        request("r0cccccccccccccccccccc", "2026-03-01T11:50:00Z", &["true"]),
    );
    inbox.list(RequestList {
        version: 8,
        requests: list,
    });
    assert_eq!(
        inbox.key(Key::Char('y')),
        Effect::Decide {
            id: "r1aaaaaaaaaaaaaaaaaaaa".into(),
            verdict: Choice::Approve,
            reason: None,
        }
    );
    // Decided elsewhere while confirming: the prompt ends, nothing is sent.
    inbox.key(Key::Char('a'));
    let others: Vec<_> = inbox
        .requests
        .iter()
        .filter(|r| r.id != inbox.requests[inbox.selected].id)
        .cloned()
        .collect();
    inbox.list(RequestList {
        version: 9,
        requests: others,
    });
    assert_eq!(inbox.mode, Mode::Browse);
    assert_eq!(inbox.key(Key::Char('y')), Effect::None);
}

#[test]
fn columns_give_the_rule_room_on_a_wide_terminal_and_fit_a_narrow_one() {
    let mut inbox = two_requests();
    inbox.requests[0].rules = vec!["production namespaces need two people".into()];
    let row = |width: usize| {
        let lines = view::render(&inbox, width, 24, now());
        for line in &lines {
            assert!(
                line.text.chars().count() <= width,
                "{width}: {:?}",
                line.text
            );
        }
        lines[2].text.clone()
    };
    // Wide: the whole rule, and the whole command.
    let wide = row(160);
    assert!(
        wide.contains("production namespaces need two people"),
        "{wide}"
    );
    assert!(wide.contains("kubectl delete namespace payments"), "{wide}");
    // 80 columns: both cut, the command keeps a fair share.
    let narrow = row(80);
    assert!(narrow.contains("kubectl delete namespace"), "{narrow}");
    assert!(narrow.contains("production"), "{narrow}");
    // Very narrow: still one line per request, never wider than the screen.
    row(40);
}

#[test]
fn deny_prompts_for_a_reason_and_submits_it() {
    let mut inbox = two_requests();
    assert_eq!(inbox.key(Key::Char('d')), Effect::None);
    for c in "not nowx".chars() {
        inbox.key(Key::Char(c));
    }
    inbox.key(Key::Backspace);
    // Keys that mean something while browsing are text while typing.
    inbox.key(Key::Char('q'));
    assert_eq!(
        inbox.mode,
        Mode::DenyReason {
            id: "r1aaaaaaaaaaaaaaaaaaaa".into(),
            text: "not nowq".into()
        }
    );
    inbox.key(Key::Backspace);
    let effect = inbox.key(Key::Enter);
    assert_eq!(
        effect,
        Effect::Decide {
            id: "r1aaaaaaaaaaaaaaaaaaaa".into(),
            verdict: Choice::Deny,
            reason: Some("not now".into()),
        }
    );
    assert_eq!(inbox.mode, Mode::Browse);
}

#[test]
fn deny_needs_a_reason_and_esc_cancels() {
    let mut inbox = two_requests();
    inbox.key(Key::Char('d'));
    inbox.key(Key::Char(' '));
    assert_eq!(inbox.key(Key::Enter), Effect::None);
    assert!(matches!(inbox.notice, Some(Notice::Error(_))));
    assert!(matches!(inbox.mode, Mode::DenyReason { .. }));
    assert_eq!(inbox.key(Key::Esc), Effect::None);
    assert_eq!(inbox.mode, Mode::Browse);
    assert_eq!(inbox.key(Key::Char('q')), Effect::Quit);
}

#[test]
fn ctrl_c_quits_even_while_typing() {
    let mut inbox = two_requests();
    inbox.key(Key::Char('d'));
    assert_eq!(inbox.key(Key::Interrupt), Effect::Quit);
}

#[test]
fn nothing_to_decide_in_an_empty_inbox() {
    let mut inbox = Inbox::new("http://broker");
    assert_eq!(inbox.key(Key::Char('a')), Effect::None);
    assert_eq!(inbox.key(Key::Char('d')), Effect::None);
    assert_eq!(inbox.mode, Mode::Browse);
}

#[test]
fn a_request_decided_elsewhere_ends_its_prompt() {
    let mut inbox = two_requests();
    inbox.key(Key::Char('d'));
    let remaining = inbox.requests[1].clone();
    inbox.list(RequestList {
        version: 8,
        requests: vec![remaining],
    });
    assert_eq!(inbox.mode, Mode::Browse);
}

#[test]
fn broker_answers_and_failures_reach_the_status_line() {
    let mut inbox = two_requests();
    let mut view = inbox.requests[1].clone();
    view.votes.push(Vote {
        person: "bob".into(),
        channel: "inbox".into(),
        verdict: Choice::Approve,
        reason: None,
        at: "2026-03-01T12:00:00Z".into(),
    });
    view.status = Status::Approved;
    inbox.decided(Choice::Approve, Ok(view));
    let Some(Notice::Info(text)) = &inbox.notice else {
        panic!("{:?}", inbox.notice)
    };
    assert_eq!(
        text,
        "approved r2bbbbbbbbbbbbbbbbbbbb (2 of 2 approvals): the request is approved"
    );
    inbox.decided(Choice::Deny, Err("request r2 is already decided".into()));
    assert!(matches!(&inbox.notice, Some(Notice::Error(t)) if t.contains("already decided")));
    inbox.feed_failed("cannot reach the gate broker".into());
    let lines = view::render(&inbox, 80, 24, now());
    assert!(lines[0].text.ends_with("reconnecting…"));
    assert_eq!(lines[22].style, Style::Error);
    assert!(lines[22].text.starts_with("reconnecting… cannot reach"));
}

#[test]
fn renders_the_list_and_the_selected_request_at_80x24() {
    let inbox = two_requests();
    insta::assert_snapshot!(screen(&inbox));
}

#[test]
fn renders_the_second_request_with_its_vote_and_ci_job() {
    let mut inbox = two_requests();
    inbox.key(Key::Down);
    insta::assert_snapshot!(screen(&inbox));
}

#[test]
fn renders_the_deny_prompt() {
    let mut inbox = two_requests();
    inbox.key(Key::Char('d'));
    for c in "not during the freeze".chars() {
        inbox.key(Key::Char(c));
    }
    insta::assert_snapshot!(screen(&inbox));
}

#[test]
fn renders_an_empty_inbox_while_connecting_and_when_live() {
    let mut inbox = Inbox::new("http://127.0.0.1:8787");
    insta::assert_snapshot!("connecting", screen(&inbox));
    inbox.list(RequestList {
        version: 1,
        requests: Vec::new(),
    });
    insta::assert_snapshot!("empty", screen(&inbox));
}

#[test]
fn long_values_wrap_at_spaces_and_nothing_is_lost() {
    let mut inbox = two_requests();
    let long: Vec<String> = (0..40).map(|n| format!("arg{n}")).collect();
    inbox.requests[0].argv = long.clone();
    let text = screen(&inbox);
    let command: String = text
        .lines()
        .skip_while(|l| !l.starts_with("Command"))
        .take_while(|l| !l.starts_with("Cwd"))
        .map(|l| l[12..].to_string())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(command, long.join(" "));
}
