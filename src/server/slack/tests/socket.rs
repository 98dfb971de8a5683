//! Socket Mode against a fake Slack WebSocket: envelopes are acknowledged, an
//! `interactive` envelope decides like a signed HTTP click, and a `disconnect`
//! makes the broker reconnect.

use super::*;
use crate::approval::protocol::Status;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket server on 127.0.0.1 handing each accepted connection to the test.
async fn socket_server() -> (String, mpsc::Receiver<Socket>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/link", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let socket = tokio_tungstenite::accept_async(stream).await.unwrap();
            if tx.send(socket).await.is_err() {
                return;
            }
        }
    });
    (url, rx)
}

async fn next_text(socket: &mut Socket) -> Value {
    let wait = Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout(wait, socket.next())
            .await
            .expect("a message within 10 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

async fn send(socket: &mut Socket, value: Value) {
    socket.send(Message::text(value.to_string())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_acks_envelopes_decides_and_reconnects() {
    let slack = FakeSlack::start().await;
    let (url, mut accepted) = socket_server().await;
    *slack.state.socket_url.lock().unwrap() = url;
    let h = Harness::with_slack(slack, "socket").await;
    let wait = Duration::from_secs(10);
    let mut socket = tokio::time::timeout(wait, accepted.recv())
        .await
        .unwrap()
        .unwrap();
    let open = h.slack.calls("apps.connections.open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].authorization, format!("Bearer {APP_TOKEN}"));
    send(
        &mut socket,
        json!({ "type": "hello", "num_connections": 1 }),
    )
    .await;

    let (view, token) = h.create("carol", &["terraform", "apply"], 1).await;
    h.slack.wait_for("chat.postMessage", 1).await;
    let payload = click_payload("U0ALICE", "gate_approve", &view.id);
    let envelope = json!({
        "envelope_id": "env-1",
        "type": "interactive",
        "accepts_response_payload": false,
        "payload": payload,
    });
    send(&mut socket, envelope).await;
    assert_eq!(
        next_text(&mut socket).await,
        json!({ "envelope_id": "env-1" })
    );
    let update = h.slack.wait_for("chat.update", 1).await.remove(0);
    assert!(all_text(&update.body).contains("*Approved* by alice via slack"));
    assert_eq!(h.view(&view.id, &token).await.status, Status::Approved);

    // Slack asks for a reconnect: a new URL is fetched and a new socket opened.
    let disconnect = json!({ "type": "disconnect", "reason": "refresh_requested" });
    send(&mut socket, disconnect).await;
    let mut again = tokio::time::timeout(wait, accepted.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.slack.calls("apps.connections.open").len(), 2);
    let envelope = json!({ "envelope_id": "env-2", "type": "events_api", "payload": {} });
    send(&mut again, envelope).await;
    assert_eq!(
        next_text(&mut again).await,
        json!({ "envelope_id": "env-2" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_is_reopened() {
    let slack = FakeSlack::start().await;
    let (url, mut accepted) = socket_server().await;
    *slack.state.socket_url.lock().unwrap() = url;
    let h = Harness::with_slack(slack, "socket").await;
    let wait = Duration::from_secs(10);
    let socket = tokio::time::timeout(wait, accepted.recv())
        .await
        .unwrap()
        .unwrap();
    drop(socket);
    let mut again = tokio::time::timeout(wait, accepted.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.slack.calls("apps.connections.open").len(), 2);
    send(
        &mut again,
        json!({ "envelope_id": "env-3", "type": "hello" }),
    )
    .await;
    assert_eq!(
        next_text(&mut again).await,
        json!({ "envelope_id": "env-3" })
    );
}
