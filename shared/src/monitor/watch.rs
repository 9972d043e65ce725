//! Detection: the registry's changes feed names what changed, and a paced sweep revisits
//! every watched package as the safety net (DESIGN §7).
//!
//! - [`Monitor::follow_feed`] reads the feed from the stored sequence (page after page), and
//!   reads every watched package it names past the caches, judging new versions at once.
//!   The sequence is stored only once every hit was handled, so a crash or a failed tick
//!   reads the same changes again (judging is idempotent), never skips them. Without a
//!   stored sequence, following starts at the current end of the feed. A feed that starts
//!   over (a sequence below the stored one) is reported, and the sweep starts over too.
//! - [`Monitor::sweep`] polls the next `max_packages` artifacts after the stored cursor,
//!   conditionally (a 304 for an unchanged package), wrapping around.

use super::poll::Read;
use super::{Monitor, MonitorError, PollReport};
use crate::domain::Artifact;
use crate::ports::{Changes, Clock, Registry, Runs, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How much of the feed one tick reads.
#[derive(Debug, Clone, Copy)]
pub struct WatchConfig {
    /// Changes per feed request.
    pub page_limit: usize,
    /// Feed requests per tick at most (the rest waits for the next tick).
    pub max_pages: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            page_limit: 10_000,
            max_pages: 20,
        }
    }
}

/// What one read of the feed did.
#[derive(Debug, Default)]
pub struct FeedReport {
    /// No sequence was stored: following starts at the current end of the feed.
    pub started_at_end: bool,
    pub pages: usize,
    pub changes: usize,
    /// The feed's sequence went backwards: it started over.
    pub reset: bool,
    /// Watched packages the feed named, each read fresh and judged.
    pub hits: Vec<(String, Result<PollReport, MonitorError>)>,
    /// The sequence now stored.
    pub since: Option<String>,
}

/// What one sweep step did.
#[derive(Debug, Default)]
pub struct SweepReport {
    pub polled: Vec<(String, Result<PollReport, MonitorError>)>,
    /// The sweep went past the last artifact and started over.
    pub wrapped: bool,
}

/// `next` is below `since` when both are numbers: the feed started over.
fn went_backwards(since: &str, next: &str) -> bool {
    match (since.parse::<u64>(), next.parse::<u64>()) {
        (Ok(since), Ok(next)) => next < since,
        _ => false,
    }
}

impl<R: Registry, G: Runs, S: Store, C: Clock> Monitor<R, G, S, C> {
    /// Reads the changes feed and judges the watched packages it names. An `Err` means the
    /// feed could not be read: nothing was skipped, the sweep carries on alone.
    pub async fn follow_feed<F: Changes>(
        &self,
        feed: &F,
        artifacts: &[Artifact],
        config: WatchConfig,
    ) -> Result<FeedReport, MonitorError> {
        let mut state = self.store.feed_state().await?;
        let mut report = FeedReport::default();
        let Some(mut since) = state.since.clone() else {
            let end = feed.current_seq().await?;
            state.since = Some(end.clone());
            state.feed_read_at = Some(self.clock.now());
            self.store.put_feed_state(&state).await?;
            report.started_at_end = true;
            report.since = Some(end);
            return Ok(report);
        };
        let watched: BTreeMap<&str, &Artifact> =
            artifacts.iter().map(|a| (a.name.as_str(), a)).collect();
        let mut hits = BTreeSet::new();
        for _ in 0..config.max_pages.max(1) {
            let page = feed.changes_since(&since, config.page_limit).await?;
            report.pages += 1;
            report.changes += page.results;
            if went_backwards(&since, &page.last_seq) {
                report.reset = true;
            }
            hits.extend(
                page.names
                    .iter()
                    .filter(|name| watched.contains_key(name.as_str()))
                    .cloned(),
            );
            since = page.last_seq;
            if page.results < config.page_limit {
                break;
            }
        }
        let mut all_handled = true;
        for name in hits {
            let artifact = watched[name.as_str()];
            let result = self.poll_with(artifact, Read::Fresh).await;
            if let Err(MonitorError::Store(e)) = result {
                return Err(MonitorError::Store(e));
            }
            all_handled &= result.as_ref().is_ok_and(|r| r.failed.is_empty());
            report.hits.push((artifact.key(), result));
        }
        if all_handled {
            state.since = Some(since);
        }
        if report.reset {
            // Whatever changed while the feed started over is found by a full sweep.
            state.sweep_cursor = None;
            state.sweep_started_at = None;
        }
        state.feed_read_at = Some(self.clock.now());
        self.store.put_feed_state(&state).await?;
        report.since = state.since.clone();
        Ok(report)
    }
}

impl<R, G, S, C> Monitor<R, G, S, C>
where
    R: Registry + 'static,
    G: Runs + 'static,
    S: Store + 'static,
    C: Clock + 'static,
{
    /// Polls (conditionally) the next `max_packages` artifacts after the stored cursor, at
    /// most `concurrency` at once; `artifacts` in any order (the sweep orders them by key).
    pub async fn sweep(
        self: &Arc<Self>,
        artifacts: &[Artifact],
        max_packages: usize,
        concurrency: usize,
    ) -> Result<SweepReport, MonitorError> {
        let mut report = SweepReport::default();
        if artifacts.is_empty() || max_packages == 0 {
            return Ok(report);
        }
        let mut ordered: Vec<&Artifact> = artifacts.iter().collect();
        ordered.sort_by_key(|a| a.key());
        let mut state = self.store.feed_state().await?;
        let start = match &state.sweep_cursor {
            Some(cursor) => ordered.partition_point(|a| a.key() <= *cursor) % ordered.len(),
            None => 0,
        };
        let count = max_packages.min(ordered.len());
        report.wrapped =
            start + count > ordered.len() || (start == 0 && state.sweep_cursor.is_some());
        if start == 0 || report.wrapped {
            state.sweep_started_at = Some(self.clock.now());
        }
        let batch: Vec<Artifact> = (0..count)
            .map(|i| ordered[(start + i) % ordered.len()].clone())
            .collect();
        let last = batch.last().map(Artifact::key);
        report.polled = self.tick(batch, concurrency).await;
        state.sweep_cursor = last;
        self.store.put_feed_state(&state).await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::went_backwards;

    #[test]
    fn a_lower_numeric_sequence_is_a_feed_that_started_over() {
        assert!(went_backwards("5000", "12"));
        assert!(!went_backwards("5000", "5000"));
        assert!(!went_backwards("5000", "5001"));
        assert!(
            !went_backwards("12-abc", "5-def"),
            "opaque sequences are not compared"
        );
    }
}
