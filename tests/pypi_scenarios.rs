//! The npm scenarios that apply to PyPI, run by the library's tick over a local package
//! index (simple JSON with ETags, Integrity API with real PEP 740 provenance, the RSS of new
//! releases) and the local GitHub API: the backfill of an existing project and its summary,
//! a rogue upload named by the RSS judged and alerted within one tick, a replayed tick
//! alerting nothing again, a wheel added to an old release (not in the RSS) found by the
//! conditional sweep, and the RSS not read while no PyPI project is watched.

#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{
    Alert, AlertKind, Artifact, ArtifactSource, Compliance, PolicySpec, Reason,
};
use artifact_monitor_core::monitor::{
    Delivery, Monitor, SWEEP_ROUND_SECS, TickPlan, TickReport, WatchConfig, watchlist,
};
use artifact_monitor_core::ports::{Clock, VerdictStore as _};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_http::{
    Feed, GithubRuns, NpmRegistry, PypiIndex, PypiUpdates, Registries, Webhook,
};
use artifact_monitor_tests::fake_pypi::FakePypi;
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, FixedClock};
use artifact_monitor_tests::read;
use artifact_monitor_tests::world::fast_http;
use artifact_monitor_verify::ProvenanceVerifier;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SDIST_4_0_0: &str = "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b";
const ROGUE_SHA: &str = "5f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
const WHEEL_SHA: &str = "7a1d8b4b9c5f0e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aab";

type TestMonitor = Monitor<Registries, GithubRuns, MemoryStore, FixedClock>;

struct World {
    index: FakePypi,
    npm: FakeNpm,
    _github: FakeGithub,
    feeds: Vec<Feed>,
    clock: FixedClock,
    store: MemoryStore,
    monitor: TestMonitor,
}

async fn world() -> World {
    let index = FakePypi::start().await;
    let npm = FakeNpm::start().await;
    let github = FakeGithub::start().await;
    let clock = FixedClock::at("2026-11-27T12:00:00Z");
    let store = MemoryStore::new();
    let registry = Registries {
        npm: NpmRegistry::new(npm.url(), fast_http(), 1 << 24).unwrap(),
        pypi: Some(PypiIndex::new(index.url(), fast_http(), 1 << 24).unwrap()),
    };
    let runs = GithubRuns::new(github.url(), None, fast_http()).unwrap();
    let mut monitor = Monitor::new(
        registry,
        Some(runs),
        store.clone(),
        clock.clone(),
        Arc::new(ProvenanceVerifier::embedded().unwrap()),
    );
    monitor.concurrency = 4;
    let feeds = vec![Feed::Pypi(
        PypiUpdates::new(index.url(), fast_http()).unwrap(),
    )];
    World {
        index,
        npm,
        _github: github,
        feeds,
        clock,
        store,
        monitor,
    }
}

fn sampleproject() -> Artifact {
    Artifact::new(
        RegistryType::Pypi,
        "sampleproject",
        PolicySpec::new("pypa/sampleproject", &[".github/workflows/release.yml"]),
    )
    .unwrap()
}

impl World {
    /// The real 4.0.0 sdist of sampleproject with its real provenance, from before.
    fn genuine(&self) {
        self.index.upload(
            "sampleproject",
            "4.0.0",
            "sampleproject-4.0.0.tar.gz",
            SDIST_4_0_0,
            "2024-11-06T22:37:10.868088Z",
            Some(read(
                "pypi/provenance/sampleproject-4.0.0.tar.gz.provenance",
            )),
        );
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

    fn now(&self) -> String {
        jiff::Timestamp::from_second(self.clock.now())
            .unwrap()
            .to_string()
    }

    /// One tick, unbounded, printing into the returned alerts.
    async fn tick(&self) -> (TickReport, Vec<Alert>) {
        let plan = TickPlan {
            deadline: tokio::time::Instant::now() + Duration::from_secs(600),
            allowance: None,
            reserve: 5.0,
            max_due: usize::MAX,
            max_sweep: 1000,
            sweep_round_secs: SWEEP_ROUND_SECS,
            concurrency: 4,
            watch: WatchConfig::default(),
        };
        let printed = Mutex::new(Vec::new());
        let print = |alert: &Alert| printed.lock().unwrap().push(alert.clone());
        let delivery = Delivery::<Webhook> {
            sink: None,
            limit: 1000,
        };
        let report = self.monitor.tick(&self.feeds, delivery, &print, plan).await;
        (report, printed.into_inner().unwrap())
    }
}

#[tokio::test]
async fn a_rogue_upload_the_rss_names_is_alerted_within_one_tick_and_once() {
    let w = world().await;
    w.index.create("sampleproject");
    // Before monitoring: the genuine 4.0.0 (its real provenance from the authorised
    // workflow) and an old 3.9.0 uploaded by hand.
    w.index.upload(
        "sampleproject",
        "3.9.0",
        "sampleproject-3.9.0.tar.gz",
        ROGUE_SHA,
        "2024-10-01T10:00:00Z",
        None,
    );
    w.genuine();

    // Nothing of PyPI watched yet: the RSS is not read.
    let (idle, _) = w.tick().await;
    assert!(idle.feeds[0].1.as_ref().unwrap().idle);
    assert_eq!(w.index.feed_requests(), 0);

    // Watched: the first tick follows the RSS from its newest item, backfills both
    // releases and reports the backfill once, in one summary.
    w.watch(&sampleproject()).await;
    let (first, alerts) = w.tick().await;
    let feed = first.feeds[0].1.as_ref().unwrap();
    assert!(feed.started_at_end, "{feed:?}");
    assert_eq!(first.feeds[0].0, RegistryType::Pypi);
    assert_eq!(
        alerts.iter().map(|a| a.kind).collect::<Vec<_>>(),
        [AlertKind::Backfill],
        "{alerts:#?}"
    );
    let genuine = w
        .store
        .version("pypi/sampleproject", "4.0.0")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(genuine.verdict.compliance, Compliance::NonCompliant);
    assert_eq!(genuine.verdict.files.len(), 1);

    // A stolen token uploads 4.0.1: no provenance, no CI run. The next tick's RSS read
    // names it; it is read fresh and judged in that tick.
    w.clock.advance(30);
    w.index.upload(
        "sampleproject",
        "4.0.1",
        "sampleproject-4.0.1.tar.gz",
        ROGUE_SHA,
        &w.now(),
        None,
    );
    w.clock.advance(20);
    let (report, alerts) = w.tick().await;
    let feed = report.feeds[0].1.as_ref().unwrap();
    assert_eq!(feed.hits.len(), 1, "{feed:?}");
    assert!(!feed.missed);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::Version);
    assert!(
        alert.id.starts_with("pypi/sampleproject@4.0.1#"),
        "{}",
        alert.id
    );
    let rogue = w
        .store
        .version("pypi/sampleproject", "4.0.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rogue.verdict.compliance, Compliance::NonCompliant);
    assert!(
        rogue.verdict.reasons.contains(&Reason::ProvenanceDropped)
            || rogue.verdict.reasons.contains(&Reason::NoProvenance),
        "{:?}",
        rogue.verdict.reasons
    );
    assert_eq!(rogue.verdict.files[0].name, "sampleproject-4.0.1.tar.gz");
    // Read once in the tick: the feed's fresh read, not again by the sweep.
    let pages = w.index.page_requests("sampleproject");
    assert_eq!(report.reads().count(), 1, "{pages:?}");

    // The same tick replayed (the RSS still names the release): nothing alerts again.
    w.clock.advance(60);
    let (_, again) = w.tick().await;
    assert!(again.is_empty(), "{again:#?}");
}

#[tokio::test]
async fn a_wheel_added_to_an_old_release_is_found_by_the_sweep_and_raised() {
    let w = world().await;
    w.index.create("sampleproject");
    w.genuine();
    w.watch(&sampleproject()).await;
    w.tick().await;
    // Releases of other projects move the RSS on.
    w.clock.advance(60);
    w.index.create("unrelated");
    w.index.upload(
        "unrelated",
        "1.0",
        "unrelated-1.0.tar.gz",
        ROGUE_SHA,
        &w.now(),
        None,
    );
    w.tick().await;
    let feed_items_before = w.index.feed_requests();

    // Two years later a wheel appears in the 4.0.0 release: the RSS lists releases, not
    // files, so only the project's page shows it.
    w.clock.advance(3600);
    w.index.upload(
        "sampleproject",
        "4.0.0",
        "sampleproject-4.0.0-py3-none-any.whl",
        WHEEL_SHA,
        &w.now(),
        None,
    );
    let (report, alerts) = w.tick().await;
    assert_eq!(w.index.feed_requests(), feed_items_before + 1);
    assert!(report.feeds[0].1.as_ref().unwrap().hits.is_empty());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0].id.starts_with("pypi/sampleproject@4.0.0#"));
    let record = w
        .store
        .version("pypi/sampleproject", "4.0.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.verdict.compliance, Compliance::NonCompliant);
    assert!(
        record.verdict.reasons.contains(&Reason::FileAddedLater),
        "{:?}",
        record.verdict.reasons
    );
    let statuses = w.index.page_requests("sampleproject");
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");

    // The round is done: a minute later the sweep rests (no request); an hour after the
    // round began, the next one reads the page conditionally and is answered 304.
    let pages = w.index.page_requests("sampleproject").len();
    w.clock.advance(60);
    let (report, alerts) = w.tick().await;
    assert!(alerts.is_empty());
    assert!(report.sweep.unwrap().unwrap().resting);
    assert_eq!(w.index.page_requests("sampleproject").len(), pages);
    w.clock.advance(SWEEP_ROUND_SECS);
    let (_, alerts) = w.tick().await;
    assert!(alerts.is_empty());
    assert_eq!(w.index.page_requests("sampleproject").last(), Some(&304));
}

#[tokio::test]
async fn the_sweep_rests_between_rounds_only_while_every_watched_type_has_its_feed() {
    let w = world().await;
    w.index.create("sampleproject");
    w.genuine();
    w.watch(&sampleproject()).await;
    w.tick().await;
    w.clock.advance(60);
    let (report, _) = w.tick().await;
    assert!(
        report.sweep.unwrap().unwrap().resting,
        "the RSS covers PyPI"
    );

    // An npm package joins, and no npm feed is configured: the sweep is its only
    // detector, so it goes round every tick again.
    w.npm.create("octo-pkg", &["octocat"]);
    w.watch(&artifact_monitor_tests::world::octo("octo-pkg"))
        .await;
    for _ in 0..3 {
        w.clock.advance(60);
        let (report, _) = w.tick().await;
        assert!(!report.sweep.unwrap().unwrap().resting);
    }
    assert!(w.npm.packument_requests("octo-pkg").len() >= 3);
}
