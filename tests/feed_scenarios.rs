//! Detection through the registry's changes feed, with the paced sweep as the safety net,
//! against a local fake feed beside the fake registry: a publish is judged within one tick
//! (past a stale cache), bursts of unrelated changes are paged through cheaply, an outage
//! falls back to the sweep, a feed that starts over triggers a full sweep, and a restart
//! resumes from the stored sequence without duplicate verdicts or alerts.

// Test helpers: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{Artifact, ArtifactSource, Compliance, FeedPosition};
use artifact_monitor_core::monitor::{Monitor, PollOutcome, WatchConfig, watchlist};
use artifact_monitor_core::ports::{Clock, Store, VerdictStore as _, WatchStore as _};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_embedded::RedbStore;
use artifact_monitor_http::{GithubRuns, NpmChanges, NpmRegistry};
use artifact_monitor_tests::fake_http::Reply;
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, FixedClock, manifest};
use artifact_monitor_tests::poll::poll;
use artifact_monitor_tests::world::{OTHER_INTEGRITY, drain_alerts, fast_http, octo};
use artifact_monitor_verify::ProvenanceVerifier;
use std::sync::Arc;

type Watcher<S> = Arc<Monitor<NpmRegistry, GithubRuns, S, FixedClock>>;

struct Feedworld {
    npm: FakeNpm,
    _github: FakeGithub,
    feed: NpmChanges,
    clock: FixedClock,
}

async fn feedworld() -> Feedworld {
    let npm = FakeNpm::start().await;
    let github = FakeGithub::start().await;
    let feed = NpmChanges::new(&npm.feed_url(), fast_http()).unwrap();
    Feedworld {
        npm,
        _github: github,
        feed,
        clock: FixedClock::at("2026-11-27T12:00:00Z"),
    }
}

impl Feedworld {
    fn monitor<S: Store + Clone>(&self, store: S) -> Watcher<S> {
        let registry = NpmRegistry::new(self.npm.url(), fast_http(), 1 << 24).unwrap();
        let runs = GithubRuns::new(self._github.url(), None, fast_http()).unwrap();
        let verifier = Arc::new(ProvenanceVerifier::embedded().unwrap());
        Arc::new(Monitor::new(
            registry,
            Some(runs),
            store,
            self.clock.clone(),
            verifier,
        ))
    }

    /// Publishes `version` of `name` without provenance (a non-compliant release).
    fn publish(&self, name: &str, version: &str) {
        let at = jiff::Timestamp::from_second(self.clock.now())
            .unwrap()
            .to_string();
        self.npm
            .publish(name, manifest(name, version, OTHER_INTEGRITY, false), &at);
    }

    fn packument_reads(&self) -> Vec<String> {
        self.npm
            .server
            .requests()
            .into_iter()
            .map(|(r, _)| r.target)
            .filter(|t| !t.starts_with("/registry") && !t.starts_with("/-/"))
            .collect()
    }
}

/// Watches `artifacts` from their first read, and starts following the feed at its end.
async fn baseline<S: Store + Clone + 'static>(
    w: &Feedworld,
    monitor: &Watcher<S>,
    artifacts: &[Artifact],
) {
    for artifact in artifacts {
        w.npm.create(&artifact.name, &["octocat"]);
        poll(monitor, artifact, false).await.unwrap();
    }
    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert!(report.started_at_end);
    assert_eq!(report.since, Some(w.npm.feed_seq().to_string()));
    drain_alerts(monitor).await;
    w.npm.server.clear_log();
}

#[tokio::test]
async fn a_publish_in_the_feed_is_judged_within_one_tick_past_a_stale_cache() {
    let w = feedworld().await;
    let monitor = w.monitor(MemoryStore::new());
    let artifacts = [octo("octo-pkg"), octo("other-pkg")];
    baseline(&w, &monitor, &artifacts).await;
    // The readme changed, then 1.0.0 was published; the CDN still serves the copy from
    // before the publish.
    w.npm.edit("octo-pkg", |doc| {
        doc["readme"] = serde_json::json!("Now with a changelog.")
    });
    w.npm.serve_stale(1);
    w.clock.advance(30);
    w.publish("octo-pkg", "1.0.0");

    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert_eq!(report.pages, 1);
    assert_eq!(report.hits.len(), 1);
    let (key, result) = &report.hits[0];
    assert_eq!(key, "npm/octo-pkg");
    assert_eq!(result.as_ref().unwrap().emitted.judged.len(), 1);
    assert_eq!(w.packument_reads(), ["/octo-pkg?write=true"]);
    let record = monitor
        .store
        .version("npm/octo-pkg", "1.0.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.verdict.compliance, Compliance::NonCompliant);
    let alerts = drain_alerts(&monitor).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].id, "npm/octo-pkg@1.0.0#non_compliant");

    // The sweep's round passes over the package just read fresh (no second full read) ...
    let outcomes =
        |sweep: artifact_monitor_core::monitor::SweepReport| -> Vec<(String, PollOutcome)> {
            sweep
                .polled
                .into_iter()
                .map(|(key, r)| (key, r.unwrap().outcome))
                .collect()
        };
    let first = outcomes(monitor.sweep(10).await.unwrap());
    assert!(
        first.contains(&("npm/octo-pkg".to_owned(), PollOutcome::Skipped)),
        "{first:?}"
    );
    // ... and its next round meets the stale copy: ignored, not read as "1.0.0 unpublished".
    w.clock.advance(60);
    let next = outcomes(monitor.sweep(10).await.unwrap());
    assert!(
        next.contains(&("npm/octo-pkg".to_owned(), PollOutcome::Stale)),
        "{next:?}"
    );
    assert!(drain_alerts(&monitor).await.is_empty());
}

#[tokio::test]
async fn a_burst_of_unrelated_changes_is_paged_through_cheaply() {
    let w = feedworld().await;
    let monitor = w.monitor(MemoryStore::new());
    let artifacts = [octo("octo-pkg")];
    baseline(&w, &monitor, &artifacts).await;
    w.npm.unrelated_changes(25_000);
    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert_eq!(report.pages, 3, "10,000 changes a page");
    assert_eq!(report.changes, 25_000);
    assert!(report.hits.is_empty());
    assert_eq!(report.since, Some(w.npm.feed_seq().to_string()));
    assert!(w.packument_reads().is_empty(), "no package was read");
    assert_eq!(w.npm.server.requests().len(), 3);
}

#[tokio::test]
async fn a_feed_outage_falls_back_to_the_sweep_with_nothing_missed() {
    let w = feedworld().await;
    let monitor = w.monitor(MemoryStore::new());
    let artifacts = [octo("octo-pkg")];
    baseline(&w, &monitor, &artifacts).await;
    let since = monitor
        .store
        .feed_state()
        .await
        .unwrap()
        .position(RegistryType::Npm)
        .since;
    for _ in 0..4 {
        w.npm.fail_next("/registry/_changes", Reply::status(503));
    }
    w.publish("octo-pkg", "1.0.0");
    assert!(
        monitor
            .follow_feed(&w.feed, WatchConfig::default())
            .await
            .is_err()
    );
    assert_eq!(
        monitor
            .store
            .feed_state()
            .await
            .unwrap()
            .position(RegistryType::Npm)
            .since,
        since,
        "nothing skipped"
    );
    monitor.sweep(10).await.unwrap();
    assert_eq!(drain_alerts(&monitor).await.len(), 1, "the sweep found it");
    // The feed is back and names the package: judged again, no second alert.
    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert_eq!(report.hits.len(), 1);
    assert!(drain_alerts(&monitor).await.is_empty());
    assert_eq!(report.since, Some(w.npm.feed_seq().to_string()));
}

#[tokio::test]
async fn a_feed_that_starts_over_is_noticed_and_answered_with_a_full_sweep() {
    let w = feedworld().await;
    let monitor = w.monitor(MemoryStore::new());
    let artifacts = [octo("a-pkg"), octo("b-pkg"), octo("c-pkg")];
    baseline(&w, &monitor, &artifacts).await;
    // The sweep is part-way through.
    monitor.sweep(2).await.unwrap();
    assert_eq!(
        monitor
            .store
            .feed_state()
            .await
            .unwrap()
            .sweep_cursor
            .as_deref(),
        Some("npm/b-pkg")
    );
    w.npm.reset_feed();
    w.publish("a-pkg", "1.0.0");
    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert!(report.reset);
    assert!(
        report.hits.is_empty(),
        "the change came before the new sequence"
    );
    let state = monitor.store.feed_state().await.unwrap();
    assert_eq!(
        state.position(RegistryType::Npm).since,
        Some(w.npm.feed_seq().to_string())
    );
    assert_eq!(state.sweep_cursor, None, "the sweep starts over");
    let sweep = monitor.sweep(3).await.unwrap();
    assert_eq!(sweep.polled.len(), 3);
    assert_eq!(drain_alerts(&monitor).await.len(), 1);
}

#[tokio::test]
async fn the_sweep_walks_round_robin_from_its_cursor() {
    let w = feedworld().await;
    let monitor = w.monitor(MemoryStore::new());
    let artifacts: Vec<Artifact> = ["e-pkg", "a-pkg", "d-pkg", "b-pkg", "c-pkg"]
        .map(octo)
        .to_vec();
    for artifact in &artifacts {
        w.npm.create(&artifact.name, &["octocat"]);
        watchlist::watch(&monitor.store, artifact.clone(), ArtifactSource::Api, 0)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut wrapped = Vec::new();
    for _ in 0..3 {
        let report = monitor.sweep(2).await.unwrap();
        seen.push(
            report
                .polled
                .into_iter()
                .map(|(key, _)| key)
                .collect::<Vec<_>>(),
        );
        wrapped.push(report.wrapped);
    }
    assert_eq!(
        seen,
        [
            ["npm/a-pkg", "npm/b-pkg"],
            ["npm/c-pkg", "npm/d-pkg"],
            ["npm/e-pkg", "npm/a-pkg"]
        ]
    );
    assert_eq!(wrapped, [false, false, true]);
    let report = monitor.sweep(2).await.unwrap();
    let keys: Vec<_> = report.polled.into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["npm/b-pkg", "npm/c-pkg"]);
    assert!(!report.wrapped);
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_sequence_without_duplicates() {
    let w = feedworld().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("monitor.redb");
    let artifacts = [octo("octo-pkg")];
    {
        let monitor = w.monitor(RedbStore::open(&path).unwrap());
        baseline(&w, &monitor, &artifacts).await;
        w.publish("octo-pkg", "1.0.0");
        // The fresh read of the hit fails: the sequence stays, the hit is read again later.
        for _ in 0..4 {
            w.npm.fail_next("/octo-pkg?write=true", Reply::status(500));
        }
        let report = monitor
            .follow_feed(&w.feed, WatchConfig::default())
            .await
            .unwrap();
        assert!(report.hits[0].1.is_err());
        assert_ne!(report.since, Some(w.npm.feed_seq().to_string()));
    }
    let monitor = w.monitor(RedbStore::open(&path).unwrap());
    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert_eq!(report.hits.len(), 1);
    assert_eq!(report.since, Some(w.npm.feed_seq().to_string()));
    assert_eq!(drain_alerts(&monitor).await.len(), 1);
    drop(monitor);
    let monitor = w.monitor(RedbStore::open(&path).unwrap());
    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert!(report.hits.is_empty());
    assert!(drain_alerts(&monitor).await.is_empty());
    let versions = monitor.store.versions("npm/octo-pkg").await.unwrap();
    assert_eq!(versions.len(), 1);
    assert!(versions[0].history.is_empty(), "judged once");
}

#[tokio::test]
async fn a_broken_sequence_never_wedges_the_feed() {
    let w = feedworld().await;
    let monitor = w.monitor(MemoryStore::new());
    let artifacts = [octo("octo-pkg")];
    baseline(&w, &monitor, &artifacts).await;
    let since = monitor
        .store
        .feed_state()
        .await
        .unwrap()
        .position(RegistryType::Npm)
        .since;
    // The feed answers with a sequence that would break every later request.
    w.npm.fail_next(
        "/registry/_changes",
        Reply::json(200, r#"{"results":[],"last_seq":"5&limit=1"}"#),
    );
    let error = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("unusable sequence"), "{error}");
    assert_eq!(
        monitor
            .store
            .feed_state()
            .await
            .unwrap()
            .position(RegistryType::Npm)
            .since,
        since,
        "not stored"
    );
    // The feed recovers: followed from where it was.
    w.publish("octo-pkg", "1.0.0");
    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert_eq!(report.hits.len(), 1);
    // A sequence stored by anything else that cannot be sent: following starts at the end
    // again, and the sweep starts over to cover the gap.
    let mut state = monitor.store.feed_state().await.unwrap();
    state.set_position(
        RegistryType::Npm,
        FeedPosition {
            since: Some("9".repeat(100_000)),
            feed_read_at: None,
        },
    );
    state.sweep_cursor = Some("npm/octo-pkg".into());
    monitor.store.put_feed_state(&state).await.unwrap();
    let report = monitor
        .follow_feed(&w.feed, WatchConfig::default())
        .await
        .unwrap();
    assert!(report.unusable_since.is_some());
    assert!(report.started_at_end && report.reset);
    let state = monitor.store.feed_state().await.unwrap();
    assert_eq!(
        state.position(RegistryType::Npm).since,
        Some(w.npm.feed_seq().to_string())
    );
    assert_eq!(state.sweep_cursor, None);
}
