//! The policies gate ships: the embedded default and the starter policies in
//! `policies/` must parse, and every one of their own `[[test]]` cases must pass.

use super::render_all;
use crate::policy::{DEFAULT_POLICY, Policy};
use std::path::Path;

/// Parse a shipped policy and run its tests; the failure message lists every
/// failing case with the verdict's reason.
fn check(source: &str, path: &str) -> usize {
    let policy =
        Policy::parse(source, path).unwrap_or_else(|errors| panic!("{}", render_all(&errors)));
    assert!(!policy.tests.is_empty(), "{path} has no [[test]] cases");
    let failures = policy.test_failures_as_diagnostics(source, path);
    assert!(failures.is_empty(), "{}", render_all(&failures));
    policy.tests.len()
}

/// Every starter policy in `policies/`, as (path, source).
fn starter_policies() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("policies/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let source = std::fs::read_to_string(&path).expect("readable policy");
            (path.display().to_string(), source)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_policy_parses() {
    let mut all = starter_policies();
    all.push(("default.toml".to_string(), DEFAULT_POLICY.to_string()));
    let errors: Vec<String> = all
        .iter()
        .filter_map(|(path, source)| Policy::parse(source, path).err())
        .map(|errors| render_all(&errors))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_default_policy_passes_its_own_tests() {
    check(DEFAULT_POLICY, "default.toml");
}

#[test]
fn every_starter_policy_passes_its_own_tests() {
    let files = starter_policies();
    assert!(
        files.len() >= 6,
        "expected the six starter policies, found {}",
        files.len()
    );
    for (path, source) in &files {
        check(source, path);
    }
}

#[test]
fn a_failing_test_case_points_at_its_command() {
    let source =
        "version = 1\ndefault = \"deny\"\n[[test]]\ncommand = \"ls\"\nexpect = \"allow\"\n";
    let policy = super::policy(source);
    let found = policy.test_failures_as_diagnostics(source, "policy.toml");
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (4, 11));
    assert_eq!(
        found[0].message,
        "test expects allow but policy says deny: no rule matched; default is deny"
    );
}
