//! *Detect*: read one watched package, find what is new, write it as due and emit it.
//!
//! A read is conditional (the sweep), fresh (a changes-feed hit, past the caches) or full
//! (the first read, a re-read, a re-judging after a policy change). The first read schedules
//! every existing version as backfill, paced by the due queue; later reads emit one
//! `VersionPublished` per new version at once, after the poll state, the due items and the
//! package-level alerts were written in one transaction against the revision read (of two
//! overlapping reads only one commits, and only the winner emits).

use super::config::MonitorConfig;
use super::error::MonitorError;
use crate::domain::format_time as rfc3339;
use crate::domain::{
    Alert, ArtifactRef, DueItem, DueWork, EmitReason, PollState, ReadKind, Signal, Validators,
    WatchedArtifact, versions_to_judge,
};
use crate::ports::{Body, Clock, DocumentFetch, Emitted, Events, PollCommit, Registry, Store};
use crate::registry::{Document, Snapshot};

/// How far in the future a document's `modified` time may be and still be believed.
const MAX_CLOCK_SKEW_SECS: i64 = 3600;

/// How detection reads the artifact's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Conditionally (ETag).
    Conditional,
    /// The sweep: conditionally, and not at all when the package was read fresh since the
    /// sweep's round began at `round_started` (it is covered for this round).
    Sweep { round_started: Option<i64> },
    /// Past every cache, for a package the changes feed just named. Versions the fresh
    /// document gives no publish time for wait for a later full read.
    Fresh,
    /// Unconditionally.
    Full,
    /// Unconditionally, judging every version again (after a policy change).
    Rejudge,
}

/// What a read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// 304: nothing to do.
    NotModified,
    /// A new document was read and processed.
    Changed,
    /// The registry does not know the package.
    Missing,
    /// The document is older than one already processed (a stale cache): new versions in it
    /// were scheduled, but it was not compared with the stored snapshot.
    Stale,
    /// Not read: read fresh during the sweep's current round already.
    Skipped,
}

/// What one detection did.
#[derive(Debug, Clone)]
pub struct DetectReport {
    pub artifact: String,
    pub outcome: PollOutcome,
    /// Versions written as due.
    pub scheduled: usize,
    /// What the bus did with the new versions' events.
    pub emitted: Emitted,
    /// Package-level alerts newly enqueued.
    pub alerts: usize,
    /// This was the artifact's first read: its versions are scheduled as backfill.
    pub backfill: bool,
}

/// The detection use-case over its ports.
#[derive(Debug, Clone)]
pub struct Detector<R, S, C> {
    pub registry: R,
    pub store: S,
    pub clock: C,
    pub config: MonitorConfig,
}

impl<R: Registry, S: Store, C: Clock> Detector<R, S, C> {
    /// Reads `watched` as `read` says, writes what is due and emits what is new on `bus`.
    pub async fn detect<E: Events>(
        &self,
        watched: &WatchedArtifact,
        read: Read,
        bus: &E,
    ) -> Result<DetectReport, MonitorError> {
        let key = watched.key();
        let reference = checked_ref(watched)?;
        let state = self.store.poll_state(&key).await?.unwrap_or_default();
        let mut report = DetectReport {
            artifact: key.clone(),
            outcome: PollOutcome::Changed,
            scheduled: 0,
            emitted: Emitted::default(),
            alerts: 0,
            backfill: false,
        };
        let baseline = state.snapshot.is_none();
        if let Read::Sweep {
            round_started: Some(started),
        } = read
            && !baseline
            && state.fresh_read_at.is_some_and(|at| at >= started)
        {
            report.outcome = PollOutcome::Skipped;
            return Ok(report);
        }
        // A first read is never a fresh one: the backfill needs every publish time.
        let read = match read {
            Read::Fresh if baseline => Read::Full,
            other => other,
        };
        let conditional =
            !baseline && !state.reread && matches!(read, Read::Conditional | Read::Sweep { .. });
        let validators = if conditional {
            state.validators.clone()
        } else {
            Validators::default()
        };
        let fetched = match read {
            Read::Fresh => self.registry.document_fresh(&reference).await?,
            _ => self.registry.document(&reference, &validators).await?,
        };
        let (body, validators) = match fetched {
            DocumentFetch::NotModified => {
                report.outcome = PollOutcome::NotModified;
                return Ok(report);
            }
            DocumentFetch::Missing => {
                report.outcome = PollOutcome::Missing;
                report.alerts = self.package_missing(watched, &state).await?;
                return Ok(report);
            }
            // A fresh read's validators are not the cache's: the sweep keeps its own.
            DocumentFetch::Modified { body, .. } if read == Read::Fresh => {
                (body, state.validators.clone())
            }
            DocumentFetch::Modified { body, validators } => (body, validators),
        };
        let document = read_checked(&key, &reference, body)?;
        let now = self.clock.now();
        // An older copy than one already processed (a cache behind a fresh read): its new
        // versions are still scheduled, but it is not diffed (the newer versions would read
        // as unpublished) and does not replace the snapshot. A `modified` time in the future
        // (a hostile or broken answer) is not trusted to make every later read look stale.
        let seen = state
            .snapshot
            .as_ref()
            .and_then(|s| s.modified)
            .filter(|t| *t <= now + MAX_CLOCK_SKEW_SECS);
        let stale = matches!((seen, document.modified()), (Some(seen), Some(this)) if this < seen);

        let kind = match read {
            _ if baseline => ReadKind::First,
            Read::Rejudge => ReadKind::Rejudge,
            other => ReadKind::Update {
                fresh: other == Read::Fresh,
            },
        };
        let known = state.snapshot.as_ref();
        let found = versions_to_judge(
            document.versions(),
            &reference,
            known,
            kind,
            watched.policy_rev,
            now,
        );
        let left_out = found.left_out;
        let mut due = Vec::new();
        let mut emit = Vec::new();
        for event in found.events {
            if event.reason == EmitReason::New {
                // Handed to the bus now; due again only if its verdict never arrives.
                due.push(DueItem::judge(
                    event.clone(),
                    now + self.config.redeliver_after_secs,
                ));
                emit.push(event);
            } else {
                // Paced through the due queue.
                due.push(DueItem::judge(event, now));
            }
        }
        let mut alerts = Vec::new();
        if !baseline && !stale {
            let empty = Snapshot::default();
            let previous = state.snapshot.as_ref().unwrap_or(&empty);
            for signal in document.package_signals(previous) {
                alerts.push(package_alert(&reference, &signal, now));
            }
        }
        if stale {
            report.outcome = PollOutcome::Stale;
        }
        let mut snapshot = document.snapshot();
        for version in &left_out {
            snapshot.versions.remove(version);
            snapshot.files.remove(version);
        }
        let next = PollState {
            rev: state.rev,
            validators: if stale {
                state.validators.clone()
            } else {
                validators
            },
            snapshot: if stale {
                state.snapshot.clone()
            } else {
                Some(snapshot)
            },
            last_changed_at: Some(now),
            watching_since: Some(state.watching_since.unwrap_or(now)),
            fresh_read_at: if read == Read::Fresh {
                Some(now)
            } else {
                state.fresh_read_at
            },
            reread: !left_out.is_empty(),
        };
        // Versions a fresh read left out are read again soon, not when the sweep comes by.
        let reread_soon = !left_out.is_empty();
        if reread_soon {
            due.push(DueItem {
                artifact: key.clone(),
                work: DueWork::Read { rejudge: false },
                due_at: now + self.config.retry_pending_secs,
            });
        }
        let commit = PollCommit {
            due,
            alerts,
            read_done: match read {
                _ if reread_soon => None,
                Read::Rejudge => Some(true),
                _ => Some(false),
            },
            backfill_total: baseline.then_some(document.version_count() as u64),
        };
        report.scheduled = commit.due.len();
        report.backfill = baseline;
        report.alerts = self.store.commit_poll(&key, &next, &commit, now).await?;
        if !emit.is_empty() {
            report.emitted = bus.publish(emit).await;
        }
        Ok(report)
    }

    /// Every version of `watched` as events, from one full read, writing nothing (a
    /// one-shot judgement of a whole package); `None` when the registry does not have it.
    pub async fn read_all(
        &self,
        watched: &WatchedArtifact,
    ) -> Result<Option<Vec<crate::domain::VersionPublished>>, MonitorError> {
        let key = watched.key();
        let reference = checked_ref(watched)?;
        let body = match self
            .registry
            .document(&reference, &Validators::default())
            .await?
        {
            DocumentFetch::Modified { body, .. } => body,
            DocumentFetch::Missing => return Ok(None),
            DocumentFetch::NotModified => {
                return Err(MonitorError::BadDocument {
                    key,
                    reason: "the registry answered an unconditional read with 304".to_owned(),
                });
            }
        };
        let document = read_checked(&key, &reference, body)?;
        let found = versions_to_judge(
            document.versions(),
            &reference,
            None,
            ReadKind::First,
            watched.policy_rev,
            self.clock.now(),
        );
        Ok(Some(found.events))
    }

    async fn package_missing(
        &self,
        watched: &WatchedArtifact,
        state: &PollState,
    ) -> Result<usize, MonitorError> {
        let Some(snapshot) = &state.snapshot else {
            return Ok(0);
        };
        if snapshot.versions.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let alert = Alert::package(
            ArtifactRef {
                registry: watched.artifact.registry,
                name: watched.artifact.name.clone(),
            },
            crate::domain::Reason::PackageMissing,
            &format!("{}", snapshot.versions.len()),
            format!(
                "the registry no longer has the package ({} versions were known)",
                snapshot.versions.len()
            ),
            rfc3339(now),
        );
        Ok(usize::from(self.store.enqueue(&alert, now).await?))
    }
}

/// The artifact of `watched`, its name checked against its registry type's rules.
fn checked_ref(watched: &WatchedArtifact) -> Result<ArtifactRef, MonitorError> {
    let artifact = &watched.artifact;
    artifact
        .registry
        .check_name(&artifact.name)
        .map_err(|e| MonitorError::BadArtifact {
            key: watched.key(),
            source: e.into(),
        })?;
    Ok(ArtifactRef {
        registry: artifact.registry,
        name: artifact.name.clone(),
    })
}

/// Reads the document served for `artifact`: it must parse and be that artifact's. The
/// body is dropped (its share of the bytes budget returned) once parsed.
fn read_checked(key: &str, artifact: &ArtifactRef, body: Body) -> Result<Document, MonitorError> {
    artifact
        .registry
        .read(&artifact.name, &body)
        .map_err(|e| MonitorError::BadDocument {
            key: key.to_owned(),
            reason: e.to_string(),
        })
}

/// The alert for a package-level signal; its fingerprint makes the id unique per change.
fn package_alert(artifact: &ArtifactRef, signal: &Signal, now: i64) -> Alert {
    let fingerprint = match signal {
        Signal::VersionUnpublished(v) => v.clone(),
        Signal::LatestMovedBackwards { from, to } => format!("{from}->{to}"),
        Signal::NewMaintainer(names) => names.join(","),
        other => other.code().as_str().to_owned(),
    };
    Alert::package(
        artifact.clone(),
        signal.code(),
        &fingerprint,
        signal.describe(),
        rfc3339(now),
    )
}
