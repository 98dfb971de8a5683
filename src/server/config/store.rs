//! `[store]` in broker.toml: a PostgreSQL database instead of the SQLite file,
//! so several broker replicas can share one state.
//!
//! ```toml
//! [store]
//! url = "postgres://gate@db.internal:5432/gate?sslmode=require"
//! password_env = "GATE_STORE_PASSWORD"   # the secret part, never in the file
//! ca_file = "/etc/gate/db-ca.pem"        # trust this CA besides the system's
//! pool_size = 16
//! ```
//!
//! Only reads and checks the section; connecting is `crate::server::store::postgres`.

use super::slack::Secret;
use crate::policy::read::{Reader, Value};
use std::path::PathBuf;

const KEYS: &[&str] = &["url", "password_env", "ca_file", "pool_size"];

/// The default number of connections one broker holds open.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// `[store]` as read.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// A `postgres://` URL (or key=value connection string) without a password.
    pub url: String,
    /// The environment variable holding the database password, read at start.
    pub password_env: Option<String>,
    /// PEM file of CA certificates trusted for the database's TLS certificate,
    /// besides the system's (relative paths are to the config's directory).
    pub ca_file: Option<PathBuf>,
    pub pool_size: usize,
}

impl StoreConfig {
    /// The database password through `lookup` (the environment), if
    /// `password_env` names one; the error names the missing variable.
    pub fn password_from(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Secret>, String> {
        let Some(name) = &self.password_env else {
            return Ok(None);
        };
        lookup(name)
            .filter(|value| !value.is_empty())
            .map(|value| Some(Secret::new(value)))
            .ok_or_else(|| {
                format!(
                    "store: environment variable {name} is not set; export it with the \
                     database password (password_env in [store])"
                )
            })
    }
}

pub(super) fn read(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<StoreConfig> {
    let table = reader.table(value, "store")?;
    reader.reject_unknown_keys(table, KEYS, "[store]");
    let Some(url_value) = table.get("url") else {
        reader.error(
            value.span(),
            "[store] needs url, the PostgreSQL database to keep the broker's state in",
            Some(
                "url = \"postgres://gate@HOST:5432/gate\"; leave [store] out for the SQLite file"
                    .into(),
            ),
        );
        return None;
    };
    let url = reader.string(url_value, "url")?;
    match url.parse::<tokio_postgres::Config>() {
        Err(err) => {
            reader.error(
                url_value.span(),
                format!("[store] url is not a PostgreSQL connection URL: {err}"),
                Some("url = \"postgres://USER@HOST:5432/DATABASE\"".into()),
            );
            return None;
        }
        Ok(parsed) if parsed.get_password().is_some() => {
            // The file is read by people and tools that must not learn it.
            reader.error(
                url_value.span(),
                "[store] url carries a password; keep it out of broker.toml",
                Some("remove it from the URL and name an environment variable that holds it: password_env = \"GATE_STORE_PASSWORD\"".into()),
            );
            return None;
        }
        Ok(_) => {}
    }
    let password_env = table
        .get("password_env")
        .and_then(|value| reader.string(value, "password_env"));
    let ca_file = table
        .get("ca_file")
        .and_then(|value| reader.string(value, "ca_file"))
        .map(PathBuf::from);
    let pool_size = table
        .get("pool_size")
        .and_then(|value| {
            reader.count(value, "pool_size", "a broker needs at least one connection")
        })
        .map_or(DEFAULT_POOL_SIZE, |n| n as usize);
    Some(StoreConfig {
        url,
        password_env,
        ca_file,
        pool_size,
    })
}
