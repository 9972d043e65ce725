//! `serve`'s log: structured events on stderr (text or JSON lines) for what the library's
//! reports say. Identifiers are both in the message and in fields (`artifact`, `version`),
//! durations in `duration_ms`. No secret reaches it: the webhook URL and the GitHub token
//! are never part of a report.

use crate::serve_settings::{LogFormat, Settings};
use artifact_monitor_core::domain::{Alert, Compliance, Reason, printable};
use artifact_monitor_core::monitor::watchlist::SyncReport;
use artifact_monitor_core::monitor::{
    DeliveryReport, DetectReport, MonitorError, PollOutcome, TickReport,
};
use artifact_monitor_core::ports::Changes as _;
use artifact_monitor_http::Feed;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Duration;
use tracing::{info, warn};

/// Installs the subscriber: `RUST_LOG`-style levels are not needed; everything at INFO and
/// above goes to stderr.
pub fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

pub fn synced(file: &str, report: &SyncReport) {
    info!(
        config = file,
        added = report.added.len(),
        changed = report.changed.len(),
        removed = report.removed.len(),
        unchanged = report.unchanged,
        "artifact-monitor: {file}: {} artifact(s) added, {} changed, {} removed, {} unchanged",
        report.added.len(),
        report.changed.len(),
        report.removed.len(),
        report.unchanged,
    );
    for key in &report.changed {
        info!(artifact = %key, "artifact-monitor: {key}: policy changed; every version is judged again");
    }
    for key in &report.removed {
        info!(artifact = %key, "artifact-monitor: {key}: no longer in the config file; no longer watched");
    }
}

pub fn started(settings: &Settings, feeds: &[Feed], github: bool, webhook: bool) {
    let feeds = if feeds.is_empty() {
        "off (sweep only)".to_owned()
    } else {
        feeds
            .iter()
            .map(|f| f.registry().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let budget = match &settings.remotes.budget {
        Some(budget) => format!("{} registry request(s)/s", budget.per_sec()),
        None => "no registry budget".to_owned(),
    };
    info!(
        interval_secs = settings.interval.as_secs(),
        data_dir = %settings.data_dir.display(),
        "artifact-monitor: watching the artifacts of {} every {} s; feeds {feeds}; {budget}; store in {}; GitHub lookups {}; webhook {}",
        settings.config_file,
        settings.interval.as_secs(),
        settings.data_dir.display(),
        if github { "on" } else { "off" },
        if webhook { "on" } else { "off" },
    );
}

/// Where the dashboard is and which token signs in to it (never the token itself).
pub fn listening(address: std::net::SocketAddr, token: &str) {
    info!(
        listen = %address,
        "artifact-monitor: dashboard and API at http://{address}/ (sign in with {token})"
    );
}

fn detection(key: &str, result: &Result<DetectReport, MonitorError>) {
    match result {
        Ok(report)
            if matches!(
                report.outcome,
                PollOutcome::NotModified | PollOutcome::Stale | PollOutcome::Skipped
            ) => {}
        Ok(report) => {
            info!(
                artifact = %key,
                scheduled = report.scheduled,
                alerts = report.alerts,
                backfill = report.backfill,
                "artifact-monitor: {key}: {} version(s) to judge{}{}",
                report.scheduled,
                if report.backfill { " (backfill)" } else { "" },
                if report.outcome == PollOutcome::Missing { ", package missing" } else { "" },
            );
        }
        Err(e) => {
            warn!(artifact = %key, error = %e, "artifact-monitor: {key}: read failed, retried later: {e}")
        }
    }
}

/// An alert, once, as one JSON line on standard output (the logs go to standard error).
pub fn print_alert(alert: &Alert) {
    if let Ok(line) = serde_json::to_string(alert) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

pub fn tick(report: &TickReport) {
    let mut notes = Vec::new();
    for (registry, result) in &report.feeds {
        match result {
            Ok(feed) if feed.idle => {}
            Ok(feed) => {
                if feed.started_at_end {
                    info!(registry = %registry, "artifact-monitor: following the {registry} feed from its end");
                }
                if let Some(why) = &feed.unusable_since {
                    warn!(registry = %registry, "artifact-monitor: {why}; following the {registry} feed from its end again");
                }
                if feed.reset {
                    info!(registry = %registry,
                        "artifact-monitor: the {registry} feed started over; sweeping every artifact again"
                    );
                }
                if feed.missed {
                    warn!(registry = %registry,
                        "artifact-monitor: the {registry} feed no longer holds every release since its last read; the sweep finds the ones missed"
                    );
                }
                notes.push(format!(
                    "{registry} {} change(s), {} hit(s)",
                    feed.changes,
                    feed.hits.len()
                ));
            }
            Err(e) => {
                notes.push(format!("{registry} unavailable"));
                warn!(registry = %registry, error = %e, "artifact-monitor: the {registry} feed is unavailable, the sweep carries on: {e}");
            }
        }
    }
    let feed_note = if notes.is_empty() {
        "idle".to_owned()
    } else {
        notes.join(", ")
    };
    // Every package read (feed hits, due reads, the sweep), and what its read handed to the
    // in-process bus; then what the due queue's own judgements gave.
    let mut judged = Vec::new();
    let mut failed = Vec::new();
    for (key, result) in report.reads() {
        detection(key, result);
        if let Ok(hit) = result {
            judged.extend(hit.emitted.judged.iter());
            failed.extend(hit.emitted.failed.iter());
        }
    }
    match &report.due {
        Some(Ok(due)) => {
            judged.extend(due.emitted.judged.iter());
            failed.extend(due.emitted.failed.iter());
            for key in &due.summarised {
                info!(artifact = %key, "artifact-monitor: {key}: backfill complete");
            }
        }
        Some(Err(e)) => warn!(error = %e, "artifact-monitor: due work: {e}"),
        None => {}
    }
    let swept = match &report.sweep {
        Some(Ok(sweep)) => sweep.polled.len(),
        Some(Err(e)) => {
            warn!(error = %e, "artifact-monitor: sweep: {e}");
            0
        }
        None => 0,
    };
    // One line per artifact with what was judged, one per version that alerted.
    let mut by_artifact: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for j in &judged {
        let counts = by_artifact.entry(j.artifact.as_str()).or_default();
        counts[match j.compliance {
            Compliance::Compliant => 0,
            Compliance::NonCompliant => 1,
            Compliance::Pending => 2,
        }] += 1;
        counts[3] += j.alerts;
        if j.alerts > 0 {
            let version = printable(&j.version);
            info!(
                artifact = %j.artifact, version = %version,
                compliance = j.compliance.as_str(), confidence = j.confidence.as_str(),
                "artifact-monitor: {}@{version}: {} ({}), alerted",
                j.artifact, j.compliance.as_str(), Reason::join(&j.reasons, ","),
            );
        }
    }
    for (key, [compliant, non_compliant, pending, alerts]) in &by_artifact {
        info!(
            artifact = %key, compliant, non_compliant, pending, alerts,
            "artifact-monitor: {key}: {} version(s) judged: {compliant} compliant, {non_compliant} non-compliant, {pending} pending; {alerts} alert(s)",
            compliant + non_compliant + pending,
        );
    }
    for f in &failed {
        let (version, error) = (printable(&f.version), printable(&f.error));
        warn!(artifact = %f.artifact, version = %version, error = %error,
            "artifact-monitor: {}@{version}: not judged yet: {error}", f.artifact);
    }
    if let Some(delivery) = &report.delivery {
        self::delivery(delivery);
    }
    let left = report.left;
    info!(
        duration_ms = report.duration_ms as u64,
        judged = judged.len(),
        swept,
        due_reads = left.reads,
        due_judgements = left.judgements,
        cut_short = report.cut_short,
        "artifact-monitor: tick done in {} ms: feeds {feed_note}; {} version(s) judged; sweep {swept} package(s); still due: {} first read(s) or re-read(s), {} judgement(s){}",
        report.duration_ms,
        judged.len(),
        left.reads,
        left.judgements,
        if report.cut_short {
            "; cut short by its deadline"
        } else {
            ""
        },
    );
}

pub fn delivery(result: &Result<DeliveryReport, MonitorError>) {
    match result {
        Ok(report) => {
            for (id, error) in &report.failed {
                warn!(alert = %id, error = %error, "artifact-monitor: alert {id} not delivered yet: {error}");
            }
        }
        Err(e) => warn!(error = %e, "artifact-monitor: outbox: {e}"),
    }
}

pub fn stopping(grace: Duration) {
    info!(
        "artifact-monitor: stopping; finishing the current tick (at most {} s)",
        grace.as_secs()
    );
}

pub fn cut_short() {
    warn!("artifact-monitor: tick cut short; unfinished work resumes on restart");
}
