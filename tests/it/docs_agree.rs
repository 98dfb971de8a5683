//! What the docs name is what gate does: the files docs/audit-format.md points a
//! verifier at exist where it says, and request ids in examples look like real ones.

use crate::support::common::*;
use crate::support::fixtures::POLICY_ALLOW_ALL;
use std::path::Path;

fn doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn the_audit_format_names_the_files_gate_writes_and_the_pubkey_command() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    let format = doc("docs/audit-format.md");
    for name in ["audit.key", "audit.db"] {
        assert!(
            format.contains(&format!("`{name}`")),
            "{name} not in the doc"
        );
        assert!(ctx.home().join(name).exists(), "{name} not in GATE_HOME");
    }
    assert!(!format.contains("key.pem"), "the audit key is audit.key");
    assert!(format.contains("gate audit pubkey"));
    let out = ctx.run(&["audit", "pubkey"]);
    assert!(stdout(&out).starts_with("-----BEGIN PUBLIC KEY-----"));
}

#[test]
fn request_ids_in_examples_have_the_real_shape() {
    let mut docs = vec!["README.md".to_string()];
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            docs.push(format!("docs/{name}"));
        }
    }
    let real =
        |id: &str| id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let mut seen = 0;
    for name in docs {
        let text = doc(&name);
        for marker in ["gate approve ", "gate deny ", "'--ticket' '", "--ticket "] {
            for (at, _) in text.match_indices(marker) {
                let id: String = text[at + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '…'))
                    .collect();
                // Placeholders (ID, ...) are fine; a concrete example must be real.
                if id.is_empty() || id.chars().all(|c| c.is_ascii_uppercase()) {
                    continue;
                }
                assert!(
                    real(&id),
                    "{name}: request id example {id:?} is not 32 hex digits"
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "the docs show a concrete request id somewhere");
}
