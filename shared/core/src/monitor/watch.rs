//! Following the registry's changes feed, and the paced sweep that is its safety net
//! (README, "How new versions are found").
//!
//! - [`Detector::follow_feed`] reads the feed from the stored sequence (page after page),
//!   looks the names up in the watched set, and reads every watched package it names past
//!   the caches. The sequence is stored only once every hit was read, so a crash or a failed
//!   read makes the next tick read the same changes again (detection is idempotent), never
//!   skip them. Without a stored sequence, following starts at the current end of the feed.
//!   A feed that starts over (a sequence below the stored one) is reported, and the sweep
//!   starts over too.
//! - [`Detector::sweep`] reads the next artifacts after the stored cursor, conditionally
//!   (a 304 for an unchanged package), wrapping around.

use super::detect::Detector;
use super::detect::{DetectReport, Read};
use super::error::MonitorError;
use crate::domain::{DueItem, DueWork, WatchedArtifact, artifact_key, usable_sequence};
use crate::ports::{Changes, Clock, Events, Registry, Store, StoreError};
use crate::registry::RegistryType;
use futures_util::StreamExt as _;
use std::collections::{BTreeSet, HashSet};

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
    /// No artifact of the feed's type is watched: the feed was not read (and following
    /// starts at its end once one is).
    pub idle: bool,
    /// No sequence was stored: following starts at the current end of the feed.
    pub started_at_end: bool,
    pub pages: usize,
    pub changes: usize,
    /// The feed's sequence went backwards: it started over.
    pub reset: bool,
    /// Watched packages the feed named, each read fresh.
    pub hits: Vec<(String, Result<DetectReport, MonitorError>)>,
    /// The feed no longer held every change since the stored sequence: the ones missed
    /// are found by the sweep.
    pub missed: bool,
    /// The sequence now stored.
    pub since: Option<String>,
    /// The stored sequence could not be used (and why): following started at the end.
    pub unusable_since: Option<String>,
}

/// What one sweep step did.
#[derive(Debug, Default)]
pub struct SweepReport {
    pub polled: Vec<(String, Result<DetectReport, MonitorError>)>,
    /// The sweep went past the last artifact and started over.
    pub wrapped: bool,
    /// The round was done and the next may not start yet: nothing was read.
    pub resting: bool,
}

/// `next` is below `since` when both are numbers: the feed started over.
fn went_backwards(since: &str, next: &str) -> bool {
    match (since.parse::<u64>(), next.parse::<u64>()) {
        (Ok(since), Ok(next)) => next < since,
        _ => false,
    }
}

/// Names looked up in the watched set at a time.
const LOOKUP_BATCH: usize = 100;

impl<R: Registry, S: Store, C: Clock> Detector<R, S, C> {
    /// Reads the changes feed and reads fresh the watched packages it names. An `Err` means
    /// the feed (or the store) could not be read: nothing was skipped, the sweep carries on.
    pub async fn follow_feed<F: Changes, E: Events>(
        &self,
        feed: &F,
        bus: &E,
        config: WatchConfig,
        concurrency: usize,
    ) -> Result<FeedReport, MonitorError> {
        let registry = feed.registry();
        let mut state = self.store.feed_state().await?;
        let mut position = state.position(registry);
        let mut report = FeedReport::default();
        if !self.watches_any(registry).await? {
            // Nothing to find in this feed: no request spent on it. A position kept from
            // before is dropped, so following starts at the end again, not with a gap.
            report.idle = true;
            if position.since.is_some() {
                state.set_position(registry, Default::default());
                self.store.put_feed_state(&state).await?;
            }
            return Ok(report);
        }
        if let Some(stored) = &position.since
            && !usable_sequence(stored)
        {
            // Stored by an older version, or damaged: following starts again at the end,
            // and a full sweep covers the gap, as for a feed that started over.
            report.unusable_since = Some(format!(
                "the stored sequence ({} bytes) cannot be sent to the feed",
                stored.len()
            ));
            position.since = None;
            state.sweep_cursor = None;
            state.sweep_started_at = None;
            report.reset = true;
        }
        let Some(mut since) = position.since.clone() else {
            let end = feed.current_seq().await?;
            position.since = Some(end.clone());
            position.feed_read_at = Some(self.clock.now());
            state.set_position(registry, position);
            self.store.put_feed_state(&state).await?;
            report.started_at_end = true;
            report.since = Some(end);
            return Ok(report);
        };
        let mut names = BTreeSet::new();
        for _ in 0..config.max_pages.max(1) {
            let page = feed.changes_since(&since, config.page_limit).await?;
            report.pages += 1;
            report.changes += page.results;
            if went_backwards(&since, &page.last_seq) {
                report.reset = true;
            }
            report.missed |= page.missed;
            names.extend(page.names);
            since = page.last_seq;
            if page.results < config.page_limit {
                break;
            }
        }
        // The names a feed gives are artifacts of its registry type, spelled as the
        // registry shows them: looked up as keys hold them (PyPI: normalised). A name the
        // type's rules refuse is no watched artifact.
        let keys: BTreeSet<String> = names
            .iter()
            .filter_map(|n| registry.check_name(n).ok())
            .map(|n| artifact_key(registry, &n))
            .collect();
        let keys: Vec<String> = keys.into_iter().collect();
        let mut hits: Vec<WatchedArtifact> = Vec::new();
        for chunk in keys.chunks(LOOKUP_BATCH) {
            // An artifact not read yet waits for its first read in the due queue, paced
            // by the budget: a burst of newly added packages in the feed is no stampede.
            hits.extend(
                self.store
                    .artifacts_named(chunk)
                    .await?
                    .into_iter()
                    .filter(|a| a.backfill.started),
            );
        }
        report.hits = self.detect_all(&hits, Read::Fresh, bus, concurrency).await;
        if let Some(e) = report.hits.iter().find_map(|(_, r)| match r {
            Err(MonitorError::Store(e)) if !matches!(e, StoreError::Conflict(_)) => {
                Some(e.to_string())
            }
            _ => None,
        }) {
            return Err(MonitorError::Store(crate::ports::StoreError::Unavailable(
                e,
            )));
        }
        if report.hits.iter().all(|(_, r)| r.is_ok()) {
            position.since = Some(since);
        }
        if report.reset {
            // Whatever changed while the feed started over is found by a full sweep.
            state.sweep_cursor = None;
            state.sweep_started_at = None;
        }
        position.feed_read_at = Some(self.clock.now());
        report.since = position.since.clone();
        state.set_position(registry, position);
        self.store.put_feed_state(&state).await?;
        Ok(report)
    }

    /// Whether any artifact of `registry` is watched (keys are ordered, `<type>/<name>`).
    pub(super) async fn watches_any(&self, registry: RegistryType) -> Result<bool, MonitorError> {
        let prefix = artifact_key(registry, "");
        let first = self.store.artifacts_after(Some(&prefix), 1).await?;
        Ok(first.first().is_some_and(|a| a.key().starts_with(&prefix)))
    }

    /// Reads (conditionally) the next `max_packages` watched artifacts after the stored
    /// cursor, wrapping around, but starting a new round no sooner than `round_secs` after
    /// the last one started; artifacts in `skip` (read this tick already) are passed over.
    pub async fn sweep<E: Events>(
        &self,
        bus: &E,
        max_packages: usize,
        round_secs: i64,
        concurrency: usize,
        skip: &HashSet<String>,
    ) -> Result<SweepReport, MonitorError> {
        let mut report = SweepReport::default();
        if max_packages == 0 {
            return Ok(report);
        }
        let mut state = self.store.feed_state().await?;
        let now = self.clock.now();
        let may_start_round = state
            .sweep_started_at
            .is_none_or(|started| now - started >= round_secs);
        let cursor = state.sweep_cursor.clone();
        if cursor.is_none() && !may_start_round {
            report.resting = true;
            return Ok(report);
        }
        let mut batch = self
            .store
            .artifacts_after(cursor.as_deref(), max_packages)
            .await?;
        if cursor.is_none() {
            state.sweep_started_at = Some(now);
        } else if batch.len() < max_packages {
            if may_start_round {
                // Past the last artifact: a new round starts from the first.
                report.wrapped = true;
                state.sweep_started_at = Some(now);
                let seen: HashSet<String> = batch.iter().map(WatchedArtifact::key).collect();
                let more = self
                    .store
                    .artifacts_after(None, max_packages - batch.len())
                    .await?;
                batch.extend(more.into_iter().filter(|a| !seen.contains(&a.key())));
            } else if batch.is_empty() {
                // The round is done: the next starts from the first artifact, in time.
                report.resting = true;
                state.sweep_cursor = None;
                self.store.put_feed_state(&state).await?;
                return Ok(report);
            }
        }
        let Some(last) = batch.last().map(WatchedArtifact::key) else {
            return Ok(report);
        };
        // The round ends with this batch when the next may not start yet: the cursor
        // goes back to the start, where the next round begins.
        let round_done = batch.len() < max_packages && !report.wrapped;
        let round_started = state.sweep_started_at;
        let todo: Vec<WatchedArtifact> = batch
            .into_iter()
            .filter(|a| !skip.contains(&a.key()))
            .collect();
        report.polled = self
            .detect_all(&todo, Read::Sweep { round_started }, bus, concurrency)
            .await;
        state.sweep_cursor = if round_done { None } else { Some(last) };
        self.store.put_feed_state(&state).await?;
        Ok(report)
    }

    /// Detects every artifact of `artifacts`, at most `concurrency` at once; results in the
    /// artifacts' order.
    pub async fn detect_all<E: Events>(
        &self,
        artifacts: &[WatchedArtifact],
        read: Read,
        bus: &E,
        concurrency: usize,
    ) -> Vec<(String, Result<DetectReport, MonitorError>)> {
        let mut done: Vec<_> = futures_util::stream::iter(artifacts.iter().enumerate())
            .map(|(i, watched)| async move {
                let result = self.detect(watched, read, bus).await;
                if let Err(e) = &result {
                    self.read_again_soon(&watched.key(), e).await;
                }
                (i, watched.key(), result)
            })
            // Unordered: one slow read does not hold back the ones behind it.
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        done.sort_by_key(|(i, _, _)| *i);
        done.into_iter()
            .map(|(_, key, result)| (key, result))
            .collect()
    }

    /// A read that failed for a reason that can pass (the registry, the store) is due
    /// again after the retry delay, not when the sweep comes round to the package again.
    async fn read_again_soon(&self, key: &str, error: &MonitorError) {
        let lost_race = matches!(error, MonitorError::Store(StoreError::Conflict(_)));
        if !error.retryable() || lost_race {
            return;
        }
        let item = DueItem {
            artifact: key.to_owned(),
            work: DueWork::Read { rejudge: false },
            due_at: self.clock.now() + self.config.retry_pending_secs,
        };
        // Best effort: if the store is down too, the sweep still comes round.
        let _ = self.store.schedule(&[item]).await;
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
