//! The private keys a fresh gate writes (the audit key, the broker key) load with
//! the tools the docs point verifiers at: `openssl pkey` and Python `cryptography`.
//! Both must be installed (CI installs them): these tests fail, never skip, without.

use crate::support::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `gate init` writes the audit key; `gate serve pubkey` the broker's.
fn fresh_keys(ctx: &TestContext) -> [PathBuf; 2] {
    let out = ctx.run(&["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = ctx.run(&["serve", "pubkey"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let audit = ctx.home().join("audit.key");
    let broker = ctx.home().join("broker/broker-key.pem");
    for path in [&audit, &broker] {
        assert!(path.exists(), "{} was not written", path.display());
    }
    [audit, broker]
}

fn assert_loads(program: &str, args: &[&str], path: &Path) {
    let out = Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {program} ({err}); install it"));
    assert!(
        out.status.success(),
        "{program} cannot load {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn openssl_loads_the_private_keys() {
    let ctx = TestContext::new();
    for key in fresh_keys(&ctx) {
        assert_loads("openssl", &["pkey", "-noout", "-in"], &key);
    }
}

#[test]
fn python_cryptography_loads_the_private_keys() {
    const LOAD: &str = "import sys\n\
        from cryptography.hazmat.primitives.serialization import load_pem_private_key\n\
        load_pem_private_key(open(sys.argv[1], 'rb').read(), password=None)\n";
    let ctx = TestContext::new();
    for key in fresh_keys(&ctx) {
        assert_loads("python3", &["-c", LOAD], &key);
    }
}

#[test]
fn a_key_with_the_public_key_embedded_still_loads() {
    // PKCS#8 v2 (RFC 5958, public key embedded), as earlier versions of gate wrote.
    const V2: &str = "-----BEGIN PRIVATE KEY-----\n\
        MFECAQEwBQYDK2VwBCIEIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n\
        gSEAebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=\n\
        -----END PRIVATE KEY-----\n";
    let ctx = TestContext::new();
    ctx.write_private("home/audit.key", V2);
    let out = ctx.run(&["audit", "pubkey"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("MCowBQYDK2VwAyEAebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="),
        "{}",
        stdout(&out)
    );
}
