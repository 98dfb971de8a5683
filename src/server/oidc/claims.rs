//! From a verified token's claims to the request's CI identity: the mapped
//! actor, repository, ref and workflow ([`VerifiedCi`], what approvers and the
//! signed decision see), and the CI job that replaces the one the requester
//! claimed ([`CiJob`], what the broker's policy and self-approval checks see).

use super::TokenError;
use crate::approval::protocol::VerifiedCi;
use crate::identity::{CiJob, Requester};
use crate::server::config::{CiSystem, OidcIssuerConfig};
use serde_json::{Map, Value};

type Claims = Map<String, Value>;

/// A verified identity and the CI job it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub identity: VerifiedCi,
    pub job: CiJob,
}

/// The identity in `claims`, mapped by `issuer`'s claim names.
pub fn identity(claims: &Claims, issuer: &OidcIssuerConfig) -> Result<Verified, TokenError> {
    let names = &issuer.claims;
    let subject = text(claims, "sub").ok_or_else(|| TokenError::MissingClaim("sub".into()))?;
    let identity = VerifiedCi {
        issuer: issuer.issuer.clone(),
        subject,
        system: issuer.system.as_str().to_string(),
        actor: text(claims, &names.actor),
        repository: text(claims, &names.repository),
        git_ref: text(claims, &names.git_ref),
        workflow: text(claims, &names.workflow),
    };
    let job = CiJob {
        system: identity.system.clone(),
        actor: identity.actor.clone(),
        repository: identity.repository.clone(),
        branch: identity.git_ref.as_deref().map(branch),
        commit: text(claims, "sha"),
        url: job_url(claims, issuer, identity.repository.as_deref()),
    };
    Ok(Verified { identity, job })
}

/// Replace what the requester claimed about its CI job with what was verified.
pub fn apply(requester: &mut Requester, verified: &Verified) {
    requester.ci = Some(verified.job.clone());
}

/// The branch name of a ref (`refs/heads/main` → `main`); other refs as they are.
fn branch(git_ref: &str) -> String {
    git_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(git_ref)
        .to_string()
}

/// A link to the run, built from verified claims only: the requester's own
/// `url` could point anywhere.
fn job_url(claims: &Claims, issuer: &OidcIssuerConfig, repository: Option<&str>) -> Option<String> {
    let repository = repository?;
    match issuer.system {
        CiSystem::Github => {
            let server = if issuer.issuer == "https://token.actions.githubusercontent.com" {
                "https://github.com"
            } else {
                issuer.issuer.strip_suffix("/_services/token")?
            };
            let run = text(claims, "run_id")?;
            Some(format!("{server}/{repository}/actions/runs/{run}"))
        }
        CiSystem::Gitlab => {
            let job = text(claims, "job_id")?;
            Some(format!("{}/{repository}/-/jobs/{job}", issuer.issuer))
        }
    }
}

/// A claim as text: strings as they are, numbers written out; anything else is absent.
fn text(claims: &Claims, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::ClaimNames;

    fn issuer(issuer: &str, system: CiSystem) -> OidcIssuerConfig {
        OidcIssuerConfig {
            issuer: issuer.to_string(),
            audience: None,
            jwks_url: None,
            system,
            claims: system.default_claims(),
        }
    }

    fn claims(json: &str) -> Claims {
        serde_json::from_str(json).unwrap()
    }

    /// The example token claims GitHub documents in "About security hardening
    /// with OpenID Connect".
    const GITHUB_EXAMPLE: &str = r#"{
        "jti": "example-id",
        "sub": "repo:octo-org/octo-repo:environment:prod",
        "environment": "prod",
        "aud": "https://github.com/octo-org",
        "ref": "refs/heads/main",
        "sha": "example-sha",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "actor_id": "12",
        "repository_visibility": "private",
        "repository_id": "74",
        "repository_owner_id": "65",
        "run_id": "example-run-id",
        "run_number": "10",
        "run_attempt": "2",
        "runner_environment": "github-hosted",
        "actor": "octocat",
        "workflow": "example-workflow",
        "head_ref": "",
        "base_ref": "",
        "event_name": "workflow_dispatch",
        "ref_type": "branch",
        "job_workflow_ref": "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
        "iss": "https://token.actions.githubusercontent.com",
        "nbf": 1632492967,
        "exp": 1632493867,
        "iat": 1632493567
    }"#;

    #[test]
    fn githubs_documented_example_maps_to_its_identity() {
        let github = issuer(
            "https://token.actions.githubusercontent.com",
            CiSystem::Github,
        );
        let verified = identity(&claims(GITHUB_EXAMPLE), &github).unwrap();
        assert_eq!(
            verified.identity,
            VerifiedCi {
                issuer: "https://token.actions.githubusercontent.com".into(),
                subject: "repo:octo-org/octo-repo:environment:prod".into(),
                system: "github".into(),
                actor: Some("octocat".into()),
                repository: Some("octo-org/octo-repo".into()),
                git_ref: Some("refs/heads/main".into()),
                workflow: Some("example-workflow".into()),
            }
        );
        assert_eq!(
            verified.job,
            CiJob {
                system: "github".into(),
                actor: Some("octocat".into()),
                repository: Some("octo-org/octo-repo".into()),
                branch: Some("main".into()),
                commit: Some("example-sha".into()),
                url: Some(
                    "https://github.com/octo-org/octo-repo/actions/runs/example-run-id".into()
                ),
            }
        );
    }

    #[test]
    fn gitlab_claims_and_overridden_names() {
        let mut gitlab = issuer("https://gitlab.example.com", CiSystem::Gitlab);
        let token = claims(
            r#"{"sub": "project_path:acme/infra:ref_type:branch:ref:main",
                "project_path": "acme/infra", "ref": "main", "ref_type": "branch",
                "user_login": "alice", "pipeline_source": "push", "job_id": 7,
                "ci_config_ref_uri": "gitlab.example.com/acme/infra//.gitlab-ci.yml@refs/heads/main",
                "sha": "1ecfd275"}"#,
        );
        let verified = identity(&token, &gitlab).unwrap();
        assert_eq!(verified.identity.actor.as_deref(), Some("alice"));
        assert_eq!(verified.identity.repository.as_deref(), Some("acme/infra"));
        assert_eq!(verified.job.branch.as_deref(), Some("main"));
        assert_eq!(
            verified.job.url.as_deref(),
            Some("https://gitlab.example.com/acme/infra/-/jobs/7")
        );
        gitlab.claims = ClaimNames {
            actor: "pipeline_source".into(),
            ..gitlab.claims
        };
        let verified = identity(&token, &gitlab).unwrap();
        assert_eq!(verified.identity.actor.as_deref(), Some("push"));
    }

    #[test]
    fn a_token_without_a_subject_is_refused() {
        let github = issuer(
            "https://token.actions.githubusercontent.com",
            CiSystem::Github,
        );
        let err = identity(&claims(r#"{"actor": "octocat"}"#), &github).unwrap_err();
        assert_eq!(err, TokenError::MissingClaim("sub".into()));
    }
}
