//! `artifact-monitor serve`: watch the artifacts of a config file. Each tick polls every
//! artifact (conditional requests), judges new and pending versions, stores verdicts in the
//! embedded on-disk store and drains the alert outbox: every alert is printed once as a JSON
//! line on stdout and, when a webhook is configured, POSTed until it is accepted.
//!
//! Ctrl-C (or SIGTERM) lets the current tick finish (bounded), drains the outbox and exits;
//! whatever was cut short is in the store and picked up on restart, and a restart never
//! re-alerts (alert ids are enqueued once, ever).

use crate::config::{self, Config};
use crate::remote_args::{RemoteArgs, Remotes};
use artifact_monitor::adapters::{HttpConfig, NpmChanges, RequestBudget, SystemClock, Webhook};
use artifact_monitor::domain::{Alert, Artifact};
use artifact_monitor::monitor::{
    Delivery, Monitor, MonitorConfig, MonitorError, PollOutcome, PollReport, WatchConfig,
};
use artifact_monitor::ports::Store;
use artifact_monitor::provenance::ProvenanceVerifier;
use artifact_monitor::store::RedbStore;
use clap::Args;
use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable holding the webhook URL (it may embed a secret).
pub const WEBHOOK_ENV: &str = "ARTIFACT_MONITOR_WEBHOOK_URL";
/// How long a tick may run on after Ctrl-C before it is cut short.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Alerts read from the outbox at a time.
const DRAIN_LIMIT: usize = 1000;
/// The default registry request budget: about one request per second, sustained.
const DEFAULT_BUDGET_PER_SEC: f64 = 1.0;
/// The smallest burst the budget allows.
const MIN_BUDGET_BURST: f64 = 10.0;
/// Requests of the budget the sweep leaves for the next tick's feed read and its hits.
const FEED_RESERVE: f64 = 5.0;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML file listing the artifacts to watch and their policies.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Directory of the embedded store [default: .artifact-monitor, or data_dir in the config].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Seconds between polls [default: 60, or interval_secs in the config].
    #[arg(long, value_name = "SECS")]
    interval: Option<u64>,
    /// Run one tick, deliver alerts, and exit.
    #[arg(long)]
    once: bool,
    /// Changes feed base URL [default: the public npm feed when the registry is the public one].
    #[arg(long, value_name = "URL", conflicts_with = "no_changes_feed")]
    changes_feed: Option<String>,
    /// Do not follow a changes feed: the paced sweep alone finds new versions.
    #[arg(long)]
    no_changes_feed: bool,
    /// Registry requests per second, sustained, shared by the feed, the sweep and every
    /// other registry read [default: 1]; 0 for no budget.
    #[arg(long, value_name = "N")]
    registry_budget: Option<f64>,
    /// POST every alert to this URL (prefer the ARTIFACT_MONITOR_WEBHOOK_URL variable: a
    /// command line is visible to other users of the machine).
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    #[command(flatten)]
    remote: RemoteArgs,
}

struct Settings {
    artifacts: Vec<Artifact>,
    data_dir: PathBuf,
    interval: Duration,
    once: bool,
    remotes: Remotes,
    webhook: Option<String>,
    monitor: MonitorConfig,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("artifact-monitor serve: {message}");
    ExitCode::from(2)
}

fn settings(args: &ServeArgs, config: Config) -> Result<Settings, String> {
    if config.artifacts.is_empty() {
        return Err(format!(
            "{} lists no artifacts to watch",
            args.config.display()
        ));
    }
    let mut remotes = Remotes::defaults();
    if let Some(registry) = config.registry {
        remotes.registry = registry;
    }
    if let Some(api) = config.github_api {
        remotes.github_api = Some(api);
    }
    if config.github == Some(false) {
        remotes.github_api = None;
    }
    if let Some(secs) = config.timeout_secs {
        remotes.timeout = Duration::from_secs(secs.max(1));
    }
    if let Some(concurrency) = config.concurrency {
        remotes.concurrency = concurrency.clamp(1, 256);
    }
    if let Some(bytes) = config.max_packument_bytes {
        remotes.max_packument_bytes = bytes;
    }
    remotes.apply(&args.remote);
    remotes.changes_feed = if args.no_changes_feed || config.changes_feed == Some(false) {
        None
    } else {
        args.changes_feed
            .clone()
            .or(config.changes_feed_url)
            .or_else(|| remotes.default_changes_feed())
    };
    let interval = Duration::from_secs(args.interval.or(config.interval_secs).unwrap_or(60).max(1));
    let per_sec = args
        .registry_budget
        .or(config.registry_requests_per_sec)
        .unwrap_or(DEFAULT_BUDGET_PER_SEC);
    if !per_sec.is_finite() || per_sec < 0.0 {
        return Err(format!(
            "a registry budget of {per_sec} requests per second is not one"
        ));
    }
    // The bucket holds one interval's worth plus the reserve the sweep leaves, so each tick
    // may spend everything the last one earned.
    remotes.budget = (per_sec > 0.0).then(|| {
        Arc::new(RequestBudget::new(
            per_sec,
            (per_sec * interval.as_secs_f64()).max(MIN_BUDGET_BURST) + FEED_RESERVE,
        ))
    });
    let webhook_env = config.webhook_url_env.as_deref().unwrap_or(WEBHOOK_ENV);
    let webhook = args
        .webhook
        .clone()
        .or_else(|| std::env::var(webhook_env).ok().filter(|u| !u.is_empty()));
    let mut monitor = MonitorConfig::default();
    if let Some(secs) = config.unverifiable_after_secs {
        monitor.unverifiable_after_secs = secs.max(0);
    }
    Ok(Settings {
        artifacts: config.artifacts,
        data_dir: args
            .data_dir
            .clone()
            .or(config.data_dir)
            .unwrap_or_else(|| PathBuf::from(".artifact-monitor")),
        interval,
        once: args.once,
        remotes,
        webhook,
        monitor,
    })
}

pub fn run(args: &ServeArgs) -> ExitCode {
    let settings = match config::load(&args.config).and_then(|c| settings(args, c)) {
        Ok(settings) => settings,
        Err(e) => return usage(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return usage(format!("cannot start: {e}")),
    };
    runtime.block_on(serve(settings))
}

/// Resolves when the process is asked to stop (Ctrl-C, or SIGTERM on Unix).
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn print_alert(alert: &Alert) {
    if let Ok(line) = serde_json::to_string(alert) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

async fn serve(settings: Settings) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&settings.data_dir) {
        return usage(format!("{}: {e}", settings.data_dir.display()));
    }
    let store = match RedbStore::open(&settings.data_dir.join("monitor.redb")) {
        Ok(store) => store,
        Err(e) => return usage(e),
    };
    let (registry, runs) = match (settings.remotes.registry(), settings.remotes.github()) {
        (Ok(registry), Ok(runs)) => (registry, runs),
        (Err(e), _) | (_, Err(e)) => return usage(e),
    };
    let changes = match settings.remotes.changes() {
        Ok(changes) => changes,
        Err(e) => return usage(e),
    };
    let webhook = match settings
        .webhook
        .as_deref()
        .map(|u| Webhook::new(u, HttpConfig::default()))
    {
        None => None,
        Some(Ok(webhook)) => Some(webhook),
        Some(Err(e)) => return usage(e),
    };
    let verifier = match ProvenanceVerifier::embedded() {
        Ok(verifier) => Arc::new(verifier),
        Err(e) => return usage(format!("cannot load trust material: {e}")),
    };
    let github_note = if runs.is_some() { "on" } else { "off" };
    let mut monitor = Monitor::new(registry, runs, store, SystemClock, verifier);
    monitor.config = settings.monitor.clone();
    let monitor = Arc::new(monitor);
    let budget_note = match &settings.remotes.budget {
        Some(budget) => format!("{} registry request(s)/s", budget.per_sec()),
        None => "no registry budget".to_owned(),
    };
    eprintln!(
        "artifact-monitor: watching {} artifact(s) every {} s; changes feed {}; {budget_note}; store in {}; GitHub lookups {github_note}; webhook {}",
        settings.artifacts.len(),
        settings.interval.as_secs(),
        if changes.is_some() {
            "on"
        } else {
            "off (sweep only)"
        },
        settings.data_dir.display(),
        if webhook.is_some() { "on" } else { "off" },
    );

    let mut stop = pin!(stop_requested());
    let mut stopping = false;
    let mut unregistered = settings.artifacts.clone();
    // Artifacts with versions pending or unjudged are polled every tick, not when the sweep
    // comes round to them.
    let mut retry: HashSet<String> = match monitor.needing_retry(&settings.artifacts).await {
        Ok(keys) => keys.into_iter().collect(),
        Err(e) => return usage(e),
    };
    loop {
        let work = tick(
            &monitor,
            &settings,
            &mut unregistered,
            &mut retry,
            changes.as_ref(),
            webhook.as_ref(),
        );
        let mut work = pin!(work);
        tokio::select! {
            () = &mut work => {}
            () = &mut stop => {
                stopping = true;
                eprintln!("artifact-monitor: stopping; finishing the current tick (at most {} s)", SHUTDOWN_GRACE.as_secs());
                if tokio::time::timeout(SHUTDOWN_GRACE, &mut work).await.is_err() {
                    eprintln!("artifact-monitor: tick cut short; unfinished work resumes on restart");
                }
            }
        }
        if stopping || settings.once {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(settings.interval) => {}
            () = &mut stop => break,
        }
    }
    // Whatever is still in the outbox goes out now, or on the next start.
    drain(&monitor, webhook.as_ref()).await;
    eprintln!("artifact-monitor: stopped");
    ExitCode::SUCCESS
}

type LocalMonitor = Monitor<
    artifact_monitor::adapters::NpmRegistry,
    artifact_monitor::adapters::GithubRuns,
    RedbStore,
    SystemClock,
>;

async fn tick(
    monitor: &Arc<LocalMonitor>,
    settings: &Settings,
    unregistered: &mut Vec<Artifact>,
    retry: &mut HashSet<String>,
    changes: Option<&NpmChanges>,
    webhook: Option<&Webhook>,
) {
    let started = std::time::Instant::now();
    // A package is read at most once a tick: registration, a feed hit, a retry or the sweep.
    let mut polled = HashSet::new();
    if !unregistered.is_empty() {
        let pending = std::mem::take(unregistered);
        *unregistered = register(
            monitor,
            pending,
            settings.remotes.concurrency,
            retry,
            &mut polled,
        )
        .await;
    }
    let watched = &settings.artifacts;
    let mut feed_note = "off".to_owned();
    if let Some(feed) = changes {
        match monitor
            .follow_feed(feed, watched, WatchConfig::default())
            .await
        {
            Ok(report) => {
                if report.started_at_end {
                    eprintln!("artifact-monitor: following the changes feed from its end");
                }
                if report.reset {
                    eprintln!(
                        "artifact-monitor: the changes feed started over; sweeping every artifact again"
                    );
                }
                for (key, result) in &report.hits {
                    log_poll(key, result);
                    note_retry(retry, &mut polled, key, result);
                }
                feed_note = format!("{} change(s), {} hit(s)", report.changes, report.hits.len());
            }
            Err(e) => {
                feed_note = "unavailable".to_owned();
                eprintln!("artifact-monitor: changes feed unavailable, the sweep carries on: {e}")
            }
        }
    }
    let again: Vec<Artifact> = watched
        .iter()
        .filter(|a| retry.contains(&a.key()) && !polled.contains(&a.key()))
        .cloned()
        .collect();
    for (key, result) in monitor.tick(again, settings.remotes.concurrency).await {
        log_poll(&key, &result);
        note_retry(retry, &mut polled, &key, &result);
    }
    let mut swept = 0;
    // The sweep spends what the budget has left, keeping a reserve for the next feed read.
    let budgeted = match &settings.remotes.budget {
        Some(budget) => (budget.available() - FEED_RESERVE).max(0.0).floor() as usize,
        None => watched.len(),
    };
    let unpolled: Vec<Artifact> = watched
        .iter()
        .filter(|a| !polled.contains(&a.key()))
        .cloned()
        .collect();
    match monitor
        .sweep(&unpolled, budgeted, settings.remotes.concurrency)
        .await
    {
        Ok(report) => {
            for (key, result) in &report.polled {
                log_poll(key, result);
                note_retry(retry, &mut polled, key, result);
            }
            swept = report.polled.len();
        }
        Err(e) => eprintln!("artifact-monitor: sweep: {e}"),
    }
    drain(monitor, webhook).await;
    eprintln!(
        "artifact-monitor: tick done in {} ms: feed {feed_note}; sweep {swept} package(s)",
        started.elapsed().as_millis()
    );
}

/// Stores the artifacts not registered yet. A new one is read in full at once (its
/// backfill); one whose policy changed is judged again in full first and stored with its new
/// policy only once that worked. Returns those that could not be registered (tried again
/// next tick).
async fn register(
    monitor: &Arc<LocalMonitor>,
    pending: Vec<Artifact>,
    concurrency: usize,
    retry: &mut HashSet<String>,
    polled: &mut HashSet<String>,
) -> Vec<Artifact> {
    let mut failed = Vec::new();
    let mut new = HashMap::new();
    for artifact in pending {
        let key = artifact.key();
        match monitor.store.artifact(&key).await {
            Ok(Some(stored)) if stored.policy != artifact.policy => {
                let result = monitor.poll(&artifact, true).await;
                note_retry(retry, polled, &key, &result);
                match result {
                    Ok(report) => {
                        eprintln!(
                            "artifact-monitor: {key}: policy changed, {} version(s) judged again, {} alert(s)",
                            report.judged.len(),
                            report.alerts
                        );
                        if let Err(e) = monitor.store.put_artifact(&artifact).await {
                            eprintln!("artifact-monitor: {key}: {e}");
                            failed.push(artifact);
                        }
                    }
                    Err(e) => {
                        eprintln!("artifact-monitor: {key}: policy change not applied yet: {e}");
                        failed.push(artifact);
                    }
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                new.insert(key, artifact);
            }
            Err(e) => {
                eprintln!("artifact-monitor: {key}: {e}");
                failed.push(artifact);
            }
        }
    }
    let batch: Vec<Artifact> = new.values().cloned().collect();
    for (key, result) in monitor.tick(batch, concurrency).await {
        log_poll(&key, &result);
        note_retry(retry, polled, &key, &result);
        let Some(artifact) = new.remove(&key) else {
            continue;
        };
        let stored = match result {
            Ok(_) => monitor
                .store
                .put_artifact(&artifact)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = stored {
            eprintln!("artifact-monitor: {key}: not registered yet: {e}");
            failed.push(artifact);
        }
    }
    failed
}

/// Notes that `key` was polled this tick, and keeps it in the retry set while its last poll
/// failed or left versions undecided.
fn note_retry(
    retry: &mut HashSet<String>,
    polled: &mut HashSet<String>,
    key: &str,
    result: &Result<PollReport, MonitorError>,
) {
    polled.insert(key.to_owned());
    if result.as_ref().is_ok_and(|r| !r.retry_pending) {
        retry.remove(key);
    } else {
        retry.insert(key.to_owned());
    }
}

fn log_poll(key: &str, result: &Result<PollReport, MonitorError>) {
    match result {
        Ok(report)
            if matches!(
                report.outcome,
                PollOutcome::NotModified | PollOutcome::Stale
            ) => {}
        Ok(report) => {
            eprintln!(
                "artifact-monitor: {key}: {} version(s) judged, {} alert(s){}",
                report.judged.len(),
                report.alerts,
                if report.outcome == PollOutcome::Missing {
                    ", package missing"
                } else {
                    ""
                }
            );
            for (version, error) in &report.failed {
                eprintln!("artifact-monitor: {key}@{version}: not judged yet: {error}");
            }
        }
        Err(e) => eprintln!("artifact-monitor: {key}: poll failed, retried later: {e}"),
    }
}

async fn drain(monitor: &LocalMonitor, webhook: Option<&Webhook>) {
    let delivery = Delivery {
        sink: webhook,
        limit: DRAIN_LIMIT,
    };
    match monitor.deliver(delivery, print_alert).await {
        Ok(report) => {
            for (id, error) in report.failed {
                eprintln!("artifact-monitor: alert {id} not delivered yet: {error}");
            }
        }
        Err(e) => eprintln!("artifact-monitor: outbox: {e}"),
    }
}
