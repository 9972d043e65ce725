//! The store contract suite on DynamoDB's real wire protocol (moto), each check on a fresh
//! table, plus what only the DynamoDB store has to show: pagination across pages, the item
//! size guard, and two writers racing on one version.

#![allow(clippy::unwrap_used)]

use artifact_monitor_aws_tests::aws::dynamo_store;
use artifact_monitor_tests::store_contract;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_store_passes_the_contract() {
    store_contract::run_all(dynamo_store).await;
}

use artifact_monitor_core::domain::{Compliance, DueCounts, PollState, Recorded, VersionRecord};
use artifact_monitor_core::ports::store::*;
use artifact_monitor_core::ports::{PollCommit, StoreError, VerdictWrite};
use artifact_monitor_core::registry::Snapshot;
use artifact_monitor_tests::store_contract::{alert_for, record, verdict, watched};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_racing_on_one_version_enqueue_one_alert() {
    let store = dynamo_store().await;
    store.put_artifact(&watched("alpha")).await.unwrap();
    for round in 0..5 {
        let version = format!("1.0.{round}");
        let bad = verdict(Compliance::NonCompliant, &["no_provenance", "no_run"]);
        let alert = alert_for("alpha", &version, &bad);
        let first = record(&version, bad.clone(), 100);
        let second = record(&version, bad, 101);
        let write = |r| {
            let store = store.clone();
            let alert = alert.clone();
            async move {
                let r: VersionRecord = r;
                store
                    .record(
                        "npm/alpha",
                        VerdictWrite {
                            record: &r,
                            alert: Some(&alert),
                            notices: &[],
                            retry: None,
                        },
                        100,
                    )
                    .await
                    .unwrap()
            }
        };
        let (a, b) = tokio::join!(tokio::spawn(write(first)), tokio::spawn(write(second)));
        let mut outcomes = [a.unwrap().recorded, b.unwrap().recorded];
        outcomes.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(outcomes, [Recorded::New, Recorded::Unchanged]);
    }
    let outbox = store.outbox(100).await.unwrap();
    assert_eq!(outbox.len(), 5, "one alert per version, never two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_read_page_after_page() {
    let store = dynamo_store().await.with_page_size(10);
    let names: Vec<String> = (0..25).map(|i| format!("pkg-{i:02}")).collect();
    for name in &names {
        store.put_artifact(&watched(name)).await.unwrap();
    }
    let all: Vec<String> = store
        .artifacts_after(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.artifact.name)
        .collect();
    assert_eq!(all, names, "in key order across three pages");
    let page: Vec<String> = store
        .artifacts_after(Some("npm/pkg-09"), 12)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.artifact.name)
        .collect();
    assert_eq!(page, names[10..22]);
    let ok = verdict(Compliance::Compliant, &["provenance_verified"]);
    for i in 0..23 {
        let r = record(&format!("1.0.{i:02}"), ok.clone(), 1);
        store
            .record(
                "npm/pkg-00",
                VerdictWrite {
                    record: &r,
                    alert: None,
                    notices: &[],
                    retry: None,
                },
                1,
            )
            .await
            .unwrap();
    }
    assert_eq!(store.versions("npm/pkg-00").await.unwrap().len(), 23);
    for i in 0..15 {
        let alert = alert_for("pkg-00", &format!("9.{i}.0"), &ok);
        store.enqueue(&alert, i).await.unwrap();
    }
    let outbox = store.outbox(12).await.unwrap();
    assert_eq!(outbox.len(), 12);
    assert_eq!(
        outbox[0].alert.id, "npm/pkg-00@9.0.0#compliant",
        "oldest first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_state_at_the_item_limit_is_compressed_and_one_beyond_it_is_refused_whole() {
    let store = dynamo_store().await;
    store.put_artifact(&watched("alpha")).await.unwrap();
    // A package with 30,000 versions: about 0.4 MB of snapshot, stored compressed.
    let snapshot = Snapshot {
        versions: (0..30_000).map(|i| format!("1.{i}.0-beta.{i}")).collect(),
        ..Snapshot::default()
    };
    let state = PollState {
        snapshot: Some(snapshot),
        ..PollState::default()
    };
    assert!(serde_json::to_vec(&state).unwrap().len() > 400 * 1024);
    store
        .commit_poll("npm/alpha", &state, &PollCommit::default(), 1)
        .await
        .unwrap();
    let stored = store.poll_state("npm/alpha").await.unwrap().unwrap();
    assert_eq!(stored.rev, 1);
    assert_eq!(stored.snapshot, state.snapshot);
    // Names no compression can shrink enough: refused, loudly, and nothing written.
    let mut noise = 0x9e37_79b9_7f4a_7c15u64;
    let names = (0..40_000).map(|_| {
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        format!("{noise:016x}")
    });
    let huge = PollState {
        rev: 1,
        snapshot: Some(Snapshot {
            versions: names.collect(),
            ..Snapshot::default()
        }),
        ..PollState::default()
    };
    let refused = store
        .commit_poll("npm/alpha", &huge, &PollCommit::default(), 2)
        .await;
    assert!(
        matches!(refused, Err(StoreError::TooLarge(_))),
        "{refused:?}"
    );
    assert!(!refused.unwrap_err().retryable());
    assert_eq!(store.poll_state("npm/alpha").await.unwrap().unwrap().rev, 1);
    assert_eq!(store.due_counts().await.unwrap(), DueCounts::default());
}

use artifact_monitor_aws::DynamoStore;
use artifact_monitor_core::domain::{Alert, ArtifactSource};
use artifact_monitor_core::monitor::{Delivery, Monitor, TickPlan, WatchConfig, watchlist};
use artifact_monitor_core::ports::Clock;
use artifact_monitor_http::{GithubRuns, NpmChanges, NpmRegistry, Webhook};
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, FixedClock, manifest};
use artifact_monitor_tests::world::{OTHER_INTEGRITY, fast_http, octo};
use artifact_monitor_verify::ProvenanceVerifier;
use std::sync::{Arc, Mutex};

type AwsMonitor = Monitor<NpmRegistry, GithubRuns, DynamoStore, FixedClock>;

async fn tick_on(monitor: &AwsMonitor, feed: &NpmChanges) -> Vec<String> {
    let plan = TickPlan {
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(120),
        allowance: None,
        reserve: 0.0,
        max_due: usize::MAX,
        max_sweep: 100,
        sweep_round_secs: 0,
        concurrency: 4,
        watch: WatchConfig::default(),
    };
    let printed = Mutex::new(Vec::new());
    let print = |alert: &Alert| printed.lock().unwrap().push(alert.id.clone());
    let delivery = Delivery::<Webhook> {
        sink: None,
        limit: 100,
    };
    monitor
        .tick(std::slice::from_ref(feed), delivery, &print, plan)
        .await;
    printed.into_inner().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ticks_overlapping_on_dynamodb_alert_once() {
    let npm = FakeNpm::start().await;
    let github = FakeGithub::start().await;
    let feed = NpmChanges::new(&npm.feed_url(), fast_http()).unwrap();
    let clock = FixedClock::at("2026-11-27T12:00:00Z");
    let store = dynamo_store().await;
    let verifier = Arc::new(ProvenanceVerifier::embedded().unwrap());
    let monitor = || {
        Monitor::new(
            NpmRegistry::new(npm.url(), fast_http(), 1 << 24).unwrap(),
            Some(GithubRuns::new(github.url(), None, fast_http()).unwrap()),
            store.clone(),
            clock.clone(),
            verifier.clone(),
        )
    };
    let (a, b) = (monitor(), monitor());
    for name in ["octo-pkg", "other-pkg"] {
        npm.create(name, &["octocat"]);
        watchlist::watch(&store, octo(name), ArtifactSource::Api, clock.now())
            .await
            .unwrap();
    }
    assert!(tick_on(&a, &feed).await.is_empty());
    clock.advance(60);
    let at = jiff::Timestamp::from_second(clock.now())
        .unwrap()
        .to_string();
    for (name, version) in [("octo-pkg", "1.0.0"), ("other-pkg", "2.0.0")] {
        npm.publish(name, manifest(name, version, OTHER_INTEGRITY, false), &at);
    }
    let (first, second) = tokio::join!(tick_on(&a, &feed), tick_on(&b, &feed));
    let mut all: Vec<String> = first.into_iter().chain(second).collect();
    all.extend(tick_on(&a, &feed).await);
    all.sort();
    assert_eq!(
        all,
        [
            "npm/octo-pkg@1.0.0#non_compliant",
            "npm/other-pkg@2.0.0#non_compliant"
        ]
    );
    for (key, version) in [("npm/octo-pkg", "1.0.0"), ("npm/other-pkg", "2.0.0")] {
        let record = store.version(key, version).await.unwrap().unwrap();
        assert!(record.history.is_empty(), "judged once");
    }
    assert_eq!(store.due_counts().await.unwrap(), DueCounts::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_larger_than_a_transaction_is_written_whole() {
    use artifact_monitor_core::domain::{DueItem, EmitReason};
    use artifact_monitor_tests::store_contract::event;
    let store = dynamo_store().await;
    store.put_artifact(&watched("alpha")).await.unwrap();
    let due: Vec<DueItem> = (0..250)
        .map(|i| DueItem::judge(event("alpha", &format!("1.0.{i}"), EmitReason::Backfill), 1))
        .collect();
    let commit = PollCommit {
        due,
        backfill_total: Some(250),
        read_done: Some(false),
        ..PollCommit::default()
    };
    store
        .commit_poll("npm/alpha", &PollState::default(), &commit, 1)
        .await
        .unwrap();
    assert_eq!(store.due_of("npm/alpha").await.unwrap().len(), 250);
    assert_eq!(store.due(1, 1000).await.unwrap().len(), 250);
    assert_eq!(store.due_counts().await.unwrap().judgements, 250);
    let progress = store.artifact("npm/alpha").await.unwrap().unwrap().backfill;
    assert_eq!((progress.total, progress.started), (250, true));
}
