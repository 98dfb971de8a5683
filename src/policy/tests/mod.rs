//! Tests of the policy module as a whole: validation errors, rendered diagnostics,
//! evaluation semantics, the rule index, and the shipped policy files.

mod diagnostics;
mod evaluation;
mod files;
mod runtime_words;
mod validation;

use super::{Diagnostic, Policy};

/// Parse a policy that must be valid.
fn policy(source: &str) -> Policy {
    match Policy::parse(source, "policy.toml") {
        Ok(policy) => policy,
        Err(errors) => panic!("{}", render_all(&errors)),
    }
}

/// Parse a policy that must be invalid.
fn errors(source: &str) -> Vec<Diagnostic> {
    match Policy::parse(source, "policy.toml") {
        Ok(_) => panic!("policy parsed but should not have:\n{source}"),
        Err(errors) => errors,
    }
}

fn render_all(errors: &[Diagnostic]) -> String {
    errors
        .iter()
        .map(|d| d.render(false))
        .collect::<Vec<_>>()
        .join("\n")
}
