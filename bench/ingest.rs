//! Ledger ingest throughput: audit records verified and stored per second by one
//! broker, through `POST /v1/audit/records` on 127.0.0.1. Run by bench/ingest.sh:
//!
//!   ingest prepare DIR RECORDS INSTALLATIONS   audit logs (gate's own store and
//!       signing) and each installation's public key, DIR/NAME.pem
//!   ingest push URL DIR INSTALLATIONS BROKER_PID   every log forwarded in ~40 KB
//!       batches, one pushing task per installation, as `gate audit push` sends them
//!
//! The records are what gate writes for an agent's approved command: a decision
//! record naming the rules, approver and policy version and carrying the broker's
//! signed approval (signed with the key of the broker under GATE_HOME, created
//! here when missing, so the broker verifies it and links the record to its
//! request), then its outcome record.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use gate::approval::BrokerClient;
use gate::approval::protocol::{Choice, ForwardBody, ForwardedRecord};
use gate::approval::{DECISION_VERSION, DecidedBy, DecisionPayload, SignedDecision};
use gate::audit::{ApproverRecord, AuditLog, Decision, Entry, Outcome, RecordDecision, RecordKind};
use gate::identity::{Agent, Requester};
use std::path::Path;
use std::time::Instant;

/// What `gate audit push` sends in one request.
const BATCH_BYTES: usize = 40 * 1024;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["prepare", dir, records, installations] => prepare(
            Path::new(dir),
            records.parse().expect("RECORDS"),
            installations.parse().expect("INSTALLATIONS"),
        ),
        ["push", url, dir, installations, pid] => push(
            url,
            Path::new(dir),
            installations.parse().expect("INSTALLATIONS"),
            pid,
        ),
        _ => {
            eprintln!(
                "usage: ingest prepare DIR RECORDS INSTALLATIONS | ingest push URL DIR INSTALLATIONS BROKER_PID"
            );
            std::process::exit(2);
        }
    }
}

fn name(i: usize) -> String {
    format!("build-{i:02}")
}

fn key_of(i: usize) -> SigningKey {
    SigningKey::from_bytes(&[i as u8 + 1; 32])
}

fn prepare(dir: &Path, records: usize, installations: usize) {
    std::fs::create_dir_all(dir).expect("bench dir");
    let broker = gate::server::broker_key(&gate::paths::Home::from_env()).expect("broker key");
    for i in 0..installations {
        let key = key_of(i);
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        std::fs::write(dir.join(format!("{}.pem", name(i))), pem).expect("write key");
        let mut log = AuditLog::open(&dir.join(format!("{}.db", name(i)))).expect("audit log");
        let requester = Requester {
            user: "ci-runner".into(),
            host: name(i),
            ci: None,
            agent: Some(Agent {
                name: "claude-code".into(),
                session: Some("5f0c6a1e-3b7d-4e52-9a41-0d8c2b7e6f13".into()),
            }),
        };
        let mut n = 0;
        while n < records / installations {
            let mut decision = Entry::draft(
                requester.clone(),
                [
                    "kubectl",
                    "--context",
                    "prod-eu-1",
                    "rollout",
                    "restart",
                    "deployment/payments-api",
                    "-n",
                    "payments",
                ]
                .map(String::from)
                .to_vec(),
                "9c1f".repeat(16),
                "/home/ci/src/payments".into(),
                vec!["production changes".into()],
            );
            decision.decision = RecordDecision::Decision(Decision::Approved);
            decision.approvers = vec![ApproverRecord {
                name: "alice".into(),
                channel: "slack".into(),
            }];
            decision.reason = Some("roll the new TLS certificate (INC-4821)".into());
            decision.policy_version = Some("3e7a".repeat(16));
            let approval = DecisionPayload {
                v: DECISION_VERSION,
                request_id: format!("{}-{n:06}", name(i)),
                action_digest: decision.action_digest.clone(),
                argv: decision.command.clone(),
                cwd: decision.cwd.clone(),
                rules: decision.rules.clone(),
                policy_version: "3e7a".repeat(16),
                verdict: Choice::Approve,
                approvers: vec![DecidedBy {
                    name: "alice".into(),
                    channel: "slack".into(),
                }],
                break_glass: false,
                decided_at: "2026-11-30T05:00:00.000Z".into(),
                expires_at: "2026-11-30T05:10:00.000Z".into(),
                ci_identity: None,
            };
            decision.broker_signature = Some(SignedDecision::sign(&approval, &broker).to_compact());
            let seq = log.append(&decision, &key, false).expect("append");
            let mut outcome = decision.clone();
            outcome.kind = RecordKind::Outcome;
            outcome.decision = RecordDecision::Outcome(Outcome::Exited);
            outcome.exit_code = Some(0);
            outcome.duration_ms = Some(1834);
            outcome.decision_seq = Some(seq);
            log.append(&outcome, &key, false).expect("append");
            n += 2;
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn push(url: &str, dir: &Path, installations: usize, pid: &str) {
    // Read every batch first: the clock measures the broker, not this log.
    let mut work = Vec::new();
    let mut total = 0usize;
    let mut bytes = 0usize;
    for i in 0..installations {
        let log = AuditLog::open(&dir.join(format!("{}.db", name(i)))).expect("audit log");
        let pem = std::fs::read_to_string(dir.join(format!("{}.pem", name(i)))).expect("key");
        let mut batches = Vec::new();
        let mut from = 0;
        loop {
            let raw = log.raw_after(from, BATCH_BYTES).expect("raw_after");
            let Some(last) = raw.last() else { break };
            from = last.seq;
            total += raw.len();
            let body = ForwardBody {
                installation: name(i),
                audit_public_key: pem.clone(),
                records: raw
                    .into_iter()
                    .map(|r| ForwardedRecord {
                        seq: r.seq,
                        body: r.body,
                        signature: r.signature,
                        hash: r.hash,
                    })
                    .collect(),
            };
            bytes += serde_json::to_vec(&body).expect("json").len();
            batches.push(body);
        }
        work.push(batches);
    }
    let batches: usize = work.iter().map(Vec::len).sum();
    let client = BrokerClient::new(url).expect("broker client");
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for batches in work {
        let client = client.clone();
        tasks.spawn(async move {
            let mut slowest = 0f64;
            for body in &batches {
                let sent = Instant::now();
                let head = client.forward(body).await.expect("forward");
                assert_eq!(head.seq, body.records.last().expect("a record").seq);
                slowest = slowest.max(sent.elapsed().as_secs_f64());
            }
            slowest
        });
    }
    let mut slowest = 0f64;
    while let Some(done) = tasks.join_next().await {
        slowest = slowest.max(done.expect("pusher"));
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    println!(
        "{total} records ({:.1} MB of JSON, {batches} batches of ~40 KB) from {installations} \
         installations in {secs:.2} s: {:.0} records/s",
        bytes as f64 / 1e6,
        total as f64 / secs
    );
    println!(
        "broker CPU {cpu:.2} s ({:.0} µs per record); slowest batch {:.0} ms",
        cpu / total as f64 * 1e6,
        slowest * 1e3
    );
}

/// User+system CPU seconds of process `pid` so far (/proc/PID/stat).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
