//! Release policies: which repository, workflow, refs, events, runners and environments may
//! produce a version of an artifact, evaluated against verified [`Evidence`].
//!
//! There is no default policy and no permissive default field: a policy names at least a
//! repository and one workflow file, requires a github-hosted runner unless told otherwise,
//! and refuses any reusable workflow it does not list.

use super::{
    Evidence, GithubNameError, RefPattern, RepositoryName, RunnerEnvironment, WorkflowPath,
    WorkflowRef,
};
use serde::Serialize;
use std::fmt;

/// Who may release an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePolicy {
    pub repository: RepositoryName,
    /// GitHub's immutable repository id, once learned: survives renames and defeats a
    /// deleted-and-recreated repository of the same name.
    pub repository_id: Option<String>,
    /// GitHub's immutable owner id, likewise.
    pub owner_id: Option<String>,
    /// Workflow files allowed to release (at least one).
    pub workflows: Vec<WorkflowPath>,
    /// Refs allowed to release; `None` allows any ref.
    pub allowed_refs: Option<Vec<RefPattern>>,
    /// Trigger events allowed to release; `None` allows any event.
    pub allowed_events: Option<Vec<String>>,
    /// Require the certificate to say the job ran on a github-hosted runner.
    pub require_github_hosted_runner: bool,
    /// Require this deployment environment.
    pub environment: Option<String>,
    /// Reusable workflows allowed to sign on behalf of an allowed workflow.
    pub allowed_reusable_workflows: Vec<ReusableWorkflowPattern>,
}

/// Why a policy could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a release policy needs at least one workflow file")]
    NoWorkflow,
    /// A repository, workflow, ref pattern or reusable workflow that is not one.
    #[error(transparent)]
    Name(#[from] GithubNameError),
    #[error("reusable workflow {0:?} must end in @<ref pattern>")]
    ReusableWithoutRef(String),
    #[error("reusable workflow {0:?} must be owner/repo/.github/workflows/file.yml@ref")]
    ReusableShape(String),
    #[error("allowed_refs, when given, must list at least one ref")]
    NoRefs,
    #[error("allowed_events, when given, must list non-empty event names")]
    EmptyEvents,
}

impl ReleasePolicy {
    /// The strictest policy for one repository and its workflows: any ref, any event,
    /// github-hosted runners only, no environment, no reusable workflow.
    pub fn new(
        repository: RepositoryName,
        workflows: Vec<WorkflowPath>,
    ) -> Result<Self, PolicyError> {
        if workflows.is_empty() {
            return Err(PolicyError::NoWorkflow);
        }
        Ok(Self {
            repository,
            repository_id: None,
            owner_id: None,
            workflows,
            allowed_refs: None,
            allowed_events: None,
            require_github_hosted_runner: true,
            environment: None,
            allowed_reusable_workflows: Vec::new(),
        })
    }

    /// Every way the evidence falls short of the policy; empty when it complies.
    pub fn evaluate(&self, evidence: &Evidence) -> Vec<PolicyViolation> {
        let mut violations = Vec::new();
        // A policy names a GitHub repository and workflow: only GitHub Actions' identity
        // provider vouches for those. Another CI's (GitLab's, Google's) or a person's
        // certificate is refused for what it is, before its claims are compared.
        if let Some(issuer) = evidence.issuer.as_deref()
            && issuer != GITHUB_ACTIONS_ISSUER
        {
            violations.push(PolicyViolation::Signer {
                issuer: issuer.to_owned(),
            });
        }
        let repository = evidence
            .repository
            .as_deref()
            .and_then(|r| RepositoryName::parse(r).ok());
        if repository.as_ref() != Some(&self.repository) {
            violations.push(PolicyViolation::Repository {
                expected: self.repository.to_string(),
                actual: evidence.repository.clone(),
            });
        }
        pin(
            &mut violations,
            &self.repository_id,
            &evidence.repository_id,
            |expected, actual| PolicyViolation::RepositoryId { expected, actual },
        );
        pin(
            &mut violations,
            &self.owner_id,
            &evidence.owner_id,
            |expected, actual| PolicyViolation::OwnerId { expected, actual },
        );
        self.check_workflow(evidence, &mut violations);
        if let Some(refs) = &self.allowed_refs {
            let allowed = evidence
                .git_ref
                .as_deref()
                .is_some_and(|r| refs.iter().any(|p| p.matches(r)));
            if !allowed {
                violations.push(PolicyViolation::Ref {
                    allowed: refs.iter().map(ToString::to_string).collect(),
                    actual: evidence.git_ref.clone(),
                });
            }
        }
        if let Some(events) = &self.allowed_events {
            let allowed = evidence
                .event
                .as_deref()
                .is_some_and(|e| events.iter().any(|a| a == e));
            if !allowed {
                violations.push(PolicyViolation::Event {
                    allowed: events.clone(),
                    actual: evidence.event.clone(),
                });
            }
        }
        // An absent claim is not a violation: certificates from before mid-2023 carry none,
        // and npm refuses provenance from self-hosted runners; the verdict engine reports it
        // as not attested. A claim that is present must say github-hosted.
        if self.require_github_hosted_runner
            && evidence.runner_environment.is_some()
            && evidence.runner() != Some(RunnerEnvironment::GithubHosted)
        {
            violations.push(PolicyViolation::Runner {
                actual: evidence.runner_environment.clone(),
            });
        }
        if let Some(environment) = &self.environment
            && evidence.environment.as_ref() != Some(environment)
        {
            violations.push(PolicyViolation::Environment {
                expected: environment.clone(),
                actual: evidence.environment.clone(),
            });
        }
        violations
    }

    fn check_workflow(&self, evidence: &Evidence, violations: &mut Vec<PolicyViolation>) {
        let workflow = evidence
            .workflow_ref
            .as_deref()
            .and_then(|w| WorkflowRef::parse(w).ok());
        let allowed = workflow
            .as_ref()
            .is_some_and(|w| w.repository == self.repository && self.workflows.contains(&w.path));
        if !allowed {
            violations.push(PolicyViolation::Workflow {
                allowed: self.workflows.iter().map(ToString::to_string).collect(),
                actual: evidence.workflow_ref.clone(),
            });
        }
        // When a different workflow requested the certificate, it is a reusable workflow
        // acting for the caller, and must be one the policy lists.
        let Some(signer) = evidence.build_signer.as_deref() else {
            return;
        };
        let signer_ref = WorkflowRef::parse(signer).ok();
        if signer_ref.is_some() && signer_ref == workflow {
            return;
        }
        let listed = signer_ref
            .as_ref()
            .is_some_and(|s| self.allowed_reusable_workflows.iter().any(|p| p.matches(s)));
        if !listed {
            violations.push(PolicyViolation::ReusableWorkflow {
                actual: signer.to_owned(),
            });
        }
    }
}

fn pin(
    violations: &mut Vec<PolicyViolation>,
    expected: &Option<String>,
    actual: &Option<String>,
    make: impl FnOnce(String, Option<String>) -> PolicyViolation,
) {
    if let Some(expected) = expected
        && actual.as_ref() != Some(expected)
    {
        violations.push(make(expected.clone(), actual.clone()));
    }
}

/// A reusable workflow the policy trusts to sign for it:
/// `owner/repo/.github/workflows/file.yml@<ref pattern>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReusableWorkflowPattern {
    repository: RepositoryName,
    path: WorkflowPath,
    git_ref: RefPattern,
}

impl ReusableWorkflowPattern {
    pub fn parse(input: &str) -> Result<Self, PolicyError> {
        let (location, pattern) = input
            .split_once('@')
            .ok_or_else(|| PolicyError::ReusableWithoutRef(input.to_owned()))?;
        let mut parts = location.splitn(3, '/');
        let (Some(owner), Some(repo), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(PolicyError::ReusableShape(input.to_owned()));
        };
        Ok(Self {
            repository: RepositoryName::parse(&format!("{owner}/{repo}"))?,
            path: WorkflowPath::parse(path)?,
            git_ref: RefPattern::parse(pattern)?,
        })
    }

    pub fn matches(&self, signer: &WorkflowRef) -> bool {
        signer.repository == self.repository
            && signer.path == self.path
            && self.git_ref.matches(&signer.git_ref)
    }
}

impl fmt::Display for ReusableWorkflowPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.repository, self.path, self.git_ref)
    }
}

/// One way verified evidence falls short of a release policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PolicyViolation {
    Repository {
        expected: String,
        actual: Option<String>,
    },
    RepositoryId {
        expected: String,
        actual: Option<String>,
    },
    OwnerId {
        expected: String,
        actual: Option<String>,
    },
    Workflow {
        allowed: Vec<String>,
        actual: Option<String>,
    },
    Ref {
        allowed: Vec<String>,
        actual: Option<String>,
    },
    Event {
        allowed: Vec<String>,
        actual: Option<String>,
    },
    Runner {
        actual: Option<String>,
    },
    Environment {
        expected: String,
        actual: Option<String>,
    },
    ReusableWorkflow {
        actual: String,
    },
    /// The certificate was issued on another identity provider's word than GitHub
    /// Actions'.
    Signer {
        issuer: String,
    },
}

/// The OpenID Connect issuer of GitHub Actions' workflow identities.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// What an identity provider's issuer URL is, in words (the ones seen signing packages).
fn issuer_in_words(issuer: &str) -> &'static str {
    match issuer.trim_end_matches('/') {
        "https://gitlab.com" => "GitLab CI",
        "https://accounts.google.com" => "a Google account or service account",
        "https://github.com/login/oauth" => "a person's GitHub sign-in",
        "https://oauth2.sigstore.dev/auth" => "a person's sign-in at Sigstore",
        "https://token.actions.githubusercontent.com" => "GitHub Actions",
        _ => "another identity provider",
    }
}

impl PolicyViolation {
    /// A stable machine-readable reason code.
    pub fn code(&self) -> super::Reason {
        use super::Reason;
        match self {
            Self::Repository { .. } => Reason::RepositoryMismatch,
            Self::RepositoryId { .. } => Reason::RepositoryIdMismatch,
            Self::OwnerId { .. } => Reason::OwnerIdMismatch,
            Self::Workflow { .. } => Reason::WorkflowMismatch,
            Self::Ref { .. } => Reason::RefNotAllowed,
            Self::Event { .. } => Reason::EventNotAllowed,
            Self::Runner { .. } => Reason::RunnerNotGithubHosted,
            Self::Environment { .. } => Reason::EnvironmentMismatch,
            Self::ReusableWorkflow { .. } => Reason::ReusableWorkflowNotAllowed,
            Self::Signer { .. } => Reason::SignerNotGithubActions,
        }
    }
}

fn shown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("nothing")
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Repository { expected, actual } => {
                write!(
                    f,
                    "built from repository {}, policy requires {expected}",
                    shown(actual)
                )
            }
            Self::RepositoryId { expected, actual } => {
                write!(
                    f,
                    "repository id is {}, policy pins {expected}",
                    shown(actual)
                )
            }
            Self::OwnerId { expected, actual } => {
                write!(
                    f,
                    "repository owner id is {}, policy pins {expected}",
                    shown(actual)
                )
            }
            Self::Workflow { allowed, actual } => write!(
                f,
                "built by workflow {}, policy allows {}",
                shown(actual),
                allowed.join(", ")
            ),
            Self::Ref { allowed, actual } => {
                write!(
                    f,
                    "built from ref {}, policy allows {}",
                    shown(actual),
                    allowed.join(", ")
                )
            }
            Self::Event { allowed, actual } => write!(
                f,
                "triggered by event {}, policy allows {}",
                shown(actual),
                allowed.join(", ")
            ),
            Self::Runner { actual: None } => {
                write!(f, "the certificate does not attest the runner")
            }
            Self::Runner {
                actual: Some(actual),
            } => {
                write!(f, "ran on a {actual} runner, policy requires github-hosted")
            }
            Self::Environment { expected, actual } => {
                write!(
                    f,
                    "ran in environment {}, policy requires {expected}",
                    shown(actual)
                )
            }
            Self::ReusableWorkflow { actual } => {
                write!(
                    f,
                    "signed by reusable workflow {actual}, which the policy does not allow"
                )
            }
            Self::Signer { issuer } => write!(
                f,
                "signed on the word of {} ({}), not a GitHub Actions workflow",
                issuer_in_words(issuer),
                crate::domain::printable(issuer)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compliant_evidence() -> Evidence {
        Evidence {
            repository: Some("sigstore/sigstore-js".into()),
            repository_id: Some("495574555".into()),
            owner_id: Some("71096353".into()),
            git_ref: Some("refs/tags/v2.3.1".into()),
            workflow_path: Some(".github/workflows/release.yml".into()),
            workflow_ref: Some(
                "sigstore/sigstore-js/.github/workflows/release.yml@refs/tags/v2.3.1".into(),
            ),
            build_signer: Some(
                "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/tags/v2.3.1"
                    .into(),
            ),
            event: Some("release".into()),
            runner_environment: Some("github-hosted".into()),
            environment: Some("npm".into()),
            ..Evidence::default()
        }
    }

    fn strict_policy() -> ReleasePolicy {
        let mut policy = ReleasePolicy::new(
            RepositoryName::parse("sigstore/sigstore-js").unwrap(),
            vec![WorkflowPath::parse(".github/workflows/release.yml").unwrap()],
        )
        .unwrap();
        policy.repository_id = Some("495574555".into());
        policy.owner_id = Some("71096353".into());
        policy.allowed_refs = Some(vec![RefPattern::parse("refs/tags/v*").unwrap()]);
        policy.allowed_events = Some(vec!["release".into(), "workflow_dispatch".into()]);
        policy.environment = Some("npm".into());
        policy
    }

    fn codes(policy: &ReleasePolicy, evidence: &Evidence) -> Vec<super::super::Reason> {
        policy
            .evaluate(evidence)
            .iter()
            .map(PolicyViolation::code)
            .collect()
    }

    #[test]
    fn compliant_evidence_passes_every_combinator() {
        assert!(strict_policy().evaluate(&compliant_evidence()).is_empty());
    }

    #[test]
    fn policy_needs_a_workflow() {
        let repository = RepositoryName::parse("o/r").unwrap();
        assert_eq!(
            ReleasePolicy::new(repository, vec![]),
            Err(PolicyError::NoWorkflow)
        );
    }

    /// One hostile change to otherwise compliant evidence per row, and the reason it must
    /// produce.
    #[test]
    fn hostile_evidence_table() {
        type Mutate = fn(&mut Evidence);
        let table: &[(&str, Mutate, &[&str])] = &[
            (
                "look-alike owner",
                |e| e.repository = Some("sigst0re/sigstore-js".into()),
                &["repository_mismatch"],
            ),
            (
                "look-alike repo suffix",
                |e| e.repository = Some("sigstore/sigstore-js-fork".into()),
                &["repository_mismatch"],
            ),
            (
                "homoglyph owner",
                |e| e.repository = Some("ѕigstore/sigstore-js".into()),
                &["repository_mismatch"],
            ),
            (
                "repository missing",
                |e| e.repository = None,
                &["repository_mismatch"],
            ),
            (
                "recreated repository",
                |e| e.repository_id = Some("1".into()),
                &["repository_id_mismatch"],
            ),
            (
                "transferred owner",
                |e| e.owner_id = None,
                &["owner_id_mismatch"],
            ),
            (
                "other workflow file",
                |e| {
                    e.workflow_ref = Some(
                        "sigstore/sigstore-js/.github/workflows/ci.yml@refs/tags/v2.3.1".into(),
                    )
                },
                &["workflow_mismatch", "reusable_workflow_not_allowed"],
            ),
            (
                "workflow in another repo",
                |e| {
                    e.workflow_ref = Some(
                        "evil/sigstore-js/.github/workflows/release.yml@refs/tags/v2.3.1".into(),
                    )
                },
                &["workflow_mismatch", "reusable_workflow_not_allowed"],
            ),
            (
                "path traversal",
                |e| {
                    e.workflow_ref = Some(
                        "sigstore/sigstore-js/.github/workflows/../../evil.yml@refs/tags/v2.3.1"
                            .into(),
                    )
                },
                &["workflow_mismatch", "reusable_workflow_not_allowed"],
            ),
            (
                "nested @ in workflow ref",
                |e| {
                    e.workflow_ref = Some("sigstore/sigstore-js/.github/workflows/evil.yml@x/.github/workflows/release.yml@refs/tags/v1".into())
                },
                &["workflow_mismatch", "reusable_workflow_not_allowed"],
            ),
            (
                "workflow case trick",
                |e| {
                    e.workflow_ref = Some(
                        "sigstore/sigstore-js/.github/workflows/Release.yml@refs/tags/v2.3.1"
                            .into(),
                    )
                },
                &["workflow_mismatch", "reusable_workflow_not_allowed"],
            ),
            (
                "workflow missing",
                |e| e.workflow_ref = None,
                &["workflow_mismatch", "reusable_workflow_not_allowed"],
            ),
            (
                "branch instead of tag",
                |e| e.git_ref = Some("refs/heads/v2".into()),
                &["ref_not_allowed"],
            ),
            (
                "tag segment escape",
                |e| e.git_ref = Some("refs/tags/v2/../../heads/main".into()),
                &["ref_not_allowed"],
            ),
            (
                "ref case trick",
                |e| e.git_ref = Some("refs/tags/V2.3.1".into()),
                &["ref_not_allowed"],
            ),
            (
                "pull request event",
                |e| e.event = Some("pull_request_target".into()),
                &["event_not_allowed"],
            ),
            (
                "event case trick",
                |e| e.event = Some("Release".into()),
                &["event_not_allowed"],
            ),
            (
                "self-hosted runner",
                |e| e.runner_environment = Some("self-hosted".into()),
                &["runner_not_github_hosted"],
            ),
            (
                "runner not attested (the verdict engine weighs it)",
                |e| e.runner_environment = None,
                &[],
            ),
            (
                "runner look-alike",
                |e| e.runner_environment = Some("github-hosted ".into()),
                &["runner_not_github_hosted"],
            ),
            (
                "no environment",
                |e| e.environment = None,
                &["environment_mismatch"],
            ),
            (
                "other environment",
                |e| e.environment = Some("npm-staging".into()),
                &["environment_mismatch"],
            ),
            (
                "reusable workflow of another owner",
                |e| {
                    e.build_signer = Some("https://github.com/evil/actions/.github/workflows/publish.yml@refs/heads/main".into())
                },
                &["reusable_workflow_not_allowed"],
            ),
            (
                "unparseable signer",
                |e| {
                    e.build_signer = Some(
                        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml"
                            .into(),
                    )
                },
                &["reusable_workflow_not_allowed"],
            ),
        ];
        let policy = strict_policy();
        for (name, mutate, expected) in table {
            let mut evidence = compliant_evidence();
            mutate(&mut evidence);
            assert_eq!(&codes(&policy, &evidence), expected, "{name}");
        }
    }

    #[test]
    fn repository_case_differences_are_the_same_repository() {
        let mut evidence = compliant_evidence();
        evidence.repository = Some("SigStore/Sigstore-JS".into());
        evidence.workflow_ref =
            Some("SigStore/Sigstore-JS/.github/workflows/release.yml@refs/tags/v2.3.1".into());
        evidence.build_signer = None;
        assert!(strict_policy().evaluate(&evidence).is_empty());
    }

    #[test]
    fn listed_reusable_workflow_passes_and_unlisted_ref_fails() {
        let mut policy = strict_policy();
        policy.allowed_reusable_workflows = vec![ReusableWorkflowPattern::parse(
            "slsa-framework/slsa-github-generator/.github/workflows/builder_nodejs_slsa3.yml@refs/tags/v*",
        )
        .unwrap()];
        let mut evidence = compliant_evidence();
        evidence.build_signer = Some("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_nodejs_slsa3.yml@refs/tags/v1.6.0".into());
        assert!(policy.evaluate(&evidence).is_empty());
        evidence.build_signer = Some("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_nodejs_slsa3.yml@refs/heads/main".into());
        assert_eq!(codes(&policy, &evidence), ["reusable_workflow_not_allowed"]);
    }

    #[test]
    fn optional_fields_allow_anything_when_absent() {
        let policy = ReleasePolicy::new(
            RepositoryName::parse("sigstore/sigstore-js").unwrap(),
            vec![WorkflowPath::parse(".github/workflows/release.yml").unwrap()],
        )
        .unwrap();
        let mut evidence = compliant_evidence();
        evidence.git_ref = Some("refs/heads/feature".into());
        evidence.event = Some("push".into());
        evidence.environment = None;
        assert!(policy.evaluate(&evidence).is_empty());
        evidence.runner_environment = Some("self-hosted".into());
        assert_eq!(codes(&policy, &evidence), ["runner_not_github_hosted"]);
        let mut relaxed = policy.clone();
        relaxed.require_github_hosted_runner = false;
        assert!(relaxed.evaluate(&evidence).is_empty());
    }

    #[test]
    fn several_workflows_may_be_allowed() {
        let mut policy = strict_policy();
        policy
            .workflows
            .push(WorkflowPath::parse(".github/workflows/hotfix.yml").unwrap());
        let mut evidence = compliant_evidence();
        evidence.workflow_ref =
            Some("sigstore/sigstore-js/.github/workflows/hotfix.yml@refs/tags/v2.3.1".into());
        evidence.build_signer = None;
        assert!(policy.evaluate(&evidence).is_empty());
    }

    #[test]
    fn only_github_actions_vouches_for_a_github_policy() {
        let policy = strict_policy();
        let mut evidence = compliant_evidence();
        evidence.issuer = Some(GITHUB_ACTIONS_ISSUER.into());
        assert!(policy.evaluate(&evidence).is_empty());
        for (issuer, words) in [
            ("https://gitlab.com", "GitLab CI"),
            ("https://accounts.google.com", "a Google account"),
            (
                "https://github.com/login/oauth",
                "a person's GitHub sign-in",
            ),
            ("https://issuer.example", "another identity provider"),
        ] {
            evidence.issuer = Some(issuer.into());
            let violations = policy.evaluate(&evidence);
            assert_eq!(
                violations[0].code(),
                super::super::Reason::SignerNotGithubActions
            );
            let said = violations[0].to_string();
            assert!(said.contains(words) && said.contains(issuer), "{said}");
        }
    }
}
