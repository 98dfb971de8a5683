//! Every installation's audit trail, at the broker (`POST /v1/audit/records`,
//! `POST /v1/audit/head`). Installations forward their signed records exactly as
//! stored; the broker verifies each one (the signature with the installation's
//! audit key, the hash, and that it extends the chain from the head it holds)
//! before storing it.
//!
//! A record that does not extend the chain (the local log was truncated,
//! rewritten or forked after it was forwarded) is refused, kept as evidence, and
//! the installation is marked `broken` in the broker log and on its head. A
//! record the broker already holds, byte for byte, is acknowledged again.
//!
//! Which audit key is an installation's: for an enrolled installation, the one
//! its first signed push registered; for a broker without enrollment, the key
//! pinned in broker.toml (`[installations.NAME] audit_key`). Files: `store`.

mod store;

pub use store::{Chain, LedgerStore, Refused};

use super::rules::Refusal;
use crate::approval::protocol::{ChainHead, ErrorCode, ForwardBody, ForwardedRecord};
use crate::audit::{GENESIS_PREV_HASH, RecordBody, check_record};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use store::Verified;

/// The running broker's ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    store: Arc<Mutex<LedgerStore>>,
    /// `[installations.NAME] audit_key` from broker.toml: name -> key.
    pinned: Arc<BTreeMap<String, VerifyingKey>>,
    /// The broker's own key: a decision record's approval that verifies with
    /// it names the request the record is about.
    broker_key: VerifyingKey,
}

/// Who is forwarding, as the broker authenticated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A request signed by this enrolled installation.
    Enrolled(String),
    /// Unsigned: only a pinned installation's records are taken, on their own
    /// signatures.
    Unsigned,
}

impl Ledger {
    pub fn open(
        path: &Path,
        pinned: BTreeMap<String, VerifyingKey>,
        broker_key: VerifyingKey,
    ) -> Result<Ledger, String> {
        let store = LedgerStore::open(path).map_err(|e| e.to_string())?;
        Ok(Ledger {
            store: Arc::new(Mutex::new(store)),
            pinned: Arc::new(pinned),
            broker_key,
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut LedgerStore) -> Result<T, Refusal> + Send + 'static,
    ) -> Result<T, Refusal> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&mut store.lock().expect("ledger lock")))
            .await
            .map_err(|e| internal(e.to_string()))?
    }

    /// Take a batch of forwarded records: the head after it, or the refusal.
    pub async fn ingest(
        &self,
        sender: Sender,
        body: ForwardBody,
        now: String,
    ) -> Result<ChainHead, Refusal> {
        let name = match &sender {
            Sender::Enrolled(name) => name.clone(),
            Sender::Unsigned => body.installation.clone(),
        };
        if let Sender::Enrolled(name) = &sender
            && body.installation != *name
        {
            return Err(Refusal::field(
                "installation",
                format!(
                    "the request is signed by installation \"{name}\", not \"{}\"",
                    body.installation
                ),
            ));
        }
        let offered =
            VerifyingKey::from_public_key_pem(body.audit_public_key.trim()).map_err(|_| {
                Refusal::field("audit_public_key", "not an ed25519 public key in SPKI PEM")
            })?;
        let pinned = self.pinned.get(&name).copied();
        if sender == Sender::Unsigned && pinned.is_none() {
            return Err(Refusal::new(
                401,
                ErrorCode::NotEnrolled,
                format!(
                    "installation \"{name}\" is neither enrolled nor pinned in broker.toml \
                     ([installations.{name}] audit_key); sign the push as an enrolled installation"
                ),
            ));
        }
        let keys = Keys {
            pinned,
            offered,
            broker: self.broker_key,
        };
        // Signatures are checked before the store is locked, so pushes from
        // several installations verify on every core at once; a batch signed
        // with another key than the registered one is refused whatever they say.
        let (records, broker) = (body.records, keys.broker);
        let (records, checked) = tokio::task::spawn_blocking(move || {
            let checked = check_all(&records, &offered, &broker);
            (records, checked)
        })
        .await
        .map_err(|e| internal(e.to_string()))?;
        self.with(move |store| ingest_checked(store, &name, &keys, &records, checked, &now))
            .await
    }

    /// The head the broker holds for `name`.
    pub async fn head(&self, name: String) -> Result<ChainHead, Refusal> {
        self.with(move |store| {
            let chain = store.chain(&name).map_err(|e| internal(e.to_string()))?;
            Ok(match chain {
                Some(chain) => head_of(&chain),
                None => ChainHead {
                    installation: name,
                    seq: 0,
                    hash: GENESIS_PREV_HASH.to_string(),
                    status: "ok".into(),
                },
            })
        })
        .await
    }

    /// Every installation's chain, by name.
    pub async fn chains(&self) -> Result<Vec<Chain>, Refusal> {
        self.with(|store| store.chains().map_err(|e| internal(e.to_string())))
            .await
    }

    /// Refused records kept as evidence, newest first.
    pub async fn refused(&self, name: Option<String>) -> Result<Vec<Refused>, Refusal> {
        self.with(move |store| {
            store
                .refused(name.as_deref())
                .map_err(|e| internal(e.to_string()))
        })
        .await
    }
}

fn head_of(chain: &Chain) -> ChainHead {
    ChainHead {
        installation: chain.name.clone(),
        seq: chain.head_seq,
        hash: chain.head_hash.clone(),
        status: chain.status.clone(),
    }
}

fn internal(detail: String) -> Refusal {
    eprintln!("gate serve: ledger: {detail}");
    Refusal::new(
        500,
        ErrorCode::Internal,
        "the broker failed to store the records",
    )
}

/// The keys a batch is checked with.
struct Keys {
    /// broker.toml's key for the installation, if pinned.
    pinned: Option<VerifyingKey>,
    /// The key the push says its records are signed with.
    offered: VerifyingKey,
    /// The broker's own.
    broker: VerifyingKey,
}

/// The request a decision record's broker approval names, if it verifies with
/// the broker's key.
fn request_of(body: &crate::audit::RecordBody, broker: &VerifyingKey) -> Option<String> {
    let compact = body.entry.broker_signature.as_deref()?;
    let signed = crate::approval::SignedDecision::from_compact(compact)?;
    signed.verify(broker).ok().map(|payload| payload.request_id)
}

/// Each record checked on its own (its signature with `key`, its hash, its
/// body), with the request its broker approval names: in order, up to and
/// including the first record that fails.
type Checked = Vec<Result<(RecordBody, Option<String>), String>>;

fn check_all(records: &[ForwardedRecord], key: &VerifyingKey, broker: &VerifyingKey) -> Checked {
    let mut checked = Vec::with_capacity(records.len());
    for record in records {
        let result = check_record(
            record.seq,
            &record.body,
            &record.signature,
            &record.hash,
            key,
        )
        .map(|body| {
            let request = request_of(&body, broker);
            (body, request)
        })
        .map_err(|why| format!("record {}: {why}", record.seq));
        let failed = result.is_err();
        checked.push(result);
        if failed {
            break;
        }
    }
    checked
}

/// Check `records` in order against `name`'s chain and store what extends it.
/// Stops at the first record that does not: that one is kept as evidence and
/// refused (409 `chain_broken`); those before it are stored.
#[cfg(test)]
fn ingest(
    store: &mut LedgerStore,
    name: &str,
    keys: &Keys,
    records: &[ForwardedRecord],
    now: &str,
) -> Result<ChainHead, Refusal> {
    let checked = check_all(records, &keys.offered, &keys.broker);
    ingest_checked(store, name, keys, records, checked, now)
}

/// Store what extends `name`'s chain, as `ingest` does, with `records` already
/// checked by [`check_all`] with the key the push offered: their checks count
/// only when that is the key registered for `name`.
fn ingest_checked(
    store: &mut LedgerStore,
    name: &str,
    keys: &Keys,
    records: &[ForwardedRecord],
    checked: Checked,
    now: &str,
) -> Result<ChainHead, Refusal> {
    let pinned = keys.pinned;
    let offered_hex = hex::encode(keys.offered.as_bytes());
    let fail = |e: store::StoreError| internal(e.to_string());
    let chain = match store.chain(name).map_err(fail)? {
        Some(chain) => chain,
        None => {
            let key = pinned.map_or(offered_hex.clone(), |k| hex::encode(k.as_bytes()));
            eprintln!(
                "gate serve: ledger: installation {name} forwards its audit log (audit key {}…)",
                &key[..16]
            );
            store.register(name, &key, now).map_err(fail)?
        }
    };
    let mut key_bytes = [0u8; 32];
    hex::decode_to_slice(&chain.audit_key, &mut key_bytes)
        .ok()
        .and_then(|()| VerifyingKey::from_bytes(&key_bytes).ok())
        .ok_or_else(|| internal(format!("installation {name}: stored audit key is damaged")))?;
    let (mut seq, mut hash) = (chain.head_seq, chain.head_hash.clone());
    let mut parsed = Vec::with_capacity(records.len());
    let mut refusal: Option<(usize, String)> = None;
    if offered_hex != chain.audit_key {
        refusal = Some((
            0,
            format!(
                "the records are signed with audit key {}…, not the key registered for \
                 installation {name} ({}…)",
                &offered_hex[..16],
                &chain.audit_key[..16]
            ),
        ));
    }
    for ((at, record), checked) in records.iter().enumerate().zip(checked) {
        if refusal.is_some() {
            break;
        }
        let (body, request_id) = match checked {
            Ok(checked) => checked,
            Err(why) => {
                refusal = Some((at, why));
                break;
            }
        };
        if record.seq <= seq {
            // Held already: the same bytes are acknowledged again; anything else
            // is a rewrite of what was forwarded.
            let held = store.hash_at(name, record.seq).map_err(fail)?;
            if held.as_deref() == Some(record.hash.as_str()) {
                continue;
            }
            refusal = Some((
                at,
                format!(
                    "record {} differs from the record {} the broker holds (hash {}…): the local \
                     log was rewritten, truncated or forked after it was forwarded",
                    record.seq,
                    record.seq,
                    held.as_deref().map_or("?", |h| &h[..16.min(h.len())])
                ),
            ));
            break;
        }
        if record.seq != seq + 1 || body.prev_hash != hash {
            let why = if record.seq != seq + 1 {
                format!(
                    "record {} does not follow record {seq}, the newest the broker holds",
                    record.seq
                )
            } else {
                format!(
                    "record {} does not link to record {seq} the broker holds (prev_hash {}…)",
                    record.seq,
                    &body.prev_hash[..16.min(body.prev_hash.len())]
                )
            };
            refusal = Some((at, why));
            break;
        }
        seq = record.seq;
        hash = record.hash.clone();
        parsed.push((record, body, request_id));
    }
    let verified: Vec<Verified<'_>> = parsed
        .iter()
        .map(|(record, body, request_id)| Verified {
            seq: record.seq,
            time: &body.time,
            kind: body.entry.kind.as_str(),
            user: &body.entry.requester.user,
            decision: body.entry.decision.as_str(),
            body: &record.body,
            signature: &record.signature,
            hash: &record.hash,
            request_id: request_id.clone(),
            decision_seq: body.entry.decision_seq,
        })
        .collect();
    let evidence = refusal.as_ref().map(|(at, reason)| {
        let record = records.get(*at);
        Refused {
            installation: name.to_string(),
            seq: record.map_or(0, |r| r.seq),
            body: record.map(|r| r.body.clone()).unwrap_or_default(),
            signature: record.map(|r| r.signature.clone()).unwrap_or_default(),
            hash: record.map(|r| r.hash.clone()).unwrap_or_default(),
            reason: reason.clone(),
            received_at: now.to_string(),
        }
    });
    store
        .commit(name, &verified, evidence.as_ref(), now)
        .map_err(fail)?;
    match refusal {
        None => Ok(ChainHead {
            installation: name.to_string(),
            seq,
            hash,
            status: chain.status,
        }),
        Some((_, reason)) => {
            eprintln!(
                "gate serve: ledger: refused a record from installation {name}, kept as \
                 evidence; its chain is marked broken: {reason}"
            );
            let mut refusal = Refusal::new(
                409,
                ErrorCode::ChainBroken,
                format!("installation {name}: {reason}"),
            );
            refusal.field = Some("records".into());
            Err(refusal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditLog, Entry};
    use crate::identity::Requester;
    use ed25519_dalek::SigningKey;

    fn log_with(dir: &Path, key: &SigningKey, n: usize) -> Vec<ForwardedRecord> {
        let mut log = AuditLog::open(&dir.join("audit.db")).unwrap();
        let requester = Requester {
            user: "carol".into(),
            host: "build-7".into(),
            ci: None,
            agent: None,
        };
        for _ in 0..n {
            let entry = Entry::draft(
                requester.clone(),
                vec!["true".into()],
                "ab".repeat(32),
                "/".into(),
                Vec::new(),
            );
            log.append(&entry, key, false).unwrap();
        }
        log.raw_after(0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| ForwardedRecord {
                seq: r.seq,
                body: r.body,
                signature: r.signature,
                hash: r.hash,
            })
            .collect()
    }

    fn keys(key: &SigningKey) -> Keys {
        Keys {
            pinned: None,
            offered: key.verifying_key(),
            broker: SigningKey::from_bytes(&[9; 32]).verifying_key(),
        }
    }

    #[test]
    fn records_that_extend_the_chain_are_kept_and_resending_them_is_harmless() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[1; 32]);
        let records = log_with(dir.path(), &key, 3);
        let mut store = LedgerStore::open(&dir.path().join("broker.db")).unwrap();
        let head = ingest(&mut store, "a", &keys(&key), &records[..2], "t").unwrap();
        assert_eq!(
            (head.seq, head.hash.as_str()),
            (2, records[1].hash.as_str())
        );
        let head = ingest(&mut store, "a", &keys(&key), &records, "t").unwrap();
        assert_eq!(head.seq, 3);
        assert_eq!(store.count("a").unwrap(), 3);
        assert!(store.refused(None).unwrap().is_empty());
    }

    #[test]
    fn a_forged_edited_or_out_of_order_record_is_refused_and_kept_as_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[1; 32]);
        let records = log_with(dir.path(), &key, 3);
        let mut store = LedgerStore::open(&dir.path().join("broker.db")).unwrap();
        let refuse = |store: &mut LedgerStore, batch: &[ForwardedRecord]| {
            ingest(store, "a", &keys(&key), batch, "t")
                .unwrap_err()
                .message
        };
        let mut edited = records[0].clone();
        edited.body = edited.body.replace("carol", "mallory");
        assert!(refuse(&mut store, &[edited]).contains("signature does not verify"));
        // A gap: record 2 before record 1.
        assert!(refuse(&mut store, &records[1..2]).contains("does not follow record 0"));
        // Another key, however well formed its records.
        let other = SigningKey::from_bytes(&[2; 32]);
        let theirs = log_with(&dir.path().join("x"), &other, 1);
        let message = ingest(&mut store, "a", &keys(&other), &theirs, "t")
            .unwrap_err()
            .message;
        assert!(message.contains("not the key registered"), "{message}");
        let chain = store.chain("a").unwrap().unwrap();
        assert_eq!((chain.head_seq, chain.status.as_str()), (0, "broken"));
        assert_eq!(store.refused(Some("a")).unwrap().len(), 3);
        assert_eq!(store.count("a").unwrap(), 0);
    }
}
