//! Ports: the capabilities the use-cases need from the outside world, in domain terms.
//!
//! Adapters implement them for a technology (`NpmRegistry`, `GithubRuns`, `RedbStore`);
//! fakes implement them for their behaviour (`MemoryStore`). No vendor type crosses a port.

use crate::domain::{
    Alert, ArtifactRef, DueCounts, DueItem, Evidence, FeedState, JudgedVersion, OutboxEntry,
    PollState, Recorded, RepositoryName, RunFacts, Summary, Validators, VersionPublished,
    VersionRecord, VersionVerified, WatchedArtifact, WorkflowPath,
};
use crate::registry::RegistryType;
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

/// A response body handed on by an adapter. It may hold a share of the process's budget of
/// bytes in flight, given back when the body is dropped: parse it, then drop it, before
/// asking for the next one.
pub struct Body {
    bytes: Vec<u8>,
    _hold: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Body {
    /// Bytes that keep `hold` alive as long as they are.
    pub fn held(bytes: Vec<u8>, hold: Box<dyn std::any::Any + Send + Sync>) -> Self {
        Self {
            bytes,
            _hold: Some(hold),
        }
    }

    /// The bytes, no longer counted against any budget.
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self { bytes, _hold: None }
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// A copy of the bytes; the copy is not counted against the budget.
impl Clone for Body {
    fn clone(&self) -> Self {
        Self::from(self.bytes.clone())
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Body {}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Body({} bytes)", self.bytes.len())
    }
}

/// The result of a conditional read of an artifact's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentFetch {
    /// 304: nothing changed since the validators were issued.
    NotModified,
    Modified {
        body: Body,
        validators: Validators,
    },
    /// 404: the artifact does not exist (or was fully removed).
    Missing,
}

/// The registries: where an artifact's document and a version's evidence are read. The
/// adapter picks the registry by the artifact's type; the core reads what it returns
/// ([`RegistryType::read`]).
pub trait Registry: Send + Sync {
    /// The artifact's document (npm: the full packument), conditionally on `validators`.
    fn document(
        &self,
        artifact: &ArtifactRef,
        validators: &Validators,
    ) -> impl Future<Output = Result<DocumentFetch, RemoteError>> + Send;

    /// The document read past any cache (for an artifact the changes feed just named: a
    /// cached copy can be minutes stale).
    fn document_fresh(
        &self,
        artifact: &ArtifactRef,
    ) -> impl Future<Output = Result<DocumentFetch, RemoteError>> + Send;

    /// The attestations of one version (or one file of it); `None` when the registry has
    /// none (404).
    fn attestations(
        &self,
        subject: &Subject<'_>,
    ) -> impl Future<Output = Result<Option<Body>, RemoteError>> + Send;
}

/// The largest attestations document (a bundle, or a registry's response with several)
/// accepted from a registry or a file; real ones are 5-30 KB. The HTTP adapters cap their
/// reads at it and the verifier refuses anything larger.
pub const MAX_ATTESTATIONS_BYTES: usize = 4 * 1024 * 1024;

/// Why an attestations document was not accepted: the stage that refused it (`kind`, e.g.
/// `signature`, `subject`, `malformed`) and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Rejection {
    pub kind: String,
    pub message: String,
}

/// What evidence must be about: a version of an artifact (or one file of it) and the
/// digest of its file.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub artifact: &'a ArtifactRef,
    pub version: &'a str,
    /// The file, for a version that is a set of files (a PyPI release); `None` for a
    /// version that is one file (npm).
    pub file: Option<&'a str>,
    /// The file's digest as Subresource Integrity, as the registry lists it (npm:
    /// `dist.integrity`); `None` when it lists none.
    pub integrity: Option<&'a str>,
}

impl Subject<'_> {
    /// `<key>@<version>`, and `/<file>` for one file of a version.
    pub fn describe(&self) -> String {
        let mut text = format!("{}@{}", self.artifact.key(), self.version);
        if let Some(file) = self.file {
            text.push('/');
            text.push_str(file);
        }
        text
    }
}

/// Offline verification of a registry's attestations (the `artifact-monitor-verify` crate
/// implements it over Sigstore, with one subject rule per registry type). It performs no
/// I/O: the document is bytes the registry served, the trust material is the
/// implementation's.
pub trait AttestationVerifier: std::fmt::Debug + Send + Sync {
    /// Verifies the attestations `document` served for `subject`: every bundle, the
    /// registry type's subject rule (npm: `pkg:npm/<name>@<version>` with the sha512 of
    /// `dist.integrity`), its publish attestation. `Ok(Some(evidence))` when it carries build
    /// provenance, `Ok(None)` when it carries none (nothing says where the version was
    /// built).
    fn verify(&self, subject: &Subject<'_>, document: &[u8])
    -> Result<Option<Evidence>, Rejection>;
}

/// One page of a registry's changes feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesPage {
    /// Artifact names changed (or deleted), in feed order; a name may repeat.
    pub names: Vec<String>,
    /// How many results the page held.
    pub results: usize,
    /// The sequence to ask from next (opaque).
    pub last_seq: String,
    /// The feed no longer holds every change after the sequence asked from (a feed that
    /// keeps only its newest entries): some were missed, and the sweep finds them.
    pub missed: bool,
}

/// A registry's changes feed: which artifacts of its type changed since a sequence.
pub trait Changes: Send + Sync {
    /// The registry type whose artifacts the feed names.
    fn registry(&self) -> RegistryType;
    /// The current end of the feed (where following starts when nothing is stored).
    fn current_seq(&self) -> impl Future<Output = Result<String, RemoteError>> + Send;
    /// At most `limit` changes after `since`.
    fn changes_since(
        &self,
        since: &str,
        limit: usize,
    ) -> impl Future<Output = Result<ChangesPage, RemoteError>> + Send;
}

pub use crate::domain::{DeploymentFacts, JobFacts};

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

    /// The jobs of a run (of its latest attempt).
    fn jobs(
        &self,
        repository: &RepositoryName,
        run_id: u64,
    ) -> impl Future<Output = Result<Vec<JobFacts>, RemoteError>> + Send;

    /// Whether the full ref (`refs/tags/v1.0.0`, `refs/heads/main`) exists now.
    fn ref_exists(
        &self,
        repository: &RepositoryName,
        full_ref: &str,
    ) -> impl Future<Output = Result<bool, RemoteError>> + Send;

    /// The most recent deployments to `environment` at commit `sha`, with the runs their
    /// statuses link to.
    fn deployments(
        &self,
        repository: &RepositoryName,
        sha: &str,
        environment: &str,
    ) -> impl Future<Output = Result<Vec<DeploymentFacts>, RemoteError>> + Send;

    /// The sha of the newest commit reachable from `commit` that changed the file at `path`;
    /// `None` when no commit did (or GitHub does not know `commit`).
    fn last_change(
        &self,
        repository: &RepositoryName,
        commit: &str,
        path: &str,
    ) -> impl Future<Output = Result<Option<String>, RemoteError>> + Send;
}

/// Why the store failed. The operation had no effect.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A write against a revision lost to another writer (an overlapping tick): nothing was
    /// written; read again and redo, or leave the work to the winner.
    #[error("lost a write race: {0}")]
    Conflict(String),
    /// A record is larger than the store can hold, even compressed: refused whole, never
    /// cut short.
    #[error("too large to store: {0}")]
    TooLarge(String),
}

impl StoreError {
    /// Whether trying again later can succeed.
    pub fn retryable(&self) -> bool {
        !matches!(self, Self::Corrupt(_) | Self::TooLarge(_))
    }
}

/// The watched set: which artifacts are watched, under which policy.
pub trait ArtifactStore: Send + Sync {
    /// Adds or replaces an artifact; returns the previous definition.
    fn put_artifact(
        &self,
        artifact: &WatchedArtifact,
    ) -> impl Future<Output = Result<Option<WatchedArtifact>, StoreError>> + Send;
    fn artifact(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<WatchedArtifact>, StoreError>> + Send;
    /// The watched artifacts among `keys` (a batch lookup: the names a feed page brought).
    fn artifacts_named(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<WatchedArtifact>, StoreError>> + Send;
    /// At most `limit` artifacts with a key after `after`, in key order (a page).
    fn artifacts_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<WatchedArtifact>, StoreError>> + Send;
    /// Removes an artifact with its versions, poll state and due work; returns whether it
    /// existed. Alert ids stay known (an alert is never enqueued twice).
    fn delete_artifact(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// How the watched artifacts stand (counts kept with the writes).
    fn summary(&self) -> impl Future<Output = Result<Summary, StoreError>> + Send;
}

/// One page of a list, and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque to callers; valid only for the list it came from.
    pub next: Option<String>,
}

/// A verdict to record, with what goes with it in the same transaction.
#[derive(Debug, Clone, Copy)]
pub struct VerdictWrite<'a> {
    pub record: &'a VersionRecord,
    /// Enqueued only when the decision changes (a first or a different verdict).
    pub alert: Option<&'a Alert>,
    /// Enqueued whatever the decision (each id once, ever): an unverifiable notice.
    pub notices: &'a [Alert],
    /// `Some`: the version stays due (pending): its judgement is rescheduled as this item.
    /// `None`: its due judgement is settled.
    pub retry: Option<&'a DueItem>,
}

/// What recording a verdict did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordOutcome {
    pub recorded: Recorded,
    /// Alerts newly enqueued.
    pub alerts: usize,
    /// This verdict was the last first verdict of the artifact's backfill: its summary is
    /// now due.
    pub backfill_complete: bool,
}

/// Versions and their verdicts.
pub trait VerdictStore: Send + Sync {
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
    /// At most `limit` versions of an artifact, newest publish first (versions without a
    /// publish time last), starting after the page `after` ended.
    fn versions_page(
        &self,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<VersionRecord>, StoreError>> + Send;

    /// Records a version's verdict in one transaction with its alert, its notices, its due
    /// judgement (settled or rescheduled) and the artifact's backfill progress. The same
    /// decision as stored writes no history and enqueues no `alert` (a redelivered event
    /// changes nothing but its due item); a changed decision keeps the old one in the
    /// record's history. The first verdict of the backfill's last version schedules the
    /// backfill summary.
    fn record(
        &self,
        key: &str,
        write: VerdictWrite<'_>,
        now: i64,
    ) -> impl Future<Output = Result<RecordOutcome, StoreError>> + Send;
}

/// What a detection writes with the poll state, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct PollCommit {
    /// Work found: versions to judge (each replaces a due item with the same id).
    pub due: Vec<DueItem>,
    /// Package-level alerts (each id once, ever).
    pub alerts: Vec<Alert>,
    /// The read was a full read (`Some(false)`) or a re-judging one (`Some(true)`): the
    /// artifact's due read of that kind (or a lesser one) is settled.
    pub read_done: Option<bool>,
    /// The first read: the backfill has this many versions.
    pub backfill_total: Option<u64>,
}

/// Where watching stands: poll and feed state (written against the revision read), and the
/// queue of due work (found by a query, oldest first within a priority).
pub trait WatchStore: Send + Sync {
    /// The artifact's poll state. It may lag a commit of the last moment (a store may read
    /// it eventually consistently): [`WatchStore::commit_poll`]'s revision check is what
    /// keeps the writes made from it right.
    fn poll_state(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<PollState>, StoreError>> + Send;
    /// Writes `state` if the stored revision is still `state.rev` (else
    /// [`StoreError::Conflict`] and nothing is written), with the commit's work and alerts;
    /// returns how many alerts were newly enqueued.
    fn commit_poll(
        &self,
        key: &str,
        state: &PollState,
        commit: &PollCommit,
        now: i64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Where following the changes feed and the sweep stand.
    fn feed_state(&self) -> impl Future<Output = Result<FeedState, StoreError>> + Send;
    /// Writes `state` if the stored revision is still `state.rev`, else
    /// [`StoreError::Conflict`].
    fn put_feed_state(
        &self,
        state: &FeedState,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds due work; an item replaces the one with the same id (keeping its backfill mark).
    fn schedule(&self, items: &[DueItem]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// At most `limit` items due at `now`, by priority, oldest first within one.
    fn due(
        &self,
        now: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DueItem>, StoreError>> + Send;
    /// Every due item of one artifact, whenever due.
    fn due_of(&self, key: &str) -> impl Future<Output = Result<Vec<DueItem>, StoreError>> + Send;
    /// Moves the items with these ids to `until` (work handed out, in case it is lost).
    fn postpone(
        &self,
        ids: &[String],
        until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes a due item (its work is done).
    fn settle(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// How much work is due, by kind.
    fn due_counts(&self) -> impl Future<Output = Result<DueCounts, StoreError>> + Send;

    /// Takes the lease `name` for `owner` until `until` (seconds since the epoch), unless
    /// another owner holds it unexpired at `now`; the holder may extend it. `false`: held
    /// elsewhere (a scheduled poller whose previous tick still runs).
    fn take_lease(
        &self,
        name: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Gives the lease back, if `owner` holds it.
    fn release_lease(
        &self,
        name: &str,
        owner: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The alert outbox: alerts enqueued once, ever, and kept until delivered.
pub trait Outbox: Send + Sync {
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
    /// Claims the undelivered alert `id` for delivery until `until`, unless another
    /// deliverer holds a claim that has not expired at `now`; `false`: leave it alone.
    fn claim(
        &self,
        id: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
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

/// Every part of the store, for the entry points that use them all (`serve`, tests).
pub trait Store: ArtifactStore + VerdictStore + WatchStore + Outbox {}

impl<T: ArtifactStore + VerdictStore + WatchStore + Outbox> Store for T {}

/// What handing events to the bus did.
#[derive(Debug, Clone, Default)]
pub struct Emitted {
    /// Events the bus took.
    pub accepted: usize,
    /// Verdicts reached at once (an in-process bus judges as it is handed events).
    pub judged: Vec<JudgedVersion>,
    /// Events not taken or not judged: they stay due and are emitted again later.
    pub failed: Vec<FailedEvent>,
}

/// An event the bus did not take, or whose judgement failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEvent {
    /// The artifact's key.
    pub artifact: String,
    pub version: String,
    pub error: String,
}

/// The bus that carries `VersionPublished` from detection to judging, and tells the world
/// `VersionVerified` once judged.
pub trait Events: Send + Sync {
    fn publish(&self, events: Vec<VersionPublished>) -> impl Future<Output = Emitted> + Send;

    /// Announces verdicts; a bus with no one listening takes them and does nothing.
    fn verified(&self, events: Vec<VersionVerified>) -> impl Future<Output = Emitted> + Send {
        async move {
            Emitted {
                accepted: events.len(),
                ..Emitted::default()
            }
        }
    }
}

/// How many registry requests may be spent now (a request budget).
pub trait Allowance: Send + Sync {
    fn available(&self) -> f64;
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

/// The store's capability traits in scope at once (`use artifact_monitor_core::ports::store::*`),
/// for code that holds one concrete store and calls every part of it.
pub mod store {
    pub use super::{ArtifactStore as _, Outbox as _, VerdictStore as _, WatchStore as _};
}

/// Who a person signed in as, read from an ID token the provider issued and we verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The provider's stable subject identifier.
    pub subject: String,
    /// The e-mail address, when the token carries one.
    pub email: Option<String>,
    /// The groups the provider put the person in (Cognito's `cognito:groups`).
    pub groups: Vec<String>,
    /// Unix seconds after which the token is no longer accepted.
    pub expires_at: i64,
}

impl Person {
    /// How the person is named in logs and refusals: the e-mail, else the subject.
    pub fn principal(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }
}

/// Why a sign-in or a session was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The provider could not be asked (its token endpoint or its keys).
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The provider answered, and the answer (a code, a token) is not accepted.
    #[error("sign-in refused: {0}")]
    Refused(String),
}

/// What the browser takes to the provider's sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// Where the provider sends the browser back (must be registered with it).
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    /// The PKCE challenge (S256 of the verifier kept in the browser's login cookie).
    pub code_challenge: String,
}

/// People signing in at an OpenID Connect provider with the authorization-code flow and
/// PKCE (Cognito's managed login in AWS).
///
/// Unlike the other ports its futures are boxed: the router holds it behind `dyn` (the
/// API's authentication is chosen at run time, and `ApiState` is not generic over it).
pub trait SignIn: Send + Sync + std::fmt::Debug {
    /// The provider's sign-in page for this request.
    fn authorize_url(&self, request: &AuthorizeRequest) -> String;
    /// The provider's sign-out page, sending the browser back to `return_to` (registered).
    fn logout_url(&self, return_to: &str) -> String;
    /// Redeems an authorization code for the person's ID token (the compact JWT).
    fn redeem<'a>(
        &'a self,
        code: &'a str,
        verifier: &'a str,
        redirect_uri: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<String, SignInError>>;
    /// Verifies an ID token at `now`: signature by the provider's current keys, issuer,
    /// audience, token use and expiry, and the nonce when one is given.
    fn verify<'a>(
        &'a self,
        id_token: &'a str,
        nonce: Option<&'a str>,
        now: i64,
    ) -> futures_util::future::BoxFuture<'a, Result<Person, SignInError>>;
}
