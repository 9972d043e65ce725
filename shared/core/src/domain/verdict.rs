//! The verdict engine: the decision table (README, "What a verdict says") as a pure function.
//!
//! Inputs are facts the use-case gathered (a verified provenance or why there is none, what
//! GitHub said about the runs, what changed in the registry's document); the output is a verdict with a
//! compliance, a confidence, machine-readable reason codes, one sentence per reason and the
//! evidence. It fails closed: anything short of a proof of an authorised release is either
//! non-compliant or, when only a transient lookup is missing, pending.

use super::correlation::{Miss, RunContext, builds_version, check_run};
use super::{Evidence, PolicyViolation, Reason, ReleasePolicy, RunFacts, publishing_runners};
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
    /// The lower of the two.
    pub fn min_with(self, other: Confidence) -> Confidence {
        // Declared from high to low, so the greater variant is the lower confidence.
        if (other as u8) > (self as u8) {
            other
        } else {
            self
        }
    }

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
    /// The registry lists attestations it could not serve yet (it is down, or a replica
    /// is behind): not decided, asked again.
    Unavailable(String),
}

/// What GitHub said about the run a verified provenance names.
#[derive(Debug, Clone)]
pub enum RunLookup {
    /// The run, with its jobs when the verdict needs them (a runner the certificate does
    /// not attest).
    Found(Box<RunContext>),
    NotFound,
    /// GitHub lookups are turned off, or the provenance names no run.
    NotChecked,
    /// GitHub could not be asked (network, rate limit): decide later.
    Unavailable(String),
}

/// Runs of the authorised workflows around the publish time (for versions without provenance).
#[derive(Debug, Clone)]
pub enum RunSearch {
    /// Every run found, those that could vouch with the answers to their [`super::lookups`].
    Runs(Vec<RunContext>),
    NotChecked,
    Unavailable(String),
}

/// A signal that raises an alert even on a compliant version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum Signal {
    PublisherChanged {
        from: String,
        to: String,
    },
    NewMaintainer(Vec<String>),
    InstallScriptsAdded(Vec<String>),
    LatestMovedBackwards {
        from: String,
        to: String,
    },
    VersionUnpublished(String),
    VersionBurst {
        count: usize,
        minutes: i64,
    },
    /// An earlier version's verified provenance names the same run and attempt: a release
    /// run publishes a package once.
    SameRunAsEarlier {
        version: String,
        run_id: u64,
        attempt: Option<u32>,
    },
    /// Dependencies whose spec is not a registry range (git, GitHub shorthand, URL, file,
    /// tarball) that the previous version did not have, as `name (spec)`.
    NonRegistryDependency(Vec<String>),
    /// The authorised workflow file changed between the last compliant release's commit
    /// and this one's.
    WorkflowChanged {
        path: String,
        base: String,
        head: String,
        compare_url: String,
    },
    /// Whether the workflow file changed could not be checked, and why.
    WorkflowChangeNotChecked(String),
    /// A file uploaded to a release long after its first file (the way a stolen token adds
    /// a malicious wheel to an old release).
    FileAddedLater {
        file: String,
        hours: i64,
    },
    /// A release with more files than are judged one by one: only the newest were.
    TooManyFiles {
        files: usize,
        judged: usize,
    },
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
            Self::SameRunAsEarlier { .. } => Reason::SameRunAsEarlier,
            Self::NonRegistryDependency(_) => Reason::NonRegistryDependency,
            Self::WorkflowChanged { .. } => Reason::WorkflowChanged,
            Self::WorkflowChangeNotChecked(_) => Reason::WorkflowChangeNotChecked,
            Self::FileAddedLater { .. } => Reason::FileAddedLater,
            Self::TooManyFiles { .. } => Reason::TooManyFiles,
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
            Self::SameRunAsEarlier {
                version,
                run_id,
                attempt,
            } => format!(
                "published by run {run_id}{}, which already published {version}: a release run publishes a package once",
                attempt.map(|a| format!(" attempt {a}")).unwrap_or_default()
            ),
            Self::NonRegistryDependency(deps) => format!(
                "dependencies from outside the registry added: {}",
                deps.join(", ")
            ),
            Self::WorkflowChanged {
                path,
                base,
                head,
                compare_url,
            } => format!(
                "{path} changed between the last compliant release ({}) and this one ({}): {compare_url}",
                short(base),
                short(head)
            ),
            Self::WorkflowChangeNotChecked(why) => {
                format!(
                    "whether the workflow file changed since the last compliant release was not checked: {why}"
                )
            }
            Self::FileAddedLater { file, hours } => {
                format!("{file} was uploaded {hours} hours after the release's first file")
            }
            Self::TooManyFiles { files, judged } => format!(
                "the release has {files} files; only the {judged} uploaded last were judged"
            ),
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
    Reason::SameRunAsEarlier,
    Reason::NonRegistryDependency,
    Reason::WorkflowChanged,
    Reason::FileAddedLater,
    Reason::TooManyFiles,
];

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Everything the engine looks at for one version.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub version: &'a str,
    pub published_at: Option<i64>,
    /// The commit the registry says the version was built from (npm's `gitHead`).
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
    /// For a version that is a set of files (a PyPI release): each file's verdict, in
    /// upload order; the version's is the worst of them ([`Verdict::worst_of`]). Empty for
    /// a version that is one file (npm).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileVerdict>,
}

/// One file's verdict within a version that is a set of files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVerdict {
    pub name: String,
    /// The file's digest as the registry lists it (Subresource Integrity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// When the registry says the file was uploaded, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<i64>,
    pub compliance: Compliance,
    pub reasons: Vec<Reason>,
}

impl Compliance {
    /// How bad it is, for taking the worst: non-compliant, then pending, then compliant.
    fn rank(self) -> u8 {
        match self {
            Self::Compliant => 0,
            Self::Pending => 1,
            Self::NonCompliant => 2,
        }
    }
}

impl Verdict {
    /// The verdict of a version from its files' verdicts: the worst compliance (non-compliant
    /// over pending over compliant) at the lowest confidence among the files that are that
    /// bad; every file's reasons, once each, in the order first met; each detail prefixed
    /// with its file; the evidence and logs of the first file that is that bad.
    pub fn worst_of(files: Vec<(FileVerdict, Verdict)>) -> Verdict {
        let worst = files
            .iter()
            .map(|(_, v)| v.compliance)
            .max_by_key(|c| c.rank())
            .unwrap_or(Compliance::Pending);
        let mut reasons = Vec::new();
        let mut details = Vec::new();
        let mut confidence: Option<Confidence> = None;
        let mut evidence = None;
        let mut logs_url = None;
        let mut listed = Vec::with_capacity(files.len());
        for (file, verdict) in files {
            for reason in &verdict.reasons {
                if !reasons.contains(reason) {
                    reasons.push(*reason);
                }
            }
            for detail in &verdict.details {
                details.push(format!("{}: {detail}", file.name));
            }
            if verdict.compliance == worst {
                confidence = Some(match confidence {
                    None => verdict.confidence,
                    Some(c) => c.min_with(verdict.confidence),
                });
                if evidence.is_none() {
                    evidence = Some(verdict.evidence.clone());
                    logs_url = verdict.logs_url.clone();
                }
            }
            listed.push(FileVerdict {
                compliance: verdict.compliance,
                reasons: verdict.reasons,
                ..file
            });
        }
        if listed.is_empty() {
            // Nothing to install and nothing to judge: asked again later.
            reasons.push(Reason::RegistryUnavailable);
            details.push("the registry lists no file for this version yet".to_owned());
        }
        Verdict {
            compliance: worst,
            confidence: confidence.unwrap_or(Confidence::Low),
            reasons,
            details,
            evidence: evidence.unwrap_or_default(),
            logs_url,
            files: listed,
        }
    }

    /// Whether this verdict alone warrants an alert on a newly published version.
    pub fn alerts(&self) -> bool {
        self.compliance == Compliance::NonCompliant
            || self.reasons.iter().any(|r| ALERTING_REASONS.contains(r))
    }

    /// Same decision (ignoring wording and evidence details): recording it again is a no-op.
    /// For a set of files, the same files with the same decisions too (a file added to a
    /// release is a new decision even when the release's verdict stays).
    pub fn same_decision(&self, other: &Verdict) -> bool {
        self.compliance == other.compliance
            && self.confidence == other.confidence
            && self.reasons == other.reasons
            && self.files.len() == other.files.len()
            && self.files.iter().zip(&other.files).all(|(a, b)| {
                (&a.name, a.compliance, &a.reasons) == (&b.name, b.compliance, &b.reasons)
            })
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
            files: Vec::new(),
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
        Provenance::Unavailable(why) => {
            b.reason(
                Reason::RegistryUnavailable,
                format!("the attestations the registry lists could not be read yet: {why}"),
            );
            (Compliance::Pending, Confidence::Low)
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
    let runner_unattested =
        policy.require_github_hosted_runner && evidence.runner_environment.is_none();
    let mut jobs_confirm = None;
    let (compliance, confidence) = match run {
        RunLookup::Found(context) => {
            let RunContext { mut run, jobs, .. } = *context;
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
            if let Some(jobs) = &jobs {
                // The signing time is when a job of the run was publishing.
                let at = evidence.integrated_time.or(published_at);
                let seen = at.and_then(|at| publishing_runners(jobs, at, PUBLISH_SLACK_SECS));
                jobs_confirm = Some(seen.as_ref().is_some_and(|s| s.github_hosted));
                run.runner = seen;
            }
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
    };
    if !runner_unattested || compliance == Compliance::NonCompliant {
        return (compliance, confidence);
    }
    // Certificates from before mid-2023 carry no runner claim. npm refuses provenance from
    // self-hosted runners at publish time, so an absent claim is "not attested", never
    // "self-hosted": compliant, at high confidence only when the jobs confirm the runner.
    let seen = b
        .evidence
        .run
        .as_ref()
        .and_then(|r| r.runner.as_ref())
        .map(|r| r.detail.clone());
    if jobs_confirm == Some(true) {
        b.reason(
            Reason::RunnerNotAttested,
            format!(
                "the certificate does not attest the runner (issued before the claim existed); the run's jobs show a GitHub-hosted runner: {}",
                seen.unwrap_or_default()
            ),
        );
        (compliance, confidence)
    } else {
        let why = match (jobs_confirm, seen) {
            (Some(false), Some(seen)) => {
                format!("the run's jobs do not confirm a GitHub-hosted runner: {seen}")
            }
            (Some(false), None) => "no job of the run was running at the signing time".to_owned(),
            _ => "the run's jobs could not confirm a GitHub-hosted runner".to_owned(),
        };
        b.reason(
            Reason::RunnerNotAttested,
            format!("the certificate does not attest the runner (issued before the claim existed); {why}"),
        );
        (compliance, confidence.min_with(Confidence::Medium))
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
    // The runs that built this version while it was published, each with what keeps it
    // from vouching for the version.
    let mut building: Vec<(RunContext, Vec<Miss>)> = runs
        .iter()
        .filter(|c| {
            builds_version(
                &c.run,
                facts.version,
                facts.git_head,
                published_at,
                PUBLISH_SLACK_SECS,
            )
        })
        .cloned()
        .map(|mut c| {
            let misses = check_run(policy, &mut c, published_at, PUBLISH_SLACK_SECS);
            (c, misses)
        })
        .collect();
    if let Some(index) = building.iter().position(|(_, misses)| misses.is_empty()) {
        let (context, _) = building.swap_remove(index);
        let run = context.run;
        b.reason(
            Reason::RunMatches,
            format!(
                "run {} of {} was under way at the publish time, built {} and satisfies the policy",
                run.id, run.workflow_path, run.head_sha
            ),
        );
        b.logs_url = Some(run.html_url.clone());
        b.evidence.run = Some(run);
        return (Compliance::Compliant, Confidence::Medium);
    }
    // The run that came closest: the fewest misses, identity misses before others.
    building.sort_by_key(|(_, misses)| misses.len());
    if let Some((context, misses)) = building.into_iter().next() {
        let run = context.run;
        let summary = b.details.len();
        b.reason(
            Reason::RunMismatch,
            format!(
                "run {} of {} built this version's commit at the publish time, but does not vouch for it",
                run.id, run.workflow_path
            ),
        );
        let mut coded = Vec::new();
        for miss in &misses {
            let code = miss.code();
            if code != Reason::RunMismatch && !coded.contains(&code) {
                coded.push(code);
                b.reason(code, format!("run {}: {miss}", run.id));
            } else {
                b.details[summary].push_str(&format!("; {miss}"));
            }
        }
        // A run of the authorised workflow built this very commit, under a trigger, ref,
        // repository, environment or runner the policy does not allow: an unauthorised
        // build, not a near miss.
        let confidence = if misses.iter().any(Miss::identity) {
            Confidence::Medium
        } else {
            Confidence::Low
        };
        b.logs_url = Some(run.html_url.clone());
        b.evidence.run = Some(run);
        return (Compliance::NonCompliant, confidence);
    }
    if let Some(context) = runs.first() {
        b.reason(
            Reason::RunMismatch,
            format!(
                "{} run(s) of the authorised workflow near the publish time, none under way then for this version's commit or tag",
                runs.len()
            ),
        );
        b.logs_url = Some(context.run.html_url.clone());
        b.evidence.run = Some(context.run.clone());
        (Compliance::NonCompliant, Confidence::Low)
    } else {
        b.reason(
            Reason::NoRun,
            "no run of the authorised workflow near the publish time",
        );
        (Compliance::NonCompliant, Confidence::Medium)
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
