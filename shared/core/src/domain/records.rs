//! What the monitor stores: per-version records with their verdict history, per-artifact
//! poll state, and alert outbox entries.

use super::Publisher;
use super::{Alert, Compliance, Confidence, Reason, Verdict};
use crate::registry::{RegistryType, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// HTTP validators of the last full read, for a conditional request next time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// Where polling of one artifact stands. Written against the revision it was read at
/// (`rev`): of two ticks that read the same state, only the first to write wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollState {
    /// The revision this state was read at (0: never written).
    #[serde(default)]
    pub rev: u64,
    pub validators: Validators,
    /// What the last fully processed document held; `None` until the first (backfill) read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    /// Seconds since the epoch of the last read that returned a new document.
    #[serde(default)]
    pub last_changed_at: Option<i64>,
    /// When the monitor first read the package.
    #[serde(default)]
    pub watching_since: Option<i64>,
    /// When the package was last read past the caches (a changes-feed hit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_read_at: Option<i64>,
    /// The last read left versions out (a fresh read without their publish time): the next
    /// read is unconditional.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reread: bool,
}

/// A change of a version's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub at: i64,
    pub from: Compliance,
    pub to: Compliance,
    pub reasons: Vec<Reason>,
}

/// One version of an artifact and its current verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: String,
    /// When the registry says it was published, seconds since the epoch.
    #[serde(default)]
    pub published_at: Option<i64>,
    #[serde(default)]
    pub integrity: Option<String>,
    #[serde(default)]
    pub tarball: Option<String>,
    #[serde(default)]
    pub publisher: Option<Publisher>,
    /// When the monitor first saw the version.
    pub detected_at: i64,
    /// When the version was first judged `pending`, while it stays pending.
    #[serde(default)]
    pub pending_since: Option<i64>,
    /// Judged during the backfill of a newly watched artifact (not alerted one by one).
    #[serde(default)]
    pub backfill: bool,
    pub verdict: Verdict,
    /// The revision of the artifact's policy the verdict was reached under.
    #[serde(default)]
    pub policy_rev: u64,
    /// Earlier verdicts this one replaced.
    #[serde(default)]
    pub history: Vec<Transition>,
}

impl VersionRecord {
    /// What recording `record` over `stored` does, the rule every store applies: the same
    /// decision writes nothing (but a newer policy revision); a changed one keeps the old
    /// in the history, with the first detection time and the backfill mark; a decided
    /// verdict is no longer pending. Returns what to write, if anything.
    pub fn apply(
        stored: Option<VersionRecord>,
        record: &VersionRecord,
        now: i64,
    ) -> (Recorded, Option<VersionRecord>) {
        let (recorded, next) = match stored {
            Some(stored) if stored.verdict.same_decision(&record.verdict) => {
                let newer = stored.policy_rev < record.policy_rev;
                let next = newer.then_some(VersionRecord {
                    policy_rev: record.policy_rev,
                    ..stored
                });
                (Recorded::Unchanged, next)
            }
            Some(stored) => {
                let mut next = record.clone();
                next.detected_at = stored.detected_at;
                next.backfill = stored.backfill;
                next.pending_since = stored.pending_since.or(record.pending_since);
                next.history = stored.history.clone();
                next.history.push(Transition {
                    at: now,
                    from: stored.verdict.compliance,
                    to: record.verdict.compliance,
                    reasons: stored.verdict.reasons.clone(),
                });
                (Recorded::Changed, Some(next))
            }
            None => (Recorded::New, Some(record.clone())),
        };
        let next = next.map(|mut next| {
            if next.verdict.compliance != Compliance::Pending {
                next.pending_since = None;
            }
            next
        });
        (recorded, next)
    }

    /// The version had verified provenance (whatever the policy said of it).
    pub fn had_provenance(&self) -> bool {
        self.verdict.evidence.provenance.is_some()
    }
}

/// What recording a verdict did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    /// First verdict for the version.
    New,
    /// The decision changed.
    Changed,
    /// Same decision as stored: nothing written, nothing alerted.
    Unchanged,
}

/// An alert waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub alert: Alert,
    pub enqueued_at: i64,
    /// Printed to the local output already (it is never printed twice).
    #[serde(default)]
    pub printed: bool,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    /// A deliverer holds the entry until then (seconds since the epoch): another one
    /// leaves it alone, so two overlapping drains never both send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<i64>,
}

/// The longest feed sequence kept (CouchDB's opaque sequences run to some 100 characters).
pub const MAX_SEQUENCE_LEN: usize = 256;

/// Whether `sequence` can be stored and sent back to the feed: 1 to [`MAX_SEQUENCE_LEN`]
/// letters, digits, `-` or `_` (what CouchDB issues). Anything else (a query string, a
/// megabyte of digits) would wedge every later read of the feed.
pub fn usable_sequence(sequence: &str) -> bool {
    !sequence.is_empty()
        && sequence.len() <= MAX_SEQUENCE_LEN
        && sequence
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where following one registry type's feed stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPosition {
    /// The feed sequence processed up to (opaque; compared as a number only to notice a
    /// feed that started over). `None` until the feed was first read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Seconds since the epoch of the last successful feed read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_read_at: Option<i64>,
}

/// Where following each registry's feed and the safety-net sweep stand: one record, so a
/// feed that starts over and the sweep that covers it are written together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredFeedState", into = "StoredFeedState")]
pub struct FeedState {
    /// The revision this state was read at (0: never written).
    pub rev: u64,
    /// Each registry type's feed, by type.
    pub feeds: BTreeMap<RegistryType, FeedPosition>,
    /// The key of the artifact the sweep visited last; it resumes after it.
    pub sweep_cursor: Option<String>,
    /// Seconds since the epoch when the sweep last started over from the first artifact.
    pub sweep_started_at: Option<i64>,
}

impl FeedState {
    /// Where `registry`'s feed stands (nothing read yet: the default).
    pub fn position(&self, registry: RegistryType) -> FeedPosition {
        self.feeds.get(&registry).cloned().unwrap_or_default()
    }

    /// Records where `registry`'s feed stands.
    pub fn set_position(&mut self, registry: RegistryType, position: FeedPosition) {
        self.feeds.insert(registry, position);
    }
}

/// The stored form of [`FeedState`]: npm's position in the record's own fields, where it
/// has been since the first release (so a stored record reads back unchanged), every other
/// type's under `feeds`.
#[derive(Serialize, Deserialize)]
struct StoredFeedState {
    #[serde(default)]
    rev: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sweep_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feed_read_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sweep_started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    feeds: BTreeMap<RegistryType, FeedPosition>,
}

impl From<StoredFeedState> for FeedState {
    fn from(stored: StoredFeedState) -> Self {
        let mut feeds = stored.feeds;
        feeds.remove(&RegistryType::Npm);
        if stored.since.is_some() || stored.feed_read_at.is_some() {
            feeds.insert(
                RegistryType::Npm,
                FeedPosition {
                    since: stored.since,
                    feed_read_at: stored.feed_read_at,
                },
            );
        }
        Self {
            rev: stored.rev,
            feeds,
            sweep_cursor: stored.sweep_cursor,
            sweep_started_at: stored.sweep_started_at,
        }
    }
}

impl From<FeedState> for StoredFeedState {
    fn from(state: FeedState) -> Self {
        let mut feeds = state.feeds;
        let npm = feeds.remove(&RegistryType::Npm).unwrap_or_default();
        Self {
            rev: state.rev,
            since: npm.since,
            sweep_cursor: state.sweep_cursor,
            feed_read_at: npm.feed_read_at,
            sweep_started_at: state.sweep_started_at,
            feeds,
        }
    }
}

/// One verdict reached, as reports and logs show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudgedVersion {
    /// The artifact's key, `<type>/<name>`.
    pub artifact: String,
    pub version: String,
    pub compliance: Compliance,
    pub confidence: Confidence,
    pub reasons: Vec<Reason>,
    pub recorded: Recorded,
    /// Alerts newly enqueued with it.
    pub alerts: usize,
    /// The id of the verdict's alert (whether enqueued now or before), when it alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_url: Option<String>,
    /// For a version that is a set of files: each file's verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<super::FileVerdict>,
    /// For a pending verdict: what could not be checked yet, in words (the verdict's
    /// details).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_because: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_state_stored_before_there_were_two_feeds_reads_as_npm_s() {
        let stored = r#"{"rev":0,"since":"42","sweep_cursor":"npm/a","feed_read_at":7}"#;
        let state: FeedState = serde_json::from_str(stored).unwrap();
        assert_eq!(
            state.position(RegistryType::Npm).since.as_deref(),
            Some("42")
        );
        assert_eq!(state.position(RegistryType::Npm).feed_read_at, Some(7));
        assert_eq!(state.position(RegistryType::Pypi), FeedPosition::default());
        assert_eq!(serde_json::to_string(&state).unwrap(), stored);
        let mut both = state.clone();
        both.set_position(
            RegistryType::Pypi,
            FeedPosition {
                since: Some("1765152000".into()),
                feed_read_at: Some(9),
            },
        );
        let text = serde_json::to_string(&both).unwrap();
        assert!(text.contains(r#""feeds":{"pypi":{"since":"1765152000","feed_read_at":9}}"#));
        assert_eq!(serde_json::from_str::<FeedState>(&text).unwrap(), both);
    }

    #[test]
    fn only_sequences_a_feed_issues_are_usable() {
        assert!(usable_sequence("12345"));
        assert!(usable_sequence("123-g1AAAAB_eJzLYWBg"));
        assert!(!usable_sequence(""));
        assert!(!usable_sequence("5&limit=1"));
        assert!(!usable_sequence("5\nforged"));
        assert!(!usable_sequence(&"9".repeat(MAX_SEQUENCE_LEN + 1)));
    }
}
