//! The core of artifact-monitor: decides, with evidence, whether a released version came out
//! of its owner's authorised GitHub Actions workflow.
//!
//! - [`domain`] holds the vocabulary (package names, repositories, workflow paths, evidence,
//!   release policies) and the pure decisions over it. It does no I/O.
//! - [`ports`] are the capabilities the use-cases need from the world (a registry, GitHub's
//!   runs, offline provenance verification, the store, alerts, events, a clock), named for the
//!   capability and speaking domain types only.
//! - [`monitor`] holds the use-cases, written once over the ports for every entry point:
//!   detect, judge, the tick, the watched set, delivery.
//! - [`store`] holds the store's semantics over a small key-value transaction interface and
//!   the in-memory store; the embedded on-disk store is the `artifact-monitor-embedded` crate.
//!
//! This crate imports no HTTP, database, crypto or AWS crate: each edge is a crate of its own
//! (`artifact-monitor-verify`, `-http`, `-embedded`, `-api`, `-aws`) that implements ports.

mod clock;
pub mod domain;
pub mod monitor;
pub mod ports;
pub mod registry;
pub mod store;

pub use clock::SystemClock;
