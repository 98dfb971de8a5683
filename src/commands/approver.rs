//! The approver's side: `gate approve`, `gate deny`, `gate pending`, `gate inbox`.

use crate::cli::BrokerArgs;
use crate::error::Error;

pub(super) fn approve(id: &str, reason: Option<String>, broker: &BrokerArgs) -> Result<u8, Error> {
    let _ = (id, reason, broker);
    Err(Error::Internal("gate approve: not implemented yet".into()))
}

pub(super) fn deny(id: &str, reason: String, broker: &BrokerArgs) -> Result<u8, Error> {
    let _ = (id, reason, broker);
    Err(Error::Internal("gate deny: not implemented yet".into()))
}

pub(super) fn pending(json: bool, broker: &BrokerArgs) -> Result<u8, Error> {
    let _ = (json, broker);
    Err(Error::Internal("gate pending: not implemented yet".into()))
}

pub(super) fn inbox(broker: &BrokerArgs) -> Result<u8, Error> {
    let _ = broker;
    Err(Error::Internal("gate inbox: not implemented yet".into()))
}
