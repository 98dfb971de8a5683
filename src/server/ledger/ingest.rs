//! Checking a forwarded batch against an installation's chain and storing what
//! extends it: the broker's side of docs/audit-format.md#forwarding-to-the-broker.

use super::internal;
use super::store::{self, Chain, LedgerStore, Refused, Verified};
use crate::approval::protocol::{ChainHead, ErrorCode, ForwardedRecord};
use crate::audit::{RecordBody, check_record};
use crate::server::rules::Refusal;
use ed25519_dalek::VerifyingKey;
use std::collections::BTreeMap;

/// The keys a batch is checked with.
pub(super) struct Keys {
    /// broker.toml's key for the installation, if pinned.
    pub pinned: Option<VerifyingKey>,
    /// The key the push says its records are signed with.
    pub offered: VerifyingKey,
    /// The broker's own.
    pub broker: VerifyingKey,
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
pub(super) type Checked = Vec<Result<(RecordBody, Option<String>), String>>;

pub(super) fn check_all(
    records: &[ForwardedRecord],
    key: &VerifyingKey,
    broker: &VerifyingKey,
) -> Checked {
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
pub(super) fn ingest_checked(
    store: &mut LedgerStore,
    name: &str,
    keys: &Keys,
    records: &[ForwardedRecord],
    checked: Checked,
    now: &str,
) -> Result<ChainHead, Refusal> {
    let fail = |e: store::StoreError| internal(e.to_string());
    let chain = match store.chain(name).map_err(fail)? {
        Some(chain) => chain,
        None => {
            let key = registered_key(keys);
            log_registered(name, &key);
            store.register(name, &key, now).map_err(fail)?
        }
    };
    let mut held = BTreeMap::new();
    for seq in held_seqs(&chain, records) {
        if let Some(hash) = store.hash_at(name, seq).map_err(fail)? {
            held.insert(seq, hash);
        }
    }
    let judgement = judge(&chain, keys, records, checked, &held)?;
    store
        .commit(
            name,
            &judgement.verified(records),
            judgement.evidence(name, records, now).as_ref(),
            now,
        )
        .map_err(fail)?;
    judgement.outcome(name, chain.status)
}

/// The audit key a new installation's chain is registered with: the one
/// pinned in broker.toml, else the one its first push offers.
pub(super) fn registered_key(keys: &Keys) -> String {
    keys.pinned
        .map_or(hex::encode(keys.offered.as_bytes()), |k| {
            hex::encode(k.as_bytes())
        })
}

pub(super) fn log_registered(name: &str, key: &str) {
    crate::serve_log!(
        "gate serve: ledger: installation {name} forwards its audit log (audit key {}…)",
        &key[..16]
    );
}

/// The records of the batch at or before the chain's head: the broker's hashes
/// of those are what [`judge`] compares them with.
pub(super) fn held_seqs(chain: &Chain, records: &[ForwardedRecord]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r.seq)
        .filter(|&seq| seq <= chain.head_seq)
        .collect()
}

/// What a batch does to a chain: the records that extend it and the head
/// after them, and the first record refused with why. Decided from the chain
/// and the hashes `held` of its records at [`held_seqs`], so every store
/// judges alike.
pub(super) struct Judgement {
    /// (index in the batch, body, request) of each record that extends the chain.
    extends: Vec<(usize, RecordBody, Option<String>)>,
    seq: u64,
    hash: String,
    refusal: Option<(usize, String)>,
}

pub(super) fn judge(
    chain: &Chain,
    keys: &Keys,
    records: &[ForwardedRecord],
    checked: Checked,
    held: &BTreeMap<u64, String>,
) -> Result<Judgement, Refusal> {
    let name = &chain.name;
    let offered_hex = hex::encode(keys.offered.as_bytes());
    let mut key_bytes = [0u8; 32];
    hex::decode_to_slice(&chain.audit_key, &mut key_bytes)
        .ok()
        .and_then(|()| VerifyingKey::from_bytes(&key_bytes).ok())
        .ok_or_else(|| internal(format!("installation {name}: stored audit key is damaged")))?;
    let (mut seq, mut hash) = (chain.head_seq, chain.head_hash.clone());
    let mut extends = Vec::with_capacity(records.len());
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
            let held = held.get(&record.seq);
            if held == Some(&record.hash) {
                continue;
            }
            refusal = Some((
                at,
                format!(
                    "record {} differs from the record {} the broker holds (hash {}…): the local \
                     log was rewritten, truncated or forked after it was forwarded",
                    record.seq,
                    record.seq,
                    held.map_or("?", |h| &h[..16.min(h.len())])
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
        extends.push((at, body, request_id));
    }
    Ok(Judgement {
        extends,
        seq,
        hash,
        refusal,
    })
}

impl Judgement {
    /// The records to store, in order.
    pub(super) fn verified<'a>(&'a self, records: &'a [ForwardedRecord]) -> Vec<Verified<'a>> {
        self.extends
            .iter()
            .map(|(at, body, request_id)| {
                let record = &records[*at];
                Verified {
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
                }
            })
            .collect()
    }

    /// The refused record, to keep as evidence.
    pub(super) fn evidence(
        &self,
        name: &str,
        records: &[ForwardedRecord],
        now: &str,
    ) -> Option<Refused> {
        self.refusal.as_ref().map(|(at, reason)| {
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
        })
    }

    /// The answer, once stored: the head after the batch, or the refusal.
    /// `status`: the chain's, as it was before the batch.
    pub(super) fn outcome(self, name: &str, status: String) -> Result<ChainHead, Refusal> {
        match self.refusal {
            None => Ok(ChainHead {
                installation: name.to_string(),
                seq: self.seq,
                hash: self.hash,
                status,
            }),
            Some((_, reason)) => {
                crate::serve_log!(
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
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::audit::{AuditLog, Entry};
    use crate::identity::Requester;
    use ed25519_dalek::SigningKey;
    use std::path::Path;

    pub(in crate::server::ledger) fn log_with(
        dir: &Path,
        key: &SigningKey,
        n: usize,
    ) -> Vec<ForwardedRecord> {
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

    pub(in crate::server::ledger) fn keys(key: &SigningKey) -> Keys {
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
