//! Ports: the capabilities the use-cases need from the outside world, in domain terms.
//!
//! Adapters implement them for a technology (`NpmRegistry`, `GithubRuns`, `RedbStore`);
//! fakes implement them for their behaviour (`MemoryStore`). No vendor type crosses a port.

use crate::domain::{
    Alert, Artifact, FeedState, OutboxEntry, PackageName, PollState, Recorded, RepositoryName,
    RunFacts, Validators, VersionRecord, WorkflowPath,
};
use std::future::Future;

/// Why a remote service could not answer. Every variant means "could not decide": the work
/// is retried later, never turned into a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("{0} not reachable: {1}")]
    Unreachable(&'static str, String),
    #[error("{0} answered HTTP {1}")]
    Status(&'static str, u16),
    #[error("{0} rate limit reached; retry after {1} s")]
    RateLimited(&'static str, u64),
    #[error("{0} response is larger than the {1}-byte limit")]
    TooLarge(&'static str, u64),
    #[error("{0} response is not valid: {1}")]
    Invalid(&'static str, String),
}

/// The result of a conditional packument read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackumentFetch {
    /// 304: nothing changed since the validators were issued.
    NotModified,
    Modified {
        body: Vec<u8>,
        validators: Validators,
    },
    /// 404: the package does not exist (or was fully unpublished).
    Missing,
}

/// A package registry (npm).
pub trait Registry: Send + Sync {
    /// The full packument, conditionally on `validators`.
    fn packument(
        &self,
        name: &PackageName,
        validators: &Validators,
    ) -> impl Future<Output = Result<PackumentFetch, RemoteError>> + Send;

    /// The attestations document of one version; `None` when the registry has none (404).
    fn attestations(
        &self,
        name: &PackageName,
        version: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, RemoteError>> + Send;

    /// The full packument read past any cache (for a package the changes feed just named:
    /// a cached copy can be minutes stale).
    fn packument_fresh(
        &self,
        name: &PackageName,
    ) -> impl Future<Output = Result<PackumentFetch, RemoteError>> + Send;

    /// A tarball, checked against its `sha512-…` integrity.
    fn tarball(
        &self,
        url: &str,
        integrity: &str,
    ) -> impl Future<Output = Result<Vec<u8>, RemoteError>> + Send;
}

/// One page of a registry's changes feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesPage {
    /// Package names changed (or deleted), in feed order; a name may repeat.
    pub names: Vec<String>,
    /// How many results the page held.
    pub results: usize,
    /// The sequence to ask from next (opaque).
    pub last_seq: String,
}

/// A registry's replication changes feed: which packages changed since a sequence.
pub trait Changes: Send + Sync {
    /// The current end of the feed (where following starts when nothing is stored).
    fn current_seq(&self) -> impl Future<Output = Result<String, RemoteError>> + Send;
    /// At most `limit` changes after `since`.
    fn changes_since(
        &self,
        since: &str,
        limit: usize,
    ) -> impl Future<Output = Result<ChangesPage, RemoteError>> + Send;
}

/// A job of a workflow run, as far as a verdict cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFacts {
    pub id: u64,
    pub name: String,
    pub labels: Vec<String>,
    pub runner_name: Option<String>,
    pub conclusion: Option<String>,
}

/// GitHub Actions runs.
pub trait Runs: Send + Sync {
    /// One run by id; `None` when GitHub does not know it (404, or deleted after retention).
    fn run(
        &self,
        repository: &RepositoryName,
        id: u64,
    ) -> impl Future<Output = Result<Option<RunFacts>, RemoteError>> + Send;

    /// Runs of one workflow file created within `[from, to]` (seconds since the epoch).
    fn runs_between(
        &self,
        repository: &RepositoryName,
        workflow: &WorkflowPath,
        from: i64,
        to: i64,
    ) -> impl Future<Output = Result<Vec<RunFacts>, RemoteError>> + Send;

    /// The jobs of a run.
    fn jobs(
        &self,
        repository: &RepositoryName,
        run_id: u64,
    ) -> impl Future<Output = Result<Vec<JobFacts>, RemoteError>> + Send;
}

/// Why the store failed. The operation had no effect.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Artifacts, versions with verdicts, poll state and the alert outbox.
///
/// Every write is idempotent. [`Store::record`] writes a verdict and its alert together, or
/// neither; recording the same decision again changes nothing and enqueues nothing; an alert
/// id is enqueued at most once, ever.
pub trait Store: Send + Sync {
    /// Adds or replaces an artifact; returns the previous definition.
    fn put_artifact(
        &self,
        artifact: &Artifact,
    ) -> impl Future<Output = Result<Option<Artifact>, StoreError>> + Send;
    fn artifact(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Artifact>, StoreError>> + Send;
    /// All artifacts, ordered by key.
    fn artifacts(&self) -> impl Future<Output = Result<Vec<Artifact>, StoreError>> + Send;
    /// Removes an artifact with its versions and poll state; returns whether it existed.
    fn delete_artifact(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn poll_state(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<PollState>, StoreError>> + Send;
    fn put_poll_state(
        &self,
        key: &str,
        state: &PollState,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn version(
        &self,
        key: &str,
        version: &str,
    ) -> impl Future<Output = Result<Option<VersionRecord>, StoreError>> + Send;
    /// All versions of an artifact, ordered by version string.
    fn versions(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Vec<VersionRecord>, StoreError>> + Send;

    /// Records a version's verdict and, atomically with it, enqueues `alert`, unless the
    /// stored decision is the same (then nothing happens). A changed decision keeps the old
    /// one in the record's history.
    fn record(
        &self,
        key: &str,
        record: &VersionRecord,
        alert: Option<&Alert>,
        now: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Where following the changes feed and the sweep stand.
    fn feed_state(&self) -> impl Future<Output = Result<FeedState, StoreError>> + Send;
    fn put_feed_state(
        &self,
        state: &FeedState,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Enqueues an alert not tied to a verdict; `false` if that alert id was ever enqueued.
    fn enqueue(
        &self,
        alert: &Alert,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Alerts not yet delivered, oldest first.
    fn outbox(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, StoreError>> + Send;
    /// Notes that the alert was printed locally.
    fn mark_printed(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Notes a failed delivery attempt.
    fn mark_failed(
        &self,
        id: &str,
        error: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes a delivered alert from the outbox (its id stays known).
    fn mark_delivered(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The time, injectable so tests control it.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// Somewhere alerts are delivered (a webhook here, SNS in AWS).
pub trait Alerts: Send + Sync {
    /// Delivers one alert; `Ok` only once the receiver accepted it.
    fn deliver(&self, alert: &Alert) -> impl Future<Output = Result<(), RemoteError>> + Send;
}
