//! Store operations over key-value transactions. Values are JSON documents.

use crate::domain::{
    Alert, Artifact, FeedState, OutboxEntry, PollState, Recorded, Transition, VersionRecord,
};
use crate::ports::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The tables of the embedded store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// `npm/<name>` → [`Artifact`]
    Artifacts,
    /// `npm/<name>\0<version>` → [`VersionRecord`]
    Versions,
    /// `npm/<name>` → [`PollState`]
    PollState,
    /// zero-padded sequence → [`OutboxEntry`]
    Outbox,
    /// alert id → outbox sequence (kept after delivery, so an id is enqueued once, ever)
    AlertIds,
    /// counters
    Meta,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Artifacts,
        Table::Versions,
        Table::PollState,
        Table::Outbox,
        Table::AlertIds,
        Table::Meta,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Artifacts => "artifacts",
            Table::Versions => "versions",
            Table::PollState => "poll_state",
            Table::Outbox => "outbox",
            Table::AlertIds => "alert_ids",
            Table::Meta => "meta",
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
}

pub trait KvWrite: KvRead {
    fn put(&mut self, table: Table, key: &str, value: Vec<u8>) -> Result<(), StoreError>;
    fn delete(&mut self, table: Table, key: &str) -> Result<(), StoreError>;
}

fn decode<T: DeserializeOwned>(table: Table, bytes: &[u8]) -> Result<T, StoreError> {
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

fn put<T: Serialize>(
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

fn versions_prefix(artifact: &str) -> String {
    format!("{artifact}\0")
}

pub fn put_artifact(
    tx: &mut (impl KvWrite + ?Sized),
    artifact: &Artifact,
) -> Result<Option<Artifact>, StoreError> {
    let key = artifact.key();
    let previous = get(tx, Table::Artifacts, &key)?;
    put(tx, Table::Artifacts, &key, artifact)?;
    Ok(previous)
}

pub fn delete_artifact(tx: &mut (impl KvWrite + ?Sized), key: &str) -> Result<bool, StoreError> {
    let existed = tx.get(Table::Artifacts, key)?.is_some();
    tx.delete(Table::Artifacts, key)?;
    tx.delete(Table::PollState, key)?;
    for (version_key, _) in tx.scan(Table::Versions, &versions_prefix(key), usize::MAX)? {
        tx.delete(Table::Versions, &version_key)?;
    }
    Ok(existed)
}

pub fn versions(tx: &(impl KvRead + ?Sized), key: &str) -> Result<Vec<VersionRecord>, StoreError> {
    scan_all(tx, Table::Versions, &versions_prefix(key))
}

pub fn put_poll_state(
    tx: &mut (impl KvWrite + ?Sized),
    key: &str,
    state: &PollState,
) -> Result<(), StoreError> {
    put(tx, Table::PollState, key, state)
}

pub fn record(
    tx: &mut (impl KvWrite + ?Sized),
    key: &str,
    record: &VersionRecord,
    alert: Option<&Alert>,
    now: i64,
) -> Result<Recorded, StoreError> {
    let vkey = version_key(key, &record.version);
    let stored: Option<VersionRecord> = get(tx, Table::Versions, &vkey)?;
    let (outcome, mut to_store) = match stored {
        Some(stored) if stored.verdict.same_decision(&record.verdict) => {
            return Ok(Recorded::Unchanged);
        }
        Some(stored) => {
            let mut next = record.clone();
            next.detected_at = stored.detected_at;
            next.backfill = stored.backfill;
            next.history = stored.history.clone();
            next.history.push(Transition {
                at: now,
                from: stored.verdict.compliance,
                to: record.verdict.compliance,
                reasons: stored.verdict.reasons.clone(),
            });
            (Recorded::Changed, next)
        }
        None => (Recorded::New, record.clone()),
    };
    if to_store.verdict.compliance != crate::domain::Compliance::Pending {
        to_store.pending_since = None;
    }
    put(tx, Table::Versions, &vkey, &to_store)?;
    if let Some(alert) = alert {
        enqueue(tx, alert, now)?;
    }
    Ok(outcome)
}

pub fn enqueue(
    tx: &mut (impl KvWrite + ?Sized),
    alert: &Alert,
    now: i64,
) -> Result<bool, StoreError> {
    if tx.get(Table::AlertIds, &alert.id)?.is_some() {
        return Ok(false);
    }
    let seq: u64 = get(tx, Table::Meta, "outbox_seq")?.unwrap_or(0) + 1;
    put(tx, Table::Meta, "outbox_seq", &seq)?;
    let seq_key = format!("{seq:020}");
    put(tx, Table::AlertIds, &alert.id, &seq_key)?;
    put(
        tx,
        Table::Outbox,
        &seq_key,
        &OutboxEntry {
            alert: alert.clone(),
            enqueued_at: now,
            printed: false,
            attempts: 0,
            last_error: None,
        },
    )?;
    Ok(true)
}

pub fn outbox(tx: &(impl KvRead + ?Sized), limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
    tx.scan(Table::Outbox, "", limit)?
        .iter()
        .map(|(_, bytes)| decode(Table::Outbox, bytes))
        .collect()
}

/// Applies `change` to the outbox entry of alert `id`, or removes it when `change` says so.
pub fn update_outbox(
    tx: &mut (impl KvWrite + ?Sized),
    id: &str,
    change: impl FnOnce(&mut OutboxEntry) -> bool,
) -> Result<(), StoreError> {
    let Some(seq_key) = get::<String>(tx, Table::AlertIds, id)? else {
        return Ok(());
    };
    let Some(mut entry) = get::<OutboxEntry>(tx, Table::Outbox, &seq_key)? else {
        return Ok(());
    };
    if change(&mut entry) {
        put(tx, Table::Outbox, &seq_key, &entry)
    } else {
        tx.delete(Table::Outbox, &seq_key)
    }
}

type ReadFn<T> = Box<dyn FnOnce(&dyn KvRead) -> Result<T, StoreError> + Send>;
type WriteFn<T> = Box<dyn FnOnce(&mut dyn KvWrite) -> Result<T, StoreError> + Send>;

/// A key-value database that runs a closure in one read or one atomic write transaction.
/// A write closure that returns an error leaves the database unchanged.
pub trait KvEngine: Send + Sync {
    fn read<T: Send + 'static>(
        &self,
        f: ReadFn<T>,
    ) -> impl std::future::Future<Output = Result<T, StoreError>> + Send;
    fn write<T: Send + 'static>(
        &self,
        f: WriteFn<T>,
    ) -> impl std::future::Future<Output = Result<T, StoreError>> + Send;
}

impl<E: KvEngine> crate::ports::Store for E {
    async fn put_artifact(&self, artifact: &Artifact) -> Result<Option<Artifact>, StoreError> {
        let artifact = artifact.clone();
        self.write(Box::new(move |tx| put_artifact(tx, &artifact)))
            .await
    }

    async fn artifact(&self, key: &str) -> Result<Option<Artifact>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| get(tx, Table::Artifacts, &key)))
            .await
    }

    async fn artifacts(&self) -> Result<Vec<Artifact>, StoreError> {
        self.read(Box::new(|tx| scan_all(tx, Table::Artifacts, "")))
            .await
    }

    async fn delete_artifact(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.write(Box::new(move |tx| delete_artifact(tx, &key)))
            .await
    }

    async fn poll_state(&self, key: &str) -> Result<Option<PollState>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| get(tx, Table::PollState, &key)))
            .await
    }

    async fn put_poll_state(&self, key: &str, state: &PollState) -> Result<(), StoreError> {
        let (key, state) = (key.to_owned(), state.clone());
        self.write(Box::new(move |tx| put_poll_state(tx, &key, &state)))
            .await
    }

    async fn version(&self, key: &str, version: &str) -> Result<Option<VersionRecord>, StoreError> {
        let key = version_key(key, version);
        self.read(Box::new(move |tx| get(tx, Table::Versions, &key)))
            .await
    }

    async fn versions(&self, key: &str) -> Result<Vec<VersionRecord>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| versions(tx, &key))).await
    }

    async fn record(
        &self,
        key: &str,
        version: &VersionRecord,
        alert: Option<&Alert>,
        now: i64,
    ) -> Result<Recorded, StoreError> {
        let (key, version, alert) = (key.to_owned(), version.clone(), alert.cloned());
        self.write(Box::new(move |tx| {
            record(tx, &key, &version, alert.as_ref(), now)
        }))
        .await
    }

    async fn feed_state(&self) -> Result<FeedState, StoreError> {
        self.read(Box::new(|tx| {
            Ok(get(tx, Table::Meta, "feed_state")?.unwrap_or_default())
        }))
        .await
    }

    async fn put_feed_state(&self, state: &FeedState) -> Result<(), StoreError> {
        let state = state.clone();
        self.write(Box::new(move |tx| {
            put(tx, Table::Meta, "feed_state", &state)
        }))
        .await
    }

    async fn enqueue(&self, alert: &Alert, now: i64) -> Result<bool, StoreError> {
        let alert = alert.clone();
        self.write(Box::new(move |tx| enqueue(tx, &alert, now)))
            .await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(Box::new(move |tx| outbox(tx, limit))).await
    }

    async fn mark_printed(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(Box::new(move |tx| {
            update_outbox(tx, &id, |entry| {
                entry.printed = true;
                true
            })
        }))
        .await
    }

    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(Box::new(move |tx| {
            update_outbox(tx, &id, |entry| {
                entry.attempts = entry.attempts.saturating_add(1);
                entry.last_error = Some(error);
                true
            })
        }))
        .await
    }

    async fn mark_delivered(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(Box::new(move |tx| update_outbox(tx, &id, |_| false)))
            .await
    }
}
