//! artifact-monitor: decides, with evidence, whether a released npm version came out of its
//! owner's authorised GitHub Actions workflow.
//!
//! - [`domain`] holds the vocabulary (package names, repositories, workflow paths, evidence,
//!   release policies) and the pure decisions over it. It does no I/O and imports no crypto.
//! - [`provenance`] verifies Sigstore bundles and npm attestation responses offline and turns
//!   them into [`domain::Evidence`]. It is the only module that touches signatures.

pub mod adapters;
#[cfg(feature = "api")]
pub mod api;
pub mod domain;
pub mod monitor;
pub mod ports;
#[cfg(feature = "verify")]
pub mod provenance;
pub mod store;
