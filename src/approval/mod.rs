//! Approval: asking a person through the broker and checking what comes back.
//!
//! Owns: the broker's HTTP API types (`protocol`), the broker's signed decision and
//! its verification (`decision`), the HTTP client every gate-side command uses to
//! talk to a broker (`client`), the list of a broker's replicas it fails over between
//! (`brokers`), finding the broker and its pinned key (`channel`),
//! this machine's enrolled installation and how it signs requests
//! (`installation`, `signature`), the requester's ask-and-wait flow (`request`) and what it shows while waiting
//! (`status`), and the short descriptions of a request both sides show
//! (`summary`), and the CI job's OIDC ID token sent with a request (`id_token`). The broker itself, with its channels (Slack, Teams, the web
//! page), lives in `crate::server`.

pub mod brokers;
pub mod channel;
pub mod client;
pub mod decision;
pub mod id_token;
pub mod installation;
pub mod protocol;
pub mod request;
pub mod signature;
pub mod signed_policy;
pub mod status;
pub mod summary;
pub mod ticket;

pub use brokers::{BadBrokerUrl, Brokers};
pub use channel::{Channel, ChannelConfig, ChannelError};
pub use client::{BrokerClient, ClientError};
pub use decision::{DECISION_VERSION, DecidedBy, DecisionError, DecisionPayload, SignedDecision};
pub use request::{
    Answer, AskError, AskOptions, CANCELLED_BY_CLIENT, RequesterToken, ask, ask_until_cancelled,
    ask_with, redeem,
};
pub use status::StatusDisplay;
