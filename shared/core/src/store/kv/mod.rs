//! Store operations over key-value transactions, written once for every embedded engine.
//! Values are JSON documents.
//!
//! The due queue is two tables: `due` (item id → the item and its index key) and
//! `due_index` (`<priority digit><due_at, 20 digits>\0<id>` → id), so "what is due now" is
//! a range read in priority and time order, never a read of every artifact. Counters (how
//! much is due, by kind) change in the same transactions as the items.

mod due;
mod engine;
mod outbox;
mod verdicts;

pub use due::{due, due_counts, due_of, postpone, remove_due, schedule};
pub use engine::KvEngine;
pub use outbox::{claim, enqueue, outbox, update_outbox};
pub use verdicts::record;

use crate::domain::{
    DueWork, FeedState, PollState, Summary, VersionRecord, WatchedArtifact, read_id,
};
use crate::ports::{Page, PollCommit, StoreError};
use due::StoredDue;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// `npm/<name>` → [`WatchedArtifact`]
    Artifacts,
    /// `npm/<name>\0<version>` → [`VersionRecord`]
    Versions,
    /// `npm/<name>` → [`PollState`]
    PollState,
    /// zero-padded sequence → [`OutboxEntry`]
    Outbox,
    /// alert id → outbox sequence (kept after delivery, so an id is enqueued once, ever)
    AlertIds,
    /// counters and singletons
    Meta,
    /// due item id → [`StoredDue`]
    Due,
    /// `<priority><due_at>\0<id>` → id
    DueIndex,
    /// `npm/<name>\0<inverted publish time>\0<version>` → version: newest first
    VersionsByTime,
}

impl Table {
    pub const ALL: [Table; 9] = [
        Table::Artifacts,
        Table::Versions,
        Table::PollState,
        Table::Outbox,
        Table::AlertIds,
        Table::Meta,
        Table::Due,
        Table::DueIndex,
        Table::VersionsByTime,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Artifacts => "artifacts",
            Table::Versions => "versions",
            Table::PollState => "poll_state",
            Table::Outbox => "outbox",
            Table::AlertIds => "alert_ids",
            Table::Meta => "meta",
            Table::Due => "due",
            Table::DueIndex => "due_index",
            Table::VersionsByTime => "versions_by_time",
        }
    }
}

pub trait KvRead {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Entries whose key starts with `prefix`, in key order, at most `limit`.
    fn scan(
        &self,
        table: Table,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Entries whose key is after `after` (all without one), in key order, at most `limit`.
    fn scan_after(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
}

pub trait KvWrite: KvRead {
    fn put(&mut self, table: Table, key: &str, value: Vec<u8>) -> Result<(), StoreError>;
    fn delete(&mut self, table: Table, key: &str) -> Result<(), StoreError>;
}

pub(super) fn decode<T: DeserializeOwned>(table: Table, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("{} entry: {e}", table.name())))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn get<T: DeserializeOwned>(
    tx: &(impl KvRead + ?Sized),
    table: Table,
    key: &str,
) -> Result<Option<T>, StoreError> {
    tx.get(table, key)?
        .map(|bytes| decode(table, &bytes))
        .transpose()
}

pub(super) fn put<T: Serialize>(
    tx: &mut (impl KvWrite + ?Sized),
    table: Table,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    tx.put(table, key, encode(value)?)
}

pub fn scan_all<T: DeserializeOwned>(
    tx: &(impl KvRead + ?Sized),
    table: Table,
    prefix: &str,
) -> Result<Vec<T>, StoreError> {
    tx.scan(table, prefix, usize::MAX)?
        .iter()
        .map(|(_, bytes)| decode(table, bytes))
        .collect()
}

pub fn version_key(artifact: &str, version: &str) -> String {
    format!("{artifact}\0{version}")
}

pub(super) fn versions_prefix(artifact: &str) -> String {
    format!("{artifact}\0")
}

pub(super) const DUE_COUNTS: &str = "due_counts";
const FEED_STATE: &str = "feed_state";

// ---- artifacts ----

pub fn put_artifact(
    tx: &mut (impl KvWrite + ?Sized),
    artifact: &WatchedArtifact,
) -> Result<Option<WatchedArtifact>, StoreError> {
    let key = artifact.key();
    let previous: Option<WatchedArtifact> = get(tx, Table::Artifacts, &key)?;
    let next = artifact.clone().stored_over(previous.as_ref());
    if previous.is_none() {
        change_summary(tx, |s| s.count(next.versions.status(), 1))?;
    }
    put(tx, Table::Artifacts, &key, &next)?;
    Ok(previous)
}

pub(super) const SUMMARY: &str = "summary";

pub fn summary(tx: &(impl KvRead + ?Sized)) -> Result<Summary, StoreError> {
    Ok(get(tx, Table::Meta, SUMMARY)?.unwrap_or_default())
}

pub(super) fn change_summary(
    tx: &mut (impl KvWrite + ?Sized),
    change: impl FnOnce(&mut Summary),
) -> Result<(), StoreError> {
    let mut current = summary(tx)?;
    change(&mut current);
    put(tx, Table::Meta, SUMMARY, &current)
}

/// The key of a version in the newest-first index.
pub fn time_key(artifact: &str, published_at: Option<i64>, version: &str) -> String {
    let inverted = match published_at {
        Some(at) => (i64::MAX - at.max(0)) as u64,
        None => u64::MAX,
    };
    format!("{artifact}\0{inverted:020}\0{version}")
}

pub fn versions_page(
    tx: &(impl KvRead + ?Sized),
    key: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<VersionRecord>, StoreError> {
    let prefix = versions_prefix(key);
    let start = after.unwrap_or(&prefix);
    if !start.starts_with(&prefix) {
        return Err(StoreError::Corrupt("a cursor of another list".to_owned()));
    }
    let mut entries: Vec<(String, Vec<u8>)> = tx
        .scan_after(Table::VersionsByTime, Some(start), limit.saturating_add(1))?
        .into_iter()
        .take_while(|(k, _)| k.starts_with(&prefix))
        .collect();
    let more = entries.len() > limit;
    entries.truncate(limit);
    let mut items = Vec::with_capacity(entries.len());
    for (_, version) in &entries {
        let version = String::from_utf8_lossy(version).into_owned();
        if let Some(record) = get(tx, Table::Versions, &version_key(key, &version))? {
            items.push(record);
        }
    }
    let next = more
        .then(|| entries.last().map(|(k, _)| k.clone()))
        .flatten();
    Ok(Page { items, next })
}

/// The schema of the embedded store's data: 2 added the counters, the summary and the
/// newest-first index.
const SCHEMA: u64 = 2;

/// Brings data written by an older version up to [`SCHEMA`]: counters, summary and the
/// index rebuilt from the versions themselves. Runs in one transaction; a no-op after.
pub fn migrate(tx: &mut (impl KvWrite + ?Sized)) -> Result<(), StoreError> {
    let schema: u64 = get(tx, Table::Meta, "schema")?.unwrap_or(0);
    if schema >= SCHEMA {
        return Ok(());
    }
    let mut totals = Summary::default();
    let artifacts: Vec<WatchedArtifact> = scan_all(tx, Table::Artifacts, "")?;
    for mut artifact in artifacts {
        let key = artifact.key();
        artifact.versions = Default::default();
        artifact.last_published = None;
        for record in versions(tx, &key)? {
            artifact.versions.moved(None, record.verdict.compliance);
            artifact.last_published = artifact.last_published.max(record.published_at);
            tx.put(
                Table::VersionsByTime,
                &time_key(&key, record.published_at, &record.version),
                record.version.clone().into_bytes(),
            )?;
        }
        totals.count(artifact.versions.status(), 1);
        put(tx, Table::Artifacts, &key, &artifact)?;
    }
    put(tx, Table::Meta, SUMMARY, &totals)?;
    put(tx, Table::Meta, "schema", &SCHEMA)
}

pub fn artifacts_named(
    tx: &(impl KvRead + ?Sized),
    keys: &[String],
) -> Result<Vec<WatchedArtifact>, StoreError> {
    let mut out = Vec::new();
    for key in keys {
        if let Some(artifact) = get(tx, Table::Artifacts, key)? {
            out.push(artifact);
        }
    }
    Ok(out)
}

pub fn artifacts_after(
    tx: &(impl KvRead + ?Sized),
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<WatchedArtifact>, StoreError> {
    tx.scan_after(Table::Artifacts, after, limit)?
        .iter()
        .map(|(_, bytes)| decode(Table::Artifacts, bytes))
        .collect()
}

pub fn delete_artifact(tx: &mut (impl KvWrite + ?Sized), key: &str) -> Result<bool, StoreError> {
    let stored: Option<WatchedArtifact> = get(tx, Table::Artifacts, key)?;
    let existed = stored.is_some();
    if let Some(stored) = stored {
        change_summary(tx, |s| s.count(stored.versions.status(), -1))?;
    }
    for (index_key, _) in tx.scan(Table::VersionsByTime, &versions_prefix(key), usize::MAX)? {
        tx.delete(Table::VersionsByTime, &index_key)?;
    }
    tx.delete(Table::Artifacts, key)?;
    tx.delete(Table::PollState, key)?;
    for (version_key, _) in tx.scan(Table::Versions, &versions_prefix(key), usize::MAX)? {
        tx.delete(Table::Versions, &version_key)?;
    }
    for item in due_of(tx, key)? {
        remove_due(tx, &item.id())?;
    }
    Ok(existed)
}

pub fn versions(tx: &(impl KvRead + ?Sized), key: &str) -> Result<Vec<VersionRecord>, StoreError> {
    scan_all(tx, Table::Versions, &versions_prefix(key))
}

// ---- poll and feed state ----

pub fn commit_poll(
    tx: &mut (impl KvWrite + ?Sized),
    key: &str,
    state: &PollState,
    commit: &PollCommit,
    now: i64,
) -> Result<usize, StoreError> {
    let stored_rev = get::<PollState>(tx, Table::PollState, key)?.map_or(0, |s| s.rev);
    if stored_rev != state.rev {
        return Err(StoreError::Conflict(format!(
            "poll state of {key} is at revision {stored_rev}, not {}",
            state.rev
        )));
    }
    let mut next = state.clone();
    next.rev = state.rev + 1;
    put(tx, Table::PollState, key, &next)?;
    schedule(tx, &commit.due)?;
    let mut enqueued = 0;
    for alert in &commit.alerts {
        enqueued += usize::from(enqueue(tx, alert, now)?);
    }
    if let Some(rejudged) = commit.read_done {
        let id = read_id(key);
        if let Some(stored) = get::<StoredDue>(tx, Table::Due, &id)?
            && matches!(stored.item.work, DueWork::Read { rejudge } if rejudged || !rejudge)
        {
            remove_due(tx, &id)?;
        }
    }
    if let Some(mut artifact) = get::<WatchedArtifact>(tx, Table::Artifacts, key)? {
        if let Some(total) = commit.backfill_total {
            artifact.backfill.total = total;
            artifact.backfill.started = true;
        }
        artifact.last_read_at = Some(now);
        put(tx, Table::Artifacts, key, &artifact)?;
    }
    Ok(enqueued)
}

pub fn feed_state(tx: &(impl KvRead + ?Sized)) -> Result<FeedState, StoreError> {
    Ok(get(tx, Table::Meta, FEED_STATE)?.unwrap_or_default())
}

pub fn put_feed_state(
    tx: &mut (impl KvWrite + ?Sized),
    state: &FeedState,
) -> Result<(), StoreError> {
    let stored = feed_state(tx)?.rev;
    if stored != state.rev {
        return Err(StoreError::Conflict(format!(
            "feed state is at revision {stored}, not {}",
            state.rev
        )));
    }
    let mut next = state.clone();
    next.rev = state.rev + 1;
    put(tx, Table::Meta, FEED_STATE, &next)
}

/// A lease as stored.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Lease {
    owner: String,
    expires_at: i64,
}

fn lease_key(name: &str) -> String {
    format!("lease:{name}")
}

pub fn take_lease(
    tx: &mut (impl KvWrite + ?Sized),
    name: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<bool, StoreError> {
    let key = lease_key(name);
    if let Some(held) = get::<Lease>(tx, Table::Meta, &key)?
        && held.owner != owner
        && held.expires_at > now
    {
        return Ok(false);
    }
    put(
        tx,
        Table::Meta,
        &key,
        &Lease {
            owner: owner.to_owned(),
            expires_at: until,
        },
    )?;
    Ok(true)
}

pub fn release_lease(
    tx: &mut (impl KvWrite + ?Sized),
    name: &str,
    owner: &str,
) -> Result<(), StoreError> {
    let key = lease_key(name);
    if get::<Lease>(tx, Table::Meta, &key)?.is_some_and(|held| held.owner == owner) {
        tx.delete(Table::Meta, &key)?;
    }
    Ok(())
}
