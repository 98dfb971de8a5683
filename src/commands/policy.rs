//! `gate policy lint`, `gate policy test`, and the organisation policy's
//! `gate policy publish` and `gate policy history`.

use super::approver;
use crate::approval::protocol::PublishBody;
use crate::approval::signed_policy::PolicyPayload;
use crate::cli::{BrokerArgs, PolicyCommand};
use crate::error::{Error, exit};
use crate::guard::read_policy_text;
use crate::paths::{Home, PolicySource, find_policy};
use crate::policy::Policy;
use std::path::{Path, PathBuf};

pub(super) fn policy(command: PolicyCommand, home: &Home) -> Result<u8, Error> {
    match command {
        PolicyCommand::Lint { file } => lint(file, home),
        PolicyCommand::Test { file, json } => test(file, json, home),
        PolicyCommand::Publish {
            file,
            reason,
            broker,
        } => publish(&file, reason, &broker),
        PolicyCommand::History { json, broker } => history(json, &broker),
    }
}

/// The text and label of the policy to examine: the named file, or the one gate would use.
/// In managed mode, without a file, that is the organisation policy.
fn source_text(file: Option<PathBuf>, home: &Home) -> Result<(String, String), Error> {
    if file.is_none()
        && let Some(config) = crate::guard::managed::find(home)?
    {
        let org = crate::guard::managed::fetch(&config, home)?;
        let label = org.label();
        return Ok((org.text, label));
    }
    let source = find_policy(file.as_deref(), home);
    let text = match &source {
        PolicySource::File(path) => read_policy_text(path)?,
        PolicySource::Builtin | PolicySource::Organisation(_) => {
            crate::policy::DEFAULT_POLICY.to_string()
        }
    };
    Ok((text, source.label()))
}

/// Lint FILE and run its tests here, show what changes, then ask the broker.
fn publish(file: &Path, reason: Option<String>, broker: &BrokerArgs) -> Result<u8, Error> {
    let text = read_policy_text(file)?;
    let label = file.display().to_string();
    let policy = parse(&text, &label)?;
    let failures = policy.test_failures_as_diagnostics(&text, &label);
    if !failures.is_empty() {
        return Err(Error::PolicyLint {
            diagnostics: failures,
            color: super::stderr_color(),
            failing_tests: true,
        });
    }
    let token = approver::token(broker)?;
    let client = approver::client(broker)?;
    let current =
        approver::block_on(client.policy()).map_err(|e| approver::broker_error(&e, None))?;
    // Shown to the publisher only; what comes into force is what the admins approve.
    let current_version = crate::approval::signed_policy::policy_version(&current.text);
    let version = crate::approval::signed_policy::policy_version(&text);
    match serde_json::from_str::<PolicyPayload>(&current.payload).ok() {
        Some(_) if current_version == version => {
            println!(
                "{label}: already the organisation policy in force ({})",
                &version[..12]
            );
            return Ok(exit::OK);
        }
        Some(_) => print!("{}", diff(&current.text, &text, &current_version, &version)),
        None => {}
    }
    let body = PublishBody { text, reason };
    let created = approver::block_on(client.publish_policy(&token, &body))
        .map_err(|e| approver::broker_error(&e, None))?;
    let view = created.request;
    println!(
        "published {} as request {}: it comes into force when {} of {} approve{}",
        &version[..12],
        view.id,
        view.quorum,
        view.approvers.join(", "),
        if view.url.is_empty() {
            String::new()
        } else {
            format!(" ({})", view.url)
        }
    );
    Ok(exit::OK)
}

/// A unified diff of the policy in force and the new one.
fn diff(old: &str, new: &str, old_version: &str, new_version: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("in force {}", &old_version[..12]),
            &format!("published {}", &new_version[..12]),
        )
        .to_string()
}

fn history(json: bool, broker: &BrokerArgs) -> Result<u8, Error> {
    let token = approver::token(broker)?;
    let client = approver::client(broker)?;
    let history = approver::block_on(client.policy_history(&token))
        .map_err(|e| approver::broker_error(&e, None))?;
    if json {
        let text = serde_json::to_string_pretty(&history)
            .map_err(|e| Error::Internal(format!("cannot encode the history: {e}")))?;
        println!("{text}");
        return Ok(exit::OK);
    }
    if history.versions.is_empty() {
        println!(
            "no version was ever published; in force: {} (the broker's own policy file)",
            &history.in_force[..12]
        );
        return Ok(exit::OK);
    }
    println!(
        "{:<12}  {:<10}  {:<24}  {:<14}  {:<24}  approved by",
        "version", "state", "published", "by", "decided"
    );
    for v in &history.versions {
        println!(
            "{:<12}  {:<10}  {:<24}  {:<14}  {:<24}  {}",
            &v.version[..12],
            v.state,
            v.published_at,
            v.published_by,
            v.decided_at.as_deref().unwrap_or("-"),
            if v.approved_by.is_empty() {
                "-".to_string()
            } else {
                v.approved_by.join(", ")
            }
        );
    }
    Ok(exit::OK)
}

fn parse(text: &str, label: &str) -> Result<Policy, Error> {
    Policy::parse(text, label).map_err(|diagnostics| Error::PolicyLint {
        diagnostics,
        color: super::stderr_color(),
        failing_tests: false,
    })
}

fn lint(file: Option<PathBuf>, home: &Home) -> Result<u8, Error> {
    let (text, label) = source_text(file, home)?;
    let policy = parse(&text, &label)?;
    let failures = policy.test_failures_as_diagnostics(&text, &label);
    if !failures.is_empty() {
        return Err(Error::PolicyLint {
            diagnostics: failures,
            color: super::stderr_color(),
            failing_tests: true,
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

/// One case in `gate policy test --json`.
#[derive(serde::Serialize)]
struct CaseJson<'a> {
    line: usize,
    command: &'a str,
    env: &'a std::collections::BTreeMap<String, String>,
    actor: &'a Option<String>,
    agent: &'a Option<String>,
    ci: &'a Option<String>,
    cwd: &'a Option<String>,
    expect: &'static str,
    actual: &'static str,
    passed: bool,
    reason: &'a str,
}

fn test(file: Option<PathBuf>, json: bool, home: &Home) -> Result<u8, Error> {
    let (text, label) = source_text(file, home)?;
    let policy = parse(&text, &label)?;
    let outcomes = policy.run_tests();
    let total = outcomes.len();
    if json {
        let cases: Vec<CaseJson<'_>> = outcomes
            .iter()
            .map(|outcome| CaseJson {
                line: outcome.case.line,
                command: &outcome.case.command,
                env: &outcome.case.env,
                actor: &outcome.case.actor,
                agent: &outcome.case.agent,
                ci: &outcome.case.ci,
                cwd: &outcome.case.cwd,
                expect: outcome.case.expect.as_str(),
                actual: outcome.actual.as_str(),
                passed: outcome.passed(),
                reason: &outcome.reason,
            })
            .collect();
        let failed = cases.iter().filter(|case| !case.passed).count();
        let report = serde_json::json!({ "policy": label, "total": total, "failed": failed, "cases": cases });
        println!("{report:#}");
        return match failed {
            0 => Ok(exit::OK),
            _ => Ok(exit::POLICY_TESTS_FAILED),
        };
    }
    let mut failed = 0;
    for outcome in &outcomes {
        let case = match outcome.case.context() {
            context if context.is_empty() => outcome.case.command.clone(),
            context => format!("{} {context}", outcome.case.command),
        };
        if outcome.passed() {
            println!(
                "PASS  {}:{}: {} -> {}",
                label,
                outcome.case.line,
                case,
                outcome.actual.as_str()
            );
        } else {
            failed += 1;
            println!(
                "FAIL  {}:{}: {} -> expected {}, got {}: {}",
                label,
                outcome.case.line,
                case,
                outcome.case.expect.as_str(),
                outcome.actual.as_str(),
                outcome.reason
            );
        }
    }
    if failed > 0 {
        return Err(Error::PolicyTests { failed, total });
    }
    println!("{label}: all {total} policy tests pass");
    Ok(exit::OK)
}
