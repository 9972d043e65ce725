//! Use-cases: the monitor's main job, written once over the ports, for every entry point.
//!
//! Two use-cases joined by one event ("one engine, two buses"):
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
mod config;
mod deliver;
mod detect;
mod due;
mod error;
mod judge;
mod local;
mod tick;
mod watch;
pub mod watchlist;

pub use bus::LocalBus;
pub use bus::NoBus;
pub use config::MonitorConfig;
pub use deliver::{Delivery, DeliveryReport};
pub use detect::{DetectReport, Detector, PollOutcome, Read};
pub use due::{DuePlan, DueReport};
pub use error::MonitorError;
pub use judge::Judge;
pub use local::{Monitor, PollReport};
pub use tick::{SWEEP_ROUND_SECS, TickPlan, TickRead, TickReport, TickShape, TickSummary};
pub use watch::{FeedReport, SweepReport, WatchConfig};
