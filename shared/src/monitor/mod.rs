//! Use-cases: the monitor's main job, written once over the ports, for every entry point.
//!
//! Two use-cases joined by one event (DESIGN §2, "one engine, two buses"):
//! - *detect* ([`Detector::detect`]) reads a watched package, writes what is new as due and
//!   emits one [`crate::domain::VersionPublished`] per new version on an `Events` bus;
//! - *judge* ([`Judge::judge`]) takes one event, gathers the facts (attestations verified
//!   offline, GitHub runs), lets the pure engine decide, and records the verdict with its
//!   alert.
//!
//! Around them: [`watchlist`] (the watched set: add, change, remove, sync a config file),
//! [`Detector::tick`] (feed → due queue → paced sweep → outbox, within a deadline and a
//! request allowance), [`Detector::deliver`] (the outbox). [`Monitor`] composes both
//! use-cases with the in-process bus ([`LocalBus`]) for the local program and the tests;
//! the AWS entry points compose them with other adapters.
//!
//! Nothing here logs or prints on its own: results are returned as reports, and the entry
//! point decides how to show them.

mod bus;
mod deliver;
mod detect;
mod due;
mod judge;
mod poll;
mod tick;
mod watch;
pub mod watchlist;

pub use bus::{LocalBus, NoBus};
pub use deliver::{Delivery, DeliveryReport};
pub use detect::{DetectReport, Detector, PollOutcome, Read};
pub use due::{DuePlan, DueReport};
pub use judge::Judge;
pub use poll::PollReport;
pub use tick::{TickPlan, TickReport};
pub use watch::{FeedReport, SweepReport, WatchConfig};

use crate::ports::{Clock, Registry, RemoteError, Runs, Store, StoreError};
use crate::provenance::ProvenanceVerifier;
use std::sync::Arc;

/// Tunables of the monitor.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// A version pending this long is alerted as unverifiable (and still retried).
    pub unverifiable_after_secs: i64,
    /// A pending version (or a failed read) is due again after this long.
    pub retry_pending_secs: i64,
    /// An event handed to the bus is emitted again after this long if no verdict came.
    pub redeliver_after_secs: i64,
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
            retry_pending_secs: 60,
            redeliver_after_secs: 5 * 60,
            run_search_before_secs: 6 * 3600,
            run_search_after_secs: 15 * 60,
            dashboard_url: None,
        }
    }
}

/// Why the monitor could not do something. Every variant means "could not decide": the
/// work stays due, never recorded as a verdict.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad input (an artifact or document that cannot be used): retrying does not help.
    #[error("{0}")]
    Invalid(String),
}

impl MonitorError {
    /// Whether the same work can succeed later (a Lambda reports it as a retryable
    /// failure, the API as 503); `false` for bad input and corrupt data.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Remote(_) => true,
            Self::Store(e) => e.retryable(),
            Self::Invalid(_) => false,
        }
    }
}

/// The local composition: detection and judging over the same adapters, joined by the
/// in-process bus.
#[derive(Debug)]
pub struct Monitor<R, G, S, C> {
    pub detector: Detector<R, S, C>,
    pub judge: Judge<R, G, S, C>,
    /// The store both use (a handle: clones share the data).
    pub store: S,
    /// Judgements at most at once on the in-process bus.
    pub concurrency: usize,
}

impl<R, G, S, C> Monitor<R, G, S, C>
where
    R: Registry + Clone,
    G: Runs,
    S: Store + Clone,
    C: Clock + Clone,
{
    pub fn new(
        registry: R,
        runs: Option<G>,
        store: S,
        clock: C,
        verifier: Arc<ProvenanceVerifier>,
    ) -> Self {
        let config = MonitorConfig::default();
        Self {
            detector: Detector {
                registry: registry.clone(),
                store: store.clone(),
                clock: clock.clone(),
                config: config.clone(),
            },
            judge: Judge {
                registry,
                runs,
                store: store.clone(),
                clock,
                verifier,
                config,
            },
            store,
            concurrency: 16,
        }
    }

    /// The same monitor with other tunables.
    pub fn with_config(mut self, config: MonitorConfig) -> Self {
        self.detector.config = config.clone();
        self.judge.config = config;
        self
    }

    /// The in-process bus: events judged at once.
    pub fn bus(&self) -> LocalBus<'_, R, G, S, C> {
        LocalBus {
            judge: &self.judge,
            concurrency: self.concurrency,
        }
    }
}
