//! The local composition: detection and judging over the same adapters, joined by the
//! in-process bus, for `serve`, `check` and the tests. Besides the tick it offers one
//! package start to finish in one process ([`Monitor::poll`]: detect, then judge everything
//! due for it at once), which `check` uses.

use super::bus::LocalBus;
use super::config::MonitorConfig;
use super::deliver::{Delivery, DeliveryReport};
use super::detect::Detector;
use super::detect::{PollOutcome, Read};
use super::error::MonitorError;
use super::judge::Judge;
use super::tick::{TickPlan, TickReport};
use super::watch::{FeedReport, SweepReport, WatchConfig};
use super::watchlist::{WatchChange, watch};
use crate::domain::{Alert, Artifact, ArtifactSource, DueWork, JudgedVersion, VersionPublished};
use crate::ports::{Alerts, AttestationVerifier, Changes, Clock, Events, Registry, Runs, Store};
use std::collections::HashSet;
use std::sync::Arc;

/// The result of polling one package.
#[derive(Debug, Clone)]
pub struct PollReport {
    pub artifact: String,
    pub outcome: PollOutcome,
    /// Versions judged in this poll.
    pub judged: Vec<JudgedVersion>,
    /// Versions that could not be judged (still due), with the reason.
    pub failed: Vec<(String, String)>,
    /// Alerts newly enqueued.
    pub alerts: usize,
    /// Versions are left pending or unjudged: they are due again.
    pub retry_pending: bool,
}

/// The local composition: detection and judging over the same adapters, joined by the
/// in-process bus.
#[derive(Debug)]
pub struct Monitor<R, G, S, C> {
    pub detector: Detector<R, S, C>,
    pub judge: Judge<R, G, S, C>,
    /// The store both use (a handle: clones share the data).
    pub store: S,
    /// Judgements at most at once on the in-process bus.
    pub concurrency: usize,
}

impl<R, G, S, C> Monitor<R, G, S, C>
where
    R: Registry + Clone,
    G: Runs,
    S: Store + Clone,
    C: Clock + Clone,
{
    pub fn new(
        registry: R,
        runs: Option<G>,
        store: S,
        clock: C,
        verifier: Arc<dyn AttestationVerifier>,
    ) -> Self {
        let config = MonitorConfig::default();
        Self {
            detector: Detector {
                registry: registry.clone(),
                store: store.clone(),
                clock: clock.clone(),
                config: config.clone(),
            },
            judge: Judge {
                registry,
                runs,
                store: store.clone(),
                clock,
                verifier,
                config,
            },
            store,
            concurrency: 16,
        }
    }

    /// The same monitor with other tunables.
    pub fn with_config(mut self, config: MonitorConfig) -> Self {
        self.detector.config = config.clone();
        self.judge.config = config;
        self
    }

    /// The in-process bus: events judged at once.
    pub fn bus(&self) -> LocalBus<'_, R, G, S, C> {
        LocalBus {
            judge: &self.judge,
            concurrency: self.concurrency,
        }
    }
}

impl<R, G, S, C> Monitor<R, G, S, C>
where
    R: Registry + Clone,
    G: Runs,
    S: Store + Clone,
    C: Clock + Clone,
{
    /// Watches `artifact` (adding it, or applying a changed policy) and polls it: a read
    /// (conditional, unless `rejudge_all` or the policy changed), then every version due
    /// for it judged now, whenever due, and its backfill summarised once complete.
    pub async fn poll(
        &self,
        artifact: &Artifact,
        rejudge_all: bool,
    ) -> Result<PollReport, MonitorError> {
        let key = artifact.key();
        let now = self.detector.clock.now();
        let source = match self.store.artifact(&key).await? {
            Some(existing) => existing.source,
            None => ArtifactSource::Api,
        };
        let change = watch(&self.store, artifact.clone(), source, now).await?;
        let watched = self
            .store
            .artifact(&key)
            .await?
            .ok_or_else(|| MonitorError::Invalid(format!("{key} vanished while polled")))?;
        let read = if rejudge_all || change == WatchChange::PolicyChanged {
            Read::Rejudge
        } else if change == WatchChange::Added {
            Read::Full
        } else {
            Read::Conditional
        };
        let bus = self.bus();
        let detected = self.detector.detect(&watched, read, &bus).await?;
        let mut report = PollReport {
            artifact: key.clone(),
            outcome: detected.outcome,
            judged: detected.emitted.judged,
            failed: Vec::new(),
            alerts: detected.alerts,
            retry_pending: false,
        };
        // Versions whose events the read just handed out are not tried twice.
        let tried: HashSet<String> = report
            .judged
            .iter()
            .map(|j| j.version.clone())
            .chain(detected.emitted.failed.iter().map(|f| f.version.clone()))
            .collect();
        report.failed.extend(
            detected
                .emitted
                .failed
                .into_iter()
                .map(|f| (f.version, f.error)),
        );
        let mut events: Vec<VersionPublished> = self
            .store
            .due_of(&key)
            .await?
            .into_iter()
            .filter_map(|item| match item.work {
                DueWork::Judge { event } if !tried.contains(&event.version) => Some(*event),
                _ => None,
            })
            .collect();
        events.sort_by(|a, b| {
            (a.published_at.unwrap_or(i64::MAX), &a.version)
                .cmp(&(b.published_at.unwrap_or(i64::MAX), &b.version))
        });
        let emitted = bus.publish(events).await;
        report.judged.extend(emitted.judged);
        report
            .failed
            .extend(emitted.failed.into_iter().map(|f| (f.version, f.error)));
        report.alerts += report.judged.iter().map(|j| j.alerts).sum::<usize>();
        let left = self.store.due_of(&key).await?;
        if left.iter().any(|i| i.work == DueWork::Summarise) {
            report.alerts += usize::from(self.detector.summarise(&key).await?);
        }
        report.retry_pending = left
            .iter()
            .any(|i| matches!(i.work, DueWork::Judge { .. } | DueWork::Read { .. }));
        Ok(report)
    }

    /// Judges every version of `artifact` now, from one full read, without the due queue:
    /// the one-shot `check`. Nothing is alerted or summarised; verdicts are stored.
    pub async fn judge_all_now(&self, artifact: &Artifact) -> Result<PollReport, MonitorError> {
        let key = artifact.key();
        let now = self.detector.clock.now();
        watch(&self.store, artifact.clone(), ArtifactSource::Api, now).await?;
        let watched = self
            .store
            .artifact(&key)
            .await?
            .ok_or_else(|| MonitorError::Invalid(format!("{key} vanished while judged")))?;
        let mut report = PollReport {
            artifact: key,
            outcome: PollOutcome::Changed,
            judged: Vec::new(),
            failed: Vec::new(),
            alerts: 0,
            retry_pending: false,
        };
        let Some(events) = self.detector.read_all(&watched).await? else {
            report.outcome = PollOutcome::Missing;
            return Ok(report);
        };
        let emitted = self.bus().publish(events).await;
        report.judged = emitted.judged;
        report.failed = emitted
            .failed
            .into_iter()
            .map(|f| (f.version, f.error))
            .collect();
        report.retry_pending = !report.failed.is_empty();
        Ok(report)
    }

    /// Polls every artifact, at most `concurrency` at once; one result per artifact, in key
    /// order.
    pub async fn poll_all(
        &self,
        artifacts: &[Artifact],
        concurrency: usize,
    ) -> Vec<(String, Result<PollReport, MonitorError>)> {
        use futures_util::StreamExt as _;
        let mut results: Vec<_> = futures_util::stream::iter(artifacts)
            .map(|artifact| async move { (artifact.key(), self.poll(artifact, false).await) })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        results.sort_by(|a, b| a.0.cmp(&b.0));
        results
    }

    /// The keys of the artifacts among `artifacts` with versions still due (pending or
    /// unjudged).
    pub async fn needing_retry(&self, artifacts: &[Artifact]) -> Result<Vec<String>, MonitorError> {
        let mut keys = Vec::new();
        for artifact in artifacts {
            let key = artifact.key();
            let due = self.store.due_of(&key).await?;
            if due.iter().any(|i| matches!(i.work, DueWork::Judge { .. })) {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// Follows the changes feed, judging the hits' new versions at once.
    pub async fn follow_feed<F: Changes>(
        &self,
        feed: &F,
        config: WatchConfig,
    ) -> Result<FeedReport, MonitorError> {
        self.detector
            .follow_feed(feed, &self.bus(), config, self.concurrency)
            .await
    }

    /// Sweeps the next `max_packages` watched packages, judging new versions at once.
    pub async fn sweep(&self, max_packages: usize) -> Result<SweepReport, MonitorError> {
        self.detector
            .sweep(&self.bus(), max_packages, self.concurrency, &HashSet::new())
            .await
    }

    /// Drains the outbox.
    pub async fn deliver<A: Alerts>(
        &self,
        delivery: Delivery<'_, A>,
        print: impl Fn(&Alert),
    ) -> Result<DeliveryReport, MonitorError> {
        self.detector.deliver(delivery, print).await
    }

    /// One tick on the in-process bus.
    pub async fn tick<F: Changes, A: Alerts>(
        &self,
        feed: Option<&F>,
        delivery: Delivery<'_, A>,
        print: &(dyn Fn(&Alert) + Sync),
        plan: TickPlan<'_>,
    ) -> TickReport {
        self.detector
            .tick(feed, &self.bus(), delivery, print, plan)
            .await
    }
}
