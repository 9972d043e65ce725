//! The local composition: detection and judging over the same adapters, joined by the
//! in-process bus, for `serve`, `check` and the tests. Besides the tick it offers one
//! package judged start to finish in one process ([`Monitor::judge_all_now`]), which `check`
//! uses.

use super::bus::LocalBus;
use super::config::MonitorConfig;
use super::deliver::{Delivery, DeliveryReport};
use super::detect::Detector;
use super::detect::PollOutcome;
use super::error::MonitorError;
use super::judge::Judge;
use super::tick::{TickPlan, TickReport};
use super::watch::{FeedReport, SweepReport, WatchConfig};
use super::watchlist::watch;
use crate::domain::{Alert, Artifact, ArtifactSource, JudgedVersion};
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
            .ok_or_else(|| MonitorError::NotWatched(key.clone()))?;
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

    /// Sweeps the next `max_packages` watched packages, judging new versions at once (a
    /// new round as soon as one ends).
    pub async fn sweep(&self, max_packages: usize) -> Result<SweepReport, MonitorError> {
        self.detector
            .sweep(
                &self.bus(),
                max_packages,
                0,
                self.concurrency,
                &HashSet::new(),
            )
            .await
    }

    /// At the start of a process that alone uses the store: what an earlier process left
    /// in flight is due at once (see [`Detector::resume_in_flight`]).
    pub async fn resume_in_flight(&self) -> Result<usize, MonitorError> {
        self.detector.resume_in_flight().await
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
        feeds: &[F],
        delivery: Delivery<'_, A>,
        print: &(dyn Fn(&Alert) + Sync),
        plan: TickPlan<'_>,
    ) -> TickReport {
        self.detector
            .tick(feeds, &self.bus(), delivery, print, plan)
            .await
    }
}
