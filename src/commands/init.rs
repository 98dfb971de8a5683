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
            file.write_all(crate::policy::DEFAULT_POLICY.as_bytes())
                .map_err(io("write policy", &policy_path))?;
            println!("wrote starter policy {}", policy_path.display());
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
    println!("next: edit the policy, then `gate policy lint` and `gate -- git status`");
    Ok(exit::OK)
}
