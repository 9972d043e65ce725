//! The tick: one round of the monitor's main job, the same for `serve` and the scheduled
//! poller. In order: follow the changes feed (its hits read at once, their new versions
//! emitted), work the due queue (judgements, onboarding reads, backfill summaries) within
//! the request allowance, sweep the next packages with what is left, deliver the outbox.
//! A deadline stops it cleanly: whatever is not reached stays due, the feed sequence and
//! the sweep cursor stay where the last completed step left them. It returns a report and
//! never prints.

use super::deliver::{Delivery, DeliveryReport};
use super::detect::Detector;
use super::due::{DuePlan, DueReport};
use super::error::MonitorError;
use super::watch::{FeedReport, SweepReport, WatchConfig};
use crate::domain::{Alert, DueCounts};
use crate::ports::{Alerts, Allowance, Changes, Clock, Events, Registry, Store};
use std::collections::HashSet;
use tokio::time::Instant;

/// What one tick may do.
#[derive(Clone, Copy)]
pub struct TickPlan<'a> {
    /// When the tick must be done (a Lambda's timeout, the next local tick).
    pub deadline: Instant,
    /// Registry requests left to spend (`None`: no budget; the deadline and `max_due`
    /// bound the tick).
    pub allowance: Option<&'a dyn Allowance>,
    /// Requests of the allowance the due queue and the sweep leave for the next feed read.
    pub reserve: f64,
    /// Due items at most per tick.
    pub max_due: usize,
    /// Packages swept at most per tick (without an allowance, every watched package).
    pub max_sweep: usize,
    /// Requests in flight at most (reads, judgements).
    pub concurrency: usize,
    pub watch: WatchConfig,
}

impl std::fmt::Debug for TickPlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TickPlan")
            .field("reserve", &self.reserve)
            .field("max_due", &self.max_due)
            .field("max_sweep", &self.max_sweep)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// What one tick did.
#[derive(Debug, Default)]
pub struct TickReport {
    /// `None`: no feed configured.
    pub feed: Option<Result<FeedReport, MonitorError>>,
    pub due: Option<Result<DueReport, MonitorError>>,
    pub sweep: Option<Result<SweepReport, MonitorError>>,
    pub delivery: Option<Result<DeliveryReport, MonitorError>>,
    /// Work still due after the tick (onboarding reads, judgements, summaries).
    pub left: DueCounts,
    /// The deadline stopped the tick before every step ran.
    pub cut_short: bool,
    pub duration_ms: u128,
}

impl<R: Registry, S: Store, C: Clock> Detector<R, S, C> {
    /// Runs one tick.
    pub async fn tick<F: Changes, E: Events, A: Alerts>(
        &self,
        feed: Option<&F>,
        bus: &E,
        delivery: Delivery<'_, A>,
        print: &(dyn Fn(&Alert) + Sync),
        plan: TickPlan<'_>,
    ) -> TickReport {
        let started = std::time::Instant::now();
        let mut report = TickReport::default();
        // A package is read at most once a tick: a feed hit, a due read, or the sweep.
        let mut read = HashSet::new();
        let deadline = plan.deadline;
        if let Some(feed) = feed {
            let result = tokio::time::timeout_at(
                deadline,
                self.follow_feed(feed, bus, plan.watch, plan.concurrency),
            )
            .await;
            match result {
                Ok(result) => {
                    if let Ok(feed) = &result {
                        read.extend(feed.hits.iter().map(|(key, _)| key.clone()));
                    }
                    report.feed = Some(result);
                }
                Err(_) => report.cut_short = true,
            }
        }
        if !report.cut_short {
            let due_plan = DuePlan {
                allowance: plan.allowance,
                reserve: plan.reserve,
                max_items: plan.max_due,
                deadline,
                concurrency: plan.concurrency,
            };
            let result = self.work_due(bus, due_plan, &mut read).await;
            report.cut_short |=
                result.as_ref().is_ok_and(|r| r.stopped_early) && Instant::now() >= deadline;
            report.due = Some(result);
        }
        if !report.cut_short {
            let budgeted = match plan.allowance {
                Some(allowance) => (allowance.available() - plan.reserve).max(0.0).floor() as usize,
                None => plan.max_sweep,
            };
            let count = budgeted.min(plan.max_sweep);
            match tokio::time::timeout_at(deadline, self.sweep(bus, count, plan.concurrency, &read))
                .await
            {
                Ok(result) => report.sweep = Some(result),
                Err(_) => report.cut_short = true,
            }
        }
        // The outbox is delivered even after a cut: alerts already decided go out.
        report.delivery = Some(self.deliver(delivery, print).await);
        report.left = self.store.due_counts().await.unwrap_or_default();
        report.duration_ms = started.elapsed().as_millis();
        report
    }
}
