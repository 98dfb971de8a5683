//! The approver's side on the command line: `gate approve`, `gate deny`,
//! `gate pending`, and the entry to the `gate inbox` terminal UI (`crate::inbox`).
//!
//! Each call is one request to the broker on a current-thread runtime. The token
//! comes from `--token`/`GATE_TOKEN` and is only ever sent to the broker, never
//! printed. Refusals by the broker exit with `BROKER_REFUSED`; an unreachable
//! broker with `NEEDS_APPROVAL` (no approval channel reachable).

use crate::approval::protocol::ErrorCode;
use crate::approval::protocol::{Choice, RequestList, RequestView};
use crate::approval::summary;
use crate::approval::{BrokerClient, ClientError};
use crate::cli::BrokerArgs;
use crate::error::{Error, exit};
use std::time::SystemTime;

/// The channel name the broker records for decisions made with these commands.
const CHANNEL: &str = "cli";

pub(super) fn approve(id: &str, reason: Option<String>, broker: &BrokerArgs) -> Result<u8, Error> {
    decide(id, Choice::Approve, reason, broker)
}

pub(super) fn deny(id: &str, reason: String, broker: &BrokerArgs) -> Result<u8, Error> {
    if reason.trim().is_empty() {
        return Err(Error::Refused {
            message: "gate deny needs a reason: --reason TEXT (it is shown to the requester)"
                .into(),
            code: exit::USAGE,
        });
    }
    decide(id, Choice::Deny, Some(reason), broker)
}

pub(super) fn pending(json: bool, broker: &BrokerArgs) -> Result<u8, Error> {
    let token = token(broker)?;
    let client = client(broker)?;
    let list = block_on(client.pending(&token, None, None)).map_err(|e| broker_error(&e, None))?;
    if json {
        let text = serde_json::to_string_pretty(&list)
            .map_err(|e| Error::Internal(format!("cannot encode the request list: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", table(list, SystemTime::now()));
    }
    Ok(exit::OK)
}

pub(super) fn inbox(broker: &BrokerArgs) -> Result<u8, Error> {
    let token = token(broker)?;
    let client = client(broker)?;
    crate::inbox::run(client, token)
}

fn decide(
    id: &str,
    verdict: Choice,
    reason: Option<String>,
    broker: &BrokerArgs,
) -> Result<u8, Error> {
    let token = token(broker)?;
    let client = client(broker)?;
    let view = block_on(client.decide(id, &token, verdict, reason, CHANNEL))
        .map_err(|e| broker_error(&e, Some(id)))?;
    println!("{}", summary::outcome(verdict, &view));
    Ok(exit::OK)
}

/// The approver token; without one, say how to get one.
pub(super) fn token(broker: &BrokerArgs) -> Result<String, Error> {
    match broker.token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => Ok(token.to_string()),
        _ => Err(Error::Refused {
            message: "no approver token: pass --token TOKEN or set GATE_TOKEN; the broker's \
                      admin creates one with `gate serve token create NAME` on the broker host"
                .into(),
            code: exit::USAGE,
        }),
    }
}

pub(super) fn client(broker: &BrokerArgs) -> Result<BrokerClient, Error> {
    BrokerClient::new(&broker.server).map_err(|e| broker_error(&e, None))
}

pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime builds")
        .block_on(future)
}

/// A broker failure as one line and its exit code.
pub(super) fn broker_error(err: &ClientError, id: Option<&str>) -> Error {
    match err {
        ClientError::Api { .. } => Error::Refused {
            // A refused token is the same fix whatever the call; other codes name the request.
            message: match id {
                Some(id) => summary::refusal(err, id),
                None if err.code() == Some(ErrorCode::Unauthorized) => summary::refusal(err, ""),
                None => err.to_string(),
            },
            code: exit::BROKER_REFUSED,
        },
        ClientError::Unreachable { .. }
        | ClientError::Protocol { .. }
        | ClientError::NoneAnswered { .. } => Error::Refused {
            message: format!("{err} (set --server or GATE_SERVER to the broker's URL)"),
            code: exit::NEEDS_APPROVAL,
        },
    }
}

/// `gate pending` as a table, newest last; time columns relative to `now`.
fn table(list: RequestList, now: SystemTime) -> String {
    let mut requests = list.requests;
    if requests.is_empty() {
        return "no pending requests\n".to_string();
    }
    summary::sort_oldest_first(&mut requests);
    let mut rows =
        vec![["ID", "AGE", "REQUESTER", "COMMAND", "RULE", "VOTES", "LEFT"].map(String::from)];
    rows.extend(requests.iter().map(|r| row(r, now)));
    let widths: Vec<usize> = (0..7)
        .map(|col| {
            rows.iter()
                .map(|row| row[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn row(request: &RequestView, now: SystemTime) -> [String; 7] {
    [
        request.id.clone(),
        summary::age(&request.created_at, now),
        summary::truncate(&summary::requester_short(&request.requester), 28),
        summary::truncate(&summary::command_line(&request.argv), 48),
        summary::truncate(&summary::rules(request), 24),
        summary::progress(request),
        summary::time_left(&request.expires_at, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::summary::parse_time;

    fn list() -> RequestList {
        let request = |id: &str, created: &str, argv: &str| {
            serde_json::json!({
                "id": id, "status": "pending", "version": 2,
                "requester": {"user": "carol", "host": "build-7", "ci": null,
                              "agent": {"name": "codex", "session": null}},
                "argv": serde_json::from_str::<serde_json::Value>(argv).unwrap(),
                "cwd": "/srv", "action_digest": "ab", "rules": ["prod"],
                "rule_reason": "r", "reason": null, "approvers": ["alice"], "quorum": 2,
                "break_glass": false, "created_at": created,
                "expires_at": "2026-03-01T12:10:00Z",
                "votes": [{"person": "alice", "channel": "cli", "verdict": "approve",
                           "reason": null, "at": created}],
                "decision": null, "claimed": false, "url": "http://b/r/x"
            })
        };
        let long = serde_json::to_string(&vec!["x".repeat(30); 3]).unwrap();
        serde_json::from_value(serde_json::json!({
            "version": 4,
            "requests": [
                request("newer", "2026-03-01T11:59:00Z", &long),
                request("older", "2026-03-01T10:00:00Z", r#"["rm", "-r", "a b"]"#),
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_pending_table_lists_newest_last_with_aligned_columns() {
        let now = parse_time("2026-03-01T12:00:00Z").unwrap();
        let text = table(list(), now);
        let long = format!("{} {}…", "x".repeat(30), "x".repeat(16));
        let expected = format!(
            "ID     AGE  REQUESTER              COMMAND{pad}  RULE  VOTES  LEFT\n\
             older  2h   carol@build-7 (codex)  rm -r 'a b'{pad2}  prod  1/2    10m 00s\n\
             newer  1m   carol@build-7 (codex)  {long}  prod  1/2    10m 00s\n",
            pad = " ".repeat(41),
            pad2 = " ".repeat(37),
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn an_empty_list_says_so() {
        let empty = RequestList {
            version: 1,
            requests: Vec::new(),
        };
        assert_eq!(table(empty, SystemTime::now()), "no pending requests\n");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let args = BrokerArgs {
            server: "http://broker".into(),
            token: Some("s3cret-token".into()),
        };
        let text = format!("{args:?}");
        assert!(!text.contains("s3cret-token"), "{text}");
        assert!(text.contains("http://broker"), "{text}");
    }
}
