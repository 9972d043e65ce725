//! Release-policy flags shared by `verify` and `check`.

use artifact_monitor_core::domain::PolicySpec;
use clap::Args;

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Release policy: the repository (OWNER/REPO) the provenance must come from.
    #[arg(long, value_name = "OWNER/REPO", requires = "workflow")]
    pub repository: Option<String>,
    /// Release policy: an allowed workflow file, e.g. .github/workflows/release.yml (repeatable).
    #[arg(long, value_name = "PATH", requires = "repository")]
    pub workflow: Vec<String>,
    /// Release policy: an allowed ref glob, e.g. refs/tags/v* (repeatable; default any).
    #[arg(long = "allowed-ref", value_name = "GLOB", requires = "repository")]
    pub allowed_refs: Vec<String>,
    /// Release policy: an allowed trigger event, e.g. release (repeatable; default any).
    #[arg(long = "allowed-event", value_name = "EVENT", requires = "repository")]
    pub allowed_events: Vec<String>,
    /// Release policy: the deployment environment the job must have run in.
    #[arg(long, value_name = "NAME", requires = "repository")]
    pub environment: Option<String>,
    /// Release policy: GitHub's immutable repository id.
    #[arg(long, value_name = "ID", requires = "repository")]
    pub repository_id: Option<String>,
    /// Release policy: GitHub's immutable owner id.
    #[arg(long, value_name = "ID", requires = "repository")]
    pub owner_id: Option<String>,
    /// Release policy: a reusable workflow allowed to sign, owner/repo/.github/workflows/f.yml@refs/tags/v* (repeatable).
    #[arg(
        long = "allowed-reusable-workflow",
        value_name = "REF",
        requires = "repository"
    )]
    pub allowed_reusable_workflows: Vec<String>,
    /// Release policy: accept runners that are not github-hosted (or not attested).
    #[arg(long, requires = "repository")]
    pub allow_self_hosted_runner: bool,
}

impl PolicyArgs {
    /// The policy the flags describe; `None` without `--repository`. The spec is checked
    /// when it is turned into a policy.
    pub fn spec(&self) -> Option<PolicySpec> {
        let repository = self.repository.as_ref()?;
        Some(PolicySpec {
            repository: repository.clone(),
            repository_id: self.repository_id.clone(),
            owner_id: self.owner_id.clone(),
            workflows: self.workflow.clone(),
            allowed_refs: (!self.allowed_refs.is_empty()).then(|| self.allowed_refs.clone()),
            allowed_events: (!self.allowed_events.is_empty()).then(|| self.allowed_events.clone()),
            require_github_hosted_runner: !self.allow_self_hosted_runner,
            environment: self.environment.clone(),
            allowed_reusable_workflows: self.allowed_reusable_workflows.clone(),
        })
    }
}
