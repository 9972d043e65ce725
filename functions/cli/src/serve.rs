//! `artifact-monitor serve`: the monitor's tick on a timer, over the embedded on-disk store,
//! and beside it the HTTP API and the dashboard (the library's router) on the same store.
//!
//! Wiring only: settings → adapters → the config file synced into the store (the watched
//! set) → the API token (see `api_token`) and the router on `--listen` → one library tick
//! per interval (or at once when the API made work due), each bounded by the interval as
//! its deadline → its report logged. Alerts are printed once as JSON lines on stdout and, with a webhook,
//! POSTed until accepted. Ctrl-C (or SIGTERM) lets the current tick finish (bounded),
//! drains the outbox and exits; whatever was cut short is still due in the store, and a
//! restart never re-alerts (alert ids are enqueued once, ever).

use crate::api_token::{self, TOKEN_ENV};
use crate::config;
use crate::logging;
use crate::serve_settings::{ServeArgs, Settings, settings};
use crate::shutdown;
use artifact_monitor_api as api;
use artifact_monitor_core::SystemClock;
use artifact_monitor_core::monitor::{Monitor, TickShape, watchlist};
use artifact_monitor_core::ports::{Allowance, Clock};
use artifact_monitor_embedded::RedbStore;
use artifact_monitor_http::{HttpConfig, Webhook};
use artifact_monitor_verify::ProvenanceVerifier;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How long a tick may run on after Ctrl-C before it is cut short.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("artifact-monitor serve: {message}");
    ExitCode::from(2)
}

pub fn run(args: &ServeArgs) -> ExitCode {
    let settings = match config::load(&args.config).and_then(|c| settings(args, c)) {
        Ok(settings) => settings,
        Err(e) => return usage(e),
    };
    logging::init(args.log_format);
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

async fn serve(settings: Settings) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&settings.data_dir) {
        return usage(format!("{}: {e}", settings.data_dir.display()));
    }
    let store = match RedbStore::open(&settings.data_dir.join("monitor.redb")) {
        Ok(store) => store,
        Err(e) => return usage(e),
    };
    let remotes = &settings.remotes;
    let (registry, runs, feeds) = match (remotes.registries(), remotes.github(), remotes.feeds()) {
        (Ok(registry), Ok(runs), Ok(feeds)) => (registry, runs, feeds),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return usage(e),
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
    let github = runs.is_some();
    let mut monitor = Monitor::new(registry, runs, store.clone(), SystemClock, verifier)
        .with_config(settings.monitor.clone());
    monitor.concurrency = remotes.concurrency;
    let synced = watchlist::sync_config(
        &store,
        settings.artifacts.clone(),
        &settings.config_file,
        SystemClock.now(),
    )
    .await;
    match synced {
        Ok(report) => logging::synced(&settings.config_file, &report),
        Err(e) => return usage(format!("cannot load the artifacts into the store: {e}")),
    }
    // The store is this process's alone: judgements a stopped or crashed one left in
    // flight run in the first tick, not five minutes later.
    match monitor.resume_in_flight().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            resumed = n,
            "artifact-monitor: {n} judgement(s) left in flight by the last run are due now"
        ),
        Err(e) => return usage(format!("cannot read the store: {e}")),
    }
    logging::started(&settings, &feeds, github, webhook.is_some());

    // The API and the dashboard, on the same store (not for a single tick).
    let wake = Arc::new(tokio::sync::Notify::new());
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let server = if settings.once {
        None
    } else {
        let (token, source) =
            match api_token::load(std::env::var(TOKEN_ENV).ok(), &settings.data_dir) {
                Ok(loaded) => loaded,
                Err(e) => return usage(e),
            };
        let listener = match tokio::net::TcpListener::bind(settings.listen).await {
            Ok(listener) => listener,
            Err(e) => return usage(format!("cannot listen on {}: {e}", settings.listen)),
        };
        let address = listener.local_addr().unwrap_or(settings.listen);
        let app = api::app(api::ApiState {
            store: store.clone(),
            auth: api::ApiAuth::Token(token),
            clock: Arc::new(SystemClock),
            wake: Some(wake.clone()),
            hosts: api::loopback_hosts(address),
        });
        logging::listening(address, &source.to_string());
        let stop = shutdown.clone();
        Some(tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.notified().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "artifact-monitor: the API stopped: {e}");
            }
        }))
    };

    let allowance = remotes.budget.as_deref().map(|b| b as &dyn Allowance);
    let mut stop = pin!(shutdown::requested());
    loop {
        let deadline = tokio::time::Instant::now() + settings.interval;
        let plan = TickShape::LOCAL.plan(deadline, allowance, remotes.concurrency);
        let delivery = TickShape::LOCAL.delivery(webhook.as_ref());
        let mut work = pin!(monitor.tick(&feeds, delivery, &logging::print_alert, plan));
        let mut stopping = false;
        tokio::select! {
            report = &mut work => logging::tick(&report),
            () = &mut stop => {
                stopping = true;
                logging::stopping(SHUTDOWN_GRACE);
                match tokio::time::timeout(SHUTDOWN_GRACE, &mut work).await {
                    Ok(report) => logging::tick(&report),
                    Err(_) => logging::cut_short(),
                }
            }
        }
        if stopping || settings.once {
            break;
        }
        // The next tick at the interval, or at once when the API made work due (an
        // artifact added, a scan), but no sooner than a second after the last.
        tokio::select! {
            () = tokio::time::sleep(settings.interval) => {}
            () = async {
                wake.notified().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            } => {}
            () = &mut stop => break,
        }
    }
    if let Some(server) = server {
        shutdown.notify_one();
        if tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .is_err()
        {
            tracing::warn!("artifact-monitor: open API connections cut at shutdown");
        }
    }
    // Whatever is still in the outbox goes out now, or on the next start.
    let delivery = TickShape::LOCAL.delivery(webhook.as_ref());
    logging::delivery(&monitor.deliver(delivery, logging::print_alert).await);
    tracing::info!("artifact-monitor: stopped");
    ExitCode::SUCCESS
}
