//! `gate audit push` and `gate audit verify --broker`: this machine's audit log
//! and the copy the broker keeps of it.

use crate::audit::AuditLog;
use crate::error::{Error, exit};
use crate::guard::forward::{PushError, Target};
use crate::paths::Home;

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}

fn target(server: Option<&str>, home: &Home) -> Result<Target, Error> {
    Target::find(home, server)
        .map_err(|message| Error::Refused {
            message: format!("audit push: {message}"),
            code: exit::BROKER_REFUSED,
        })?
        .ok_or_else(|| Error::Refused {
            message: "audit push: no broker to send the audit log to; enroll this machine \
                      (`gate enroll`), or pass --server URL (or set GATE_SERVER)"
                .into(),
            code: exit::USAGE,
        })
}

fn push_error(err: PushError) -> Error {
    match err {
        PushError::Unreachable(detail) => Error::Refused {
            message: format!(
                "audit push: {detail}; the records stay here and the next push sends them"
            ),
            code: exit::NEEDS_APPROVAL,
        },
        PushError::Broken(detail) => Error::Refused {
            message: format!(
                "audit push: the broker refused the log: {detail}; it keeps what it was sent \
                 before, and this log no longer agrees with it"
            ),
            code: exit::VERIFY_FAILED,
        },
        PushError::Refused(detail) => Error::Refused {
            message: format!("audit push: {detail}"),
            code: exit::BROKER_REFUSED,
        },
        PushError::Audit(source) => Error::Audit {
            source,
            nothing_ran: false,
        },
    }
}

fn open(home: &Home) -> Result<(AuditLog, ed25519_dalek::VerifyingKey), Error> {
    let audit = |source| Error::Audit {
        source,
        nothing_ran: false,
    };
    let key = crate::keys::load_signing_key(&home.key_file())
        .map_err(|e| audit(e.into()))?
        .verifying_key();
    let log = AuditLog::open(&home.log_file()).map_err(audit)?;
    Ok((log, key))
}

/// `gate audit push`.
pub(super) fn push(server: Option<&str>, quiet: bool, home: &Home) -> Result<u8, Error> {
    let target = target(server, home)?;
    let (log, key) = open(home)?;
    let pushed = runtime()?
        .block_on(target.push(&log, &key))
        .map_err(push_error)?;
    if !quiet {
        println!(
            "sent {} record(s) to {} as installation {}; the broker holds records 1 to {} ({})",
            pushed.sent,
            target.answered_by(),
            target.installation,
            pushed.head.seq,
            pushed.head.hash
        );
    }
    Ok(exit::OK)
}

/// `gate audit verify --broker`: the newest record the broker holds must be in
/// this log, unchanged.
pub(super) fn verify_with_broker(server: Option<&str>, home: &Home) -> Result<u8, Error> {
    let target = target(server, home)?;
    let (log, _) = open(home)?;
    let head = runtime()?.block_on(target.head()).map_err(push_error)?;
    let broken = |message: String| Error::Refused {
        message,
        code: exit::VERIFY_FAILED,
    };
    if head.status != "ok" {
        return Err(broken(format!(
            "the broker marked installation {}'s forwarded log broken: a record that did not \
             extend it arrived; see the broker's log",
            target.installation
        )));
    }
    if head.seq == 0 {
        println!(
            "broker: holds no records of installation {} yet (`gate audit push` sends them)",
            target.installation
        );
        return Ok(exit::OK);
    }
    let local_head = log
        .head()
        .map_err(|source| Error::Audit {
            source,
            nothing_ran: false,
        })?
        .map_or(0, |(seq, _)| seq);
    match log.hash_at(head.seq).map_err(|source| Error::Audit {
        source,
        nothing_ran: false,
    })? {
        Some(hash) if hash == head.hash => {
            println!(
                "broker: its newest record of installation {} (record {}) is in this log, \
                 unchanged; {} record(s) here are not forwarded yet",
                target.installation,
                head.seq,
                local_head.saturating_sub(head.seq)
            );
            Ok(exit::OK)
        }
        Some(hash) => Err(broken(format!(
            "record {} differs from the broker's copy (here {}…, broker {}…): this log was \
             rewritten after it was forwarded",
            head.seq,
            &hash[..16.min(hash.len())],
            &head.hash[..16.min(head.hash.len())]
        ))),
        None => Err(broken(format!(
            "this log ends at record {local_head} but the broker holds records up to {}: \
             the newest records were removed after they were forwarded",
            head.seq
        ))),
    }
}
