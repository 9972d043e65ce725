//! The verdict engine: DESIGN §3's decision table as a pure function.
//!
//! Inputs are facts the use-case gathered (a verified provenance or why there is none, what
//! GitHub said about the runs, what changed in the packument); the output is a verdict with a
//! compliance, a confidence, machine-readable reason codes, one sentence per reason and the
//! evidence. It fails closed: anything short of a proof of an authorised release is either
//! non-compliant or, when only a transient lookup is missing, pending.

use super::{Evidence, PolicyViolation, Reason, ReleasePolicy, RunFacts};
use serde::{Deserialize, Serialize};

/// How long GitHub keeps workflow runs by default: a run missing for a release older than
/// this is expected, not suspicious.
pub const RUN_RETENTION_SECS: i64 = 90 * 24 * 3600;
/// Slack after a run's last update within which the registry may record the publish.
pub const PUBLISH_SLACK_SECS: i64 = 10 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compliance {
    Compliant,
    NonCompliant,
    Pending,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::NonCompliant => "non_compliant",
            Self::Pending => "pending",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

/// What the version's attestations established.
#[derive(Debug, Clone)]
pub enum Provenance {
    /// Every cryptographic check passed; `violations` is the policy's verdict on the evidence.
    Verified {
        evidence: Box<Evidence>,
        violations: Vec<PolicyViolation>,
    },
    /// Attestations exist but do not verify (`kind` is the failing stage).
    Invalid { kind: String, message: String },
    /// The registry lists no attestations for the version.
    Absent,
}

/// What GitHub said about the run a verified provenance names.
#[derive(Debug, Clone)]
pub enum RunLookup {
    Found(RunFacts),
    NotFound,
    /// GitHub lookups are turned off, or the provenance names no run.
    NotChecked,
    /// GitHub could not be asked (network, rate limit): decide later.
    Unavailable(String),
}

/// Runs of the authorised workflows around the publish time (for versions without provenance).
#[derive(Debug, Clone)]
pub enum RunSearch {
    Runs(Vec<RunFacts>),
    NotChecked,
    Unavailable(String),
}

/// A signal that raises an alert even on a compliant version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum Signal {
    PublisherChanged { from: String, to: String },
    NewMaintainer(Vec<String>),
    InstallScriptsAdded(Vec<String>),
    LatestMovedBackwards { from: String, to: String },
    VersionUnpublished(String),
    VersionBurst { count: usize, minutes: i64 },
}

impl Signal {
    pub fn code(&self) -> Reason {
        match self {
            Self::PublisherChanged { .. } => Reason::PublisherChanged,
            Self::NewMaintainer(_) => Reason::NewMaintainer,
            Self::InstallScriptsAdded(_) => Reason::InstallScriptsAdded,
            Self::LatestMovedBackwards { .. } => Reason::LatestMovedBackwards,
            Self::VersionUnpublished(_) => Reason::VersionUnpublished,
            Self::VersionBurst { .. } => Reason::VersionBurst,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::PublisherChanged { from, to } => {
                format!("published by {to}, earlier versions by the trusted publisher {from}")
            }
            Self::NewMaintainer(names) => format!("new maintainer(s): {}", names.join(", ")),
            Self::InstallScriptsAdded(names) => {
                format!("install scripts added: {}", names.join(", "))
            }
            Self::LatestMovedBackwards { from, to } => {
                format!("dist-tag latest moved back from {from} to the older {to}")
            }
            Self::VersionUnpublished(v) => format!("version {v} was unpublished"),
            Self::VersionBurst { count, minutes } => {
                format!("{count} versions published within {minutes} minutes")
            }
        }
    }
}

/// Reason codes that alert on their own, whatever the compliance.
pub const ALERTING_REASONS: &[Reason] = &[
    Reason::PublisherChanged,
    Reason::NewMaintainer,
    Reason::InstallScriptsAdded,
    Reason::LatestMovedBackwards,
    Reason::VersionUnpublished,
    Reason::VersionBurst,
    Reason::RunNotFound,
];

/// Everything the engine looks at for one version.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub version: &'a str,
    pub published_at: Option<i64>,
    /// The commit the packument says the version was built from (`gitHead`).
    pub git_head: Option<&'a str>,
    pub provenance: Provenance,
    pub run: RunLookup,
    pub nearby_runs: RunSearch,
    /// An earlier version (by publish time) of this artifact had verified provenance.
    pub earlier_had_provenance: bool,
    pub signals: Vec<Signal>,
    pub now: i64,
}

/// Why the provenance did not verify, kept with the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceFailure {
    pub kind: String,
    pub message: String,
}

/// The evidence a verdict rests on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictEvidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance_error: Option<ProvenanceFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunFacts>,
}

/// The decision on one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub compliance: Compliance,
    pub confidence: Confidence,
    /// Stable machine-readable codes, most important first.
    pub reasons: Vec<Reason>,
    /// One human sentence per finding.
    pub details: Vec<String>,
    pub evidence: VerdictEvidence,
    /// The run's page, where its logs are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_url: Option<String>,
}

impl Verdict {
    /// Whether this verdict alone warrants an alert on a newly published version.
    pub fn alerts(&self) -> bool {
        self.compliance == Compliance::NonCompliant
            || self.reasons.iter().any(|r| ALERTING_REASONS.contains(r))
    }

    /// Same decision (ignoring wording and evidence details): recording it again is a no-op.
    pub fn same_decision(&self, other: &Verdict) -> bool {
        self.compliance == other.compliance
            && self.confidence == other.confidence
            && self.reasons == other.reasons
    }
}

struct Builder {
    reasons: Vec<Reason>,
    details: Vec<String>,
    evidence: VerdictEvidence,
    logs_url: Option<String>,
}

impl Builder {
    fn reason(&mut self, code: Reason, detail: impl Into<String>) {
        self.reasons.push(code);
        self.details.push(detail.into());
    }

    fn done(self, compliance: Compliance, confidence: Confidence) -> Verdict {
        Verdict {
            compliance,
            confidence,
            reasons: self.reasons,
            details: self.details,
            evidence: self.evidence,
            logs_url: self.logs_url,
        }
    }
}

/// Decides one version.
pub fn decide(policy: &ReleasePolicy, facts: Facts<'_>) -> Verdict {
    let mut b = Builder {
        reasons: Vec::new(),
        details: Vec::new(),
        evidence: VerdictEvidence::default(),
        logs_url: None,
    };
    let (compliance, confidence) = match facts.provenance {
        Provenance::Invalid { kind, message } => {
            b.reason(
                Reason::ProvenanceInvalid,
                format!("provenance does not verify ({kind}): {message}"),
            );
            b.evidence.provenance_error = Some(ProvenanceFailure { kind, message });
            (Compliance::NonCompliant, Confidence::High)
        }
        Provenance::Verified {
            evidence,
            violations,
        } => {
            b.logs_url = evidence.run_url.clone();
            let decided = if violations.is_empty() {
                b.reason(
                    Reason::ProvenanceVerified,
                    "provenance verifies and matches the policy",
                );
                judge_named_run(
                    policy,
                    &evidence,
                    facts.run,
                    facts.published_at,
                    facts.now,
                    &mut b,
                )
            } else {
                for violation in &violations {
                    b.reason(violation.code(), violation.to_string());
                }
                (Compliance::NonCompliant, Confidence::High)
            };
            b.evidence.provenance = Some(*evidence);
            decided
        }
        Provenance::Absent if facts.earlier_had_provenance => {
            b.reason(
                Reason::ProvenanceDropped,
                "no provenance, although earlier versions of this artifact had it",
            );
            (Compliance::NonCompliant, Confidence::High)
        }
        Provenance::Absent => {
            b.reason(
                Reason::NoProvenance,
                "the registry lists no provenance for this version",
            );
            judge_nearby_runs(policy, &facts, facts.nearby_runs.clone(), &mut b)
        }
    };
    for signal in &facts.signals {
        b.reason(signal.code(), signal.describe());
    }
    b.done(compliance, confidence)
}

fn judge_named_run(
    policy: &ReleasePolicy,
    evidence: &Evidence,
    run: RunLookup,
    published_at: Option<i64>,
    now: i64,
    b: &mut Builder,
) -> (Compliance, Confidence) {
    match run {
        RunLookup::Found(run) => {
            let same_repository = run
                .repository
                .eq_ignore_ascii_case(policy.repository.to_string().as_str());
            let allowed_workflow = policy
                .workflows
                .iter()
                .any(|w| w.as_str() == run.workflow_path);
            let same_run = evidence.run_id.is_none_or(|id| id == run.id);
            b.logs_url = Some(run.html_url.clone());
            let verdict = if same_repository && allowed_workflow && same_run {
                b.reason(
                    Reason::RunVerified,
                    format!(
                        "run {} of {} exists and used an authorised workflow",
                        run.id, run.workflow_path
                    ),
                );
                (Compliance::Compliant, Confidence::High)
            } else {
                b.reason(
                Reason::RunMismatch,
                    format!(
                        "the run the provenance names is run {} of {} in {}, not an authorised workflow",
                        run.id, run.workflow_path, run.repository
                    ),
                );
                (Compliance::NonCompliant, Confidence::High)
            };
            b.evidence.run = Some(run);
            verdict
        }
        RunLookup::NotFound => {
            let old = published_at.is_some_and(|t| now.saturating_sub(t) > RUN_RETENTION_SECS);
            if old {
                b.reason(
                Reason::RunExpired,
                    "the run is gone, as GitHub deletes runs after its retention period; provenance alone vouches for this version",
                );
                (Compliance::Compliant, Confidence::Medium)
            } else {
                b.reason(
                Reason::RunNotFound,
                    "GitHub does not know the run the provenance names (deleted, or a retention shorter than 90 days)",
                );
                (Compliance::Compliant, Confidence::Low)
            }
        }
        RunLookup::NotChecked => {
            b.reason(
                Reason::RunNotChecked,
                "the run was not looked up (no GitHub access configured)",
            );
            (Compliance::Compliant, Confidence::Medium)
        }
        RunLookup::Unavailable(why) => {
            b.reason(
                Reason::GithubUnavailable,
                format!("GitHub could not be asked about the run: {why}"),
            );
            (Compliance::Pending, Confidence::Medium)
        }
    }
}

fn judge_nearby_runs(
    policy: &ReleasePolicy,
    facts: &Facts<'_>,
    search: RunSearch,
    b: &mut Builder,
) -> (Compliance, Confidence) {
    let runs = match search {
        RunSearch::NotChecked => {
            b.reason(
                Reason::RunNotChecked,
                "no run was looked up (no GitHub access configured), so nothing vouches for this version",
            );
            return (Compliance::NonCompliant, Confidence::Low);
        }
        RunSearch::Unavailable(why) => {
            b.reason(
                Reason::GithubUnavailable,
                format!("GitHub could not be asked for runs: {why}"),
            );
            return (Compliance::Pending, Confidence::Low);
        }
        RunSearch::Runs(runs) => runs,
    };
    let Some(published_at) = facts.published_at else {
        b.reason(
            Reason::PublishTimeUnknown,
            "the registry gives no publish time, so no run can be matched",
        );
        return (Compliance::NonCompliant, Confidence::Low);
    };
    let matching = runs.iter().find(|run| {
        run.spans(published_at, PUBLISH_SLACK_SECS)
            && !run.unsuccessful()
            && !(policy.require_github_hosted_runner && run.self_hosted_runner == Some(true))
            && matches_version(run, facts.version, facts.git_head)
    });
    if let Some(run) = matching {
        b.reason(
            Reason::RunMatches,
            format!(
                "run {} of {} was under way at the publish time and built {}",
                run.id, run.workflow_path, run.head_sha
            ),
        );
        b.logs_url = Some(run.html_url.clone());
        b.evidence.run = Some(run.clone());
        (Compliance::Compliant, Confidence::Medium)
    } else if let Some(run) = runs.first() {
        b.reason(
                Reason::RunMismatch,
            format!(
                "{} run(s) of the authorised workflow near the publish time, none under way then for this version's commit or tag on an allowed runner",
                runs.len()
            ),
        );
        b.logs_url = Some(run.html_url.clone());
        b.evidence.run = Some(run.clone());
        (Compliance::NonCompliant, Confidence::Low)
    } else {
        b.reason(
            Reason::NoRun,
            "no run of the authorised workflow near the publish time",
        );
        (Compliance::NonCompliant, Confidence::Medium)
    }
}

/// The run built this version: its commit is the packument's `gitHead`, or (without one)
/// it ran for the tag `v<version>` or `<version>`.
fn matches_version(run: &RunFacts, version: &str, git_head: Option<&str>) -> bool {
    match git_head {
        Some(head) => run.head_sha.eq_ignore_ascii_case(head),
        None => run
            .head_branch
            .as_deref()
            .is_some_and(|b| b == version || b.strip_prefix('v') == Some(version)),
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
