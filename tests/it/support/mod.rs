//! What the tests in this binary share: the test context and process helpers, the
//! real and fake brokers, the fake Teams webhook, the web page client, and a gate
//! run waiting in the background.

pub mod broker_support;
pub mod common;
pub mod fake_broker;
pub mod fake_teams;
pub mod waiting;
pub mod web_support;
