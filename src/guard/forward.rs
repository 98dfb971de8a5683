//! Forwarding this machine's audit records to the broker, which verifies and
//! keeps them (docs/audit-format.md#forwarding): `gate audit push`, the push a
//! gate run starts in the background after it recorded, and the strict push a
//! `forward = "strict"` rule waits for before its command starts.
//!
//! Records go exactly as stored. Where the broker acknowledged up to is kept in
//! the log (`AuditLog::forwarded`); without that, gate asks the broker for its
//! head first and starts there when this log holds that record unchanged, else
//! from the first record, so a log that was rewritten is refused where it
//! parts from the broker's copy.

use crate::approval::protocol::{ChainHead, ErrorCode, ForwardBody, ForwardedRecord};
use crate::approval::{BrokerClient, ClientError, installation};
use crate::audit::{AuditError, AuditLog, Forwarded};
use crate::paths::Home;
use crate::policy::Forward;
use ed25519_dalek::VerifyingKey;

/// How many bytes of records one push carries (the broker takes 64 KiB bodies).
const BATCH_BYTES: usize = 40 * 1024;

/// Where this machine's records go, and under which installation name.
#[derive(Debug)]
pub struct Target {
    /// The broker, or its replicas, as named (the first that answers is used).
    pub server: String,
    pub installation: String,
    client: BrokerClient,
}

/// Why a push stopped.
#[derive(Debug)]
pub enum PushError {
    /// The broker could not be reached or answered nonsense; nothing is lost,
    /// the next push sends the backlog.
    Unreachable(String),
    /// The broker holds a different history of this log (409 `chain_broken`):
    /// it was truncated, rewritten or forked after it was forwarded.
    Broken(String),
    /// The broker refused the push (not enrolled, not pinned, …).
    Refused(String),
    Audit(AuditError),
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::Unreachable(detail)
            | PushError::Broken(detail)
            | PushError::Refused(detail) => f.write_str(detail),
            PushError::Audit(err) => write!(f, "{err}"),
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Records the broker took in this push.
    pub sent: u64,
    /// The broker's head afterwards.
    pub head: ChainHead,
}

impl Target {
    /// An enrolled installation forwards to the broker it enrolled with, under
    /// its enrolled name, signing each push. Otherwise `server` (`--server`),
    /// else `GATE_SERVER`, under `GATE_INSTALLATION` or this host's name (a name
    /// the broker must pin with its audit key). `None` when there is no broker.
    pub fn find(home: &Home, server: Option<&str>) -> Result<Option<Target>, String> {
        let enrolled = installation::load_with_record(home).map_err(|e| e.to_string())?;
        let (server, name, enrolled) = match enrolled {
            Some((installation, record)) => (
                server.map_or(record.server, str::to_string),
                installation.name.clone(),
                Some(installation),
            ),
            None => {
                let server = server
                    .map(str::to_string)
                    .or_else(|| std::env::var("GATE_SERVER").ok())
                    .filter(|url| !url.trim().is_empty());
                let Some(server) = server else {
                    return Ok(None);
                };
                let name = std::env::var("GATE_INSTALLATION")
                    .ok()
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or_else(crate::identity::host_name);
                (server, name, None)
            }
        };
        let client = BrokerClient::new(server.trim())
            .map_err(|e| e.to_string())?
            .signed_by(enrolled);
        Ok(Some(Target {
            server: client.bases(),
            installation: name,
            client,
        }))
    }

    /// The broker that answered last (the first named before any did).
    pub fn answered_by(&self) -> &str {
        self.client.base()
    }

    /// The broker's head for this installation.
    pub async fn head(&self) -> Result<ChainHead, PushError> {
        self.client
            .audit_head(&self.installation)
            .await
            .map_err(client_error)
    }

    /// Send every record the broker has not acknowledged, in batches; stops at
    /// the first refusal.
    pub async fn push(&self, log: &AuditLog, key: &VerifyingKey) -> Result<Pushed, PushError> {
        // The broker's head as its last answer gave it, so the end of a push
        // asks again only when nothing was asked or sent.
        let mut known: Option<ChainHead> = None;
        let mut from = match log.forwarded().map_err(PushError::Audit)? {
            Some(cursor)
                if cursor.server == self.server && cursor.installation == self.installation =>
            {
                cursor.seq
            }
            // No cursor for this broker: start where the broker's copy ends if
            // this log holds that record unchanged, else from the start, so the
            // broker sees where the two part.
            _ => {
                let head = self.head().await?;
                let same = log.hash_at(head.seq).map_err(PushError::Audit)?;
                let from = if head.seq > 0 && same.as_deref() == Some(head.hash.as_str()) {
                    head.seq
                } else {
                    0
                };
                known = Some(head);
                from
            }
        };
        let public = crate::keys::public_key_pem(key);
        let mut sent = 0;
        loop {
            let records = log.raw_after(from, BATCH_BYTES).map_err(PushError::Audit)?;
            let Some(last) = records.last().map(|r| r.seq) else {
                let head = match known {
                    Some(head) => head,
                    None => self.head().await?,
                };
                return Ok(Pushed { sent, head });
            };
            let body = ForwardBody {
                installation: self.installation.clone(),
                audit_public_key: public.clone(),
                records: records
                    .into_iter()
                    .map(|r| ForwardedRecord {
                        seq: r.seq,
                        body: r.body,
                        signature: r.signature,
                        hash: r.hash,
                    })
                    .collect(),
            };
            let head = self.client.forward(&body).await.map_err(client_error)?;
            sent += last - from;
            log.set_forwarded(&Forwarded {
                server: self.server.clone(),
                installation: self.installation.clone(),
                seq: head.seq,
                hash: head.hash.clone(),
            })
            .map_err(PushError::Audit)?;
            if head.seq < last {
                // The broker stopped short without refusing: do not loop on it.
                return Err(PushError::Refused(format!(
                    "the broker acknowledged only up to record {} of {last}",
                    head.seq
                )));
            }
            from = head.seq;
            known = Some(head);
        }
    }
}

fn client_error(err: ClientError) -> PushError {
    match err {
        _ if err.code() == Some(ErrorCode::ChainBroken) => PushError::Broken(err.to_string()),
        ClientError::Api { .. } => PushError::Refused(err.to_string()),
        other => PushError::Unreachable(other.to_string()),
    }
}

/// Whether records go to the broker after each run under `mode`: always for
/// `background` and `strict` (where a broker is named), and by default only
/// for an enrolled installation.
fn forwards(mode: Forward, home: &Home) -> bool {
    let enrolled = installation::record_path(home).exists();
    let named = std::env::var_os("GATE_SERVER").is_some_and(|v| !v.is_empty());
    match mode {
        Forward::Off => false,
        Forward::Auto => enrolled,
        Forward::Background | Forward::Strict => enrolled || named,
    }
}

/// Start `gate audit push --quiet` on its own and do not wait for it: the
/// command's exit is not held up by the network. It sends this run's records
/// and any backlog; a failure leaves them for the next run.
pub fn push_in_background(mode: Forward, home: &Home) {
    if !forwards(mode, home) {
        return;
    }
    let Ok(gate) = std::env::current_exe() else {
        return;
    };
    let started = std::process::Command::new(gate)
        .args(["audit", "push", "--quiet"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    // A long-lived gate (`gate mcp`) reaps it; a gate about to exit leaves it
    // to init.
    if let Ok(mut child) = started {
        std::thread::spawn(move || child.wait());
    }
}

/// Push now and wait: a strict rule's command starts only once the broker took
/// its decision record. What went wrong otherwise, in one line.
pub fn push_now(home: &Home, log: &AuditLog, key: &VerifyingKey) -> Result<Pushed, String> {
    let target = Target::find(home, None)?.ok_or(
        "no broker to send it to (enroll this machine with `gate enroll`, or set GATE_SERVER)",
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime
        .block_on(target.push(log, key))
        .map_err(|err| err.to_string())
}
