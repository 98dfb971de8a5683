//! What the tests in this binary share: the test context and process helpers, the
//! real and fake brokers, the fake Teams webhook and Slack Web API, a local OIDC issuer, a real OpenID provider (single sign-on), a throwaway PostgreSQL server, the web
//! page client, a gate run
//! waiting in the background, and the scenario fixtures (policies, broker configs,
//! requests).

pub mod broker_support;
pub mod common;
pub mod fake_broker;
pub mod fake_slack;
pub mod fake_teams;
pub mod fixtures;
pub mod oidc_issuer;
pub mod postgres;
pub mod sso_provider;
pub mod waiting;
pub mod web_support;
