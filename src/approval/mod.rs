//! Approval: asking a person through the broker and checking what comes back.
//!
//! Owns: the broker's HTTP API types (`protocol`), the broker's signed decision and
//! its verification (`decision`), and the HTTP client every gate-side command uses
//! to talk to a broker (`client`). The broker itself lives in `crate::server`.

pub mod client;
pub mod decision;
pub mod protocol;
pub mod summary;

pub use client::{BrokerClient, ClientError};
pub use decision::{DecidedBy, DecisionError, DecisionPayload, SignedDecision};
