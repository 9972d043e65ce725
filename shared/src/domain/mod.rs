//! The domain: types that carry their invariants, and pure decisions over them.
//!
//! Nothing here performs I/O, reads the clock or imports a crypto, HTTP or AWS crate.

mod alert;
mod artifact;
mod changes;
mod evidence;
mod github;
mod package;
mod packument;
mod policy;
mod records;
mod run;
mod verdict;

pub use alert::{Alert, AlertArtifact, AlertKind};
pub use artifact::{Artifact, PolicySpec, artifact_key};
pub use changes::{
    BURST_COUNT, BURST_WINDOW_SECS, Changes, Snapshot, TagMove, diff, version_signals,
};
pub use evidence::{Evidence, RunnerEnvironment};
pub use github::{RefPattern, RepositoryName, WorkflowPath, WorkflowRef};
pub use package::{PackageName, PackageNameError, npm_purl, sri_sha512};
pub use packument::{
    Dist, DistAttestations, InstallScripts, Packument, PackumentError, Publisher, VersionManifest,
    format_time, parse_time,
};
pub use policy::{PolicyError, PolicyViolation, ReleasePolicy, ReusableWorkflowPattern};
pub use records::{
    FeedState, OutboxEntry, PollState, Recorded, Transition, Validators, VersionRecord,
};
pub use run::RunFacts;
pub use verdict::{
    ALERTING_REASONS, Compliance, Confidence, Facts, PUBLISH_SLACK_SECS, Provenance,
    ProvenanceFailure, RUN_RETENTION_SECS, RunLookup, RunSearch, Signal, Verdict, VerdictEvidence,
    decide,
};
