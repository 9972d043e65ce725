//! Builds [`Evidence`] from a verified Fulcio certificate and the SLSA predicate it signed,
//! and refuses the pair when they disagree.
//!
//! The certificate is authoritative: Fulcio copied its claims from GitHub's OIDC token. The
//! predicate was written by a program running inside the workflow; where both state a fact
//! they must agree, and where an older certificate is silent (before Fulcio's `.1.8`+
//! extensions) the predicate fills the gap.

use super::{ErrorKind, VerificationError};
use artifact_monitor_core::domain::{Evidence, RepositoryName, WorkflowRef};
use serde_json::Value;
use sigstore_verify::crypto::CertificateInfo;

pub(crate) const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";
pub(crate) const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
const GITHUB_URL: &str = "https://github.com/";

/// What the certificate says, before the predicate is consulted.
pub(crate) fn certificate_evidence(cert: &CertificateInfo) -> Evidence {
    let claims = &cert.ci_claims;
    let legacy = &claims.deprecated_github;
    let identity = cert.identity.as_ref().map(|i| i.as_str().to_owned());
    let repository = claims
        .source_repository_uri
        .as_deref()
        .map(|uri| RepositoryName::from_url(uri).map_or_else(|_| uri.to_owned(), |r| r.to_string()))
        .or_else(|| legacy.workflow_repository.clone());
    // Before Fulcio issued the Build Config URI, the SAN named the workflow that ran, unless
    // a reusable workflow in another repository requested the certificate.
    let workflow_ref = claims
        .build_config_uri
        .as_deref()
        .map(strip_github)
        .or_else(|| {
            let san = WorkflowRef::parse(identity.as_deref()?).ok()?;
            let same_repo = repository
                .as_deref()
                .and_then(|r| RepositoryName::parse(r).ok())
                .is_some_and(|r| r == san.repository);
            same_repo.then(|| san.to_string())
        });
    let build_signer = claims
        .build_signer_uri
        .as_deref()
        .or_else(|| identity.as_deref().filter(|i| i.starts_with(GITHUB_URL)))
        .map(strip_github);
    let (run_id, run_attempt) = claims
        .run_invocation_uri
        .as_deref()
        .map_or((None, None), parse_run_url);
    Evidence {
        certificate_identity: identity,
        issuer: cert.issuer.clone(),
        repository,
        repository_id: claims.source_repository_identifier.clone(),
        owner_id: claims.source_repository_owner_identifier.clone(),
        git_ref: claims
            .source_repository_ref
            .clone()
            .or_else(|| legacy.workflow_ref.clone()),
        commit: claims
            .source_repository_digest
            .clone()
            .or_else(|| legacy.workflow_sha.clone()),
        workflow_path: workflow_ref
            .as_deref()
            .and_then(|w| WorkflowRef::parse(w).ok())
            .map(|w| w.path.to_string()),
        workflow_ref,
        event: claims
            .build_trigger
            .clone()
            .or_else(|| legacy.workflow_trigger.clone()),
        runner_environment: claims.runner_environment.clone(),
        environment: claims.deployment_environment.clone(),
        run_id,
        run_attempt,
        run_url: claims.run_invocation_uri.clone(),
        build_signer,
        repository_visibility: claims.source_repository_visibility_at_signing.clone(),
        ..Evidence::default()
    }
}

fn strip_github(uri: &str) -> String {
    uri.strip_prefix(GITHUB_URL).unwrap_or(uri).to_owned()
}

/// `https://github.com/o/r/actions/runs/<id>[/attempts/<n>]` → (id, attempt).
fn parse_run_url(url: &str) -> (Option<u64>, Option<u32>) {
    let Some(rest) = url.strip_prefix(GITHUB_URL) else {
        return (None, None);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [_, _, "actions", "runs", id] => (id.parse().ok(), None),
        [_, _, "actions", "runs", id, "attempts", attempt] => {
            (id.parse().ok(), attempt.parse().ok())
        }
        _ => (None, None),
    }
}

/// The facts a SLSA predicate states about the build, in the same shape as the evidence.
#[derive(Debug, Default)]
struct PredicateClaims {
    repository: Option<String>,
    repository_id: Option<String>,
    owner_id: Option<String>,
    git_ref: Option<String>,
    commit: Option<String>,
    workflow_ref: Option<String>,
    event: Option<String>,
    run_id: Option<u64>,
    run_attempt: Option<u32>,
    run_url: Option<String>,
    builder_id: Option<String>,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn predicate_claims(predicate_type: &str, predicate: &Value) -> PredicateClaims {
    match predicate_type {
        SLSA_V1 => {
            let workflow = "/buildDefinition/externalParameters/workflow";
            let github = "/buildDefinition/internalParameters/github";
            let repository = text(predicate, &format!("{workflow}/repository"))
                .map(|uri| RepositoryName::from_url(&uri).map_or(uri, |r| r.to_string()));
            let git_ref = text(predicate, &format!("{workflow}/ref"));
            let path = text(predicate, &format!("{workflow}/path"));
            let workflow_ref = match (&repository, &path, &git_ref) {
                (Some(repo), Some(path), Some(git_ref)) => Some(format!("{repo}/{path}@{git_ref}")),
                _ => None,
            };
            let run_url = text(predicate, "/runDetails/metadata/invocationId");
            let (run_id, run_attempt) = run_url.as_deref().map_or((None, None), parse_run_url);
            PredicateClaims {
                repository,
                repository_id: text(predicate, &format!("{github}/repository_id")),
                owner_id: text(predicate, &format!("{github}/repository_owner_id")),
                git_ref,
                commit: text(
                    predicate,
                    "/buildDefinition/resolvedDependencies/0/digest/gitCommit",
                ),
                workflow_ref,
                event: text(predicate, &format!("{github}/event_name")),
                run_id,
                run_attempt,
                run_url,
                builder_id: text(predicate, "/runDetails/builder/id"),
            }
        }
        SLSA_V02 => {
            let env = |name: &str| text(predicate, &format!("/invocation/environment/{name}"));
            let repository = env("GITHUB_REPOSITORY");
            let run_id = env("GITHUB_RUN_ID").and_then(|id| id.parse().ok());
            let run_attempt = env("GITHUB_RUN_ATTEMPT").and_then(|a| a.parse().ok());
            let run_url = match (&repository, run_id, run_attempt) {
                (Some(repo), Some(id), Some(attempt)) => Some(format!(
                    "{GITHUB_URL}{repo}/actions/runs/{id}/attempts/{attempt}"
                )),
                _ => None,
            };
            PredicateClaims {
                repository,
                repository_id: env("GITHUB_REPOSITORY_ID"),
                owner_id: env("GITHUB_REPOSITORY_OWNER_ID"),
                git_ref: env("GITHUB_REF"),
                commit: env("GITHUB_SHA"),
                workflow_ref: env("GITHUB_WORKFLOW_REF"),
                event: env("GITHUB_EVENT_NAME"),
                run_id,
                run_attempt,
                run_url,
                builder_id: text(predicate, "/builder/id"),
            }
        }
        _ => PredicateClaims::default(),
    }
}

/// Checks that the predicate agrees with the certificate and completes the evidence with
/// what only the predicate states.
pub(crate) fn reconcile(
    mut evidence: Evidence,
    predicate_type: &str,
    predicate: &Value,
) -> Result<Evidence, VerificationError> {
    let claims = predicate_claims(predicate_type, predicate);
    let same_repo = |a: &str, b: &str| match (RepositoryName::parse(a), RepositoryName::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    let same_workflow = |a: &str, b: &str| match (WorkflowRef::parse(a), WorkflowRef::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    agree(
        "repository",
        &mut evidence.repository,
        claims.repository,
        same_repo,
    )?;
    agree(
        "repository id",
        &mut evidence.repository_id,
        claims.repository_id,
        str::eq,
    )?;
    agree("owner id", &mut evidence.owner_id, claims.owner_id, str::eq)?;
    agree("ref", &mut evidence.git_ref, claims.git_ref, str::eq)?;
    agree("commit", &mut evidence.commit, claims.commit, str::eq)?;
    agree(
        "workflow",
        &mut evidence.workflow_ref,
        claims.workflow_ref,
        same_workflow,
    )?;
    agree("event", &mut evidence.event, claims.event, str::eq)?;
    agree(
        "run",
        &mut evidence.run_url,
        claims.run_url,
        |cert, pred| {
            // Older certificates name the run without its attempt.
            cert == pred
                || pred
                    .strip_prefix(cert)
                    .is_some_and(|rest| rest.starts_with("/attempts/"))
        },
    )?;
    let mut run_id = evidence.run_id.map(|id| id.to_string());
    agree(
        "run id",
        &mut run_id,
        claims.run_id.map(|id| id.to_string()),
        str::eq,
    )?;
    evidence.run_id = run_id.and_then(|id| id.parse().ok());
    evidence.run_attempt = evidence.run_attempt.or(claims.run_attempt);
    if evidence.workflow_path.is_none() {
        evidence.workflow_path = evidence
            .workflow_ref
            .as_deref()
            .and_then(|w| WorkflowRef::parse(w).ok())
            .map(|w| w.path.to_string());
    }
    if let (Some(builder), Some(runner)) = (&claims.builder_id, &evidence.runner_environment) {
        let hosted_builder = builder.ends_with("/github-hosted");
        let self_builder = builder.ends_with("/self-hosted");
        if (hosted_builder && runner != "github-hosted")
            || (self_builder && runner != "self-hosted")
        {
            return Err(disagreement("runner", builder, runner));
        }
    }
    evidence.builder_id = claims.builder_id;
    Ok(evidence)
}

fn agree(
    field: &str,
    certificate: &mut Option<String>,
    predicate: Option<String>,
    same: impl Fn(&str, &str) -> bool,
) -> Result<(), VerificationError> {
    match (certificate.as_deref(), predicate) {
        (Some(cert), Some(pred)) if !same(cert, &pred) => Err(disagreement(field, &pred, cert)),
        (None, Some(pred)) => {
            *certificate = Some(pred);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn disagreement(field: &str, predicate: &str, certificate: &str) -> VerificationError {
    VerificationError::new(
        ErrorKind::Predicate,
        format!(
            "the predicate says the {field} is {predicate:?} but the certificate says {certificate:?}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_urls_parse_with_and_without_attempts() {
        assert_eq!(
            parse_run_url("https://github.com/o/r/actions/runs/42/attempts/3"),
            (Some(42), Some(3))
        );
        assert_eq!(
            parse_run_url("https://github.com/o/r/actions/runs/42"),
            (Some(42), None)
        );
        assert_eq!(
            parse_run_url("https://evil.example/o/r/actions/runs/42"),
            (None, None)
        );
        assert_eq!(
            parse_run_url("https://github.com/o/r/actions/runs/x/attempts/1"),
            (None, Some(1))
        );
    }

    fn certified() -> Evidence {
        Evidence {
            repository: Some("sigstore/sigstore-js".into()),
            git_ref: Some("refs/heads/main".into()),
            runner_environment: Some("github-hosted".into()),
            ..Evidence::default()
        }
    }

    #[test]
    fn predicate_fills_gaps_and_must_agree() {
        let predicate = serde_json::json!({
            "buildDefinition": {
                "externalParameters": {"workflow": {
                    "ref": "refs/heads/main",
                    "repository": "https://github.com/sigstore/sigstore-js",
                    "path": ".github/workflows/release.yml"}},
                "internalParameters": {"github": {"event_name": "push", "repository_id": "1", "repository_owner_id": "2"}}
            },
            "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"},
                           "metadata": {"invocationId": "https://github.com/sigstore/sigstore-js/actions/runs/9/attempts/1"}}
        });
        let evidence = reconcile(certified(), SLSA_V1, &predicate).unwrap();
        assert_eq!(
            evidence.workflow_path.as_deref(),
            Some(".github/workflows/release.yml")
        );
        assert_eq!(evidence.run_id, Some(9));
        assert_eq!(evidence.event.as_deref(), Some("push"));

        let mut other_ref = predicate.clone();
        other_ref["buildDefinition"]["externalParameters"]["workflow"]["ref"] =
            "refs/heads/evil".into();
        let error = reconcile(certified(), SLSA_V1, &other_ref).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Predicate);

        let mut self_hosted = predicate;
        self_hosted["runDetails"]["builder"]["id"] =
            "https://github.com/actions/runner/self-hosted".into();
        assert_eq!(
            reconcile(certified(), SLSA_V1, &self_hosted)
                .unwrap_err()
                .kind,
            ErrorKind::Predicate
        );
    }
}
