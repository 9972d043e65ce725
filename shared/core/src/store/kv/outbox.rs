//! The alert outbox: each alert id enqueued once, ever; entries claimed while delivered.

use super::{KvRead, KvWrite, Table, decode, get, put};
use crate::domain::{Alert, OutboxEntry};
use crate::ports::StoreError;

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
