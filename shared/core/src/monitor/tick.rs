//! The tick: one round of the monitor's main job, the same for `serve` and the scheduled
//! poller. In order: follow the changes feed (its hits read at once, their new versions
//! emitted), work the due queue (judgements, onboarding reads, backfill summaries) within
//! the request allowance, sweep the next packages with what is left, deliver the outbox.
//! A deadline stops it cleanly: whatever is not reached stays due, the feed sequence and
//! the sweep cursor stay where the last completed step left them. It returns a report and
//! never prints.

use super::deliver::{Delivery, DeliveryReport};
use super::detect::{DetectReport, Detector};
use super::due::{DuePlan, DueReport};
use super::error::MonitorError;
use super::watch::{FeedReport, SweepReport, WatchConfig};
use crate::domain::{Alert, DueCounts};
use crate::ports::{Alerts, Allowance, Changes, Clock, Events, Registry, Store};
use crate::registry::RegistryType;
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
    /// Seconds at least from the start of one sweep round (every watched artifact once) to
    /// the start of the next, while every watched registry type's feed is followed: a small
    /// watched set is not re-read every tick, so the request rate stays with what the feeds
    /// bring (0: a new round at once, as when a type has no feed or its feed is down).
    pub sweep_round_secs: i64,
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
    /// Each configured feed's read, in the order given (none: the sweep alone).
    pub feeds: Vec<(RegistryType, Result<FeedReport, MonitorError>)>,
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
        feeds: &[F],
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
        // One feed per registry type, each from its own position; one that is down does
        // not hold back the others (nor the sweep).
        for feed in feeds {
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
                    report.feeds.push((feed.registry(), result));
                }
                Err(_) => {
                    report.cut_short = true;
                    break;
                }
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
            let round_secs = match self.feeds_cover_the_watched_set(&report).await {
                Ok(true) => plan.sweep_round_secs,
                // A watched type without a feed (or with its feed down) is found by the
                // sweep alone: it goes round as fast as the budget allows.
                Ok(false) | Err(_) => 0,
            };
            let sweep = self.sweep(bus, count, round_secs, plan.concurrency, &read);
            match tokio::time::timeout_at(deadline, sweep).await {
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

impl<R: Registry, S: Store, C: Clock> Detector<R, S, C> {
    /// Whether every registry type with a watched artifact had its feed read this tick.
    async fn feeds_cover_the_watched_set(&self, report: &TickReport) -> Result<bool, MonitorError> {
        for registry in RegistryType::ALL {
            let followed = report
                .feeds
                .iter()
                .any(|(t, feed)| *t == registry && feed.as_ref().is_ok_and(|f| !f.idle));
            if !followed && self.watches_any(registry).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// How an entry point ticks, decided once: what each tick leaves of the request budget for
/// the next feed read, how much it does at most, and how large the budget's bucket is. The
/// local program ticks on a timer over an embedded store; the scheduled poller ticks within
/// a Lambda invocation over DynamoDB, with smaller batches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TickShape {
    /// Requests each tick leaves for the next feed read.
    pub reserve: f64,
    /// Due items (judgements, reads) at most per tick.
    pub max_due: usize,
    /// Alerts read from the outbox at a time.
    pub drain_limit: usize,
    /// The smallest bucket, whatever the rate (a slow budget still allows a burst).
    pub min_burst: f64,
    /// A sweep round starts at most this often (the feeds do the detecting; the sweep is
    /// the safety net, and the only reader of a file added to an old PyPI release).
    pub sweep_round_secs: i64,
}

/// One sweep round an hour at most.
pub const SWEEP_ROUND_SECS: i64 = 3600;

impl TickShape {
    /// `artifact-monitor serve`.
    pub const LOCAL: Self = Self {
        reserve: 5.0,
        max_due: 100_000,
        drain_limit: 1000,
        min_burst: 10.0,
        sweep_round_secs: SWEEP_ROUND_SECS,
    };
    /// The scheduled poller (and the verifier's drain).
    pub const LAMBDA: Self = Self {
        reserve: 2.0,
        max_due: 10_000,
        drain_limit: 100,
        min_burst: 0.0,
        sweep_round_secs: SWEEP_ROUND_SECS,
    };

    /// The request budget's bucket for ticks `period` apart at `per_sec` requests a
    /// second: one period's worth (at least `min_burst`) plus the reserve, so each tick may
    /// spend what the last one earned and never waits for tokens.
    pub fn budget_burst(&self, per_sec: f64, period: std::time::Duration) -> f64 {
        (per_sec * period.as_secs_f64()).max(self.min_burst) + self.reserve
    }

    /// The plan of one tick ending at `deadline`.
    pub fn plan<'a>(
        &self,
        deadline: Instant,
        allowance: Option<&'a dyn Allowance>,
        concurrency: usize,
    ) -> TickPlan<'a> {
        TickPlan {
            deadline,
            allowance,
            reserve: self.reserve,
            max_due: self.max_due,
            max_sweep: usize::MAX,
            sweep_round_secs: self.sweep_round_secs,
            concurrency,
            watch: WatchConfig::default(),
        }
    }

    /// Delivery of the outbox to `sink`, a batch at a time.
    pub fn delivery<'a, A: Alerts>(&self, sink: Option<&'a A>) -> Delivery<'a, A> {
        Delivery {
            sink,
            limit: self.drain_limit,
        }
    }
}

/// One tick in numbers: what every entry point reports of a [`TickReport`] (the poller's
/// answer and log line, `serve`'s log).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TickSummary {
    /// Documents read (feed hits, due reads, the sweep).
    pub reads: usize,
    /// Versions written as due.
    pub scheduled: usize,
    /// `Version Published` events the bus took.
    pub emitted: usize,
    /// Events the bus did not take (they stay due).
    pub not_emitted: usize,
    pub alerts_delivered: usize,
    /// The outbox was drained (not cut by a store error).
    pub outbox_drained: bool,
    /// When the oldest alert the drain left undelivered was enqueued (seconds since the
    /// epoch); none when the outbox was left empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_undelivered_at: Option<i64>,
    pub cut_short: bool,
    pub left_reads: u64,
    pub left_judgements: u64,
    /// Steps that failed and will not succeed by waiting (a retryable read failure is
    /// not one: the package is read again later); the feed being down is not one either,
    /// the sweep carries on.
    pub errors: Vec<String>,
    pub duration_ms: u128,
}

/// One package read of a tick and what came of it.
pub type TickRead<'a> = (&'a str, &'a Result<DetectReport, MonitorError>);

impl TickReport {
    /// Every package read this tick, in the order the steps ran: feed hits, due reads,
    /// the sweep.
    pub fn reads(&self) -> impl Iterator<Item = TickRead<'_>> {
        let feed = self.feeds.iter().flat_map(|(_, feed)| match feed {
            Ok(feed) => feed.hits.as_slice(),
            Err(_) => &[],
        });
        let due = match &self.due {
            Some(Ok(due)) => due.reads.as_slice(),
            _ => &[],
        };
        let sweep = match &self.sweep {
            Some(Ok(sweep)) => sweep.polled.as_slice(),
            _ => &[],
        };
        feed.chain(due)
            .chain(sweep)
            .map(|(key, result)| (key.as_str(), result))
    }

    /// The tick in numbers.
    pub fn summary(&self) -> TickSummary {
        let mut summary = TickSummary {
            cut_short: self.cut_short,
            duration_ms: self.duration_ms,
            left_reads: self.left.reads,
            left_judgements: self.left.judgements,
            ..TickSummary::default()
        };
        for (key, result) in self.reads() {
            summary.reads += 1;
            match result {
                Ok(report) => {
                    summary.scheduled += report.scheduled;
                    summary.emitted += report.emitted.accepted;
                    summary.not_emitted += report.emitted.failed.len();
                }
                Err(e) if e.retryable() => {}
                Err(e) => summary.errors.push(format!("{key}: {e}")),
            }
        }
        match &self.due {
            Some(Ok(due)) => {
                summary.emitted += due.emitted.accepted;
                summary.not_emitted += due.emitted.failed.len();
            }
            Some(Err(e)) => summary.errors.push(format!("due work: {e}")),
            None => {}
        }
        if let Some(Err(e)) = &self.sweep {
            summary.errors.push(format!("sweep: {e}"));
        }
        match &self.delivery {
            Some(Ok(delivery)) => {
                summary.alerts_delivered = delivery.delivered;
                summary.outbox_drained = true;
                summary.oldest_undelivered_at = delivery.oldest_left;
            }
            Some(Err(e)) => summary.errors.push(format!("delivery: {e}")),
            None => {}
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_holds_a_period_of_requests_and_the_reserve() {
        let minute = Duration::from_secs(60);
        assert_eq!(TickShape::LOCAL.budget_burst(1.0, minute), 65.0);
        assert_eq!(
            TickShape::LOCAL.budget_burst(0.1, minute),
            15.0,
            "at least 10"
        );
        assert_eq!(TickShape::LAMBDA.budget_burst(1.0, minute), 62.0);
        assert_eq!(TickShape::LAMBDA.budget_burst(0.5, minute), 32.0);
    }

    #[test]
    fn a_summary_counts_every_read_and_names_what_failed_for_good() {
        use crate::domain::DueCounts;
        let retryable = MonitorError::Remote(crate::ports::RemoteError::Status("registry", 503));
        let report = TickReport {
            due: Some(Err(MonitorError::NotWatched("npm/gone".into()))),
            sweep: Some(Ok(SweepReport {
                polled: vec![
                    ("npm/a".into(), Err(retryable)),
                    (
                        "npm/b".into(),
                        Err(MonitorError::BadDocument {
                            key: "npm/b".into(),
                            reason: "not a packument".into(),
                        }),
                    ),
                ],
                ..SweepReport::default()
            })),
            left: DueCounts {
                reads: 3,
                judgements: 4,
                summaries: 0,
            },
            cut_short: true,
            ..TickReport::default()
        };
        let summary = report.summary();
        assert_eq!(summary.reads, 2);
        assert_eq!(
            summary.errors,
            [
                "npm/b: npm/b: not a packument",
                "due work: npm/gone is not watched"
            ]
        );
        assert_eq!((summary.left_reads, summary.left_judgements), (3, 4));
        assert!(summary.cut_short && !summary.outbox_drained);
        assert_eq!(report.reads().count(), 2);
    }
}
