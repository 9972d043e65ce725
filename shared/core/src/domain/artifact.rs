//! Watched artifacts and the policy each one is judged against, in a storable form.

use super::{
    GithubNameError, PolicyError, RefPattern, ReleasePolicy, RepositoryName,
    ReusableWorkflowPattern, WorkflowPath,
};
use crate::registry::{NameError, RegistryType};
use serde::{Deserialize, Serialize};

/// A watched artifact: which one, of which registry type, and who may release it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Registry type (the first segment of its key).
    #[serde(rename = "type")]
    pub registry: RegistryType,
    pub name: String,
    pub policy: PolicySpec,
}

impl Artifact {
    /// An artifact of `registry`; the name (by the type's rules) and the policy are checked.
    pub fn new(
        registry: RegistryType,
        name: &str,
        policy: PolicySpec,
    ) -> Result<Self, ArtifactError> {
        let name = registry.check_name(name)?;
        policy.to_policy()?;
        Ok(Self {
            registry,
            name,
            policy,
        })
    }

    /// An npm artifact ([`Self::new`] for [`RegistryType::Npm`]).
    pub fn npm(name: &str, policy: PolicySpec) -> Result<Self, ArtifactError> {
        Self::new(RegistryType::Npm, name, policy)
    }

    /// The storage key, `<type>/<name>`.
    pub fn key(&self) -> String {
        artifact_key(self.registry, &self.name)
    }
}

/// Why an artifact cannot be used: its name or its policy does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// The storage key of an artifact.
pub fn artifact_key(registry: RegistryType, name: &str) -> String {
    format!("{registry}/{name}")
}

/// A release policy as configured and stored: plain strings, checked by [`Self::to_policy`].
/// The defaults are the strict ones: any ref and event only when none are listed,
/// github-hosted runners required, no reusable workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub repository: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    pub workflows: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_refs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_events: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub require_github_hosted_runner: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_reusable_workflows: Vec<String>,
}

fn yes() -> bool {
    true
}

impl PolicySpec {
    /// The strictest policy for one repository and its workflows.
    pub fn new(repository: &str, workflows: &[&str]) -> Self {
        Self {
            repository: repository.to_owned(),
            repository_id: None,
            owner_id: None,
            workflows: workflows.iter().map(|w| (*w).to_owned()).collect(),
            allowed_refs: None,
            allowed_events: None,
            require_github_hosted_runner: true,
            environment: None,
            allowed_reusable_workflows: Vec::new(),
        }
    }

    /// Checks every field and builds the policy.
    pub fn to_policy(&self) -> Result<ReleasePolicy, PolicyError> {
        let repository = RepositoryName::parse(&self.repository)?;
        let workflows = self
            .workflows
            .iter()
            .map(|w| WorkflowPath::parse(w))
            .collect::<Result<Vec<_>, _>>()?;
        let mut policy = ReleasePolicy::new(repository, workflows)?;
        policy.repository_id = self.repository_id.clone();
        policy.owner_id = self.owner_id.clone();
        if let Some(refs) = &self.allowed_refs {
            if refs.is_empty() {
                return Err(PolicyError::NoRefs);
            }
            policy.allowed_refs = Some(
                refs.iter()
                    .map(|r| RefPattern::parse(r))
                    .collect::<Result<_, GithubNameError>>()?,
            );
        }
        if let Some(events) = &self.allowed_events {
            if events.is_empty() || events.iter().any(|e| e.is_empty()) {
                return Err(PolicyError::EmptyEvents);
            }
            policy.allowed_events = Some(events.clone());
        }
        policy.require_github_hosted_runner = self.require_github_hosted_runner;
        policy.environment = self.environment.clone();
        policy.allowed_reusable_workflows = self
            .allowed_reusable_workflows
            .iter()
            .map(|w| ReusableWorkflowPattern::parse(w))
            .collect::<Result<_, _>>()?;
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_and_policy() {
        let policy = PolicySpec::new("o/r", &[".github/workflows/release.yml"]);
        assert_eq!(
            Artifact::npm("@s/p", policy.clone()).unwrap().key(),
            "npm/@s/p"
        );
        assert!(Artifact::npm("Bad Name", policy.clone()).is_err());
        assert!(Artifact::npm("p", PolicySpec::new("o/r", &[])).is_err());
        assert!(Artifact::npm("p", PolicySpec::new("o/r", &["release.yml"])).is_err());
        let mut refs = policy.clone();
        refs.allowed_refs = Some(vec![]);
        assert!(refs.to_policy().is_err());
    }

    #[test]
    fn unknown_policy_fields_are_refused() {
        let spec: Result<PolicySpec, _> = serde_json::from_str(
            r#"{"repository":"o/r","workflows":[".github/workflows/r.yml"],"allow_everything":true}"#,
        );
        assert!(spec.is_err());
        let spec: PolicySpec =
            serde_json::from_str(r#"{"repository":"o/r","workflows":[".github/workflows/r.yml"]}"#)
                .unwrap();
        assert!(spec.require_github_hosted_runner);
    }
}
