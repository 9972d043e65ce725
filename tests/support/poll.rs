//! One package start to finish, composed in the tests from the monitor's own use-cases: the
//! watched set's `watch`, detection's `detect`, judging on the in-process bus, the backfill
//! summary. The scenarios use it to play "a package changed; what did the monitor decide"
//! without a whole tick; the production paths are exactly these calls (the tick runs them
//! through its due queue and sweep).

use artifact_monitor_core::domain::{Artifact, ArtifactSource, DueWork, VersionPublished};
use artifact_monitor_core::monitor::{
    Monitor, MonitorError, PollReport, Read, watchlist::WatchChange, watchlist::watch,
};
use artifact_monitor_core::ports::{Clock, Events as _, Registry, Runs, Store};
use std::collections::HashSet;

/// Watches `artifact` (adding it, or applying a changed policy) and reads it: conditionally,
/// unless `rejudge_all` or the policy changed (a full read for a new artifact); then every
/// version due for it is judged now, whenever due, and its backfill summarised once
/// complete.
pub async fn poll<R, G, S, C>(
    monitor: &Monitor<R, G, S, C>,
    artifact: &Artifact,
    rejudge_all: bool,
) -> Result<PollReport, MonitorError>
where
    R: Registry + Clone,
    G: Runs,
    S: Store + Clone,
    C: Clock + Clone,
{
    let key = artifact.key();
    let now = monitor.detector.clock.now();
    let source = match monitor.store.artifact(&key).await? {
        Some(existing) => existing.source,
        None => ArtifactSource::Api,
    };
    let change = watch(&monitor.store, artifact.clone(), source, now).await?;
    let watched = monitor
        .store
        .artifact(&key)
        .await?
        .ok_or_else(|| MonitorError::NotWatched(key.clone()))?;
    let read = if rejudge_all || change == WatchChange::PolicyChanged {
        Read::Rejudge
    } else if change == WatchChange::Added {
        Read::Full
    } else {
        Read::Conditional
    };
    let bus = monitor.bus();
    let detected = monitor.detector.detect(&watched, read, &bus).await?;
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
    let mut events: Vec<VersionPublished> = monitor
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
    let left = monitor.store.due_of(&key).await?;
    if left.iter().any(|i| i.work == DueWork::Summarise) {
        report.alerts += usize::from(monitor.detector.summarise(&key).await?);
    }
    report.retry_pending = left
        .iter()
        .any(|i| matches!(i.work, DueWork::Judge { .. } | DueWork::Read { .. }));
    Ok(report)
}

/// The keys of the artifacts among `artifacts` with versions still due (pending or
/// unjudged).
pub async fn needing_retry<R, G, S, C>(
    monitor: &Monitor<R, G, S, C>,
    artifacts: &[Artifact],
) -> Result<Vec<String>, MonitorError>
where
    S: Store,
{
    let mut keys = Vec::new();
    for artifact in artifacts {
        let key = artifact.key();
        let due = monitor.store.due_of(&key).await?;
        if due.iter().any(|i| matches!(i.work, DueWork::Judge { .. })) {
            keys.push(key);
        }
    }
    Ok(keys)
}
