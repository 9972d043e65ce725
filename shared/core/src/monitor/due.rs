//! Working the due queue: versions to judge (new ones whose verdict never came, pending
//! ones, the backfill, re-judging), document reads (onboarding, re-reads) and backfill
//! summaries, in priority order and within the tick's request allowance and deadline.
//! What is not reached stays due for the next tick.

use super::detect::Detector;
use super::detect::{DetectReport, Read};
use super::error::MonitorError;
use crate::domain::format_time as rfc3339;
use crate::domain::{Alert, ArtifactRef, DueItem, DueWork, EmitReason, Verdict, summarise_id};
use crate::ports::{Allowance, Clock, Emitted, Events, Registry, Store};
use futures_util::StreamExt as _;
use std::collections::HashSet;
use tokio::time::Instant;

/// Due items taken from the store at a time.
const ROUND: usize = 100;
/// Due items looked at, at most, when a process starts (`resume_in_flight`).
const MAX_RESUMED: usize = 100_000;

/// How much due work a tick may do.
#[derive(Clone, Copy)]
pub struct DuePlan<'a> {
    /// Registry requests left to spend (`None`: no budget).
    pub allowance: Option<&'a dyn Allowance>,
    /// Requests of the allowance to leave unspent (for the next feed read).
    pub reserve: f64,
    /// Items at most, whatever the allowance.
    pub max_items: usize,
    pub deadline: Instant,
    pub concurrency: usize,
}

impl std::fmt::Debug for DuePlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuePlan")
            .field("reserve", &self.reserve)
            .field("max_items", &self.max_items)
            .finish_non_exhaustive()
    }
}

impl DuePlan<'_> {
    /// Items that may be taken now.
    fn room(&self, taken: usize) -> usize {
        let left = self.max_items.saturating_sub(taken);
        match self.allowance {
            None => left,
            Some(allowance) => {
                let spendable = (allowance.available() - self.reserve).max(0.0).floor();
                left.min(spendable as usize)
            }
        }
    }
}

/// What working the due queue did.
#[derive(Debug, Default)]
pub struct DueReport {
    /// Judgements handed to the bus, and what it did with them.
    pub emitted: Emitted,
    /// Document reads done.
    pub reads: Vec<(String, Result<DetectReport, MonitorError>)>,
    /// Backfill summaries sent (artifact keys).
    pub summarised: Vec<String>,
    /// The deadline or the allowance stopped the work before the queue was empty.
    pub stopped_early: bool,
}

impl<R: Registry, S: Store, C: Clock> Detector<R, S, C> {
    /// Works the due queue until it is empty (of what is due now), the plan's allowance or
    /// item count is spent, or the deadline passed. Artifacts in `read` were read this tick
    /// already and are not read again; the set grows with the reads done here.
    pub async fn work_due<E: Events>(
        &self,
        bus: &E,
        plan: DuePlan<'_>,
        read: &mut HashSet<String>,
    ) -> Result<DueReport, MonitorError> {
        let mut report = DueReport::default();
        let mut taken = 0;
        let mut seen = HashSet::new();
        loop {
            if Instant::now() >= plan.deadline {
                report.stopped_early = true;
                break;
            }
            let room = plan.room(taken).min(ROUND);
            if room == 0 {
                report.stopped_early = true;
                break;
            }
            let now = self.clock.now();
            let items: Vec<DueItem> = self
                .store
                .due(now, room)
                .await?
                .into_iter()
                .filter(|item| seen.insert(item.id()))
                .collect();
            if items.is_empty() {
                break;
            }
            taken += items.len();
            let mut events = Vec::new();
            let mut handed = Vec::new();
            let mut reads = Vec::new();
            for item in items {
                match item.work {
                    DueWork::Judge { event } => {
                        let reason = match event.reason {
                            EmitReason::New => EmitReason::Retry,
                            other => other,
                        };
                        handed.push(crate::domain::judge_id(&item.artifact, &event.version));
                        events.push(event.again(reason));
                    }
                    DueWork::Read { rejudge } => {
                        if read.insert(item.artifact.clone()) {
                            reads.push((item.artifact, rejudge));
                        }
                    }
                    DueWork::Summarise => {
                        self.summarise(&item.artifact).await?;
                        report.summarised.push(item.artifact);
                    }
                }
            }
            let reading = futures_util::stream::iter(reads)
                .map(|(key, rejudge)| async move {
                    let result = self.due_read(&key, rejudge, bus).await;
                    (key, result)
                })
                .buffer_unordered(plan.concurrency.max(1))
                .collect::<Vec<_>>();
            // Cut at the deadline: a read in flight is dropped before its commit (or its
            // commit lands whole); what was not done is still due.
            match tokio::time::timeout_at(plan.deadline, reading).await {
                Ok(done) => report.reads.extend(done),
                Err(_) => {
                    report.stopped_early = true;
                    break;
                }
            }
            if !events.is_empty() {
                // Due again later if the verdict never arrives (a lost event, a crash).
                self.store
                    .postpone(&handed, now + self.config.redeliver_after_secs)
                    .await?;
                let Ok(emitted) = tokio::time::timeout_at(plan.deadline, bus.publish(events)).await
                else {
                    // Cut: what was not judged is due again at once, for the next tick.
                    self.store.postpone(&handed, now).await?;
                    report.stopped_early = true;
                    break;
                };
                report.emitted.accepted += emitted.accepted;
                report.emitted.judged.extend(emitted.judged);
                report.emitted.failed.extend(emitted.failed);
            }
        }
        Ok(report)
    }

    async fn due_read<E: Events>(
        &self,
        key: &str,
        rejudge: bool,
        bus: &E,
    ) -> Result<DetectReport, MonitorError> {
        let Some(watched) = self.store.artifact(key).await? else {
            self.store.settle(&crate::domain::read_id(key)).await?;
            return Err(MonitorError::NotWatched(key.to_owned()));
        };
        let read = if rejudge { Read::Rejudge } else { Read::Full };
        match self.detect(&watched, read, bus).await {
            Ok(report) => Ok(report),
            Err(e) => {
                // Tried again after the retry delay, not in this tick.
                let item = DueItem {
                    artifact: key.to_owned(),
                    work: DueWork::Read { rejudge },
                    due_at: self.clock.now() + self.config.retry_pending_secs,
                };
                self.store.schedule(&[item]).await?;
                Err(e)
            }
        }
    }

    /// Reports the findings of a completed backfill once, as one alert.
    /// For a process that alone uses its store (`serve` over the embedded store, which one
    /// process holds at a time): the judgements an earlier process handed to its bus and
    /// never finished (it stopped or crashed) are due at once, not when their redelivery
    /// time comes. Returns how many.
    pub async fn resume_in_flight(&self) -> Result<usize, MonitorError> {
        let now = self.clock.now();
        let handed_until = now + self.config.redeliver_after_secs;
        let mut resumed = Vec::new();
        // Items due by the redelivery horizon, a bounded page at a time; only judgements
        // not due yet can have been handed out.
        let items = self.store.due(handed_until, MAX_RESUMED).await?;
        for item in items {
            if item.due_at > now && matches!(item.work, DueWork::Judge { .. }) {
                resumed.push(item.id());
            }
        }
        if !resumed.is_empty() {
            self.store.postpone(&resumed, now).await?;
        }
        Ok(resumed.len())
    }

    pub async fn summarise(&self, key: &str) -> Result<bool, MonitorError> {
        let now = self.clock.now();
        let Some(watched) = self.store.artifact(key).await? else {
            self.store.settle(&summarise_id(key)).await?;
            return Ok(false);
        };
        let versions = self.store.versions(key).await?;
        let mut findings: Vec<(i64, String, Verdict)> = versions
            .into_iter()
            // Versions whose verdict changed since were alerted on their own.
            .filter(|r| r.backfill && r.history.is_empty() && r.verdict.alerts())
            .map(|r| (r.published_at.unwrap_or(i64::MAX), r.version, r.verdict))
            .collect();
        findings.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let findings: Vec<(String, Verdict)> = findings
            .into_iter()
            .map(|(_, v, verdict)| (v, verdict))
            .collect();
        let mut sent = false;
        if !findings.is_empty() {
            let alert = Alert::backfill(
                ArtifactRef {
                    registry: watched.artifact.registry,
                    name: watched.artifact.name.clone(),
                },
                watched.backfill.total as usize,
                &findings,
                rfc3339(now),
            );
            sent = self.store.enqueue(&alert, now).await?;
        }
        self.store.settle(&summarise_id(key)).await?;
        Ok(sent)
    }
}
