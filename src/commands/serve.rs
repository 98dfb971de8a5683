//! `gate serve`: run the approval broker, print its public key, create approver
//! tokens, make enrollment codes and list or revoke installations. The broker
//! itself is `crate::server`; this is its command line.

use crate::cli::{EnrollArgs, EnrollCommand, ServeArgs, ServeCommand, TokenCommand};
use crate::error::Error;
use crate::paths::Home;
use crate::server::{self, BrokerConfig};
use tokio::net::TcpListener;

/// `gate serve ...`.
pub(super) fn serve(args: ServeArgs, home: &Home) -> Result<u8, Error> {
    let color = super::stderr_color();
    match args.command {
        None => {
            if args.log_format == crate::cli::LogFormat::Json {
                server::log::use_json();
            }
            let config = server::config::load(
                server::config::find(args.config.as_deref(), home).as_deref(),
                color,
            )?;
            run(&args.listen, config, home)
        }
        Some(ServeCommand::Pubkey) => {
            let key = server::broker_key(home)?;
            print!("{}", crate::keys::public_key_pem(&key.verifying_key()));
            Ok(0)
        }
        Some(ServeCommand::Token(TokenCommand::Create { name, config })) => {
            let config = server::config::load(
                server::config::find(config.as_deref(), home).as_deref(),
                color,
            )?;
            println!("{}", server::create_token(&name, &config, home)?);
            Ok(0)
        }
        Some(ServeCommand::Token(TokenCommand::List { config })) => {
            // With a config (given, or $GATE_HOME/broker.toml), tokens of people it
            // does not name are marked: the broker refuses them.
            let config = match server::config::find(config.as_deref(), home) {
                Some(path) => Some(server::config::load(Some(&path), color)?),
                None => None,
            };
            let tokens = server::tokens(config.as_ref().unwrap_or(&BrokerConfig::default()), home)?;
            if tokens.is_empty() {
                println!("no approver tokens; create one with `gate serve token create NAME`");
            }
            for t in tokens {
                println!(
                    "{:<16} {}  created {}  last used {}{}",
                    t.person,
                    t.id,
                    t.created,
                    t.last_used.as_deref().unwrap_or("never"),
                    match (
                        &t.revoked,
                        config
                            .as_ref()
                            .is_none_or(|c| c.people.contains_key(&t.person)),
                    ) {
                        (Some(at), _) => format!("  REVOKED {at}"),
                        (None, false) => "  REFUSED: not a person in the broker config".into(),
                        (None, true) => String::new(),
                    }
                );
            }
            Ok(0)
        }
        Some(ServeCommand::Token(TokenCommand::Revoke { name, config })) => {
            // The store is the one the config names ([store]), else the SQLite file.
            let config = server::config::load(
                server::config::find(config.as_deref(), home).as_deref(),
                color,
            )?;
            match server::revoke_tokens(&name, &config, home)? {
                0 => Err(Error::Refused {
                    message: format!(
                        "serve token revoke: {name} has no token in force (see `gate serve token list`)"
                    ),
                    code: crate::error::exit::USAGE,
                }),
                n => {
                    eprintln!(
                        "gate: revoked {n} token(s) of {name}; the broker refuses them from now on"
                    );
                    Ok(0)
                }
            }
        }
        Some(ServeCommand::Enroll(args)) => enroll(args, home, color),
    }
}

/// `gate serve enroll NAME | list | revoke NAME`.
fn enroll(args: EnrollArgs, home: &Home, color: bool) -> Result<u8, Error> {
    let config = match &args.command {
        Some(EnrollCommand::List { config } | EnrollCommand::Revoke { config, .. }) => config,
        None => &args.config,
    };
    // Read like every `gate serve` command, so a broken or insecure config is
    // refused here too; its `[store]` is where the installations are.
    let config = server::config::load(
        server::config::find(config.as_deref(), home).as_deref(),
        color,
    )?;
    match args.command {
        Some(EnrollCommand::List { .. }) => {
            list_installations(&config, home)?;
            Ok(0)
        }
        Some(EnrollCommand::Revoke { name, .. }) => {
            server::revoke_installation(&name, &config, home)?;
            eprintln!("gate: installation {name} is revoked; the broker refuses it from now on");
            Ok(0)
        }
        None => {
            let Some(name) = args.name else {
                return Err(Error::Usage(
                    "serve enroll: name the installation (`gate serve enroll NAME`), or use                      `list` or `revoke NAME`"
                        .into(),
                ));
            };
            let lifetime = humantime::parse_duration(&args.expires)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    usage(format!(
                        "serve enroll: --expires \"{}\" is not a duration like \"30m\" or \"1h\"",
                        args.expires
                    ))
                })?;
            let code = server::create_enrollment_code(&name, lifetime, &config, home)?;
            println!("{code}");
            eprintln!(
                "gate: enrollment code for {name}, usable once within {}; on that machine run \
                 `gate enroll --server URL CODE`",
                args.expires
            );
            Ok(0)
        }
    }
}

fn usage(message: String) -> Error {
    Error::Refused {
        message,
        code: crate::error::exit::USAGE,
    }
}

fn list_installations(config: &BrokerConfig, home: &Home) -> Result<(), Error> {
    let rows = server::installations(config, home)?;
    println!(
        "{:<24} {:<20} {:<20} REVOKED",
        "NAME", "ENROLLED", "LAST SEEN"
    );
    for row in rows {
        let at = |t: Option<u64>| t.map_or("-".to_string(), server::enrollment::rfc3339);
        println!(
            "{:<24} {:<20} {:<20} {}",
            row.name,
            server::enrollment::rfc3339(row.enrolled_at),
            at(row.last_seen),
            at(row.revoked_at)
        );
    }
    Ok(())
}

/// Bind `listen` and serve until SIGINT or SIGTERM.
fn run(listen: &str, config: BrokerConfig, home: &Home) -> Result<u8, Error> {
    raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| Error::Refused {
                message: format!(
                    "serve: cannot listen on {listen}: {e}; pick another --listen address"
                ),
                code: crate::error::exit::USAGE,
            })?;
        server::serve(listener, config, home, shutdown_signal()).await
    })?;
    Ok(0)
}

/// Each waiting long-poll holds a socket; a soft limit of 1024 open files would
/// refuse connections long before memory runs short. Raise it to the hard limit
/// (best effort: an unchanged limit only caps concurrent waiters).
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer to a local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max.min(1 << 20);
        // SAFETY: setrlimit reads one rlimit through a valid pointer to a local.
        let _ = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed
/// when this is called, not when it is first polled, so a signal that arrives as
/// soon as the broker says it listens is a graceful shutdown, not a kill.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let signals = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    async move {
        let (Ok(mut interrupt), Ok(mut terminate)) = signals else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
}
