//! The poller: a scheduled invocation runs the library's tick (or 60/`TICK_SECONDS` ticks,
//! evenly apart), detection only: new versions and due judgements go out on the event bus
//! as `Version Published`, alerts already decided are published, and whatever the deadline
//! cuts stays due for the next invocation. One invocation at a time does the work: a lease
//! in the table (an overlapping invocation skips), and the store's revisions keep even a
//! lost lease harmless.

use crate::Services;
use artifact_monitor_aws::metrics::Unit;
use artifact_monitor_core::SystemClock;
use artifact_monitor_core::domain::Alert;
use artifact_monitor_core::monitor::{Detector, NoBus, TickReport, TickShape, TickSummary};
use artifact_monitor_core::ports::{Allowance, Clock as _, WatchStore as _};
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

/// The lease the poller holds while it works.
pub const LEASE: &str = "poller";
/// Time kept back before the function's deadline (the lease release, the answer).
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// What one invocation did: the function's answer and its log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollerOutcome {
    /// Another invocation held the lease: nothing was done.
    pub skipped: bool,
    pub ticks: Vec<TickSummary>,
}

impl PollerOutcome {
    /// Steps that failed, over every tick (the invocation then reports an error).
    pub fn errors(&self) -> Vec<&str> {
        self.ticks
            .iter()
            .flat_map(|t| t.errors.iter().map(String::as_str))
            .collect()
    }

    /// How long, at `now`, the oldest alert still undelivered after the last drain has been
    /// waiting (0: none waits); `None` when no tick drained the outbox.
    pub fn undelivered_age(&self, now: i64) -> Option<i64> {
        let last = self.ticks.iter().rev().find(|t| t.outbox_drained)?;
        Some(last.oldest_undelivered_at.map_or(0, |t| (now - t).max(0)))
    }
}

/// The metric the undelivered-alert alarm watches.
pub const UNDELIVERED_AGE_METRIC: &str = "OldestUndeliveredAlertAge";

/// The poller's metrics as one embedded-metric-format line (CloudWatch Logs extracts them
/// from standard output), when the settings ask for metrics and a drain ran.
pub fn metric_line(services: &Services, outcome: &PollerOutcome) -> Option<String> {
    let metrics = services.settings.metrics.as_ref()?;
    // One reading of the clock for the age and the record's time.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let age = outcome.undelivered_age(now_ms.div_euclid(1000))?;
    Some(artifact_monitor_aws::metrics::record(
        &metrics.namespace,
        &[("FunctionName", &metrics.function)],
        &[(UNDELIVERED_AGE_METRIC, Unit::Seconds, age as f64)],
        now_ms,
    ))
}

/// Runs the invocation's ticks, the last one ending by `deadline`.
pub async fn run(services: &Services, request_id: &str, deadline: Instant) -> PollerOutcome {
    let store = &services.store;
    let now = SystemClock.now();
    let until = now + deadline.saturating_duration_since(Instant::now()).as_secs() as i64 + 1;
    match store.take_lease(LEASE, request_id, now, until).await {
        Ok(true) => {}
        Ok(false) => {
            return PollerOutcome {
                skipped: true,
                ticks: Vec::new(),
            };
        }
        Err(e) => {
            return PollerOutcome {
                skipped: false,
                ticks: vec![TickSummary {
                    errors: vec![format!("lease: {e}")],
                    ..TickSummary::default()
                }],
            };
        }
    }
    let detector = Detector {
        registry: services.registry.clone(),
        store: store.clone(),
        clock: SystemClock,
        config: services.monitor_config(),
    };
    let every = Duration::from_secs(services.settings.tick_seconds);
    let count = (60 / services.settings.tick_seconds).max(1);
    let started = Instant::now();
    let mut outcome = PollerOutcome::default();
    for i in 0..count {
        let start = started + every * i as u32;
        let end = (start + every).min(deadline);
        // A tick needs a second at least; a deadline before the next start ends the loop
        // rather than sleeping past it.
        if end <= start.max(Instant::now()) + Duration::from_secs(1) {
            break;
        }
        tokio::time::sleep_until(start).await;
        let report = tick(services, &detector, end).await;
        let summary = report.summary();
        tracing::info!(
            reads = summary.reads,
            emitted = summary.emitted,
            not_emitted = summary.not_emitted,
            alerts_delivered = summary.alerts_delivered,
            oldest_undelivered_at = summary.oldest_undelivered_at,
            left_judgements = summary.left_judgements,
            cut_short = summary.cut_short,
            errors = summary.errors.len(),
            duration_ms = summary.duration_ms as u64,
            "tick"
        );
        outcome.ticks.push(summary);
    }
    if let Err(e) = store.release_lease(LEASE, request_id).await {
        tracing::warn!(error = %e, "the lease could not be released; it expires by itself");
    }
    outcome
}

async fn tick(
    services: &Services,
    detector: &Detector<
        artifact_monitor_http::Registries,
        artifact_monitor_aws::DynamoStore,
        SystemClock,
    >,
    deadline: Instant,
) -> TickReport {
    let allowance: &dyn Allowance = services.budget.as_ref();
    let plan = TickShape::LAMBDA.plan(deadline, Some(allowance), services.settings.concurrency);
    let delivery = TickShape::LAMBDA.delivery(services.alerts.as_ref());
    let print = |alert: &Alert| {
        tracing::info!(alert = %alert.id, severity = %alert.severity, "alert");
    };
    match &services.events {
        Some(bus) => {
            detector
                .tick(&services.feeds, bus, delivery, &print, plan)
                .await
        }
        None => {
            detector
                .tick(&services.feeds, &NoBus, delivery, &print, plan)
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(oldest: Option<i64>) -> TickSummary {
        TickSummary {
            outbox_drained: true,
            oldest_undelivered_at: oldest,
            ..TickSummary::default()
        }
    }

    #[test]
    fn the_age_is_the_last_drains() {
        let outcome = |ticks: Vec<TickSummary>| PollerOutcome {
            skipped: false,
            ticks,
        };
        assert_eq!(outcome(vec![]).undelivered_age(100), None);
        assert_eq!(
            outcome(vec![TickSummary::default()]).undelivered_age(100),
            None,
            "a store error cut the drain: nothing known"
        );
        assert_eq!(outcome(vec![drained(None)]).undelivered_age(100), Some(0));
        assert_eq!(
            outcome(vec![drained(Some(40)), drained(Some(70))]).undelivered_age(100),
            Some(30)
        );
        assert_eq!(
            outcome(vec![drained(Some(40)), TickSummary::default()]).undelivered_age(100),
            Some(60),
            "the last tick that drained"
        );
        assert_eq!(
            outcome(vec![drained(Some(140))]).undelivered_age(100),
            Some(0),
            "a clock behind the store's is not a negative age"
        );
    }
}
