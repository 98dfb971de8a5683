//! Finding the broker a request goes to, and the public key its decisions must be
//! signed with.
//!
//! The URLs come from `GATE_SERVER`, else the policy's `[channels.api] url`: one
//! broker, or several replicas of it to fail over between. The
//! key is pinned by `GATE_SERVER_KEY` (a PEM file path, or the PEM text itself),
//! else `[channels.api] server_key` (a path, relative to the policy file's
//! directory). A key is never fetched from the broker: a key learnt from the
//! server it is meant to authenticate would prove nothing. A key file others can
//! write is refused.

use super::brokers::{BadBrokerUrl, Brokers};
use super::installation::{Installation, InstallationError};
use crate::paths::{InsecureFile, ensure_private_write};
use crate::policy::ApiChannel;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use std::path::{Path, PathBuf};

/// A broker to ask (one or several replicas) and the key its decisions must
/// verify with.
#[derive(Debug, Clone)]
pub struct Channel {
    pub url: Brokers,
    pub key: VerifyingKey,
    /// This machine's enrolled installation, which signs what it sends; `None`
    /// when it never enrolled (the broker may then refuse it).
    pub installation: Option<Installation>,
}

/// Where the pinned key comes from, before it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// PEM text given directly in `GATE_SERVER_KEY`.
    Pem(String),
    /// A PEM file, and what named it (for messages).
    File { path: PathBuf, from: &'static str },
}

/// The configured channel, before the key is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    pub url: Brokers,
    pub key: Option<KeySource>,
}

/// Why no usable channel was found. Each means: ask nobody, run nothing.
#[derive(Debug)]
pub enum ChannelError {
    /// No broker URL anywhere.
    NotConfigured,
    /// A broker URL that cannot be one, and where it was written.
    BadUrl {
        bad: BadBrokerUrl,
        from: &'static str,
    },
    /// A broker URL but no pinned key.
    NoKey { url: String },
    /// The key file is writable by others.
    Insecure(InsecureFile),
    /// The key could not be read or is not an ed25519 public key PEM.
    BadKey { what: String, detail: String },
    /// This machine enrolled, but its installation key or record cannot be used.
    Installation(InstallationError),
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelError::NotConfigured => f.write_str(
                "no approval channel is configured, so nothing was run \
                 (set GATE_SERVER or [channels.api] url, see docs/approval.md)",
            ),
            ChannelError::BadUrl { bad, from } => {
                write!(f, "{bad} (in {from}); nothing was run")
            }
            ChannelError::NoKey { url } => write!(
                f,
                "the broker at {url} has no pinned public key, so its decisions cannot be \
                 verified and nothing was run; pin it: run `gate serve pubkey` on the broker \
                 and set GATE_SERVER_KEY to that PEM file (or [channels.api] server_key)"
            ),
            ChannelError::Insecure(file) => write!(f, "refusing insecure broker key file: {file}"),
            ChannelError::BadKey { what, detail } => write!(
                f,
                "cannot use the broker key {what}: {detail}; expected the PEM printed by \
                 `gate serve pubkey`; nothing was run"
            ),
            ChannelError::Installation(err) => {
                write!(f, "cannot sign the request, so nothing was run: {err}")
            }
        }
    }
}

/// Resolve the channel from the two environment values and the policy's
/// `[channels.api]`. Pure: `policy_dir` anchors a relative `server_key`.
pub fn configure(
    env_server: Option<&str>,
    env_key: Option<&str>,
    policy: Option<&ApiChannel>,
    policy_dir: Option<&Path>,
) -> Result<ChannelConfig, ChannelError> {
    let from_env = match non_empty(env_server) {
        Some(text) => Brokers::parse(text).map_err(|bad| ChannelError::BadUrl {
            bad,
            from: "GATE_SERVER",
        })?,
        None => None,
    };
    let url = match from_env {
        Some(brokers) => brokers,
        None => policy
            .map(|api| Brokers::from_items(api.url.iter().map(String::as_str)))
            .transpose()
            .map_err(|bad| ChannelError::BadUrl {
                bad,
                from: "[channels.api] url",
            })?
            .flatten()
            .ok_or(ChannelError::NotConfigured)?,
    };
    let key = match non_empty(env_key) {
        Some(text) if text.contains("-----BEGIN") => Some(KeySource::Pem(text.to_string())),
        Some(path) => Some(KeySource::File {
            path: PathBuf::from(path),
            from: "GATE_SERVER_KEY",
        }),
        None => policy.and_then(|api| api.server_key.as_ref()).map(|path| {
            let path = Path::new(path);
            let path = match policy_dir {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path.to_path_buf(),
            };
            KeySource::File {
                path,
                from: "[channels.api] server_key",
            }
        }),
    };
    Ok(ChannelConfig { url, key })
}

impl ChannelConfig {
    /// Read and check the pinned key.
    pub fn load(self) -> Result<Channel, ChannelError> {
        let (pem, what) = match self.key {
            None => {
                return Err(ChannelError::NoKey {
                    url: self.url.to_string(),
                });
            }
            Some(KeySource::Pem(text)) => (text, "given in GATE_SERVER_KEY".to_string()),
            Some(KeySource::File { path, from }) => {
                let what = format!("{} (from {from})", path.display());
                (read_key_file(&path, &what)?, what)
            }
        };
        let key =
            VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| ChannelError::BadKey {
                what,
                detail: format!("not an ed25519 \"PUBLIC KEY\" PEM ({e})"),
            })?;
        Ok(Channel {
            url: self.url,
            key,
            installation: None,
        })
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn read_key_file(path: &Path, what: &str) -> Result<String, ChannelError> {
    let bad = |e: std::io::Error| ChannelError::BadKey {
        what: what.to_string(),
        detail: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(bad)?;
    ensure_private_write(path, &file.metadata().map_err(bad)?).map_err(ChannelError::Insecure)?;
    std::io::read_to_string(file).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(url: Option<&str>, key: Option<&str>) -> ApiChannel {
        ApiChannel {
            url: url.map(str::to_string).into_iter().collect(),
            server_key: key.map(str::to_string),
        }
    }

    #[test]
    fn nothing_configured_is_no_channel() {
        let err = configure(None, None, None, None).unwrap_err();
        assert!(matches!(err, ChannelError::NotConfigured));
        let err = configure(Some("  "), None, Some(&api(None, Some("k"))), None).unwrap_err();
        assert!(matches!(err, ChannelError::NotConfigured));
    }

    #[test]
    fn the_environment_wins_over_the_policy() {
        let policy = api(Some("http://policy"), Some("broker.pem"));
        let got = configure(
            Some("http://env"),
            Some("/etc/k.pem"),
            Some(&policy),
            Some(Path::new("/p")),
        )
        .unwrap();
        assert_eq!(got.url.urls(), ["http://env"]);
        assert_eq!(
            got.key,
            Some(KeySource::File {
                path: PathBuf::from("/etc/k.pem"),
                from: "GATE_SERVER_KEY"
            })
        );
    }

    #[test]
    fn the_policy_key_is_relative_to_the_policy_file() {
        let policy = api(Some("http://policy"), Some("keys/broker.pem"));
        let got = configure(None, None, Some(&policy), Some(Path::new("/etc/gate"))).unwrap();
        assert_eq!(got.url.urls(), ["http://policy"]);
        assert_eq!(
            got.key,
            Some(KeySource::File {
                path: PathBuf::from("/etc/gate/keys/broker.pem"),
                from: "[channels.api] server_key"
            })
        );
        let absolute = api(Some("http://policy"), Some("/k.pem"));
        let got = configure(None, None, Some(&absolute), Some(Path::new("/etc"))).unwrap();
        assert!(
            matches!(got.key, Some(KeySource::File { path, .. }) if path == Path::new("/k.pem"))
        );
    }

    #[test]
    fn several_brokers_come_from_the_environment_or_the_policy() {
        let got = configure(Some("http://a:1, http://b:2"), None, None, None).unwrap();
        assert_eq!(got.url.urls(), ["http://a:1", "http://b:2"]);
        let policy = ApiChannel {
            url: vec!["http://a:1,http://b:2".into(), "http://c:3".into()],
            server_key: None,
        };
        let got = configure(None, None, Some(&policy), None).unwrap();
        assert_eq!(got.url.urls(), ["http://a:1", "http://b:2", "http://c:3"]);
    }

    #[test]
    fn a_bad_url_among_several_is_named_with_where_it_was_written() {
        let err = configure(Some("http://a:1,a.example:2"), None, None, None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("\"a.example:2\"") && text.contains("GATE_SERVER"),
            "{text}"
        );
    }

    #[test]
    fn pem_text_in_the_environment_is_the_key_itself() {
        let pem = "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n";
        let got = configure(Some("http://env"), Some(pem), None, None).unwrap();
        assert_eq!(got.key, Some(KeySource::Pem(pem.trim().to_string())));
    }

    #[test]
    fn a_url_without_a_key_says_how_to_pin_one() {
        let config = configure(Some("http://b:1"), None, None, None).unwrap();
        let err = config.load().unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("http://b:1") && text.contains("gate serve pubkey"),
            "{text}"
        );
        assert!(text.contains("GATE_SERVER_KEY"), "{text}");
    }

    #[test]
    fn keys_load_from_text_and_private_files_only() {
        use std::os::unix::fs::PermissionsExt;
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let pem = crate::keys::public_key_pem(&signing.verifying_key());
        let from_text = configure(Some("http://b"), Some(&pem), None, None).unwrap();
        assert_eq!(from_text.load().unwrap().key, signing.verifying_key());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.pem");
        std::fs::write(&path, &pem).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = path.to_str().unwrap();
        let from_file = configure(Some("http://b"), Some(file), None, None).unwrap();
        assert_eq!(from_file.load().unwrap().key, signing.verifying_key());

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        let insecure = configure(Some("http://b"), Some(file), None, None).unwrap();
        let err = insecure.load().unwrap_err();
        assert!(
            matches!(&err, ChannelError::Insecure(f) if f.path == path),
            "{err}"
        );

        let garbage = configure(Some("http://b"), Some("-----BEGIN x"), None, None).unwrap();
        assert!(matches!(garbage.load(), Err(ChannelError::BadKey { .. })));
    }
}
