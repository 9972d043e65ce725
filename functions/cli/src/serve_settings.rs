//! `serve`'s settings: its flags and config file turned into typed values, read once.

use crate::config::Config;
use crate::remote_args::{RemoteArgs, Remotes, TIMEOUT_SECS, within};
use artifact_monitor_core::domain::Artifact;
use artifact_monitor_core::monitor::{MonitorConfig, TickShape};
use artifact_monitor_http::{RequestBudget, bytes};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable holding the webhook URL (it may embed a secret).
pub const WEBHOOK_ENV: &str = "ARTIFACT_MONITOR_WEBHOOK_URL";
/// The packument size cap may be set from 1 MiB to 1 GiB.
const MIN_PACKUMENT: u64 = 1 << 20;
const MAX_PACKUMENT: u64 = 1 << 30;
/// The default registry request budget: about one request per second, sustained.
const DEFAULT_BUDGET_PER_SEC: f64 = 1.0;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML file listing the artifacts to watch and their policies.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Directory of the embedded store [default: .artifact-monitor, or data_dir in the config].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Seconds between polls [default: 60, or interval_secs in the config].
    #[arg(long, value_name = "SECS")]
    interval: Option<u64>,
    /// Run one tick, deliver alerts, and exit.
    #[arg(long)]
    pub once: bool,
    /// Changes feed base URL [default: the public npm feed when the registry is the public one].
    #[arg(long, value_name = "URL", conflicts_with = "no_changes_feed")]
    changes_feed: Option<String>,
    /// Do not follow any feed (npm's changes feed, the index's RSS): the paced sweep alone
    /// finds new versions.
    #[arg(long)]
    no_changes_feed: bool,
    /// The Python package index's base URL, for PyPI artifacts [default: https://pypi.org,
    /// or index in the config].
    #[arg(long, value_name = "URL")]
    index: Option<String>,
    /// Registry requests per second, sustained, shared by the feed, the sweep and every
    /// other registry read [default: 1]; 0 for no budget.
    #[arg(long, value_name = "N")]
    registry_budget: Option<f64>,
    /// POST every alert to this URL (prefer the ARTIFACT_MONITOR_WEBHOOK_URL variable: a
    /// command line is visible to other users of the machine).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Where the HTTP API and the dashboard listen [default: 127.0.0.1:8080, or listen in
    /// the config].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// How the log on stderr is written.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// The log's format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event (for log pipelines).
    Json,
}

pub struct Settings {
    /// The config file, as named on the command line (the owner of its artifacts).
    pub config_file: String,
    pub artifacts: Vec<Artifact>,
    pub data_dir: PathBuf,
    pub interval: Duration,
    pub once: bool,
    pub remotes: Remotes,
    pub webhook: Option<String>,
    pub monitor: MonitorConfig,
    /// Where the API and the dashboard listen.
    pub listen: std::net::SocketAddr,
}

/// Where the API listens unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub fn settings(args: &ServeArgs, config: Config) -> Result<Settings, String> {
    let listen_text = args
        .listen
        .clone()
        .or(config.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen: std::net::SocketAddr = listen_text.parse().map_err(|_| {
        format!(
            "listen = {:?} is not an address and port such as {DEFAULT_LISTEN}",
            artifact_monitor_core::domain::printable(&listen_text)
        )
    })?;
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
        remotes.timeout = Duration::from_secs(within("timeout_secs", secs, TIMEOUT_SECS)?);
    }
    if let Some(concurrency) = config.concurrency {
        remotes.concurrency = within("concurrency", concurrency, 1..=256)?;
    }
    if let Some(bytes) = config.max_packument_bytes {
        remotes.max_packument_bytes =
            within("max_packument_bytes", bytes, MIN_PACKUMENT..=MAX_PACKUMENT)?;
    }
    if let Some(bytes) = config.max_bytes_in_flight {
        remotes.bytes_in_flight = within(
            "max_bytes_in_flight",
            bytes,
            bytes::MIN_BYTES_IN_FLIGHT..=bytes::MAX_BYTES_IN_FLIGHT,
        )?;
    }
    remotes.apply(&args.remote)?;
    remotes.changes_feed = if args.no_changes_feed || config.changes_feed == Some(false) {
        None
    } else {
        args.changes_feed
            .clone()
            .or(config.changes_feed_url)
            .or_else(|| remotes.default_changes_feed())
    };
    if let Some(index) = args.index.clone().or(config.index) {
        remotes.index = index;
    }
    remotes.index_feed = !args.no_changes_feed && config.index_feed != Some(false);
    let interval = Duration::from_secs(within(
        "interval_secs",
        args.interval.or(config.interval_secs).unwrap_or(60),
        1..=86_400,
    )?);
    let per_sec = args
        .registry_budget
        .or(config.registry_requests_per_sec)
        .unwrap_or(DEFAULT_BUDGET_PER_SEC);
    if !per_sec.is_finite() {
        return Err(format!(
            "a registry budget of {per_sec} requests per second is not one"
        ));
    }
    let per_sec = within("registry_requests_per_sec", per_sec, 0.0..=10_000.0)?;
    // The bucket holds one interval's worth plus the reserve the sweep leaves, so each tick
    // may spend everything the last one earned.
    remotes.budget = (per_sec > 0.0).then(|| {
        Arc::new(RequestBudget::new(
            per_sec,
            TickShape::LOCAL.budget_burst(per_sec, interval),
        ))
    });
    let webhook_env = config.webhook_url_env.as_deref().unwrap_or(WEBHOOK_ENV);
    let webhook = args
        .webhook
        .clone()
        .or_else(|| std::env::var(webhook_env).ok().filter(|u| !u.is_empty()));
    let mut monitor = MonitorConfig::default();
    if let Some(secs) = config.unverifiable_after_secs {
        monitor.unverifiable_after_secs =
            within("unverifiable_after_secs", secs, 0..=30 * 24 * 3600)?;
    }
    Ok(Settings {
        config_file: args.config.display().to_string(),
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
        listen,
    })
}
