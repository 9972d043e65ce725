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
use artifact_monitor::adapters::{HttpConfig, SystemClock, Webhook};
use artifact_monitor::domain::{Alert, Artifact};
use artifact_monitor::monitor::{Delivery, Monitor, MonitorConfig, PollOutcome};
use artifact_monitor::ports::Store;
use artifact_monitor::provenance::ProvenanceVerifier;
use artifact_monitor::store::RedbStore;
use clap::Args;
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
/// Alerts delivered per drain.
const DRAIN_LIMIT: usize = 1000;

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
        interval: Duration::from_secs(args.interval.or(config.interval_secs).unwrap_or(60).max(1)),
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
    eprintln!(
        "artifact-monitor: watching {} artifact(s) every {} s; store in {}; GitHub lookups {github_note}; webhook {}",
        settings.artifacts.len(),
        settings.interval.as_secs(),
        settings.data_dir.display(),
        if webhook.is_some() { "on" } else { "off" },
    );

    let mut stop = pin!(stop_requested());
    let mut stopping = false;
    loop {
        let work = tick(&monitor, &settings, webhook.as_ref());
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

async fn tick(monitor: &Arc<LocalMonitor>, settings: &Settings, webhook: Option<&Webhook>) {
    // An artifact whose policy changed since it was stored is judged again in full first;
    // it is stored with its new policy only once that worked.
    let mut artifacts = Vec::new();
    for artifact in &settings.artifacts {
        match monitor.store.artifact(&artifact.key()).await {
            Ok(Some(stored)) if stored.policy != artifact.policy => {
                match monitor.poll(artifact, true).await {
                    Ok(report) => {
                        eprintln!(
                            "artifact-monitor: {}: policy changed, {} version(s) judged again, {} alert(s)",
                            report.artifact,
                            report.judged.len(),
                            report.alerts
                        );
                        if let Err(e) = monitor.store.put_artifact(artifact).await {
                            eprintln!("artifact-monitor: {}: {e}", artifact.key());
                        }
                    }
                    Err(e) => eprintln!(
                        "artifact-monitor: {}: policy change not applied yet: {e}",
                        artifact.key()
                    ),
                }
            }
            Ok(Some(_)) => artifacts.push(artifact.clone()),
            Ok(None) => match monitor.store.put_artifact(artifact).await {
                Ok(_) => artifacts.push(artifact.clone()),
                Err(e) => eprintln!("artifact-monitor: {}: {e}", artifact.key()),
            },
            Err(e) => eprintln!("artifact-monitor: {}: {e}", artifact.key()),
        }
    }
    let concurrency = settings.remotes.concurrency;
    for (key, result) in monitor.tick(artifacts, concurrency).await {
        match result {
            Ok(report) if report.outcome == PollOutcome::NotModified => {}
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
            Err(e) => eprintln!("artifact-monitor: {key}: poll failed, retried next tick: {e}"),
        }
    }
    drain(monitor, webhook).await;
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
