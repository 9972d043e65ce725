//! The due queue: items by id, an index by priority and time, and counters, kept in step
//! in every transaction.

use super::{DUE_COUNTS, KvRead, KvWrite, Table, decode, get, put};
use crate::domain::{DueCounts, DueItem, DueWork, judge_id, read_id, summarise_id};
use crate::ports::StoreError;
use serde::{Deserialize, Serialize};

/// A due item as stored, with the key of its index entry.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredDue {
    pub(super) item: DueItem,
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
pub(super) fn put_due(
    tx: &mut (impl KvWrite + ?Sized),
    item: &DueItem,
    merge: bool,
) -> Result<(), StoreError> {
    let mut counts = DueCounts::default();
    let added = put_due_uncounted(tx, item, merge)?;
    if added {
        count(&mut counts, item, 1);
        change_counts(tx, |c| add_counts(c, &counts))?;
    }
    Ok(())
}

fn add_counts(total: &mut DueCounts, delta: &DueCounts) {
    total.reads += delta.reads;
    total.judgements += delta.judgements;
    total.summaries += delta.summaries;
}

/// [`put_due`] without touching the counters; `true` when the item is new.
fn put_due_uncounted(
    tx: &mut (impl KvWrite + ?Sized),
    item: &DueItem,
    merge: bool,
) -> Result<bool, StoreError> {
    let id = item.id();
    let existing: Option<StoredDue> = get(tx, Table::Due, &id)?;
    let added = existing.is_none();
    let item = match &existing {
        Some(stored) => {
            tx.delete(Table::DueIndex, &stored.index)?;
            if merge {
                item.clone().replacing(&stored.item)
            } else {
                item.clone()
            }
        }
        None => item.clone(),
    };
    let index = index_key(&item, &id);
    tx.put(Table::DueIndex, &index, id.clone().into_bytes())?;
    put(tx, Table::Due, &id, &StoredDue { item, index })?;
    Ok(added)
}

/// Adds many items, the counters written once.
pub fn schedule(tx: &mut (impl KvWrite + ?Sized), items: &[DueItem]) -> Result<(), StoreError> {
    let mut counts = DueCounts::default();
    for item in items {
        if put_due_uncounted(tx, item, true)? {
            count(&mut counts, item, 1);
        }
    }
    if counts != DueCounts::default() {
        change_counts(tx, |c| add_counts(c, &counts))?;
    }
    Ok(())
}

/// What removing a due item needs of it: where its index entry is (the item itself, an
/// event of a kilobyte or so, is skipped while parsing).
#[derive(Deserialize)]
struct DueHead {
    index: String,
}

pub fn remove_due(tx: &mut (impl KvWrite + ?Sized), id: &str) -> Result<(), StoreError> {
    if let Some(head) = get::<DueHead>(tx, Table::Due, id)? {
        tx.delete(Table::DueIndex, &head.index)?;
        tx.delete(Table::Due, id)?;
        // The kind is the id's first letter (see `domain::read_id` and its siblings).
        change_counts(tx, |c| {
            let field = match id.as_bytes().first() {
                Some(b'R') => &mut c.reads,
                Some(b'S') => &mut c.summaries,
                _ => &mut c.judgements,
            };
            *field = field.saturating_sub(1);
        })?;
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
