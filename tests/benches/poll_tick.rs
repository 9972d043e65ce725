//! Poll-tick harness: the library's tick over 10,000 watched packages against the local
//! fake registry and GitHub API, as `serve --registry-budget 0` runs it (on-disk store,
//! the due queue, a sweep of every package with conditional requests, bounded
//! concurrency), with a few new versions among mostly unchanged packages.
//!
//! `cargo bench -p artifact-monitor-tests --bench poll_tick [-- PACKAGES NEW CONCURRENCY]`
//!
//! Prints the time of the first (backfill) tick and of a steady tick, packages per second,
//! requests per package, and the process's peak memory. The fake servers run in the same
//! process and on the same two cores, so the figures are pessimistic for the monitor.

#![allow(clippy::unwrap_used)]

use artifact_monitor_core::SystemClock;
use artifact_monitor_core::domain::{Alert, Artifact, PolicySpec};
use artifact_monitor_core::monitor::{
    Delivery, Monitor, TickPlan, TickReport, WatchConfig, watchlist,
};
use artifact_monitor_core::ports::Clock;
use artifact_monitor_embedded::RedbStore;
use artifact_monitor_http::{GithubRuns, HttpConfig, NpmChanges, NpmRegistry, Webhook};
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, manifest};
use artifact_monitor_tests::status_kib;
use artifact_monitor_verify::ProvenanceVerifier;
use std::sync::Arc;
use std::time::Instant;

const INTEGRITY: &str = "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let packages = args.first().copied().unwrap_or(10_000);
    let new_versions = args.get(1).copied().unwrap_or(10);
    let concurrency = args.get(2).copied().unwrap_or(16);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(packages, new_versions, concurrency));
}

async fn run(packages: usize, new_versions: usize, concurrency: usize) {
    let npm = FakeNpm::start().await;
    let github = FakeGithub::start().await;
    let names: Vec<String> = (0..packages).map(|i| format!("pkg-{i:05}")).collect();
    for name in &names {
        npm.create(name, &["owner"]);
        for (v, at) in [
            ("1.0.0", "2026-01-01T00:00:00.000Z"),
            ("1.1.0", "2026-02-01T00:00:00.000Z"),
        ] {
            let mut m = manifest(name, v, INTEGRITY, false);
            m["gitHead"] = serde_json::json!("0000000000000000000000000000000000000000");
            npm.publish(name, m, at);
        }
    }
    let artifacts: Vec<Artifact> = names
        .iter()
        .map(|n| {
            Artifact::npm(
                n,
                PolicySpec::new("octo-org/octo-repo", &[".github/workflows/release.yml"]),
            )
            .unwrap()
        })
        .collect();
    let fakes_rss = status_kib("VmRSS:");
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("bench.redb")).unwrap();
    let http = HttpConfig {
        concurrency,
        ..HttpConfig::default()
    };
    let registry = NpmRegistry::new(npm.url(), http.clone(), 64 * 1024 * 1024).unwrap();
    let runs = GithubRuns::new(github.url(), None, http).unwrap();
    let verifier = Arc::new(ProvenanceVerifier::embedded().unwrap());
    let mut monitor = Monitor::new(
        registry.clone(),
        Some(runs),
        store.clone(),
        SystemClock,
        verifier,
    );
    monitor.concurrency = concurrency;
    watchlist::sync_config(&store, artifacts, "bench.toml", SystemClock.now())
        .await
        .unwrap();

    let started = Instant::now();
    let first = tick(&monitor, concurrency).await;
    let backfill = started.elapsed();
    assert_eq!(first.left.judgements + first.left.reads, 0, "{first:?}");
    let baseline_requests = registry.requests_sent();

    for name in names
        .iter()
        .step_by((packages / new_versions.max(1)).max(1))
        .take(new_versions)
    {
        npm.publish(
            name,
            manifest(name, "1.2.0", INTEGRITY, false),
            "2026-11-28T00:00:00.000Z",
        );
    }
    let started = Instant::now();
    let report = tick(&monitor, concurrency).await;
    let steady = started.elapsed();
    let sweep = report.sweep.unwrap().unwrap();
    let failed = sweep.polled.iter().filter(|(_, r)| r.is_err()).count();
    let judged: usize = sweep
        .polled
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|r| r.emitted.judged.len())
        .sum();
    let requests = registry.requests_sent() - baseline_requests;
    println!("packages                 {packages}");
    println!("concurrency              {concurrency}");
    println!(
        "backfill tick            {:.2} s ({} versions judged)",
        backfill.as_secs_f64(),
        packages * 2
    );
    println!(
        "steady tick              {:.2} s ({judged} new versions judged, {failed} failed)",
        steady.as_secs_f64()
    );
    println!(
        "steady packages/s        {:.0}",
        packages as f64 / steady.as_secs_f64()
    );
    println!(
        "registry requests/package {:.3}",
        requests as f64 / packages as f64
    );
    println!("RSS of the fakes alone   {} MiB", fakes_rss / 1024);
    println!(
        "peak RSS (whole process) {} MiB",
        status_kib("VmHWM:") / 1024
    );
}

type BenchMonitor = Monitor<NpmRegistry, GithubRuns, RedbStore, SystemClock>;

/// One tick as `serve --registry-budget 0 --no-changes-feed` runs it.
async fn tick(monitor: &BenchMonitor, concurrency: usize) -> TickReport {
    let plan = TickPlan {
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(3600),
        allowance: None,
        reserve: 0.0,
        max_due: usize::MAX,
        max_sweep: usize::MAX,
        sweep_round_secs: 0,
        concurrency,
        watch: WatchConfig::default(),
    };
    let delivery = Delivery::<Webhook> {
        sink: None,
        limit: 1000,
    };
    let print = |_: &Alert| {};
    monitor
        .tick(&[] as &[NpmChanges], delivery, &print, plan)
        .await
}
