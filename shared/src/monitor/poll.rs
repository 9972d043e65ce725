//! Polling one watched package: read, diff, judge what is new (or pending), record, alert.

use super::judge::History;
use super::{Monitor, MonitorError};
use crate::domain::format_time as rfc3339;
use crate::domain::{
    Alert, AlertArtifact, Artifact, Compliance, Confidence, Packument, PollState, Signal, Snapshot,
    Validators, Verdict, VersionRecord, diff, version_signals,
};
use crate::ports::{Clock, PackumentFetch, Registry, Runs, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What a poll found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// 304: nothing to do.
    NotModified,
    /// A new document was read and processed.
    Changed,
    /// The registry does not know the package.
    Missing,
    /// The document is older than one already processed (a stale cache): new versions in
    /// it were judged, but it was not compared with the stored snapshot.
    Stale,
}

/// How far in the future a packument's `modified` time may be and still be believed.
const MAX_CLOCK_SKEW_SECS: i64 = 3600;

/// How a poll reads the packument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Conditionally (ETag): the sweep.
    Conditional,
    /// Past every cache, for a package the changes feed just named. Versions the fresh
    /// document gives no publish time for wait for a later full read.
    Fresh,
    /// In full, judging every version again (after a policy change).
    Rejudge,
}

/// The result of polling one package.
#[derive(Debug, Clone)]
pub struct PollReport {
    pub artifact: String,
    pub outcome: PollOutcome,
    /// Versions judged in this poll, in publish order.
    pub judged: Vec<JudgedVersion>,
    /// Versions that could not be judged (retried next poll), with the reason.
    pub failed: Vec<(String, String)>,
    /// Alerts newly enqueued.
    pub alerts: usize,
    /// Versions are left pending or unjudged: poll this artifact again next tick, whatever
    /// the sweep's position.
    pub retry_pending: bool,
}

#[derive(Debug, Clone)]
pub struct JudgedVersion {
    pub version: String,
    pub compliance: Compliance,
    pub confidence: Confidence,
    pub reasons: Vec<String>,
}

impl<R: Registry, G: Runs, S: Store, C: Clock> Monitor<R, G, S, C> {
    /// Polls one artifact. With `rejudge_all` every version is judged again (after a policy
    /// change); a verdict that flips is recorded with its history and alerted.
    pub async fn poll(
        &self,
        artifact: &Artifact,
        rejudge_all: bool,
    ) -> Result<PollReport, MonitorError> {
        let read = if rejudge_all {
            Read::Rejudge
        } else {
            Read::Conditional
        };
        self.poll_with(artifact, read).await
    }

    /// Polls one artifact, reading its packument as `read` says.
    pub async fn poll_with(
        &self,
        artifact: &Artifact,
        read: Read,
    ) -> Result<PollReport, MonitorError> {
        let rejudge_all = read == Read::Rejudge;
        let key = artifact.key();
        let name = artifact.package().map_err(MonitorError::Invalid)?;
        let policy = artifact
            .policy
            .to_policy()
            .map_err(|e| MonitorError::Invalid(format!("{key}: {e}")))?;
        let state = self.store.poll_state(&key).await?.unwrap_or_default();
        let baseline = state.snapshot.is_none();
        let conditional = !baseline && read == Read::Conditional && state.retry.is_empty();
        let validators = if conditional {
            state.validators.clone()
        } else {
            Validators::default()
        };
        let mut report = PollReport {
            artifact: key.clone(),
            outcome: PollOutcome::Changed,
            judged: Vec::new(),
            failed: Vec::new(),
            alerts: 0,
            retry_pending: false,
        };
        let fetched = match read {
            Read::Fresh => self.registry.packument_fresh(&name).await?,
            _ => self.registry.packument(&name, &validators).await?,
        };
        let (body, validators) = match fetched {
            PackumentFetch::NotModified => {
                report.outcome = PollOutcome::NotModified;
                return Ok(report);
            }
            PackumentFetch::Missing => {
                report.outcome = PollOutcome::Missing;
                self.package_missing(artifact, &state, &mut report).await?;
                return Ok(report);
            }
            // A fresh read's validators are not the cache's: the sweep keeps its own.
            PackumentFetch::Modified { body, .. } if read == Read::Fresh => {
                (body, state.validators.clone())
            }
            PackumentFetch::Modified { body, validators } => (body, validators),
        };
        let packument =
            Packument::parse(&body).map_err(|e| MonitorError::Invalid(format!("{key}: {e}")))?;
        drop(body);
        if packument.name != name.as_str() {
            return Err(MonitorError::Invalid(format!(
                "{key}: the registry answered with the packument of {:?}",
                packument.name
            )));
        }
        let now = self.clock.now();
        // An older copy than one already processed (a cache behind a fresh read): its
        // versions are still judged, but it is not diffed (the newer versions would read as
        // unpublished) and does not replace the snapshot. A `modified` time in the future
        // (a hostile or broken answer) is not trusted to make every later read look stale.
        let seen = state
            .snapshot
            .as_ref()
            .and_then(|s| s.modified)
            .filter(|t| *t <= now + MAX_CLOCK_SKEW_SECS);
        let stale = matches!((seen, packument.modified()), (Some(seen), Some(this)) if this < seen);
        let stored: BTreeMap<String, VersionRecord> = self
            .store
            .versions(&key)
            .await?
            .into_iter()
            .map(|r| (r.version.clone(), r))
            .collect();
        let alert_artifact = AlertArtifact {
            registry: artifact.registry.clone(),
            name: artifact.name.clone(),
        };
        let mut retry = BTreeSet::new();
        let mut findings: Vec<(String, Verdict)> = Vec::new();
        let mut earlier_had_provenance = false;
        for version in packument.versions_by_publish_time() {
            let existing = stored.get(version);
            let needs_judging = rejudge_all
                || state.retry.contains(version)
                || existing.is_none_or(|r| r.verdict.compliance == Compliance::Pending);
            if !needs_judging {
                earlier_had_provenance |= existing.is_some_and(VersionRecord::had_provenance);
                continue;
            }
            if read == Read::Fresh && packument.published_at(version).is_none() {
                // Judged once a full read gives its publish time.
                retry.insert(version.to_owned());
                continue;
            }
            let history = History {
                earlier_had_provenance,
                signals: version_signals(&packument, version),
            };
            let verdict = match self
                .judge(&name, &policy, &packument, version, history)
                .await
            {
                Ok(verdict) => verdict,
                Err(MonitorError::Store(e)) => return Err(MonitorError::Store(e)),
                Err(e) => {
                    retry.insert(version.to_owned());
                    report.failed.push((version.to_owned(), e.to_string()));
                    continue;
                }
            };
            earlier_had_provenance |= verdict.evidence.provenance.is_some();
            let manifest = &packument.versions[version];
            let published_at = packument.published_at(version);
            // Versions first judged in the first read are backfill: summarised once, not
            // alerted one by one. A version that only appears later is new, whatever its
            // publish time says (a stale first read must not hide it).
            let first_in_backfill = baseline && existing.is_none();
            let backfill = match existing {
                Some(record) => record.backfill,
                None => baseline || state.backfill_retry.contains(version),
            };
            let pending = verdict.compliance == Compliance::Pending;
            let pending_since = existing
                .and_then(|r| r.pending_since)
                .or(Some(now))
                .filter(|_| pending);
            let published = published_at.map(rfc3339);
            let alert = (verdict.alerts() && !first_in_backfill).then(|| {
                Alert::for_verdict(
                    alert_artifact.clone(),
                    version,
                    &verdict,
                    published.clone(),
                    rfc3339(now),
                )
            });
            if first_in_backfill && verdict.alerts() {
                findings.push((version.to_owned(), verdict.clone()));
            }
            let record = VersionRecord {
                version: version.to_owned(),
                published_at,
                integrity: manifest.dist.integrity.clone(),
                tarball: manifest.dist.tarball.clone(),
                publisher: manifest.publisher.clone(),
                detected_at: now,
                pending_since,
                backfill,
                verdict: verdict.clone(),
                history: Vec::new(),
            };
            let recorded = self
                .store
                .record(&key, &record, alert.as_ref(), now)
                .await?;
            if alert.is_some() && recorded != crate::domain::Recorded::Unchanged {
                report.alerts += 1;
            }
            if pending {
                retry.insert(version.to_owned());
                if let Some(since) = pending_since
                    && now - since >= self.config.unverifiable_after_secs
                {
                    let alert = Alert::unverifiable(
                        alert_artifact.clone(),
                        version,
                        &verdict,
                        published,
                        rfc3339(now),
                    );
                    if self.store.enqueue(&alert, now).await? {
                        report.alerts += 1;
                    }
                }
            }
            report.judged.push(super::poll::JudgedVersion {
                version: version.to_owned(),
                compliance: verdict.compliance,
                confidence: verdict.confidence,
                reasons: verdict.reasons.clone(),
            });
        }
        if !findings.is_empty() {
            let total = packument.versions.len();
            let alert = Alert::backfill(alert_artifact.clone(), total, &findings, rfc3339(now));
            if self.store.enqueue(&alert, now).await? {
                report.alerts += 1;
            }
        }
        if !baseline && !stale {
            let changes = diff(
                state.snapshot.as_ref().unwrap_or(&Snapshot::default()),
                &packument,
            );
            for signal in changes.package_signals() {
                let fingerprint = match &signal {
                    Signal::VersionUnpublished(v) => v.clone(),
                    Signal::LatestMovedBackwards { from, to } => format!("{from}->{to}"),
                    Signal::NewMaintainer(names) => names.join(","),
                    other => other.code().to_owned(),
                };
                let alert = Alert::package(
                    alert_artifact.clone(),
                    signal.code(),
                    &fingerprint,
                    signal.describe(),
                    rfc3339(now),
                );
                if self.store.enqueue(&alert, now).await? {
                    report.alerts += 1;
                }
            }
        }
        if stale {
            report.outcome = PollOutcome::Stale;
        }
        let state = PollState {
            validators: if stale {
                state.validators.clone()
            } else {
                validators
            },
            snapshot: if stale {
                state.snapshot.clone()
            } else {
                Some(Snapshot::of(&packument))
            },
            last_changed_at: Some(now),
            watching_since: Some(state.watching_since.unwrap_or(now)),
            backfill_retry: if baseline {
                retry.clone()
            } else {
                state.backfill_retry.intersection(&retry).cloned().collect()
            },
            retry,
        };
        report.retry_pending = !state.retry.is_empty();
        self.store.put_poll_state(&key, &state).await?;
        Ok(report)
    }

    /// The keys of the artifacts whose last poll left versions pending or unjudged.
    pub async fn needing_retry(&self, artifacts: &[Artifact]) -> Result<Vec<String>, MonitorError> {
        let mut keys = Vec::new();
        for artifact in artifacts {
            let key = artifact.key();
            let state = self.store.poll_state(&key).await?;
            if state.is_some_and(|s| !s.retry.is_empty()) {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    async fn package_missing(
        &self,
        artifact: &Artifact,
        state: &PollState,
        report: &mut PollReport,
    ) -> Result<(), MonitorError> {
        let Some(snapshot) = &state.snapshot else {
            return Ok(());
        };
        if snapshot.versions.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let alert = Alert::package(
            AlertArtifact {
                registry: artifact.registry.clone(),
                name: artifact.name.clone(),
            },
            "package_missing",
            &format!("{}", snapshot.versions.len()),
            format!(
                "the registry no longer has the package ({} versions were known)",
                snapshot.versions.len()
            ),
            rfc3339(now),
        );
        if self.store.enqueue(&alert, now).await? {
            report.alerts += 1;
        }
        Ok(())
    }
}

impl<R, G, S, C> Monitor<R, G, S, C>
where
    R: Registry + 'static,
    G: Runs + 'static,
    S: Store + 'static,
    C: Clock + 'static,
{
    /// Polls every artifact, at most `concurrency` at once; one result per artifact.
    pub async fn tick(
        self: &Arc<Self>,
        artifacts: Vec<Artifact>,
        concurrency: usize,
    ) -> Vec<(String, Result<PollReport, MonitorError>)> {
        let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for artifact in artifacts {
            let monitor = Arc::clone(self);
            let permits = Arc::clone(&permits);
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = monitor.poll(&artifact, false).await;
                (artifact.key(), result)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                Err(e) => results.push((
                    "(task)".to_owned(),
                    Err(MonitorError::Invalid(format!("poll task failed: {e}"))),
                )),
            }
        }
        results.sort_by(|a, b| a.0.cmp(&b.0));
        results
    }
}
