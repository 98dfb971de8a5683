//! CI job detection from the variables each system documents for its jobs.
//!
//! Each system is one function from the environment to an optional [`CiJob`];
//! [`detect`] tries them in a fixed order. Repository and job URLs are stripped
//! of credentials, never copied as given.

use super::{CiJob, is_on, owned, value, without_credentials};
use std::collections::BTreeMap;

type Env = BTreeMap<String, String>;

/// Specific systems first: most of them also set the generic `CI=true`.
const SYSTEMS: &[fn(&Env) -> Option<CiJob>] =
    &[github, gitlab, buildkite, circleci, jenkins, generic];

pub(super) fn detect(env: &Env) -> Option<CiJob> {
    SYSTEMS.iter().find_map(|system| system(env))
}

fn job(system: &str) -> CiJob {
    CiJob {
        system: system.to_owned(),
        actor: None,
        repository: None,
        branch: None,
        commit: None,
        url: None,
    }
}

fn clean_url(env: &Env, name: &str) -> Option<String> {
    value(env, name).map(without_credentials)
}

/// GitHub Actions. On pull requests `GITHUB_REF_NAME` is `123/merge`, so the
/// PR's source branch `GITHUB_HEAD_REF` is preferred when set.
fn github(env: &Env) -> Option<CiJob> {
    if value(env, "GITHUB_ACTIONS") != Some("true") {
        return None;
    }
    let repository = owned(env, "GITHUB_REPOSITORY");
    let server = value(env, "GITHUB_SERVER_URL").unwrap_or("https://github.com");
    let url = match (&repository, value(env, "GITHUB_RUN_ID")) {
        (Some(repo), Some(run)) => Some(format!(
            "{}/{repo}/actions/runs/{run}",
            without_credentials(server.trim_end_matches('/'))
        )),
        _ => None,
    };
    Some(CiJob {
        actor: owned(env, "GITHUB_ACTOR"),
        branch: owned(env, "GITHUB_HEAD_REF").or_else(|| owned(env, "GITHUB_REF_NAME")),
        commit: owned(env, "GITHUB_SHA"),
        repository,
        url,
        ..job("github")
    })
}

fn gitlab(env: &Env) -> Option<CiJob> {
    if !is_on(env, "GITLAB_CI") {
        return None;
    }
    Some(CiJob {
        actor: owned(env, "GITLAB_USER_LOGIN"),
        repository: owned(env, "CI_PROJECT_PATH"),
        branch: owned(env, "CI_COMMIT_REF_NAME"),
        commit: owned(env, "CI_COMMIT_SHA"),
        url: clean_url(env, "CI_JOB_URL"),
        ..job("gitlab")
    })
}

/// Buildkite. The creator is who started the build; the author (of the commit)
/// stands in for webhook-triggered builds that have no creator.
fn buildkite(env: &Env) -> Option<CiJob> {
    if !is_on(env, "BUILDKITE") {
        return None;
    }
    Some(CiJob {
        actor: owned(env, "BUILDKITE_BUILD_CREATOR")
            .or_else(|| owned(env, "BUILDKITE_BUILD_AUTHOR")),
        repository: clean_url(env, "BUILDKITE_REPO"),
        branch: owned(env, "BUILDKITE_BRANCH"),
        commit: owned(env, "BUILDKITE_COMMIT"),
        url: clean_url(env, "BUILDKITE_BUILD_URL"),
        ..job("buildkite")
    })
}

fn circleci(env: &Env) -> Option<CiJob> {
    if !is_on(env, "CIRCLECI") {
        return None;
    }
    let repository = match (
        value(env, "CIRCLE_PROJECT_USERNAME"),
        value(env, "CIRCLE_PROJECT_REPONAME"),
    ) {
        (Some(owner), Some(repo)) => Some(format!("{owner}/{repo}")),
        _ => clean_url(env, "CIRCLE_REPOSITORY_URL"),
    };
    Some(CiJob {
        actor: owned(env, "CIRCLE_USERNAME"),
        repository,
        branch: owned(env, "CIRCLE_BRANCH"),
        commit: owned(env, "CIRCLE_SHA1"),
        url: clean_url(env, "CIRCLE_BUILD_URL"),
        ..job("circleci")
    })
}

/// Jenkins. `BUILD_USER_ID` exists only with the "build user vars" plugin; the
/// `GIT_*` variables only with the Git plugin; `BRANCH_NAME` only in multibranch
/// pipelines (preferred there, `GIT_BRANCH` reads `origin/main`).
fn jenkins(env: &Env) -> Option<CiJob> {
    value(env, "JENKINS_URL")?;
    Some(CiJob {
        actor: owned(env, "BUILD_USER_ID"),
        repository: clean_url(env, "GIT_URL"),
        branch: owned(env, "BRANCH_NAME").or_else(|| owned(env, "GIT_BRANCH")),
        commit: owned(env, "GIT_COMMIT"),
        url: clean_url(env, "BUILD_URL"),
        ..job("jenkins")
    })
}

/// Any other CI that follows the common `CI=true` convention.
fn generic(env: &Env) -> Option<CiJob> {
    is_on(env, "CI").then(|| job("ci"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::env_of;

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn github_actions_push() {
        let env = env_of(&[
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_ACTOR", "octocat"),
            ("GITHUB_REPOSITORY", "acme/payments"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_HEAD_REF", ""),
            ("GITHUB_SHA", "ffac537e6cbbf934b08745a378932722df287a53"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_RUN_ID", "1658821493"),
        ]);
        assert_eq!(
            detect(&env),
            Some(CiJob {
                system: "github".into(),
                actor: some("octocat"),
                repository: some("acme/payments"),
                branch: some("main"),
                commit: some("ffac537e6cbbf934b08745a378932722df287a53"),
                url: some("https://github.com/acme/payments/actions/runs/1658821493"),
            })
        );
    }

    #[test]
    fn github_actions_pull_request_uses_the_head_branch() {
        let env = env_of(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REF_NAME", "42/merge"),
            ("GITHUB_HEAD_REF", "fix-login"),
        ]);
        let job = detect(&env).unwrap();
        assert_eq!(job.branch, some("fix-login"));
        assert_eq!(job.url, None, "no run id, no repository: no link");
    }

    #[test]
    fn gitlab_ci() {
        let env = env_of(&[
            ("CI", "true"),
            ("GITLAB_CI", "true"),
            ("GITLAB_USER_LOGIN", "alice"),
            ("CI_PROJECT_PATH", "acme/infra"),
            ("CI_COMMIT_REF_NAME", "release-1"),
            ("CI_COMMIT_SHA", "1ecfd275"),
            (
                "CI_JOB_URL",
                "https://gitlab.example.com/acme/infra/-/jobs/7",
            ),
        ]);
        assert_eq!(
            detect(&env),
            Some(CiJob {
                system: "gitlab".into(),
                actor: some("alice"),
                repository: some("acme/infra"),
                branch: some("release-1"),
                commit: some("1ecfd275"),
                url: some("https://gitlab.example.com/acme/infra/-/jobs/7"),
            })
        );
    }

    #[test]
    fn buildkite_falls_back_to_the_author() {
        let env = env_of(&[
            ("BUILDKITE", "true"),
            ("BUILDKITE_BUILD_AUTHOR", "Bob"),
            (
                "BUILDKITE_REPO",
                "https://x-token:s3cr3t@github.com/acme/app.git",
            ),
            ("BUILDKITE_BRANCH", "main"),
            ("BUILDKITE_COMMIT", "abc123"),
            (
                "BUILDKITE_BUILD_URL",
                "https://buildkite.com/acme/app/builds/9",
            ),
        ]);
        assert_eq!(
            detect(&env),
            Some(CiJob {
                system: "buildkite".into(),
                actor: some("Bob"),
                repository: some("https://github.com/acme/app.git"),
                branch: some("main"),
                commit: some("abc123"),
                url: some("https://buildkite.com/acme/app/builds/9"),
            })
        );
        let with_creator = env_of(&[
            ("BUILDKITE", "true"),
            ("BUILDKITE_BUILD_CREATOR", "Carol"),
            ("BUILDKITE_BUILD_AUTHOR", "Bob"),
        ]);
        assert_eq!(detect(&with_creator).unwrap().actor, some("Carol"));
    }

    #[test]
    fn jenkins_prefers_the_multibranch_name_and_strips_git_credentials() {
        let env = env_of(&[
            ("JENKINS_URL", "https://ci.example.com/"),
            ("BUILD_USER_ID", "dave"),
            ("GIT_URL", "https://dave:tok@git.example.com/acme/app.git"),
            ("GIT_BRANCH", "origin/main"),
            ("BRANCH_NAME", "main"),
            ("GIT_COMMIT", "deadbeef"),
            ("BUILD_URL", "https://ci.example.com/job/app/12/"),
        ]);
        assert_eq!(
            detect(&env),
            Some(CiJob {
                system: "jenkins".into(),
                actor: some("dave"),
                repository: some("https://git.example.com/acme/app.git"),
                branch: some("main"),
                commit: some("deadbeef"),
                url: some("https://ci.example.com/job/app/12/"),
            })
        );
        let freestyle = env_of(&[("JENKINS_URL", "https://ci/"), ("GIT_BRANCH", "origin/dev")]);
        let job = detect(&freestyle).unwrap();
        assert_eq!((job.branch, job.actor), (some("origin/dev"), None));
    }

    #[test]
    fn circleci() {
        let env = env_of(&[
            ("CI", "true"),
            ("CIRCLECI", "true"),
            ("CIRCLE_USERNAME", "erin"),
            ("CIRCLE_PROJECT_USERNAME", "acme"),
            ("CIRCLE_PROJECT_REPONAME", "web"),
            ("CIRCLE_BRANCH", "feature"),
            ("CIRCLE_SHA1", "0a1b2c"),
            ("CIRCLE_BUILD_URL", "https://circleci.com/gh/acme/web/33"),
        ]);
        assert_eq!(
            detect(&env),
            Some(CiJob {
                system: "circleci".into(),
                actor: some("erin"),
                repository: some("acme/web"),
                branch: some("feature"),
                commit: some("0a1b2c"),
                url: some("https://circleci.com/gh/acme/web/33"),
            })
        );
    }

    #[test]
    fn generic_ci_has_only_a_system_name() {
        assert_eq!(detect(&env_of(&[("CI", "true")])), Some(job("ci")));
        assert_eq!(detect(&env_of(&[("CI", "1")])), Some(job("ci")));
        assert_eq!(detect(&env_of(&[("CI", "false")])), None);
    }

    #[test]
    fn switched_off_or_fake_markers_are_not_ci() {
        for env in [
            env_of(&[("GITHUB_ACTIONS", "false")]),
            env_of(&[("GITHUB_ACTIONS", "")]),
            env_of(&[("GITLAB_CI", "false")]),
            env_of(&[("CIRCLECI", "0")]),
            env_of(&[("JENKINS_URL", "")]),
            env_of(&[("GITHUB_ACTOR", "octocat")]),
        ] {
            assert_eq!(detect(&env), None, "{env:?}");
        }
    }

    #[test]
    fn precedence_when_several_systems_are_present() {
        let all = env_of(&[
            ("CI", "true"),
            ("JENKINS_URL", "https://ci/"),
            ("CIRCLECI", "true"),
            ("BUILDKITE", "true"),
            ("GITLAB_CI", "true"),
            ("GITHUB_ACTIONS", "true"),
        ]);
        let mut env = all.clone();
        for expected in ["github", "gitlab", "buildkite", "circleci", "jenkins", "ci"] {
            assert_eq!(detect(&env).unwrap().system, expected);
            let marker = [
                "GITHUB_ACTIONS",
                "GITLAB_CI",
                "BUILDKITE",
                "CIRCLECI",
                "JENKINS_URL",
            ]
            .into_iter()
            .find(|m| env.contains_key(*m));
            if let Some(marker) = marker {
                env.remove(marker);
            }
        }
    }
}
