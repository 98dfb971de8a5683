//! Load on a broker, or on replicas of one: many requests waiting at once, then
//! create+approve round trips, then how soon a waiter hears of an approval.
//! Run by bench/broker-load.sh and bench/replicas.sh, which start the brokers and
//! pass their URLs and tokens:
//!
//!   broker_load URL[,URL…] APPROVER_TOKEN PID[,PID…] [WAITING] [ROUNDS] [CONCURRENCY]
//!
//! With several replicas, request i is created on replica i, waited on at the
//! next one and approved on the one after: every wake-up crosses replicas.

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
    let clients: Arc<Vec<BrokerClient>> = Arc::new(
        url.split(',')
            .map(|url| BrokerClient::new(url).expect("broker client"))
            .collect(),
    );
    let pids: Vec<&str> = pid.split(',').collect();
    let n = clients.len();
    let token: Arc<str> = Arc::from(token.as_str());

    // Phase 1: `waiting` requests created and long-polled at once.
    let started = Instant::now();
    let mut created = Vec::with_capacity(waiting);
    for i in 0..waiting {
        let made = clients[i % n]
            .create(&new_request(i))
            .await
            .expect("create");
        created.push((made.request.id, made.requester_token, made.request.version));
    }
    let create_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_created: Vec<u64> = pids.iter().map(|pid| rss_kib(pid, "VmRSS")).collect();
    let mut waiters = JoinSet::new();
    for (i, (id, requester_token, version)) in created.clone().into_iter().enumerate() {
        let clients = clients.clone();
        waiters.spawn(async move {
            wait_final(&clients[(i + 1) % n], &id, &requester_token, version).await
        });
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // let every long-poll reach its broker
    let rss_waiting: Vec<u64> = pids.iter().map(|pid| rss_kib(pid, "VmRSS")).collect();
    let approve_start = Instant::now();
    for (i, (id, _, _)) in created.iter().enumerate() {
        clients[(i + 2) % n]
            .decide(id, &token, Choice::Approve, None, "api")
            .await
            .expect("approve");
    }
    let mut last = approve_start;
    while let Some(done) = waiters.join_next().await {
        last = last.max(done.expect("waiter"));
    }
    println!(
        "{waiting} requests created in {create_secs:.2} s (RSS {}); {waiting} long-polls waiting \
         at once over {n} broker(s): RSS {}",
        megabytes(&rss_created),
        megabytes(&rss_waiting)
    );
    println!(
        "approving all {waiting}: every waiter answered {:.2} s after the first approval",
        (last - approve_start).as_secs_f64()
    );

    // Phase 2: create+approve round trips, `concurrency` at a time.
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for worker in 0..concurrency {
        let clients = clients.clone();
        let token = token.clone();
        let share = rounds / concurrency + usize::from(worker < rounds % concurrency);
        tasks.spawn(async move {
            for i in 0..share {
                let made = clients[worker % n]
                    .create(&new_request(waiting + worker * rounds + i))
                    .await
                    .expect("create");
                let view = clients[(worker + 1) % n]
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

    // Phase 3: one request at a time, approved on one broker while its waiter
    // long-polls another: from the approval's answer to the waiter's.
    let mut delays = Vec::new();
    for i in 0..200 {
        let made = clients[i % n]
            .create(&new_request(10 * rounds + waiting + i))
            .await
            .expect("create");
        let (id, requester_token, version) =
            (made.request.id, made.requester_token, made.request.version);
        let waiter = {
            let (clients, id) = (clients.clone(), id.clone());
            tokio::spawn(async move {
                wait_final(&clients[(i + 1) % n], &id, &requester_token, version).await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        clients[i % n]
            .decide(&id, &token, Choice::Approve, None, "api")
            .await
            .expect("approve");
        let approved = Instant::now();
        let woke = waiter.await.expect("waiter");
        delays.push(woke.saturating_duration_since(approved).as_secs_f64() * 1000.0);
    }
    delays.sort_by(f64::total_cmp);
    println!(
        "approval answered -> waiter answered, {} requests across {n} broker(s): p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms",
        delays.len(),
        delays[delays.len() / 2],
        delays[delays.len() * 99 / 100],
        delays[delays.len() - 1]
    );
    let peaks: Vec<u64> = pids.iter().map(|pid| rss_kib(pid, "VmHWM")).collect();
    println!("broker peak RSS {}", megabytes(&peaks));
}

/// Long-poll request `id` until it is final; when that was seen.
async fn wait_final(client: &BrokerClient, id: &str, token: &str, version: u64) -> Instant {
    loop {
        let view = client
            .get(id, token, Some(Duration::from_secs(60)), Some(version))
            .await
            .expect("long-poll");
        if view.status.is_final() {
            return Instant::now();
        }
    }
}

fn megabytes(kib: &[u64]) -> String {
    kib.iter()
        .map(|k| format!("{:.1} MB", *k as f64 / 1024.0))
        .collect::<Vec<_>>()
        .join(" / ")
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
