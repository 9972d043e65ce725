//! The watched set and the work that is due: what the store keeps so that every entry point
//! (a local `serve`, a scheduled Lambda) finds the same state and the same queue.

use super::{Artifact, Compliance, VersionPublished};
use serde::{Deserialize, Serialize};

/// Where an artifact's definition comes from, and so who may change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "StoredSource")]
pub enum ArtifactSource {
    /// Declared in a config file: the file owns it (`serve --config` syncs it).
    Config { file: String },
    /// Added through the API (or a use-case call): changed and removed the same way.
    Api,
    /// Declared in a CloudFormation stack (`Custom::MonitoredArtifact`): the stack owns it.
    Stack { stack: String },
}

impl ArtifactSource {
    /// Whether `requester` may change or remove an artifact this source declared. The rule,
    /// once for every way in (the API, a config file, a stack's custom resource):
    /// - whoever declared it may;
    /// - a `serve` config file may take over any artifact (the operator's own file, synced
    ///   at start: what it lists is watched under the policy it gives);
    /// - nobody else: the API cannot change or remove what a file or a stack declares, and a
    ///   stack cannot touch what the API, a file or another stack declares.
    pub fn yields_to(&self, requester: &ArtifactSource) -> bool {
        self == requester || matches!(requester, ArtifactSource::Config { .. })
    }

    /// Where the artifact is declared, in words for a refusal ("through the API", "in
    /// monitor.toml", "in the CloudFormation stack arn:…"), printable.
    pub fn describe(&self) -> String {
        match self {
            ArtifactSource::Api => "through the API".to_owned(),
            ArtifactSource::Config { file } => format!("in {}", super::printable(file)),
            ArtifactSource::Stack { stack } => {
                format!("in the CloudFormation stack {}", super::printable(stack))
            }
        }
    }
}

/// How an [`ArtifactSource`] is read (`{"kind":"config","file":…}` or `{"kind":"api"}`):
/// named fields instead of an internally tagged enum, which serde reads by buffering.
#[derive(Deserialize)]
struct StoredSource {
    kind: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    stack: Option<String>,
}

impl TryFrom<StoredSource> for ArtifactSource {
    type Error = String;
    fn try_from(stored: StoredSource) -> Result<Self, String> {
        match (stored.kind.as_str(), stored.file, stored.stack) {
            ("config", Some(file), _) => Ok(Self::Config { file }),
            ("api", _, _) => Ok(Self::Api),
            ("stack", _, Some(stack)) => Ok(Self::Stack { stack }),
            (kind, _, _) => Err(format!("unknown artifact source {kind:?}")),
        }
    }
}

/// How far the backfill of a newly watched artifact has come.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillProgress {
    /// Versions the first read found (0 until the artifact was first read).
    pub total: u64,
    /// Versions of those with a first verdict.
    pub judged: u64,
    /// The first read was done (`total` is known).
    #[serde(default)]
    pub started: bool,
}

impl BackfillProgress {
    pub fn complete(&self) -> bool {
        self.started && self.judged >= self.total
    }
}

/// An artifact in the watched set.
///
/// Stored as one flat JSON object (the artifact's fields beside the rest). It is read
/// through [`StoredWatched`], which names every field, rather than through
/// `#[serde(flatten)]`, which buffers the whole object before reading it: listing a page
/// of artifacts spent a tenth of its time there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredWatched")]
pub struct WatchedArtifact {
    #[serde(flatten)]
    pub artifact: Artifact,
    /// Raised on every policy change; a version judged under an older revision is judged
    /// again.
    #[serde(default = "first_rev")]
    pub policy_rev: u64,
    #[serde(default)]
    pub added_at: i64,
    #[serde(default = "api_source")]
    pub source: ArtifactSource,
    #[serde(default)]
    pub backfill: BackfillProgress,
    /// How its versions stand, kept with every verdict written (never counted by a scan).
    #[serde(default)]
    pub versions: VersionCounts,
    /// The latest publish time among its recorded versions (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_published: Option<i64>,
    /// When its document was last read in full (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read_at: Option<i64>,
}

/// How many versions of an artifact stand where (the dashboard's ring chart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionCounts {
    pub total: u64,
    pub compliant: u64,
    pub non_compliant: u64,
    pub pending: u64,
}

impl VersionCounts {
    /// An artifact is non-compliant when any version is, pending when none is but some
    /// version is pending (or none was judged yet), compliant when every version is.
    pub fn status(&self) -> Compliance {
        if self.non_compliant > 0 {
            Compliance::NonCompliant
        } else if self.pending > 0 || self.total == 0 {
            Compliance::Pending
        } else {
            Compliance::Compliant
        }
    }

    fn slot(&mut self, compliance: Compliance) -> &mut u64 {
        match compliance {
            Compliance::Compliant => &mut self.compliant,
            Compliance::NonCompliant => &mut self.non_compliant,
            Compliance::Pending => &mut self.pending,
        }
    }

    /// A version's verdict went from `from` (none: a first verdict) to `to`.
    pub fn moved(&mut self, from: Option<Compliance>, to: Compliance) {
        match from {
            Some(from) => {
                let old = self.slot(from);
                *old = old.saturating_sub(1);
            }
            None => self.total += 1,
        }
        *self.slot(to) += 1;
    }
}

/// How the watched artifacts stand: `GET /summary`, kept with the writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: u64,
    pub compliant: u64,
    pub non_compliant: u64,
    pub pending: u64,
}

impl Summary {
    fn slot(&mut self, status: Compliance) -> &mut u64 {
        match status {
            Compliance::Compliant => &mut self.compliant,
            Compliance::NonCompliant => &mut self.non_compliant,
            Compliance::Pending => &mut self.pending,
        }
    }

    /// An artifact with this status was added (`+1`) or removed (`-1`).
    pub fn count(&mut self, status: Compliance, delta: i64) {
        self.total = self.total.saturating_add_signed(delta);
        let slot = self.slot(status);
        *slot = slot.saturating_add_signed(delta);
    }

    /// An artifact's status changed.
    pub fn moved(&mut self, from: Compliance, to: Compliance) {
        if from != to {
            let old = self.slot(from);
            *old = old.saturating_sub(1);
            *self.slot(to) += 1;
        }
    }
}

impl WatchedArtifact {
    /// What the store keeps when `self` is put over `stored`: the caller's definition
    /// (artifact, policy and its revision, source), and the store's own state (backfill
    /// progress, counters, times) from `stored`, or fresh for a new artifact. Every store
    /// applies this rule.
    pub fn stored_over(self, stored: Option<&WatchedArtifact>) -> Self {
        match stored {
            Some(stored) => Self {
                backfill: stored.backfill.clone(),
                versions: stored.versions,
                last_published: stored.last_published,
                last_read_at: stored.last_read_at,
                ..self
            },
            None => Self {
                policy_rev: self.policy_rev,
                ..Self::new(self.artifact, self.source, self.added_at)
            },
        }
    }
}

/// How a [`WatchedArtifact`] is read: the same flat object, every field named.
#[derive(Deserialize)]
struct StoredWatched {
    #[serde(rename = "type")]
    registry: crate::registry::RegistryType,
    name: String,
    policy: super::PolicySpec,
    #[serde(default = "first_rev")]
    policy_rev: u64,
    #[serde(default)]
    added_at: i64,
    #[serde(default = "api_source")]
    source: ArtifactSource,
    #[serde(default)]
    backfill: BackfillProgress,
    #[serde(default)]
    versions: VersionCounts,
    #[serde(default)]
    last_published: Option<i64>,
    #[serde(default)]
    last_read_at: Option<i64>,
}

impl From<StoredWatched> for WatchedArtifact {
    fn from(stored: StoredWatched) -> Self {
        Self {
            artifact: Artifact {
                registry: stored.registry,
                name: stored.name,
                policy: stored.policy,
            },
            policy_rev: stored.policy_rev,
            added_at: stored.added_at,
            source: stored.source,
            backfill: stored.backfill,
            versions: stored.versions,
            last_published: stored.last_published,
            last_read_at: stored.last_read_at,
        }
    }
}

fn first_rev() -> u64 {
    1
}

fn api_source() -> ArtifactSource {
    ArtifactSource::Api
}

impl WatchedArtifact {
    pub fn new(artifact: Artifact, source: ArtifactSource, now: i64) -> Self {
        Self {
            artifact,
            policy_rev: 1,
            added_at: now,
            source,
            backfill: BackfillProgress::default(),
            versions: VersionCounts::default(),
            last_published: None,
            last_read_at: None,
        }
    }

    pub fn key(&self) -> String {
        self.artifact.key()
    }
}

/// A unit of work that is due at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "work", rename_all = "snake_case")]
pub enum DueWork {
    /// Read the artifact's document in full: its first read (the backfill), a read the last
    /// one could not complete, or (with `rejudge`) every version judged again.
    Read {
        #[serde(default)]
        rejudge: bool,
    },
    /// Judge one version (its event is kept until a verdict is recorded).
    Judge { event: Box<VersionPublished> },
    /// The backfill is complete: report its findings once.
    Summarise,
}

/// Work on one artifact, due at `due_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueItem {
    /// The artifact's storage key.
    pub artifact: String,
    pub work: DueWork,
    /// Seconds since the epoch.
    pub due_at: i64,
}

/// The order in which due work is taken: lower first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DuePriority {
    /// New versions and their retries, backfill summaries.
    Urgent = 0,
    /// Document reads: onboarding and re-reads.
    Read = 1,
    /// Backfill and re-judging of old versions.
    Bulk = 2,
}

impl DuePriority {
    pub const ALL: [DuePriority; 3] = [Self::Urgent, Self::Read, Self::Bulk];

    pub fn digit(self) -> char {
        match self {
            Self::Urgent => '0',
            Self::Read => '1',
            Self::Bulk => '2',
        }
    }
}

impl DueItem {
    pub fn judge(event: VersionPublished, due_at: i64) -> Self {
        Self {
            artifact: event.key(),
            work: DueWork::Judge {
                event: Box::new(event),
            },
            due_at,
        }
    }

    /// The identity of the work: one item per (artifact, kind[, version]).
    pub fn id(&self) -> String {
        match &self.work {
            DueWork::Read { .. } => read_id(&self.artifact),
            DueWork::Judge { event } => judge_id(&self.artifact, &event.version),
            DueWork::Summarise => summarise_id(&self.artifact),
        }
    }

    /// This item replacing `existing` (the same id): a judgement that was part of the
    /// backfill stays part of it, so the backfill's count still completes.
    pub fn replacing(mut self, existing: &DueItem) -> Self {
        if let (DueWork::Judge { event }, DueWork::Judge { event: old }) =
            (&mut self.work, &existing.work)
            && old.backfill
        {
            event.backfill = true;
        }
        self
    }

    pub fn priority(&self) -> DuePriority {
        match &self.work {
            DueWork::Read { .. } => DuePriority::Read,
            DueWork::Summarise => DuePriority::Urgent,
            DueWork::Judge { event } => match event.reason {
                super::EmitReason::Backfill | super::EmitReason::Rejudge => DuePriority::Bulk,
                super::EmitReason::New | super::EmitReason::Retry if event.backfill => {
                    DuePriority::Bulk
                }
                _ => DuePriority::Urgent,
            },
        }
    }
}

/// The id of an artifact's due read.
pub fn read_id(artifact: &str) -> String {
    format!("R\0{artifact}")
}

/// The id of a version's due judgement.
pub fn judge_id(artifact: &str, version: &str) -> String {
    format!("J\0{artifact}\0{version}")
}

/// The id of an artifact's due backfill summary.
pub fn summarise_id(artifact: &str) -> String {
    format!("S\0{artifact}")
}

/// How much work is due, by kind (kept with the writes, never counted by a scan).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueCounts {
    /// Artifacts whose document is to be read (mostly first reads: onboarding).
    pub reads: u64,
    /// Versions to judge.
    pub judgements: u64,
    /// Backfill summaries to send.
    pub summaries: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_artifact_reads_back_what_was_stored_and_older_records() {
        let policy = super::super::PolicySpec::new("o/r", &[".github/workflows/r.yml"]);
        let mut watched = WatchedArtifact::new(
            Artifact::npm("@scope/pkg", policy).unwrap(),
            ArtifactSource::Config {
                file: "m.toml".to_owned(),
            },
            7,
        );
        watched.versions.total = 3;
        watched.last_read_at = Some(9);
        let json = serde_json::to_string(&watched).unwrap();
        assert!(
            json.starts_with("{\"type\":\"npm\",\"name\":\"@scope/pkg\""),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<WatchedArtifact>(&json).unwrap(),
            watched
        );
        let old = r#"{"type":"npm","name":"a","policy":{"repository":"o/r","workflows":[".github/workflows/r.yml"]},"unknown":1}"#;
        let read: WatchedArtifact = serde_json::from_str(old).unwrap();
        assert_eq!(read.policy_rev, 1);
        assert_eq!(read.source, ArtifactSource::Api);
    }

    #[test]
    fn an_artifact_is_as_compliant_as_its_worst_version() {
        let mut counts = VersionCounts::default();
        assert_eq!(counts.status(), Compliance::Pending, "nothing judged yet");
        counts.moved(None, Compliance::Compliant);
        counts.moved(None, Compliance::Pending);
        assert_eq!(counts.status(), Compliance::Pending);
        counts.moved(Some(Compliance::Pending), Compliance::Compliant);
        assert_eq!(counts.status(), Compliance::Compliant);
        counts.moved(None, Compliance::NonCompliant);
        assert_eq!(counts.status(), Compliance::NonCompliant);
        assert_eq!(
            (counts.total, counts.compliant, counts.non_compliant),
            (3, 2, 1)
        );
        let mut summary = Summary::default();
        summary.count(Compliance::Pending, 1);
        summary.moved(Compliance::Pending, Compliance::NonCompliant);
        assert_eq!(
            (summary.total, summary.pending, summary.non_compliant),
            (1, 0, 1)
        );
        summary.count(Compliance::NonCompliant, -1);
        assert_eq!(summary, Summary::default());
    }
}
