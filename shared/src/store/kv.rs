//! Store operations over key-value transactions, written once for every embedded engine.
//! Values are JSON documents.
//!
//! The due queue is two tables: `due` (item id → the item and its index key) and
//! `due_index` (`<priority digit><due_at, 20 digits>\0<id>` → id), so "what is due now" is
//! a range read in priority and time order, never a read of every artifact. Counters (how
//! much is due, by kind) change in the same transactions as the items.

use crate::domain::{
    Alert, DueCounts, DueItem, DueWork, FeedState, OutboxEntry, PollState, Recorded, Transition,
    VersionRecord, WatchedArtifact, judge_id, read_id, summarise_id,
};
use crate::ports::{PollCommit, RecordOutcome, StoreError, VerdictWrite};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The tables of the embedded store.
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
}

impl Table {
    pub const ALL: [Table; 8] = [
        Table::Artifacts,
        Table::Versions,
        Table::PollState,
        Table::Outbox,
        Table::AlertIds,
        Table::Meta,
        Table::Due,
        Table::DueIndex,
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

const DUE_COUNTS: &str = "due_counts";
const FEED_STATE: &str = "feed_state";

// ---- artifacts ----

pub fn put_artifact(
    tx: &mut (impl KvWrite + ?Sized),
    artifact: &WatchedArtifact,
) -> Result<Option<WatchedArtifact>, StoreError> {
    let key = artifact.key();
    let previous = get(tx, Table::Artifacts, &key)?;
    put(tx, Table::Artifacts, &key, artifact)?;
    Ok(previous)
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
    let existed = tx.get(Table::Artifacts, key)?.is_some();
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

// ---- due work ----

/// A due item as stored, with the key of its index entry.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredDue {
    item: DueItem,
    index: String,
}

fn index_key(item: &DueItem, id: &str) -> String {
    format!(
        "{}{:020}\0{id}",
        item.priority().digit(),
        item.due_at.max(0)
    )
}

fn count(counts: &mut DueCounts, item: &DueItem, delta: i64) {
    let field = match item.work {
        DueWork::Read { .. } => &mut counts.reads,
        DueWork::Judge { .. } => &mut counts.judgements,
        DueWork::Summarise => &mut counts.summaries,
    };
    *field = field.saturating_add_signed(delta);
}

fn change_counts(
    tx: &mut (impl KvWrite + ?Sized),
    change: impl FnOnce(&mut DueCounts),
) -> Result<(), StoreError> {
    let mut counts: DueCounts = get(tx, Table::Meta, DUE_COUNTS)?.unwrap_or_default();
    change(&mut counts);
    put(tx, Table::Meta, DUE_COUNTS, &counts)
}

/// Adds `item`, replacing the item with the same id (merged: see [`DueItem::replacing`]),
/// or, with `merge = false`, exactly as given.
fn put_due(
    tx: &mut (impl KvWrite + ?Sized),
    item: &DueItem,
    merge: bool,
) -> Result<(), StoreError> {
    let id = item.id();
    let existing: Option<StoredDue> = get(tx, Table::Due, &id)?;
    let item = match &existing {
        Some(stored) => {
            tx.delete(Table::DueIndex, &stored.index)?;
            if merge {
                item.clone().replacing(&stored.item)
            } else {
                item.clone()
            }
        }
        None => {
            change_counts(tx, |c| count(c, item, 1))?;
            item.clone()
        }
    };
    let index = index_key(&item, &id);
    tx.put(Table::DueIndex, &index, id.clone().into_bytes())?;
    put(tx, Table::Due, &id, &StoredDue { item, index })
}

pub fn schedule(tx: &mut (impl KvWrite + ?Sized), items: &[DueItem]) -> Result<(), StoreError> {
    for item in items {
        put_due(tx, item, true)?;
    }
    Ok(())
}

pub fn remove_due(tx: &mut (impl KvWrite + ?Sized), id: &str) -> Result<(), StoreError> {
    if let Some(stored) = get::<StoredDue>(tx, Table::Due, id)? {
        tx.delete(Table::DueIndex, &stored.index)?;
        tx.delete(Table::Due, id)?;
        change_counts(tx, |c| count(c, &stored.item, -1))?;
    }
    Ok(())
}

pub fn postpone(
    tx: &mut (impl KvWrite + ?Sized),
    ids: &[String],
    until: i64,
) -> Result<(), StoreError> {
    for id in ids {
        if let Some(stored) = get::<StoredDue>(tx, Table::Due, id)? {
            let mut item = stored.item;
            item.due_at = until;
            put_due(tx, &item, false)?;
        }
    }
    Ok(())
}

pub fn due(
    tx: &(impl KvRead + ?Sized),
    now: i64,
    limit: usize,
) -> Result<Vec<DueItem>, StoreError> {
    let mut out = Vec::new();
    for priority in crate::domain::DuePriority::ALL {
        if out.len() >= limit {
            break;
        }
        let prefix = priority.digit().to_string();
        for (key, id) in tx.scan(Table::DueIndex, &prefix, limit - out.len())? {
            let due_at: i64 = key
                .get(1..21)
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("due index key {key:?}")))?;
            if due_at > now {
                break;
            }
            let id = String::from_utf8(id)
                .map_err(|_| StoreError::Corrupt("due index value".to_owned()))?;
            match get::<StoredDue>(tx, Table::Due, &id)? {
                Some(stored) => out.push(stored.item),
                None => return Err(StoreError::Corrupt(format!("due index names {id:?}"))),
            }
        }
    }
    Ok(out)
}

pub fn due_of(tx: &(impl KvRead + ?Sized), key: &str) -> Result<Vec<DueItem>, StoreError> {
    let mut out = Vec::new();
    for id in [read_id(key), summarise_id(key)] {
        if let Some(stored) = get::<StoredDue>(tx, Table::Due, &id)? {
            out.push(stored.item);
        }
    }
    let judgements = judge_id(key, "");
    for (_, bytes) in tx.scan(Table::Due, &judgements, usize::MAX)? {
        out.push(decode::<StoredDue>(Table::Due, &bytes)?.item);
    }
    Ok(out)
}

pub fn due_counts(tx: &(impl KvRead + ?Sized)) -> Result<DueCounts, StoreError> {
    Ok(get(tx, Table::Meta, DUE_COUNTS)?.unwrap_or_default())
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
    if let Some(total) = commit.backfill_total
        && let Some(mut artifact) = get::<WatchedArtifact>(tx, Table::Artifacts, key)?
    {
        artifact.backfill.total = total;
        artifact.backfill.started = true;
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

// ---- verdicts ----

pub fn record(
    tx: &mut (impl KvWrite + ?Sized),
    key: &str,
    write: VerdictWrite<'_>,
    now: i64,
) -> Result<RecordOutcome, StoreError> {
    let record = write.record;
    let vkey = version_key(key, &record.version);
    let stored: Option<VersionRecord> = get(tx, Table::Versions, &vkey)?;
    let mut outcome = RecordOutcome {
        recorded: Recorded::New,
        alerts: 0,
        backfill_complete: false,
    };
    let to_store = match stored {
        Some(stored) if stored.verdict.same_decision(&record.verdict) => {
            outcome.recorded = Recorded::Unchanged;
            (stored.policy_rev < record.policy_rev).then_some(VersionRecord {
                policy_rev: record.policy_rev,
                ..stored
            })
        }
        Some(stored) => {
            let mut next = record.clone();
            next.detected_at = stored.detected_at;
            next.backfill = stored.backfill;
            next.pending_since = stored.pending_since.or(record.pending_since);
            next.history = stored.history.clone();
            next.history.push(Transition {
                at: now,
                from: stored.verdict.compliance,
                to: record.verdict.compliance,
                reasons: stored.verdict.reasons.clone(),
            });
            outcome.recorded = Recorded::Changed;
            Some(next)
        }
        None => Some(record.clone()),
    };
    if let Some(mut to_store) = to_store {
        if to_store.verdict.compliance != crate::domain::Compliance::Pending {
            to_store.pending_since = None;
        }
        put(tx, Table::Versions, &vkey, &to_store)?;
    }
    if outcome.recorded != Recorded::Unchanged
        && let Some(alert) = write.alert
        && enqueue(tx, alert, now)?
    {
        outcome.alerts += 1;
    }
    for notice in write.notices {
        if enqueue(tx, notice, now)? {
            outcome.alerts += 1;
        }
    }
    match write.retry {
        Some(item) => put_due(tx, item, true)?,
        None => remove_due(tx, &judge_id(key, &record.version))?,
    }
    if outcome.recorded == Recorded::New
        && record.backfill
        && let Some(mut artifact) = get::<WatchedArtifact>(tx, Table::Artifacts, key)?
    {
        artifact.backfill.judged += 1;
        if artifact.backfill.complete() && artifact.backfill.judged == artifact.backfill.total {
            outcome.backfill_complete = true;
            put_due(
                tx,
                &DueItem {
                    artifact: key.to_owned(),
                    work: DueWork::Summarise,
                    due_at: now,
                },
                false,
            )?;
        }
        put(tx, Table::Artifacts, key, &artifact)?;
    }
    Ok(outcome)
}

// ---- outbox ----

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
            claimed_until: None,
        },
    )?;
    Ok(true)
}

pub fn claim(
    tx: &mut (impl KvWrite + ?Sized),
    id: &str,
    now: i64,
    until: i64,
) -> Result<bool, StoreError> {
    let mut won = false;
    update_outbox(tx, id, |entry| {
        if entry.claimed_until.is_none_or(|held| held <= now) {
            entry.claimed_until = Some(until);
            won = true;
        }
        true
    })?;
    Ok(won)
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

// ---- the engine and the ports over it ----

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

impl<E: KvEngine> crate::ports::ArtifactStore for E {
    async fn put_artifact(
        &self,
        artifact: &WatchedArtifact,
    ) -> Result<Option<WatchedArtifact>, StoreError> {
        let artifact = artifact.clone();
        self.write(Box::new(move |tx| put_artifact(tx, &artifact)))
            .await
    }

    async fn artifact(&self, key: &str) -> Result<Option<WatchedArtifact>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| get(tx, Table::Artifacts, &key)))
            .await
    }

    async fn artifacts_named(&self, keys: &[String]) -> Result<Vec<WatchedArtifact>, StoreError> {
        let keys = keys.to_vec();
        self.read(Box::new(move |tx| artifacts_named(tx, &keys)))
            .await
    }

    async fn artifacts_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WatchedArtifact>, StoreError> {
        let after = after.map(str::to_owned);
        self.read(Box::new(move |tx| {
            artifacts_after(tx, after.as_deref(), limit)
        }))
        .await
    }

    async fn delete_artifact(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.write(Box::new(move |tx| delete_artifact(tx, &key)))
            .await
    }
}

impl<E: KvEngine> crate::ports::VerdictStore for E {
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
        write: VerdictWrite<'_>,
        now: i64,
    ) -> Result<RecordOutcome, StoreError> {
        let key = key.to_owned();
        let record = write.record.clone();
        let alert = write.alert.cloned();
        let notices = write.notices.to_vec();
        let retry = write.retry.cloned();
        self.write(Box::new(move |tx| {
            let write = VerdictWrite {
                record: &record,
                alert: alert.as_ref(),
                notices: &notices,
                retry: retry.as_ref(),
            };
            self::record(tx, &key, write, now)
        }))
        .await
    }
}

impl<E: KvEngine> crate::ports::WatchStore for E {
    async fn poll_state(&self, key: &str) -> Result<Option<PollState>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| get(tx, Table::PollState, &key)))
            .await
    }

    async fn commit_poll(
        &self,
        key: &str,
        state: &PollState,
        commit: &PollCommit,
        now: i64,
    ) -> Result<usize, StoreError> {
        let (key, state, commit) = (key.to_owned(), state.clone(), commit.clone());
        self.write(Box::new(move |tx| {
            commit_poll(tx, &key, &state, &commit, now)
        }))
        .await
    }

    async fn feed_state(&self) -> Result<FeedState, StoreError> {
        self.read(Box::new(|tx| feed_state(tx))).await
    }

    async fn put_feed_state(&self, state: &FeedState) -> Result<(), StoreError> {
        let state = state.clone();
        self.write(Box::new(move |tx| put_feed_state(tx, &state)))
            .await
    }

    async fn schedule(&self, items: &[DueItem]) -> Result<(), StoreError> {
        let items = items.to_vec();
        self.write(Box::new(move |tx| schedule(tx, &items))).await
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<DueItem>, StoreError> {
        self.read(Box::new(move |tx| due(tx, now, limit))).await
    }

    async fn due_of(&self, key: &str) -> Result<Vec<DueItem>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| due_of(tx, &key))).await
    }

    async fn postpone(&self, ids: &[String], until: i64) -> Result<(), StoreError> {
        let ids = ids.to_vec();
        self.write(Box::new(move |tx| postpone(tx, &ids, until)))
            .await
    }

    async fn settle(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(Box::new(move |tx| remove_due(tx, &id))).await
    }

    async fn due_counts(&self) -> Result<DueCounts, StoreError> {
        self.read(Box::new(|tx| due_counts(tx))).await
    }
}

impl<E: KvEngine> crate::ports::Outbox for E {
    async fn enqueue(&self, alert: &Alert, now: i64) -> Result<bool, StoreError> {
        let alert = alert.clone();
        self.write(Box::new(move |tx| enqueue(tx, &alert, now)))
            .await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(Box::new(move |tx| outbox(tx, limit))).await
    }

    async fn claim(&self, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(Box::new(move |tx| claim(tx, &id, now, until)))
            .await
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
                entry.claimed_until = None;
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
