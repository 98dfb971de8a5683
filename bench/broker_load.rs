//! Load on one broker: many requests waiting at once, then create+approve round trips.
//! Run by bench/broker-load.sh, which starts the broker and passes its URL and tokens:
//!
//!   broker_load URL APPROVER_TOKEN BROKER_PID [WAITING] [ROUNDS] [CONCURRENCY]

use gate::approval::BrokerClient;
use gate::approval::protocol::{Choice, NewRequest};
use gate::identity::Requester;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [url, token, pid, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: broker_load URL APPROVER_TOKEN BROKER_PID [WAITING] [ROUNDS] [CONCURRENCY]"
        );
        std::process::exit(2);
    };
    let number = |i: usize, default: usize| rest.get(i).map_or(default, |n| n.parse().unwrap());
    let (waiting, rounds, concurrency) = (number(0, 1000), number(1, 5000), number(2, 32));
    raise_open_file_limit();
    let client = Arc::new(BrokerClient::new(url).expect("broker client"));
    let token: Arc<str> = Arc::from(token.as_str());

    // Phase 1: `waiting` requests created and long-polled at once.
    let started = Instant::now();
    let mut created = Vec::with_capacity(waiting);
    for i in 0..waiting {
        let made = client.create(&new_request(i)).await.expect("create");
        created.push((made.request.id, made.requester_token, made.request.version));
    }
    let create_secs = started.elapsed().as_secs_f64();
    let mut waiters = JoinSet::new();
    for (id, requester_token, version) in created.clone() {
        let client = client.clone();
        waiters.spawn(async move {
            loop {
                let view = client
                    .get(
                        &id,
                        &requester_token,
                        Some(Duration::from_secs(60)),
                        Some(version),
                    )
                    .await
                    .expect("long-poll");
                if view.status.is_final() {
                    return Instant::now();
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // let every long-poll reach the broker
    let rss_waiting = rss_kib(pid, "VmRSS");
    let approve_start = Instant::now();
    for (id, _, _) in &created {
        client
            .decide(id, &token, Choice::Approve, None, "api")
            .await
            .expect("approve");
    }
    let mut last = approve_start;
    while let Some(done) = waiters.join_next().await {
        last = last.max(done.expect("waiter"));
    }
    println!(
        "{waiting} requests created in {create_secs:.2} s; {waiting} long-polls waiting at once: broker RSS {:.1} MB",
        rss_waiting as f64 / 1024.0
    );
    println!(
        "approving all {waiting}: every waiter answered {:.2} s after the first approval",
        (last - approve_start).as_secs_f64()
    );

    // Phase 2: create+approve round trips, `concurrency` at a time.
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let token = token.clone();
        let share = rounds / concurrency + usize::from(worker < rounds % concurrency);
        tasks.spawn(async move {
            for i in 0..share {
                let made = client
                    .create(&new_request(waiting + worker * rounds + i))
                    .await
                    .expect("create");
                let view = client
                    .decide(&made.request.id, &token, Choice::Approve, None, "api")
                    .await
                    .expect("approve");
                assert!(view.status.is_final(), "quorum 1: one approval decides");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{rounds} create+approve round trips ({concurrency} concurrent): {:.0} per second",
        rounds as f64 / secs
    );
    println!(
        "broker peak RSS {:.1} MB",
        rss_kib(pid, "VmHWM") as f64 / 1024.0
    );
}

fn new_request(i: usize) -> NewRequest {
    NewRequest {
        requester: Requester {
            user: "bench".into(),
            host: "bench-host".into(),
            ci: None,
            agent: None,
        },
        argv: vec![
            "kubectl".into(),
            "delete".into(),
            "ns".into(),
            format!("ns-{i}"),
        ],
        cwd: "/srv".into(),
        executable: "/usr/bin/true".into(),
        action_digest: format!("{i:064x}"),
        rules: vec!["production changes".into()],
        rule_reason: "changes production".into(),
        approvers: Vec::new(),
        quorum: 0,
        timeout_seconds: 600,
        reason: Some("load test".into()),
        require_reason: false,
        break_glass_allowed: false,
        break_glass: false,
        id_token: None,
    }
}

/// A field of /proc/PID/status in KiB.
fn rss_kib(pid: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("broker status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("rss field")
}

/// A thousand open connections need more than the usual soft limit of 1024 files.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit; raising the soft limit to the hard one is allowed.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
}
