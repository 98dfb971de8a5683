//! CI identity: for each CI system, the job's actor, repository, branch, commit
//! and run URL appear in `gate check --json`, and policy conditions `ci = ...`
//! and `actor = ...` (the CI actor when in CI) match them.

use crate::support::common::*;
use crate::support::fixtures::{POLICY_ALLOW_ALL, POLICY_ALLOW_DEPLOY_BOT_AND_GITHUB_TESTS};

struct Case {
    system: &'static str,
    env: &'static [(&'static str, &'static str)],
    repository: &'static str,
    branch: &'static str,
    commit: &'static str,
    url: &'static str,
}

const CASES: &[Case] = &[
    Case {
        system: "github",
        env: &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_ACTOR", "deploy-bot"),
            ("GITHUB_REPOSITORY", "acme/payments"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_SHA", "ffac537e"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_RUN_ID", "42"),
        ],
        repository: "acme/payments",
        branch: "main",
        commit: "ffac537e",
        url: "https://github.com/acme/payments/actions/runs/42",
    },
    Case {
        system: "gitlab",
        env: &[
            ("GITLAB_CI", "true"),
            ("GITLAB_USER_LOGIN", "deploy-bot"),
            ("CI_PROJECT_PATH", "acme/payments"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_COMMIT_SHA", "ffac537e"),
            ("CI_JOB_URL", "https://gitlab.com/acme/payments/-/jobs/42"),
        ],
        repository: "acme/payments",
        branch: "main",
        commit: "ffac537e",
        url: "https://gitlab.com/acme/payments/-/jobs/42",
    },
    Case {
        system: "buildkite",
        env: &[
            ("BUILDKITE", "true"),
            ("BUILDKITE_BUILD_CREATOR", "deploy-bot"),
            ("BUILDKITE_REPO", "git@github.com:acme/payments.git"),
            ("BUILDKITE_BRANCH", "main"),
            ("BUILDKITE_COMMIT", "ffac537e"),
            (
                "BUILDKITE_BUILD_URL",
                "https://buildkite.com/acme/payments/builds/42",
            ),
        ],
        repository: "git@github.com:acme/payments.git",
        branch: "main",
        commit: "ffac537e",
        url: "https://buildkite.com/acme/payments/builds/42",
    },
    Case {
        system: "jenkins",
        env: &[
            ("JENKINS_URL", "https://ci.acme.test/"),
            ("BUILD_USER_ID", "deploy-bot"),
            ("GIT_URL", "https://git.acme.test/payments.git"),
            ("BRANCH_NAME", "main"),
            ("GIT_COMMIT", "ffac537e"),
            ("BUILD_URL", "https://ci.acme.test/job/payments/42/"),
        ],
        repository: "https://git.acme.test/payments.git",
        branch: "main",
        commit: "ffac537e",
        url: "https://ci.acme.test/job/payments/42/",
    },
    Case {
        system: "circleci",
        env: &[
            ("CIRCLECI", "true"),
            ("CIRCLE_USERNAME", "deploy-bot"),
            ("CIRCLE_PROJECT_USERNAME", "acme"),
            ("CIRCLE_PROJECT_REPONAME", "payments"),
            ("CIRCLE_BRANCH", "main"),
            ("CIRCLE_SHA1", "ffac537e"),
            (
                "CIRCLE_BUILD_URL",
                "https://circleci.com/gh/acme/payments/42",
            ),
        ],
        repository: "acme/payments",
        branch: "main",
        commit: "ffac537e",
        url: "https://circleci.com/gh/acme/payments/42",
    },
];

fn check(ctx: &TestContext, env: &[(&str, &str)], command: &[&str]) -> serde_json::Value {
    let out = ctx
        .gate()
        .envs(env.iter().copied())
        .args(["check", "--json", "--"])
        .args(command)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn every_ci_system_is_identified_and_usable_in_policy_conditions() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_DEPLOY_BOT_AND_GITHUB_TESTS);
    for case in CASES {
        let seen = check(&ctx, case.env, &["deploy", "payments"]);
        let ci = &seen["requester"]["ci"];
        assert_eq!(ci["system"], case.system, "{seen}");
        assert_eq!(ci["actor"], "deploy-bot", "{}", case.system);
        assert_eq!(ci["repository"], case.repository, "{}", case.system);
        assert_eq!(ci["branch"], case.branch, "{}", case.system);
        assert_eq!(ci["commit"], case.commit, "{}", case.system);
        assert_eq!(ci["url"], case.url, "{}", case.system);
        // `actor` matches the CI actor, not the runner's OS user.
        assert_eq!(seen["decision"], "allow", "{}: {seen}", case.system);

        let tests = check(&ctx, case.env, &["make", "test"]);
        let expected = if case.system == "github" {
            "allow"
        } else {
            "approve"
        };
        assert_eq!(tests["decision"], expected, "{}", case.system);
    }
}

#[test]
fn outside_ci_the_actor_is_the_os_user() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_DEPLOY_BOT_AND_GITHUB_TESTS);
    let seen = check(
        &ctx,
        &[("GITHUB_ACTOR", "deploy-bot")],
        &["deploy", "payments"],
    );
    assert!(seen["requester"]["ci"].is_null(), "{seen}");
    assert_eq!(seen["decision"], "approve");
}

#[test]
fn the_ci_job_is_in_the_audit_record() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let out = ctx
        .gate()
        .envs(CASES[0].env.iter().copied())
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let record = ctx.records().into_iter().next().expect("a decision record");
    let ci = &record["requester"]["ci"];
    assert_eq!(ci["system"], "github", "{record}");
    assert_eq!(ci["actor"], "deploy-bot");
    assert_eq!(ci["url"], CASES[0].url);
}
