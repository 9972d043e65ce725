//! The library's tick, in process, over the local fake registry, feed and GitHub API: the
//! once-a-tick rule, onboarding a thousand artifacts while a watched package publishes,
//! duplicated, replayed and out-of-order events, two ticks overlapping on one store, policy
//! changes and removals through the watched-set use-case, and a tick cut by its deadline.

// Test helpers: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{
    Alert, AlertKind, Artifact, ArtifactSource, Compliance, DueWork, EmitReason, PolicySpec,
    VersionPublished,
};
use artifact_monitor_core::monitor::{
    Delivery, Monitor, NoBus, Read, TickPlan, TickReport, WatchConfig, watchlist,
};
use artifact_monitor_core::ports::store::*;
use artifact_monitor_core::ports::{Allowance, Clock, Events};
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_http::{GithubRuns, NpmChanges, NpmRegistry, Webhook};
use artifact_monitor_tests::counting::CountingStore;
use artifact_monitor_tests::fake_http::Reply;
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, FixedClock, manifest};
use artifact_monitor_tests::poll::poll;
use artifact_monitor_tests::read;
use artifact_monitor_tests::world::{
    OTHER_INTEGRITY, SIGSTORE_1_0_0, SIGSTORE_2_3_1, fast_http, octo,
};
use artifact_monitor_verify::ProvenanceVerifier;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Store = CountingStore<MemoryStore>;
type TestMonitor = Monitor<NpmRegistry, GithubRuns, Store, FixedClock>;

struct World {
    npm: FakeNpm,
    github: FakeGithub,
    feed: NpmChanges,
    clock: FixedClock,
    store: Store,
}

/// Registry requests left in a tick: `limit` minus what the registry client sent since
/// the tick began (stands in for the request budget, without waiting for it to refill).
struct PerTick {
    registry: NpmRegistry,
    start: u64,
    limit: f64,
}

impl Allowance for PerTick {
    fn available(&self) -> f64 {
        self.limit - (self.registry.requests_sent() - self.start) as f64
    }
}

async fn world() -> World {
    let npm = FakeNpm::start().await;
    let github = FakeGithub::start().await;
    let feed = NpmChanges::new(&npm.feed_url(), fast_http()).unwrap();
    World {
        npm,
        github,
        feed,
        clock: FixedClock::at("2026-11-27T12:00:00Z"),
        store: CountingStore::new(MemoryStore::new()),
    }
}

impl World {
    fn monitor(&self, concurrency: usize) -> TestMonitor {
        let registry = NpmRegistry::new(self.npm.url(), fast_http(), 1 << 24).unwrap();
        let runs = GithubRuns::new(self.github.url(), None, fast_http()).unwrap();
        let verifier = Arc::new(ProvenanceVerifier::embedded().unwrap());
        let mut monitor = Monitor::new(
            registry,
            Some(runs),
            self.store.clone(),
            self.clock.clone(),
            verifier,
        );
        monitor.concurrency = concurrency;
        monitor
    }

    /// Publishes `version` of `name` now, without provenance.
    fn publish(&self, name: &str, version: &str) {
        let at = jiff::Timestamp::from_second(self.clock.now())
            .unwrap()
            .to_string();
        self.npm
            .publish(name, manifest(name, version, OTHER_INTEGRITY, false), &at);
    }

    async fn watch(&self, artifact: &Artifact) {
        watchlist::watch(
            &self.store,
            artifact.clone(),
            ArtifactSource::Api,
            self.clock.now(),
        )
        .await
        .unwrap();
    }

    /// Packument reads of `name` (plain or fresh) the registry served so far.
    fn reads_of(&self, name: &str) -> usize {
        self.npm.server.count(|r| r.path() == format!("/{name}"))
    }
}

/// One tick of `monitor` with the feed; `limit` registry requests (none: unbounded),
/// cut at `deadline` from now. Returns the report and the alerts it printed.
async fn tick(
    w: &World,
    monitor: &TestMonitor,
    limit: Option<f64>,
    deadline: Duration,
) -> (TickReport, Vec<Alert>) {
    let allowance = limit.map(|limit| PerTick {
        registry: monitor.detector.registry.clone(),
        start: monitor.detector.registry.requests_sent(),
        limit,
    });
    let plan = TickPlan {
        deadline: tokio::time::Instant::now() + deadline,
        allowance: allowance.as_ref().map(|a| a as &dyn Allowance),
        reserve: 5.0,
        max_due: usize::MAX,
        max_sweep: 1000,
        sweep_round_secs: 0,
        concurrency: monitor.concurrency,
        watch: WatchConfig::default(),
    };
    let printed = Mutex::new(Vec::new());
    let print = |alert: &Alert| printed.lock().unwrap().push(alert.clone());
    let delivery = Delivery::<Webhook> {
        sink: None,
        limit: 1000,
    };
    let report = monitor
        .tick(std::slice::from_ref(&w.feed), delivery, &print, plan)
        .await;
    (report, printed.into_inner().unwrap())
}

const LONG: Duration = Duration::from_secs(600);

fn ids(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.id.as_str()).collect()
}

#[tokio::test]
async fn onboarding_a_thousand_artifacts_never_stops_the_feed() {
    let w = world().await;
    let monitor = w.monitor(16);
    let watched = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    w.watch(&watched).await;
    let bulk: Vec<String> = (0..1000).map(|i| format!("bulk-{i:04}")).collect();
    for name in &bulk {
        w.npm.create(name, &["octocat"]);
        w.publish(name, "1.0.0");
    }
    // The first tick reads the watched package and starts following the feed at its end.
    let (first, _) = tick(&w, &monitor, None, LONG).await;
    assert!(first.feeds[0].1.as_ref().unwrap().started_at_end);

    // A thousand existing packages are added at once ...
    for name in &bulk {
        w.watch(&octo(name)).await;
    }
    assert_eq!(w.store.due_counts().await.unwrap().reads, 1000);
    // ... and a release of the watched package lands meanwhile.
    w.clock.advance(60);
    w.publish("octo-pkg", "1.0.0");
    let (report, alerts) = tick(&w, &monitor, Some(65.0), LONG).await;
    assert!(
        ids(&alerts).contains(&"npm/octo-pkg@1.0.0#non_compliant"),
        "the publish is judged and alerted within the tick: {alerts:?}"
    );
    let after_one = report.left.reads;
    assert!(
        after_one < 1000 && after_one > 900,
        "the backfill progressed within the budget: {after_one} reads left"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a.kind != AlertKind::Version || a.id.contains("octo-pkg")),
        "no backfill version is alerted on its own: {alerts:?}"
    );

    // The next tick follows the feed again first, and the backfill goes on.
    w.clock.advance(60);
    w.publish("octo-pkg", "1.0.1");
    let (report, alerts) = tick(&w, &monitor, Some(65.0), LONG).await;
    assert!(ids(&alerts).contains(&"npm/octo-pkg@1.0.1#non_compliant"));
    assert!(report.left.reads < after_one, "{:?}", report.left);
    assert_eq!(
        w.reads_of("octo-pkg"),
        3,
        "the package is read once per tick"
    );

    // Unbounded, the rest completes: each artifact's findings reported once, as a summary.
    let mut summaries = 0;
    for _ in 0..5 {
        let (report, alerts) = tick(&w, &monitor, None, LONG).await;
        summaries += alerts
            .iter()
            .filter(|a| a.kind == AlertKind::Backfill)
            .count();
        assert!(alerts.iter().all(|a| a.kind != AlertKind::Version));
        if report.left.reads + report.left.judgements + report.left.summaries == 0 {
            break;
        }
    }
    assert_eq!(summaries, 1000);
    assert_eq!(w.store.due_counts().await.unwrap(), Default::default());
}

#[tokio::test]
async fn a_package_is_read_at_most_once_a_tick() {
    let w = world().await;
    let monitor = w.monitor(4);
    w.npm.create("octo-pkg", &["octocat"]);
    // Nothing of npm is watched: its feed is not read.
    let (idle, _) = tick(&w, &monitor, None, LONG).await;
    assert!(idle.feeds[0].1.as_ref().unwrap().idle);
    assert_eq!(w.npm.server.count(|r| r.path().starts_with("/registry")), 0);
    w.npm.create("other-pkg", &["octocat"]);
    w.watch(&octo("other-pkg")).await;
    let (first, _) = tick(&w, &monitor, None, LONG).await;
    assert!(first.feeds[0].1.as_ref().unwrap().started_at_end);
    // Added (a due first read), named by the feed (a hit) and next in the sweep, all at once.
    w.watch(&octo("octo-pkg")).await;
    w.publish("octo-pkg", "1.0.0");
    let (report, _) = tick(&w, &monitor, None, LONG).await;
    assert_eq!(w.reads_of("octo-pkg"), 1, "{report:?}");
    assert_eq!(report.left.reads, 0);
}

/// The events detection emits for sigstore 1.0.0, 2.3.1 and a 2.3.2 without provenance.
async fn sigstore_events(w: &World, monitor: &TestMonitor) -> Vec<VersionPublished> {
    w.npm.create("sigstore", &["bdehamer"]);
    for (version, integrity, at) in [
        ("1.0.0", SIGSTORE_1_0_0, "2023-02-09T17:56:00.000Z"),
        ("2.3.1", SIGSTORE_2_3_1, "2024-05-16T17:12:03.000Z"),
    ] {
        w.npm.publish(
            "sigstore",
            manifest("sigstore", version, integrity, true),
            at,
        );
        w.npm.attest(
            "sigstore",
            version,
            read(&format!("npm/attestations/sigstore@{version}.json")),
        );
    }
    w.npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.2", OTHER_INTEGRITY, false),
        "2024-05-20T00:00:00.000Z",
    );
    let artifact = Artifact::npm(
        "sigstore",
        PolicySpec::new("sigstore/sigstore-js", &[".github/workflows/release.yml"]),
    )
    .unwrap();
    w.watch(&artifact).await;
    let watched = w.store.artifact("npm/sigstore").await.unwrap().unwrap();
    // Detected with no bus: the events stay due, as after a lost delivery.
    monitor
        .detector
        .detect(&watched, Read::Full, &NoBus)
        .await
        .unwrap();
    let mut events: Vec<VersionPublished> = w
        .store
        .due_of("npm/sigstore")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|i| match i.work {
            DueWork::Judge { event } => Some(*event),
            _ => None,
        })
        .collect();
    events.sort_by(|a, b| a.version.cmp(&b.version));
    assert_eq!(events.len(), 3);
    events
}

#[tokio::test]
async fn duplicated_replayed_and_out_of_order_events_give_one_verdict_and_one_alert() {
    let w = world().await;
    let monitor = w.monitor(4);
    let events = sigstore_events(&w, &monitor).await;
    // Not part of a backfill: each verdict alerts on its own.
    let events: Vec<VersionPublished> = events
        .into_iter()
        .map(|mut e| {
            e.backfill = false;
            e.reason = EmitReason::New;
            e
        })
        .collect();
    // Newest first, and the newest twice at once.
    let mut shuffled: Vec<VersionPublished> = events.iter().rev().cloned().collect();
    shuffled.insert(1, events[2].clone());
    let emitted = monitor.bus().publish(shuffled).await;
    assert!(emitted.failed.is_empty(), "{:?}", emitted.failed);
    let verdicts = |versions: Vec<artifact_monitor_core::domain::VersionRecord>| -> Vec<(String, Compliance, Vec<String>)> {
        versions
            .into_iter()
            .map(|r| {
                let reasons = r.verdict.reasons.iter().map(|c| c.to_string()).collect();
                (r.version, r.verdict.compliance, reasons)
            })
            .collect()
    };
    let first = verdicts(w.store.versions("npm/sigstore").await.unwrap());
    assert_eq!(
        first,
        [
            (
                "1.0.0".to_owned(),
                Compliance::NonCompliant,
                vec!["workflow_mismatch".to_owned()]
            ),
            (
                "2.3.1".to_owned(),
                Compliance::Compliant,
                vec!["provenance_verified".to_owned(), "run_expired".to_owned()]
            ),
            (
                "2.3.2".to_owned(),
                Compliance::NonCompliant,
                vec!["provenance_dropped".to_owned()]
            ),
        ],
        "2.3.2 judged before the versions that had provenance is still 'provenance dropped'"
    );
    let mut outbox: Vec<String> = w
        .store
        .outbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.alert.id)
        .collect();
    outbox.sort();
    assert_eq!(
        outbox,
        [
            "npm/sigstore@1.0.0#non_compliant",
            "npm/sigstore@2.3.2#non_compliant"
        ],
        "one alert per alerting verdict, the duplicate included"
    );

    // Replayed later, one event at a time: one read each, nothing changes.
    let attestations_before = w.npm.server.count(|r| r.path().contains("attestations"));
    for event in &events {
        let before = w.store.counts();
        let judged = monitor
            .judge
            .judge(&event.again(EmitReason::New))
            .await
            .unwrap();
        assert!(judged.is_none());
        let after = w.store.counts();
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (1, 0),
            "a redelivered event costs one read and writes nothing"
        );
    }
    assert_eq!(
        w.npm.server.count(|r| r.path().contains("attestations")),
        attestations_before
    );
    assert_eq!(
        verdicts(w.store.versions("npm/sigstore").await.unwrap()),
        first
    );
    assert_eq!(w.store.outbox(10).await.unwrap().len(), 2);
    assert!(w.store.due_of("npm/sigstore").await.unwrap().is_empty());
}

/// Some write of the tick lost to another writer (and so wrote nothing).
fn lost_a_race(report: &TickReport) -> bool {
    use artifact_monitor_core::monitor::MonitorError;
    use artifact_monitor_core::ports::StoreError;
    let conflict = |e: &MonitorError| matches!(e, MonitorError::Store(StoreError::Conflict(_)));
    let in_feed = report.feeds.iter().any(|(_, feed)| match feed {
        Err(e) => conflict(e),
        Ok(feed) => feed
            .hits
            .iter()
            .any(|(_, r)| r.as_ref().is_err_and(conflict)),
    });
    let in_sweep = match &report.sweep {
        Some(Err(e)) => conflict(e),
        Some(Ok(sweep)) => sweep
            .polled
            .iter()
            .any(|(_, r)| r.as_ref().is_err_and(conflict)),
        None => false,
    };
    in_feed || in_sweep
}

#[tokio::test]
async fn two_overlapping_ticks_on_one_store_lose_nothing_and_alert_once() {
    let w = world().await;
    let a = w.monitor(4);
    let b = w.monitor(4);
    for name in ["octo-pkg", "other-pkg"] {
        w.npm.create(name, &["octocat"]);
        w.watch(&octo(name)).await;
    }
    tick(&w, &a, None, LONG).await;
    w.clock.advance(60);
    w.publish("octo-pkg", "1.0.0");
    w.publish("other-pkg", "2.0.0");
    let ((ra, alerts_a), (rb, alerts_b)) =
        tokio::join!(tick(&w, &a, None, LONG), tick(&w, &b, None, LONG));
    assert!(
        lost_a_race(&ra) || lost_a_race(&rb),
        "the revision check made one tick lose:\n{ra:?}\n{rb:?}"
    );
    let mut all: Vec<&str> = ids(&alerts_a);
    all.extend(ids(&alerts_b));
    all.sort_unstable();
    assert_eq!(
        all,
        [
            "npm/octo-pkg@1.0.0#non_compliant",
            "npm/other-pkg@2.0.0#non_compliant"
        ],
        "each alert printed once across both ticks:\n{ra:?}\n{rb:?}"
    );
    // Whatever the loser left is done by the next tick, and nothing is repeated.
    let (report, alerts) = tick(&w, &a, None, LONG).await;
    assert!(alerts.is_empty(), "{alerts:?}");
    assert_eq!(report.left, Default::default());
    for (name, version) in [("octo-pkg", "1.0.0"), ("other-pkg", "2.0.0")] {
        let record = w
            .store
            .version(&format!("npm/{name}"), version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.verdict.compliance, Compliance::NonCompliant);
        assert!(record.history.is_empty(), "judged once");
    }
}

#[tokio::test]
async fn a_policy_change_rejudges_and_a_removed_artifact_is_forgotten() {
    let w = world().await;
    let monitor = w.monitor(4);
    let events = sigstore_events(&w, &monitor).await;
    let emitted = monitor.bus().publish(events).await;
    assert!(emitted.failed.is_empty());
    tick(&w, &monitor, None, LONG).await;
    let key = "npm/sigstore";
    assert_eq!(
        w.store
            .version(key, "1.0.0")
            .await
            .unwrap()
            .unwrap()
            .verdict
            .compliance,
        Compliance::NonCompliant
    );
    // The policy now allows the older workflow and any runner: 1.0.0 flips to compliant.
    let mut policy = PolicySpec::new(
        "sigstore/sigstore-js",
        &[
            ".github/workflows/release.yml",
            ".github/workflows/publish.yml",
        ],
    );
    policy.require_github_hosted_runner = false;
    let changed = Artifact::npm("sigstore", policy).unwrap();
    let change = watchlist::watch(&w.store, changed, ArtifactSource::Api, w.clock.now())
        .await
        .unwrap();
    assert_eq!(change, watchlist::WatchChange::PolicyChanged);
    let (report, alerts) = tick(&w, &monitor, None, LONG).await;
    assert_eq!(report.left, Default::default(), "{report:?}");
    let record = w.store.version(key, "1.0.0").await.unwrap().unwrap();
    assert_eq!(record.verdict.compliance, Compliance::Compliant);
    assert_eq!(record.policy_rev, 2);
    assert_eq!(record.history.len(), 1, "the flip is kept in the history");
    assert!(
        alerts
            .iter()
            .all(|a| a.compliance != Some(Compliance::NonCompliant)),
        "a flip to compliant is not an alarm: {alerts:?}"
    );
    // Applying the same policy again changes nothing.
    let again = w.store.artifact(key).await.unwrap().unwrap().artifact;
    assert_eq!(
        watchlist::watch(&w.store, again, ArtifactSource::Api, w.clock.now())
            .await
            .unwrap(),
        watchlist::WatchChange::Unchanged
    );

    // Removed: no longer read, its versions gone; a later publish is not seen.
    assert!(
        watchlist::unwatch(&w.store, key, &ArtifactSource::Api)
            .await
            .unwrap()
    );
    assert!(w.store.versions(key).await.unwrap().is_empty());
    let reads = w.reads_of("sigstore");
    w.clock.advance(60);
    w.publish("sigstore", "2.4.0");
    let (_, alerts) = tick(&w, &monitor, None, LONG).await;
    assert!(alerts.is_empty());
    assert_eq!(w.reads_of("sigstore"), reads);
}

#[tokio::test]
async fn a_tick_cut_by_its_deadline_resumes_where_it_stopped() {
    let w = world().await;
    let monitor = w.monitor(1);
    tick(&w, &monitor, None, LONG).await;
    let names: Vec<String> = (0..6).map(|i| format!("pkg-{i}")).collect();
    for name in &names {
        w.npm.create(name, &["octocat"]);
        w.publish(name, "1.0.0");
        w.watch(&octo(name)).await;
    }
    // The fourth first read hangs past the deadline.
    w.npm.fail_next(
        "/pkg-3",
        Reply::Slow(Duration::from_secs(3), Box::new(Reply::status(503))),
    );
    let (cut, mut alerts) = tick(&w, &monitor, None, Duration::from_millis(1500)).await;
    assert!(cut.cut_short, "{cut:?}");
    assert!(
        cut.sweep.is_none(),
        "nothing runs after the cut but the outbox"
    );
    let left = cut.left.reads;
    assert!(
        (1..=3).contains(&left),
        "reads 0-2 done, 3-5 still due: {left}"
    );
    // The next tick picks up where it stopped: nothing done twice, everything done.
    let (report, more) = tick(&w, &monitor, None, LONG).await;
    alerts.extend(more);
    assert!(!report.cut_short);
    assert_eq!(report.left, Default::default(), "{report:?}");
    for name in &names {
        let full_reads = w
            .npm
            .packument_requests(name)
            .into_iter()
            .filter(|status| *status == 200)
            .count();
        assert_eq!(full_reads, 1, "{name} read in full once");
    }
    let summaries: Vec<&str> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Backfill)
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(
        summaries.len(),
        6,
        "each backfill summarised once: {summaries:?}"
    );
}

#[tokio::test]
async fn a_version_a_fresh_read_gives_no_time_for_is_read_again_soon() {
    let w = world().await;
    let monitor = w.monitor(4);
    w.npm.create("octo-pkg", &["octocat"]);
    w.watch(&octo("octo-pkg")).await;
    tick(&w, &monitor, None, LONG).await;
    w.clock.advance(60);
    w.publish("octo-pkg", "1.0.0");
    // The fresh read (past the caches) serves the new version before its publish time.
    let now = jiff::Timestamp::from_second(w.clock.now())
        .unwrap()
        .to_string();
    let early = serde_json::json!({
        "name": "octo-pkg",
        "versions": {"1.0.0": manifest("octo-pkg", "1.0.0", OTHER_INTEGRITY, false)},
        "time": {"modified": now},
        "maintainers": [{"name": "octocat"}],
    });
    w.npm.fail_next(
        "/octo-pkg?write=true",
        Reply::json(200, serde_json::to_vec(&early).unwrap()),
    );
    let (report, alerts) = tick(&w, &monitor, None, LONG).await;
    assert!(alerts.is_empty(), "not judged without its publish time");
    assert_eq!(report.left.reads, 1, "a re-read is due: {report:?}");
    let (_, alerts) = tick(&w, &monitor, None, LONG).await;
    assert!(alerts.is_empty(), "not before the retry delay");
    w.clock.advance(61);
    let (report, alerts) = tick(&w, &monitor, None, LONG).await;
    assert_eq!(ids(&alerts), ["npm/octo-pkg@1.0.0#non_compliant"]);
    assert_eq!(report.left, Default::default());
}

#[tokio::test]
async fn a_read_that_failed_is_tried_again_next_tick_not_next_round() {
    let w = world().await;
    let monitor = w.monitor(4);
    for name in ["a-pkg", "b-pkg"] {
        w.npm.create(name, &["octocat"]);
        w.watch(&octo(name)).await;
    }
    tick(&w, &monitor, None, LONG).await;
    // A publish the feed misses (the feed is down), and the sweep's read of it fails.
    w.clock.advance(60);
    w.publish("a-pkg", "1.0.0");
    for _ in 0..4 {
        w.npm.fail_next("/registry/_changes", Reply::status(503));
        w.npm.fail_next("/a-pkg", Reply::status(500));
    }
    let (report, alerts) = tick(&w, &monitor, None, LONG).await;
    assert!(alerts.is_empty());
    assert_eq!(report.left.reads, 1, "{report:?}");
    w.clock.advance(61);
    let (_, alerts) = tick(&w, &monitor, None, LONG).await;
    assert_eq!(ids(&alerts), ["npm/a-pkg@1.0.0#non_compliant"]);
}

#[tokio::test]
async fn too_many_runs_at_a_publish_time_are_not_looked_into_one_by_one() {
    let w = world().await;
    let monitor = w.monitor(4);
    let artifact = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    poll(&monitor, &artifact, false).await.unwrap();
    // 25 runs of the release workflow building the version's tag when it appears.
    for id in 1..=25u64 {
        w.github.add_run(
            id,
            "octo-org/octo-repo",
            ".github/workflows/release.yml",
            &format!("{id:040x}"),
            "v1.0.0",
            "2026-11-27T11:50:00Z",
            "2026-11-27T12:10:00Z",
            &["ubuntu-latest"],
        );
    }
    w.publish("octo-pkg", "1.0.0");
    let report = poll(&monitor, &artifact, false).await.unwrap();
    assert_eq!(report.judged.len(), 1);
    assert_eq!(report.judged[0].compliance, Compliance::Pending);
    assert!(
        report.judged[0]
            .reasons
            .contains(&artifact_monitor_core::domain::Reason::GithubUnavailable),
        "{:?}",
        report.judged[0]
    );
    assert_eq!(
        w.github.server.count(|r| r.path().ends_with("/jobs")),
        0,
        "no job lookups past the bound"
    );
}

#[tokio::test]
async fn a_judgement_that_takes_too_long_gives_up_and_stays_due() {
    let w = world().await;
    let config = artifact_monitor_core::monitor::MonitorConfig {
        judge_timeout_secs: 1,
        ..Default::default()
    };
    let monitor = w.monitor(4).with_config(config);
    let artifact = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    poll(&monitor, &artifact, false).await.unwrap();
    w.npm.publish(
        "octo-pkg",
        manifest("octo-pkg", "1.0.0", OTHER_INTEGRITY, true),
        "2026-11-27T12:00:00Z",
    );
    w.npm.fail_next(
        "/-/npm/v1/attestations/octo-pkg@1.0.0",
        Reply::Slow(Duration::from_secs(3), Box::new(Reply::status(503))),
    );
    let report = poll(&monitor, &artifact, false).await.unwrap();
    assert!(report.judged.is_empty());
    assert!(
        report.failed[0].1.contains("took longer than 1 s"),
        "{report:?}"
    );
    assert!(report.retry_pending, "still due");
}

#[tokio::test]
async fn a_version_without_a_publish_time_says_so_when_github_could_be_asked() {
    let w = world().await;
    let monitor = w.monitor(4);
    let artifact = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    poll(&monitor, &artifact, false).await.unwrap();
    w.publish("octo-pkg", "1.0.0");
    w.npm.edit("octo-pkg", |doc| {
        doc["time"].as_object_mut().unwrap().remove("1.0.0");
    });
    let report = poll(&monitor, &artifact, false).await.unwrap();
    assert_eq!(report.judged.len(), 1);
    let reasons = &report.judged[0].reasons;
    assert!(
        reasons.contains(&artifact_monitor_core::domain::Reason::PublishTimeUnknown),
        "{reasons:?}"
    );
    assert!(!reasons.contains(&artifact_monitor_core::domain::Reason::RunNotChecked));
}

/// A bus that takes every event and judges none: a process that stopped with its
/// judgements in flight.
struct Swallowed;

impl Events for Swallowed {
    async fn publish(
        &self,
        events: Vec<VersionPublished>,
    ) -> artifact_monitor_core::ports::Emitted {
        artifact_monitor_core::ports::Emitted {
            accepted: events.len(),
            ..Default::default()
        }
    }
}

#[tokio::test]
async fn judgements_a_stopped_process_left_in_flight_are_due_at_once_on_start() {
    let w = world().await;
    let monitor = w.monitor(4);
    w.npm.create("octo-pkg", &["octocat"]);
    w.watch(&octo("octo-pkg")).await;
    tick(&w, &monitor, None, LONG).await;
    w.clock.advance(60);
    w.publish("octo-pkg", "1.0.0");
    let watched = w.store.artifact("npm/octo-pkg").await.unwrap().unwrap();
    let report = monitor
        .detector
        .detect(&watched, Read::Fresh, &Swallowed)
        .await
        .unwrap();
    assert_eq!(report.emitted.accepted, 1);
    // Handed out: not due again before the redelivery time.
    let now = w.clock.now();
    assert!(w.store.due(now, 10).await.unwrap().is_empty());

    // The next process on this store: due at once, judged and alerted in its first tick.
    let restarted = w.monitor(4);
    assert_eq!(restarted.resume_in_flight().await.unwrap(), 1);
    assert_eq!(w.store.due(now, 10).await.unwrap().len(), 1);
    let (_, alerts) = tick(&w, &restarted, None, LONG).await;
    assert_eq!(ids(&alerts), ["npm/octo-pkg@1.0.0#non_compliant"]);
    assert_eq!(restarted.resume_in_flight().await.unwrap(), 0);
}
