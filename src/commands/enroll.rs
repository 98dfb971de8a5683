//! `gate enroll CODE`: make this machine an enrolled installation of its broker.
//! Creates the installation key (`$GATE_HOME/installation.key`, 0600, with
//! `crate::keys` like the audit key), registers its public key with the code,
//! and records the name the broker gave it (`installation.toml`). From then on
//! the requester pipeline signs every request, claim and cancel with it.
//!
//! A new key only replaces the old one once the broker has accepted it, so a
//! refused code leaves an earlier enrollment working.

use crate::approval::BrokerClient;
use crate::approval::installation::{self, InstallationRecord};
use crate::approval::protocol::EnrollBody;
use crate::error::{Error, exit};
use crate::paths::Home;
use std::path::{Path, PathBuf};

/// `gate enroll [--server URL] CODE`.
pub(super) fn enroll(
    code: &str,
    server: Option<String>,
    policy: Option<&Path>,
    home: &Home,
) -> Result<u8, Error> {
    let url = broker_url(server, policy, home)?;
    let key_path = installation::key_path(home);
    let before = installation::read_record(&installation::record_path(home))
        .ok()
        .flatten();
    let pending = PathBuf::from(format!("{}.new", key_path.display()));
    // A leftover from an enrollment that failed was never registered anywhere.
    let _ = std::fs::remove_file(&pending);
    let key = crate::keys::load_or_create(&pending).map_err(|err| refused(err.to_string()))?;
    let body = EnrollBody {
        code: code.trim().to_string(),
        public_key: crate::keys::public_key_pem(&key.verifying_key()),
    };
    let enrolled = register(&url, &body);
    let (enrolled, answered) = match enrolled {
        Ok(enrolled) => enrolled,
        Err(err) => {
            let _ = std::fs::remove_file(&pending);
            return Err(err);
        }
    };
    std::fs::rename(&pending, &key_path)
        .map_err(|err| refused(format!("{}: {err}", key_path.display())))?;
    let record = InstallationRecord {
        name: enrolled.name.clone(),
        server: url.clone(),
        enrolled_at: enrolled.enrolled_at,
    };
    installation::write_record(home, &record).map_err(|err| refused(err.to_string()))?;
    eprintln!(
        "gate: enrolled this machine as \"{}\" with the broker at {answered}; requests are \
         signed with {}",
        enrolled.name,
        key_path.display()
    );
    if let Some(before) = before {
        eprintln!(
            "gate: this replaced the key of the earlier enrollment as \"{}\"; the old key no \
             longer exists here",
            before.name
        );
    }
    Ok(exit::OK)
}

/// Enroll at the first of the brokers `url` names that answers; what it
/// answered, and its URL. The record keeps every URL named, so later pushes
/// fail over between them too.
fn register(
    url: &str,
    body: &EnrollBody,
) -> Result<(crate::approval::protocol::Enrolled, String), Error> {
    let client = BrokerClient::new(url).map_err(|err| refused(err.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let enrolled = runtime
        .block_on(client.enroll(body))
        .map_err(|err| refused(format!("enroll: {err}")))?;
    Ok((enrolled, client.base().to_string()))
}

/// `--server`, else `GATE_SERVER`, else the policy's `[channels.api] url`: the
/// broker a request from this machine goes to (one URL, or several replicas'
/// separated by commas).
fn broker_url(server: Option<String>, policy: Option<&Path>, home: &Home) -> Result<String, Error> {
    let given = server
        .or_else(|| std::env::var("GATE_SERVER").ok())
        .filter(|url| !url.trim().is_empty());
    if let Some(url) = given {
        return Ok(url.trim().to_string());
    }
    let loaded = crate::guard::load(policy, home, super::stderr_color(), &[])?;
    loaded
        .policy
        .channels
        .api
        .as_ref()
        .map(|api| api.url.join(","))
        .filter(|urls| !urls.is_empty())
        .ok_or_else(|| {
            refused(
                "enroll: no broker to enroll with; pass --server URL (or set GATE_SERVER, or \
                 [channels.api] url in the policy)"
                    .into(),
            )
        })
}

fn refused(message: String) -> Error {
    Error::Refused {
        message,
        code: exit::BROKER_REFUSED,
    }
}
