//! `gate policy lint` and `gate policy test`.

use crate::cli::PolicyCommand;
use crate::error::{Error, exit};
use crate::guard::read_policy_text;
use crate::paths::{Home, PolicySource, find_policy};
use crate::policy::Policy;
use std::path::PathBuf;

pub(super) fn policy(command: PolicyCommand, home: &Home) -> Result<u8, Error> {
    match command {
        PolicyCommand::Lint { file } => lint(file, home),
        PolicyCommand::Test { file } => test(file, home),
    }
}

/// The text and label of the policy to examine: the named file, or the one gate would use.
fn source_text(file: Option<PathBuf>, home: &Home) -> Result<(String, String), Error> {
    let source = find_policy(file.as_deref(), home);
    let text = match &source {
        PolicySource::File(path) => read_policy_text(path)?,
        PolicySource::Builtin => crate::policy::DEFAULT_POLICY.to_string(),
    };
    Ok((text, source.label()))
}

fn parse(text: &str, label: &str) -> Result<Policy, Error> {
    Policy::parse(text, label).map_err(|diagnostics| Error::Policy {
        diagnostics,
        color: super::stderr_color(),
    })
}

fn lint(file: Option<PathBuf>, home: &Home) -> Result<u8, Error> {
    let (text, label) = source_text(file, home)?;
    let policy = parse(&text, &label)?;
    let failures = policy.test_failures_as_diagnostics(&text, &label);
    if !failures.is_empty() {
        return Err(Error::Policy {
            diagnostics: failures,
            color: super::stderr_color(),
        });
    }
    let warnings = policy.flag_warnings(&text, &label);
    let color = super::stderr_color();
    for warning in &warnings {
        eprint!("{}", warning.render(color));
    }
    let (rules, tests) = (policy.rules.len(), policy.tests.len());
    match warnings.len() {
        0 => println!("{label}: ok ({rules} rules, {tests} tests pass)"),
        n => println!(
            "{label}: ok ({rules} rules, {tests} tests pass, {n} warning{})",
            if n == 1 { "" } else { "s" }
        ),
    }
    Ok(exit::OK)
}

fn test(file: Option<PathBuf>, home: &Home) -> Result<u8, Error> {
    let (text, label) = source_text(file, home)?;
    let policy = parse(&text, &label)?;
    let outcomes = policy.run_tests();
    let mut failed = 0;
    for outcome in &outcomes {
        if outcome.passed() {
            println!(
                "PASS  {}:{}: {} -> {}",
                label,
                outcome.case.line,
                outcome.case.command,
                outcome.actual.as_str()
            );
        } else {
            failed += 1;
            println!(
                "FAIL  {}:{}: {} -> expected {}, got {}: {}",
                label,
                outcome.case.line,
                outcome.case.command,
                outcome.case.expect.as_str(),
                outcome.actual.as_str(),
                outcome.reason
            );
        }
    }
    let total = outcomes.len();
    if failed > 0 {
        return Err(Error::PolicyTests { failed, total });
    }
    println!("{label}: all {total} policy tests pass");
    Ok(exit::OK)
}
