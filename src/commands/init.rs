//! `gate init`: write a starter policy and the audit signing key. Never overwrites.

use crate::error::{Error, exit};
use crate::paths::Home;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

pub(super) fn init(home: &Home) -> Result<u8, Error> {
    let policy_path = home.policy_file();
    let io = |action: &'static str, path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            path,
            action,
            source,
        }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&home.config)
        .map_err(io("create directory", &home.config))?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&policy_path)
    {
        Ok(mut file) => {
            file.write_all(starter_policy().as_bytes())
                .map_err(io("write policy", &policy_path))?;
            println!(
                "wrote starter policy {} (the built-in default: commands no rule names run; \
                 destructive or privileged ones need approval; wiping / is refused)",
                policy_path.display()
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            println!(
                "kept existing policy {} (gate init never overwrites)",
                policy_path.display()
            );
        }
        Err(e) => return Err(io("write policy", &policy_path)(e)),
    }
    let key_path = home.key_file();
    let existed = key_path.exists();
    let key = crate::keys::load_or_create(&key_path).map_err(|e| Error::Audit {
        source: e.into(),
        nothing_ran: false,
    })?;
    if existed {
        println!(
            "kept existing signing key {} (gate init never overwrites)",
            key_path.display()
        );
    } else {
        println!("wrote signing key {}", key_path.display());
    }
    print!("{}", crate::keys::public_key_pem(&key.verifying_key()));
    println!(
        "next: edit {} (its header says how), then `gate policy lint` and `gate -- git status`",
        policy_path.display()
    );
    Ok(exit::OK)
}

/// What `gate init` writes: the built-in policy's rules and tests under a header
/// that speaks to the person who now owns the file.
fn starter_policy() -> String {
    const HEADER: &str = "\
# Your gate policy, written by `gate init`. gate reads it from $GATE_HOME/policy.toml
# (else $XDG_CONFIG_HOME/gate/policy.toml) unless --policy, $GATE_POLICY or
# ./.gate/policy.toml names another; `gate check -- CMD` shows which file decided.
#
# It starts as gate's built-in default. Every command no rule names runs
# (default = \"allow\"); well-known destructive or privileged commands wait for a
# person's approval; wiping the root filesystem is refused.
#
# Make it yours: add [[rule]]s for your tools (policies/ in gate's source has
# commented examples for Kubernetes, Terraform, clouds, databases and git), set
# default = \"approve\" or \"deny\" to let only what you list run, name who approves
# under [approval] (docs/approval.md), and keep a [[test]] for each rule. Check
# it with `gate policy lint` and `gate policy test`; the language is docs/policy.md.
";
    let default = crate::policy::DEFAULT_POLICY;
    // The built-in header (the leading comment block) describes the built-in.
    let body = default
        .find("\n\n")
        .filter(|&end| default[..end].lines().all(|l| l.starts_with('#')))
        .map_or(default, |end| &default[end + 2..]);
    format!("{HEADER}\n{body}")
}
