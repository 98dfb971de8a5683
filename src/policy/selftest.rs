//! The policy's own `[[test]]` cases: each command line is normalised and decided
//! in a fixed, fake request context, so results never depend on who runs them.

use super::{Diagnostic, Policy, Request, TestCase, TestOutcome, normalise_line};
use std::path::PathBuf;

/// Working directory of a case that sets no `cwd`.
pub const TEST_CWD: &str = "/";
/// Actor of a case that sets no `actor`.
pub const TEST_ACTOR: &str = "test";

pub(super) fn run_tests(policy: &Policy) -> Vec<TestOutcome> {
    policy
        .tests
        .iter()
        .map(|case| run_case(policy, case))
        .collect()
}

fn run_case(policy: &Policy, case: &TestCase) -> TestOutcome {
    let verdict = match &case.tool {
        Some(call) => policy.evaluate_tool(call, &request_for(case)),
        None => policy.evaluate_commands(normalise_line(&case.command), &request_for(case)),
    };
    TestOutcome {
        case: case.clone(),
        actual: verdict.decision,
        reason: verdict.reason,
    }
}

/// The request a case is decided in: its own settings over fixed defaults, with
/// no agent or CI unless the case names one.
fn request_for(case: &TestCase) -> Request {
    Request {
        argv: Vec::new(),
        executable: None,
        cwd: PathBuf::from(case.cwd.as_deref().unwrap_or(TEST_CWD)),
        env: case.env.clone(),
        actor: case.actor.clone().unwrap_or_else(|| TEST_ACTOR.to_string()),
        agent: case.agent.clone(),
        ci: case.ci.clone(),
        ..Request::default()
    }
}

pub(super) fn failures_as_diagnostics(
    policy: &Policy,
    source: &str,
    path: &str,
) -> Vec<Diagnostic> {
    run_tests(policy)
        .into_iter()
        .filter(|outcome| !outcome.passed())
        .map(|outcome| {
            let message = format!(
                "test expects {} but policy says {}: {}",
                outcome.case.expect.as_str(),
                outcome.actual.as_str(),
                outcome.reason
            );
            Diagnostic::at(source, path, outcome.case.command_span.clone(), message)
        })
        .collect()
}
