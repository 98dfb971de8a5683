//! The approval broker, `gate serve`: an axum HTTP server on tokio with its own
//! SQLite store and signing key. Owns request state, the approval rules (who may
//! decide, quorum, self-approval, expiry) and the signed decisions.
//!
//! Files: `config` (broker.toml, with its `[channels.slack]` and
//! `[channels.teams]`), `rules` (pure approval rules), `store` (SQLite or
//! PostgreSQL), `state`
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
pub mod store;
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

/// The store `[store]` names, else the SQLite file under `home`.
async fn open_store(config: &BrokerConfig, home: &Home) -> Result<Store, Error> {
    Store::open(config.store.as_ref(), &store_path(home))
        .await
        .map_err(|e| Error::Refused {
            message: format!("serve: {e}"),
            code: crate::error::exit::BROKER_STORE,
        })
}

/// Run `work` on the store, from a command outside the running broker.
fn with_store<T>(
    config: &BrokerConfig,
    home: &Home,
    work: impl AsyncFnOnce(&Store) -> Result<T, Error>,
) -> Result<T, Error> {
    let job = async {
        let store = open_store(config, home).await?;
        work(&store).await
    };
    // Called from async code (tests), run on its runtime.
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        return tokio::task::block_in_place(|| handle.block_on(job));
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("async runtime: {e}")))?
        .block_on(job)
}

fn store_failed(err: store::StoreError) -> Error {
    Error::Refused {
        message: format!("serve: {err}"),
        code: crate::error::exit::BROKER_STORE,
    }
}

/// A new approver token for person `name`; only its SHA-256 is stored.
pub fn create_token(name: &str, config: &BrokerConfig, home: &Home) -> Result<String, Error> {
    with_store(config, home, async |store| {
        // A published version of the organisation policy may name people the
        // file does not; they are people of this broker too.
        let published = store
            .active_policy()
            .await
            .map_err(store_failed)?
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
            .await
            .map_err(store_failed)?;
        Ok(secret)
    })
}

/// Every approver token in the store (never the secrets).
pub fn tokens(config: &BrokerConfig, home: &Home) -> Result<Vec<store::TokenInfo>, Error> {
    with_store(config, home, async |store| {
        store.tokens().await.map_err(store_failed)
    })
}

/// Revoke every token of `person`; how many were in force.
pub fn revoke_tokens(person: &str, config: &BrokerConfig, home: &Home) -> Result<usize, Error> {
    let at = rules::rfc3339(std::time::SystemTime::now());
    with_store(config, home, async |store| {
        store.revoke_tokens(person, &at).await.map_err(store_failed)
    })
}

/// A one-time enrollment code for installation `name`, good for `lifetime`;
/// only its SHA-256 is stored.
pub fn create_enrollment_code(
    name: &str,
    lifetime: std::time::Duration,
    config: &BrokerConfig,
    home: &Home,
) -> Result<String, Error> {
    with_store(config, home, async |store| {
        let enrollments = open_enrollments(store)?;
        enrollments
            .create_code(name, lifetime)
            .await
            .map_err(|e| match e {
                enrollment::CodeError::Name(message) => Error::Refused {
                    message: format!("serve enroll: {message}"),
                    code: crate::error::exit::USAGE,
                },
                enrollment::CodeError::Store(message) => enrollment_failed(message),
            })
    })
}

/// Every enrolled installation.
pub fn installations(
    config: &BrokerConfig,
    home: &Home,
) -> Result<Vec<enrollment::InstallationRow>, Error> {
    with_store(config, home, async |store| {
        open_enrollments(store)?
            .installations()
            .await
            .map_err(enrollment_failed)
    })
}

/// Revoke installation `name` at once (every running broker reads the store
/// on every request).
pub fn revoke_installation(name: &str, config: &BrokerConfig, home: &Home) -> Result<(), Error> {
    let revoked = with_store(config, home, async |store| {
        open_enrollments(store)?
            .revoke(name)
            .await
            .map_err(enrollment_failed)
    })?;
    match revoked {
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

fn open_enrollments(store: &Store) -> Result<enrollment::Enrollments, Error> {
    enrollment::Enrollments::open(store).map_err(enrollment_failed)
}

fn enrollment_failed(message: String) -> Error {
    store_failed(store::StoreError(message))
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
    let store = open_store(&config, home).await?;
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
    let broker = Broker::new(config, key, public_url, store, stop_rx.clone())
        .await
        .map_err(Error::Internal)?;
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
    let follower = tokio::spawn(broker.clone().follow());
    crate::serve_log!("gate serve: listening on http://{address}");
    let shutdown = async move {
        stop.await;
        crate::serve_log!("gate serve: shutting down");
        // Long-polls return their current view at once.
        let _ = stop_tx.send(true);
    };
    // One router for every connection: serving the Router itself would rebuild
    // its route table for each connection (~19 KB each, per waiting long-poll).
    // Answers go out at once rather than wait for the client's ACK of the last
    // one (Nagle's algorithm on a kept-alive connection).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, routes.into_make_service())
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    follower.abort();
    if let Some(teams) = teams {
        teams.abort();
    }
    served.map_err(|e| Error::Internal(format!("serve: {e}")))
}

#[cfg(test)]
mod tests;
