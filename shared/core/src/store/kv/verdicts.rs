//! Recording a verdict: the version, its history, its alert, its due item and the
//! backfill's count, in one transaction.

use super::due::{put_due, remove_due};
use super::outbox::enqueue;
use super::{KvWrite, Table, change_summary, get, put, time_key, version_key};
use crate::domain::{DueItem, DueWork, Recorded, VersionRecord, WatchedArtifact, judge_id};
use crate::ports::{RecordOutcome, StoreError, VerdictWrite};

pub fn record(
    tx: &mut (impl KvWrite + ?Sized),
    key: &str,
    write: VerdictWrite<'_>,
    now: i64,
) -> Result<RecordOutcome, StoreError> {
    let record = write.record;
    let vkey = version_key(key, &record.version);
    let stored: Option<VersionRecord> = get(tx, Table::Versions, &vkey)?;
    let before = stored.as_ref().map(|r| r.verdict.compliance);
    let mut outcome = RecordOutcome {
        recorded: Recorded::New,
        alerts: 0,
        backfill_complete: false,
    };
    let (recorded, to_store) = VersionRecord::apply(stored, record, now);
    outcome.recorded = recorded;
    if let Some(to_store) = &to_store {
        put(tx, Table::Versions, &vkey, to_store)?;
        if recorded == Recorded::New {
            tx.put(
                Table::VersionsByTime,
                &time_key(key, to_store.published_at, &to_store.version),
                to_store.version.clone().into_bytes(),
            )?;
        }
    }
    let mut artifact: Option<WatchedArtifact> = get(tx, Table::Artifacts, key)?;
    if let (Some(artifact), Some(to_store)) = (&mut artifact, &to_store)
        && recorded != Recorded::Unchanged
    {
        let status = artifact.versions.status();
        artifact.versions.moved(before, to_store.verdict.compliance);
        artifact.last_published = artifact.last_published.max(to_store.published_at);
        let now_status = artifact.versions.status();
        if now_status != status {
            change_summary(tx, |s| s.moved(status, now_status))?;
        }
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
        && let Some(artifact) = &mut artifact
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
    }
    if let Some(artifact) = &artifact
        && recorded != Recorded::Unchanged
    {
        put(tx, Table::Artifacts, key, artifact)?;
    }
    Ok(outcome)
}
