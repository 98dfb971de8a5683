//! The approval broker, `gate serve`: an axum HTTP server on tokio with its own
//! SQLite store and signing key. Owns request state, the approval rules (who may
//! decide, quorum, self-approval, expiry) and the signed decisions.
//!
//! Files: `config` (broker.toml, with its `[channels.slack]` and
//! `[channels.teams]`), `rules` (pure approval rules), `store` (SQLite), `state`
//! (changes, long-poll wake-ups, expiry), `live` (requests in memory), `api` (HTTP
//! routes), `input` (decoding bodies, queries and tokens), `token` (ids and
//! secrets), `events` (the log on stderr), `slack` (Block Kit messages and their
//! callbacks), `teams` (cards posted to a Teams channel), `web` (the approval page
//! at /r/<id>), `sso` (signing in to it with OpenID Connect), `enrollment` (installations, their codes and request signatures). The command line, `gate serve`, is `crate::commands`.

mod api;
pub mod config;
pub mod enrollment;
mod events;
mod input;
pub mod insights;
pub mod ledger;
mod live;
pub mod log;
pub mod metrics;
pub mod oidc;
pub mod rules;
pub mod slack;
pub mod sso;
pub mod state;
mod store;
pub mod teams;
mod token;
mod web;

pub use config::BrokerConfig;
pub use input::BODY_LIMIT;

use crate::error::Error;
use crate::paths::Home;
use ed25519_dalek::SigningKey;
use state::Broker;
use std::path::PathBuf;
use std::sync::Arc;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

fn broker_dir(home: &Home) -> PathBuf {
    home.data.join("broker")
}

/// The broker's signing key under `home`, created on first use.
pub fn broker_key(home: &Home) -> Result<SigningKey, Error> {
    let path = broker_dir(home).join("broker-key.pem");
    crate::keys::load_or_create(&path).map_err(Error::BrokerKey)
}

fn open_store(home: &Home) -> Result<Store, Error> {
    Store::open(&store_path(home)).map_err(|e| Error::Internal(e.to_string()))
}

/// A new approver token for person `name`; only its SHA-256 is stored.
pub fn create_token(name: &str, config: &BrokerConfig, home: &Home) -> Result<String, Error> {
    let store = open_store(home)?;
    // A published version of the organisation policy may name people the file
    // does not; they are people of this broker too.
    let published = store
        .active_policy()
        .map_err(|e| Error::Internal(e.to_string()))?
        .and_then(|active| config::OrgPolicy::parse(&active.text, "the published policy").ok())
        .and_then(|org| config.with_policy(&org).ok());
    let config = published.as_ref().unwrap_or(config);
    if !config.people.contains_key(name) {
        let known: Vec<&str> = config.people.keys().map(String::as_str).collect();
        let known = if known.is_empty() {
            "the config has no people".to_string()
        } else {
            format!("people in the config: {}", known.join(", "))
        };
        return Err(Error::Refused {
            message: format!(
                "serve token create: \"{name}\" is not a person in the broker config ({known}); add [people.{name}] to broker.toml or the organisation policy first"
            ),
            code: crate::error::exit::USAGE,
        });
    }
    let secret = token::new_token().map_err(Error::Internal)?;
    let created = rules::rfc3339(std::time::SystemTime::now());
    store
        .add_token(name, &hex::encode(token::hash(&secret)), &created)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(secret)
}

/// Every approver token in the store (never the secrets).
pub fn tokens(home: &Home) -> Result<Vec<store::TokenInfo>, Error> {
    open_store(home)?
        .tokens()
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Revoke every token of `person`; how many were in force.
pub fn revoke_tokens(person: &str, home: &Home) -> Result<usize, Error> {
    let at = rules::rfc3339(std::time::SystemTime::now());
    open_store(home)?
        .revoke_tokens(person, &at)
        .map_err(|e| Error::Internal(e.to_string()))
}

/// A one-time enrollment code for installation `name`, good for `lifetime`;
/// only its SHA-256 is stored.
pub fn create_enrollment_code(
    name: &str,
    lifetime: std::time::Duration,
    home: &Home,
) -> Result<String, Error> {
    enrollment::create_code(&store_path(home), name, lifetime).map_err(|message| Error::Refused {
        message: format!("serve enroll: {message}"),
        code: crate::error::exit::USAGE,
    })
}

/// Every enrolled installation.
pub fn installations(home: &Home) -> Result<Vec<enrollment::InstallationRow>, Error> {
    enrollment::list(&store_path(home)).map_err(Error::Internal)
}

/// Revoke installation `name` at once (the running broker reads the store on
/// every request).
pub fn revoke_installation(name: &str, home: &Home) -> Result<(), Error> {
    match enrollment::revoke(&store_path(home), name).map_err(Error::Internal)? {
        true => Ok(()),
        false => Err(Error::Refused {
            message: format!(
                "serve enroll revoke: no installation \"{name}\" is enrolled \
                 (`gate serve enroll list` shows them)"
            ),
            code: crate::error::exit::USAGE,
        }),
    }
}

fn store_path(home: &Home) -> PathBuf {
    broker_dir(home).join("broker.db")
}

/// Serve the API on an already-bound `listener` (port 0 in tests) with the key
/// and store under `home`, until `stop` completes. Prints the listening line once
/// connections are accepted.
pub async fn serve(
    listener: TcpListener,
    config: BrokerConfig,
    home: &Home,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let key = broker_key(home)?;
    let store = open_store(home)?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("listening socket: {e}")))?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    if config.people.is_empty() {
        // Requests would wait for approvers the broker does not know.
        crate::serve_log!(
            "gate serve: no people are configured, so nobody can approve a request; \
             add [people.NAME] to broker.toml (--config, see docs/broker.md) and give each \
             a token with `gate serve token create NAME`"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let slack = config.channels.slack.clone();
    let sso = match &config.sso {
        Some(sso) => Some(
            sso::Sso::new(sso, &public_url, |name| std::env::var(name).ok()).map_err(
                |message| Error::Refused {
                    message: format!("serve: {message}"),
                    code: crate::error::exit::USAGE,
                },
            )?,
        ),
        None => None,
    };
    let broker =
        Broker::new(config, key, public_url, store, stop_rx.clone()).map_err(Error::Internal)?;
    let broker = Arc::new(broker);
    let teams = teams::start(&broker).map_err(|message| Error::Refused {
        message: format!("serve: {message}"),
        code: crate::error::exit::USAGE,
    })?;
    let mut routes = api::router(broker.clone()).merge(web::router(broker.clone(), sso));
    if let Some(slack) = &slack {
        let start = crate::server::slack::start(slack, broker.clone(), stop_rx);
        routes = routes.merge(start.map_err(|message| Error::Refused {
            message,
            code: crate::error::exit::USAGE,
        })?);
    }
    let sweeper = tokio::spawn(broker.clone().sweep_expired());
    crate::serve_log!("gate serve: listening on http://{address}");
    let shutdown = async move {
        stop.await;
        crate::serve_log!("gate serve: shutting down");
        // Long-polls return their current view at once.
        let _ = stop_tx.send(true);
    };
    let served = axum::serve(listener, routes)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    if let Some(teams) = teams {
        teams.abort();
    }
    served.map_err(|e| Error::Internal(format!("serve: {e}")))
}

#[cfg(test)]
mod tests;
