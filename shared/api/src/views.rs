//! What the API answers and accepts, as its own types (the domain knows nothing of the
//! wire): each derives its OpenAPI schema, so the document is generated from the types the
//! handlers really return.

use super::error::ApiError;
use artifact_monitor_core::domain::{
    Artifact, ArtifactSource, Compliance, Confidence, Declarations, FieldError, FileVerdict,
    PolicySpec, VersionRecord, WatchedArtifact, format_time,
};
use artifact_monitor_core::registry::pypi::sha256_hex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A compliance as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceView {
    Compliant,
    NonCompliant,
    Pending,
}

impl From<Compliance> for ComplianceView {
    fn from(c: Compliance) -> Self {
        match c {
            Compliance::Compliant => Self::Compliant,
            Compliance::NonCompliant => Self::NonCompliant,
            Compliance::Pending => Self::Pending,
        }
    }
}

impl ComplianceView {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::NonCompliant => "non_compliant",
            Self::Pending => "pending",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfidenceView {
    High,
    Medium,
    Low,
}

impl From<Confidence> for ConfidenceView {
    fn from(c: Confidence) -> Self {
        match c {
            Confidence::High => Self::High,
            Confidence::Medium => Self::Medium,
            Confidence::Low => Self::Low,
        }
    }
}

/// `GET /summary`: how the watched artifacts stand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryView {
    pub total: u64,
    pub compliant: u64,
    pub non_compliant: u64,
    pub pending: u64,
}

/// How many versions of an artifact stand where.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionCountsView {
    pub total: u64,
    pub compliant: u64,
    pub non_compliant: u64,
    pub pending: u64,
}

/// How far the first judgement of every existing version has come.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackfillView {
    /// The first read was done (`total` is known).
    pub started: bool,
    pub judged: u64,
    pub total: u64,
    pub complete: bool,
}

/// Who owns an artifact's definition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    /// `config` (a config file: change it there), `stack` (a CloudFormation stack: change
    /// it there) or `api`.
    pub kind: String,
    /// The config file, for `config`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The stack's id, for `stack`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// The release policy's optional fields, as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyView {
    pub repository_id: Option<String>,
    pub owner_id: Option<String>,
    pub allowed_refs: Option<Vec<String>>,
    pub allowed_events: Option<Vec<String>>,
    pub require_github_hosted_runner: bool,
    pub environment: Option<String>,
    pub allowed_reusable_workflows: Vec<String>,
}

/// A watched artifact.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArtifactView {
    /// Registry type: `npm`.
    #[serde(rename = "type")]
    pub registry: String,
    pub name: String,
    pub repository: String,
    pub workflows: Vec<String>,
    pub compliance: ComplianceView,
    /// The latest publish time among its versions (RFC 3339), if any.
    pub last_published: Option<String>,
    /// When its document was last read in full (RFC 3339), if ever.
    pub last_monitored: Option<String>,
    pub versions: VersionCountsView,
    pub backfill: BackfillView,
    pub source: SourceView,
    /// The policy's other fields: in the artifact's own answer, not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyView>,
}

impl ArtifactView {
    /// The artifact as a list shows it: without the policy's other fields (half the bytes
    /// of a page; `GET /artifacts/{type}/{name}` has them).
    pub fn summary(watched: &WatchedArtifact) -> Self {
        Self::of(watched, false)
    }
}

impl From<&WatchedArtifact> for ArtifactView {
    fn from(watched: &WatchedArtifact) -> Self {
        Self::of(watched, true)
    }
}

impl ArtifactView {
    fn of(watched: &WatchedArtifact, with_policy: bool) -> Self {
        let policy = &watched.artifact.policy;
        let counts = watched.versions;
        Self {
            registry: watched.artifact.registry.to_string(),
            name: watched.artifact.name.clone(),
            repository: policy.repository.clone(),
            workflows: policy.workflows.clone(),
            compliance: counts.status().into(),
            last_published: watched.last_published.map(format_time),
            last_monitored: watched.last_read_at.map(format_time),
            versions: VersionCountsView {
                total: counts.total,
                compliant: counts.compliant,
                non_compliant: counts.non_compliant,
                pending: counts.pending,
            },
            backfill: BackfillView {
                started: watched.backfill.started,
                judged: watched.backfill.judged,
                total: watched.backfill.total,
                complete: watched.backfill.complete(),
            },
            source: match &watched.source {
                ArtifactSource::Config { file } => SourceView {
                    kind: "config".to_owned(),
                    file: Some(file.clone()),
                    stack: None,
                },
                ArtifactSource::Stack { stack } => SourceView {
                    kind: "stack".to_owned(),
                    file: None,
                    stack: Some(stack.clone()),
                },
                ArtifactSource::Api => SourceView {
                    kind: "api".to_owned(),
                    file: None,
                    stack: None,
                },
            },
            policy: with_policy.then(|| PolicyView {
                repository_id: policy.repository_id.clone(),
                owner_id: policy.owner_id.clone(),
                allowed_refs: policy.allowed_refs.clone(),
                allowed_events: policy.allowed_events.clone(),
                require_github_hosted_runner: policy.require_github_hosted_runner,
                environment: policy.environment.clone(),
                allowed_reusable_workflows: policy.allowed_reusable_workflows.clone(),
            }),
        }
    }
}

/// One version: exactly the object of `check --json`'s `versions[]`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    pub version: String,
    /// RFC 3339, or null when the registry gives no time.
    pub published_at: Option<String>,
    pub compliance: ComplianceView,
    pub confidence: ConfidenceView,
    /// Stable reason codes, most important first.
    pub reasons: Vec<String>,
    /// The run's page, where its logs are.
    pub logs_url: Option<String>,
}

impl From<&VersionRecord> for VersionView {
    fn from(record: &VersionRecord) -> Self {
        Self {
            version: record.version.clone(),
            published_at: record.published_at.map(format_time),
            compliance: record.verdict.compliance.into(),
            confidence: record.verdict.confidence.into(),
            reasons: record
                .verdict
                .reasons
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            logs_url: record.verdict.logs_url.clone(),
        }
    }
}

/// An earlier decision a later one replaced.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransitionView {
    pub at: String,
    pub from: ComplianceView,
    pub to: ComplianceView,
    pub reasons: Vec<String>,
}

/// One version with its evidence, history and the reasons in plain words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionDetail {
    pub version: String,
    pub published_at: Option<String>,
    pub compliance: ComplianceView,
    pub confidence: ConfidenceView,
    pub reasons: Vec<String>,
    pub logs_url: Option<String>,
    /// What the verdict rests on (provenance, its failure, the run), or null.
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<serde_json::Value>,
    /// Every recorded change of decision, oldest first.
    pub history: Vec<TransitionView>,
    /// The reasons as sentences.
    pub explanations: Vec<String>,
    /// For a version that is a set of files (a PyPI release): each file's own verdict; the
    /// version's is the worst of them. Empty for a version that is one file (npm).
    pub files: Vec<FileView>,
}

/// One file of a version that is a set of files, judged on its own evidence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileView {
    pub filename: String,
    /// The file's sha256 as the registry lists it, 64 hex digits.
    pub sha256: Option<String>,
    /// When the registry says it was uploaded, RFC 3339.
    pub uploaded_at: Option<String>,
    pub compliance: ComplianceView,
    /// Stable reason codes of this file's verdict.
    pub reasons: Vec<String>,
}

impl From<&FileVerdict> for FileView {
    fn from(file: &FileVerdict) -> Self {
        Self {
            filename: file.name.clone(),
            sha256: file.integrity.as_deref().and_then(sha256_hex),
            uploaded_at: file.uploaded_at.map(format_time),
            compliance: file.compliance.into(),
            reasons: file.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
        }
    }
}

impl From<&VersionRecord> for VersionDetail {
    fn from(record: &VersionRecord) -> Self {
        let view = VersionView::from(record);
        let evidence = &record.verdict.evidence;
        let evidence = (evidence.provenance.is_some()
            || evidence.provenance_error.is_some()
            || evidence.run.is_some())
        .then(|| serde_json::to_value(evidence).unwrap_or(serde_json::Value::Null));
        Self {
            version: view.version,
            published_at: view.published_at,
            compliance: view.compliance,
            confidence: view.confidence,
            reasons: view.reasons,
            logs_url: view.logs_url,
            evidence,
            history: record
                .history
                .iter()
                .map(|t| TransitionView {
                    at: format_time(t.at),
                    from: t.from.into(),
                    to: t.to.into(),
                    reasons: t.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
                })
                .collect(),
            explanations: record.verdict.details.clone(),
            files: record.verdict.files.iter().map(FileView::from).collect(),
        }
    }
}

/// A page of artifacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactPage {
    pub items: Vec<ArtifactView>,
    /// Pass as `?cursor=` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A page of versions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionPage {
    pub items: Vec<VersionView>,
    pub next_cursor: Option<String>,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// `POST …/scan`: accepted; the versions are judged again by the monitor's next tick.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanAccepted {
    #[serde(rename = "type")]
    pub registry: String,
    pub name: String,
    /// The policy revision the versions will be judged under.
    pub policy_rev: u64,
}

/// `POST /artifacts`: an artifact to watch and its release policy (the config's fields).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArtifact {
    /// Registry type; `npm` (the default) is the only one.
    #[serde(rename = "type", default)]
    pub registry: Option<String>,
    /// The npm package name (scoped names as `@scope/name`).
    pub name: String,
    /// `owner/repo` the releases must come from.
    pub repository: String,
    /// Workflow files allowed to publish, each under `.github/workflows/`.
    pub workflows: Vec<String>,
    #[serde(default)]
    pub repository_id: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub allowed_refs: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_events: Option<Vec<String>>,
    #[serde(default)]
    pub require_github_hosted_runner: Option<bool>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub allowed_reusable_workflows: Option<Vec<String>>,
}

/// `PATCH /artifacts/{type}/{name}`: the policy fields to change; the rest is kept.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPatch {
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub workflows: Option<Vec<String>>,
    #[serde(default)]
    pub repository_id: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub allowed_refs: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_events: Option<Vec<String>>,
    #[serde(default)]
    pub require_github_hosted_runner: Option<bool>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub allowed_reusable_workflows: Option<Vec<String>>,
}

/// A field's error, named as the request named it.
impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::invalid(e.to_string())
    }
}

impl NewArtifact {
    /// The artifact it declares, every field checked (the core's rule, shared with the config
    /// file and the stack's custom resource).
    pub fn artifact(&self) -> Result<Artifact, FieldError> {
        Declarations::SNAKE.artifact(self.registry.as_deref(), &self.name, self.spec())
    }

    /// The policy it asks for, checked.
    pub fn policy(&self) -> Result<PolicySpec, FieldError> {
        Declarations::SNAKE.policy(self.spec())
    }

    /// The policy it asks for, as given (the omitted fields at their strict defaults).
    fn spec(&self) -> PolicySpec {
        PolicySpec {
            repository: self.repository.clone(),
            repository_id: self.repository_id.clone(),
            owner_id: self.owner_id.clone(),
            workflows: self.workflows.clone(),
            allowed_refs: self.allowed_refs.clone(),
            allowed_events: self.allowed_events.clone(),
            require_github_hosted_runner: self.require_github_hosted_runner.unwrap_or(true),
            environment: self.environment.clone(),
            allowed_reusable_workflows: self.allowed_reusable_workflows.clone().unwrap_or_default(),
        }
    }
}

impl ArtifactPatch {
    /// `policy` with the patch's fields applied, checked.
    pub fn apply(&self, policy: &PolicySpec) -> Result<PolicySpec, FieldError> {
        let mut next = policy.clone();
        if let Some(v) = &self.repository {
            next.repository = v.clone();
        }
        if let Some(v) = &self.workflows {
            next.workflows = v.clone();
        }
        if let Some(v) = &self.repository_id {
            next.repository_id = Some(v.clone());
        }
        if let Some(v) = &self.owner_id {
            next.owner_id = Some(v.clone());
        }
        if let Some(v) = &self.allowed_refs {
            next.allowed_refs = Some(v.clone());
        }
        if let Some(v) = &self.allowed_events {
            next.allowed_events = Some(v.clone());
        }
        if let Some(v) = self.require_github_hosted_runner {
            next.require_github_hosted_runner = v;
        }
        if let Some(v) = &self.environment {
            next.environment = Some(v.clone());
        }
        if let Some(v) = &self.allowed_reusable_workflows {
            next.allowed_reusable_workflows = v.clone();
        }
        Declarations::SNAKE.policy(next)
    }
}
