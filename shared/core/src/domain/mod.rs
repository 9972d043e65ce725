//! The domain: types that carry their invariants, and pure decisions over them.
//!
//! Nothing here performs I/O, reads the clock or imports a crypto, HTTP or AWS crate.

mod access;
mod alert;
mod artifact;
mod correlation;
mod declaration;
mod detection;
mod event;
mod evidence;
mod github;
mod policy;
mod publisher;
mod reason;
mod records;
mod run;
mod text;
mod time;
mod verdict;
mod watch;

pub use access::Writers;
pub use alert::{Alert, AlertArtifact, AlertKind};
pub use artifact::{Artifact, ArtifactError, PolicySpec, artifact_key};
pub use correlation::{Lookups, Miss, RunContext, builds_version, check_run, lookups, run_misses};
pub use declaration::{Declarations, FieldError, FieldNames, MAX_FIELD_CHARS, MAX_LIST};
pub use detection::{Found, ReadKind, versions_to_judge};
pub use event::{
    ArtifactRef, EmitReason, EventError, FileFacts, RecentVersion, VERSION_PUBLISHED_SCHEMA,
    VERSION_VERIFIED_SCHEMA, VersionPublished, VersionVerified,
};
pub use evidence::{Evidence, RunnerEnvironment};
pub use github::{GithubNameError, RefPattern, RepositoryName, WorkflowPath, WorkflowRef};
pub use policy::{PolicyError, PolicyViolation, ReleasePolicy, ReusableWorkflowPattern};
pub use publisher::Publisher;
pub use reason::{Reason, Severity, UnknownReason};
pub use records::{
    FeedPosition, FeedState, JudgedVersion, MAX_SEQUENCE_LEN, OutboxEntry, PollState, Recorded,
    Transition, Validators, VersionRecord, usable_sequence,
};
pub use run::{
    DeploymentFacts, HOSTED_RUNNER_GROUP_ID, HOSTED_RUNNER_GROUP_NAME, JobFacts, RunFacts, RunRef,
    RunnerKind, RunnerSeen, publishing_runners, run_id_in_url,
};
pub use text::printable;
pub use time::{format_time, parse_time};
pub use verdict::{
    ALERTING_REASONS, Compliance, Confidence, Facts, FileVerdict, PUBLISH_SLACK_SECS, Provenance,
    ProvenanceFailure, RUN_RETENTION_SECS, RunLookup, RunSearch, Signal, Verdict, VerdictEvidence,
    decide,
};
pub use watch::{
    ArtifactSource, BackfillProgress, DueCounts, DueItem, DuePriority, DueWork, Summary,
    VersionCounts, WatchedArtifact, judge_id, read_id, summarise_id,
};
