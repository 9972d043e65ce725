//! Use-cases: the monitor's main job, written once over the ports.
//!
//! - [`Monitor::poll`] reads one watched package, judges every version it has not judged
//!   yet (all of them on the first read: the backfill), records verdicts with their alerts,
//!   raises package-level signals, and retries pending versions.
//! - [`Monitor::judge`] gathers the facts for one version (attestations verified offline,
//!   GitHub runs) and hands them to the pure verdict engine.
//! - [`Monitor::deliver`] drains the alert outbox.
//!
//! Nothing here logs or prints on its own: results are returned as reports, and the entry
//! point decides how to show them.

mod deliver;
mod judge;
mod poll;
mod watch;

pub use deliver::{Delivery, DeliveryReport};
pub use poll::{JudgedVersion, PollOutcome, PollReport, Read};
pub use watch::{FeedReport, SweepReport, WatchConfig};

use crate::ports::{Clock, Registry, RemoteError, Runs, Store, StoreError};
use crate::provenance::ProvenanceVerifier;
use std::sync::Arc;

/// Tunables of the monitor.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// A version pending this long is alerted as unverifiable (and still retried).
    pub unverifiable_after_secs: i64,
    /// Runs created this long before a publish are searched for (versions without provenance).
    pub run_search_before_secs: i64,
    /// ... and this long after.
    pub run_search_after_secs: i64,
    /// Where the dashboard lives, for links in alerts (optional).
    pub dashboard_url: Option<String>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            unverifiable_after_secs: 30 * 60,
            run_search_before_secs: 6 * 3600,
            run_search_after_secs: 15 * 60,
            dashboard_url: None,
        }
    }
}

/// Why the monitor could not do something. Every variant means "could not decide": the
/// work is retried, never recorded as a verdict.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// The monitor over its ports. `runs` is `None` when GitHub lookups are turned off.
#[derive(Debug)]
pub struct Monitor<R, G, S, C> {
    pub registry: R,
    pub runs: Option<G>,
    pub store: S,
    pub clock: C,
    pub verifier: Arc<ProvenanceVerifier>,
    pub config: MonitorConfig,
}

impl<R: Registry, G: Runs, S: Store, C: Clock> Monitor<R, G, S, C> {
    pub fn new(
        registry: R,
        runs: Option<G>,
        store: S,
        clock: C,
        verifier: Arc<ProvenanceVerifier>,
    ) -> Self {
        Self {
            registry,
            runs,
            store,
            clock,
            verifier,
            config: MonitorConfig::default(),
        }
    }
}
