//! `DynamoStore`: the store ports over one DynamoDB table (layout in [`items`]).
//!
//! Every access is a GetItem, a Query (on the table, or on GSI1 / GSI2) or a batch of keyed
//! reads or writes; nothing scans. Writes that must be atomic are one `TransactWriteItems`
//! with condition expressions (a verdict with its alert, due item and backfill count; poll
//! state with what settles with it), and a lost condition is read from the cancellation
//! reasons: a revision that moved means another writer won (redo from a fresh read, a few
//! times with jitter, or report [`StoreError::Conflict`]); an alert marker that exists means
//! the alert was enqueued before (never twice). Correctness rests on the conditions, not on
//! client request tokens. The due counters are updated right after the transaction that
//! changed the queue (a crash in between leaves them off by one: they report progress, they
//! decide nothing).

pub mod items;
mod table;

pub use table::create_table;

use artifact_monitor::domain::{
    Alert, Compliance, DueCounts, DueItem, DueWork, FeedState, OutboxEntry, PollState, Recorded,
    Summary, VersionRecord, WatchedArtifact,
};
use artifact_monitor::ports::{
    ArtifactStore, Outbox, Page, PollCommit, RecordOutcome, StoreError, VerdictStore, VerdictWrite,
    WatchStore,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, PutRequest, ReturnValue,
    TransactWriteItem, WriteRequest,
};
use items::{
    ARTIFACTS, COUNTS_PK, COUNTS_SK, FEED_PK, FEED_SK, GSI1, GSI2, Item, META, OUTBOX, POLL,
    SUMMARY_PK, alert_pk, artifact_pk, doc_attr, due_item, due_key_of_id, due_sk, key, n, num,
    read_doc, rev_of, s, version_sk,
};
use std::collections::HashMap;
use std::time::Duration;

/// Attempts of a transaction that lost a condition to a concurrent writer.
const MAX_ATTEMPTS: usize = 5;
/// Due items and alerts a poll commit writes inside its transaction (DynamoDB takes 100
/// actions; the state, the artifact and the due read take three).
const IN_TRANSACTION: usize = 90;
/// Keys per BatchGetItem (DynamoDB's limit).
const BATCH_GET: usize = 100;
/// Requests per BatchWriteItem (DynamoDB's limit).
const BATCH_WRITE: usize = 25;
/// The due counters' change for one judgement.
const JUDGEMENT: [i64; 3] = [0, 1, 0];
/// Rounds of re-sending what a batch left unprocessed (throttling) before giving up.
const BATCH_ROUNDS: usize = 8;

/// The store over one DynamoDB table. Clones share the client.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Items per Query page (DynamoDB also ends a page at 1 MB).
    page_size: usize,
}

fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.code() {
        Some(_) => service_error(&error),
        // Not an answer of the service (a timeout, a refused connection): what failed.
        None => StoreError::Unavailable(format!("DynamoDB: {}", DisplayErrorContext(&error))),
    }
}

/// An error the service answered with: its code and message, nothing else (no request
/// dump in logs).
fn service_error(error: &impl ProvideErrorMetadata) -> StoreError {
    StoreError::Unavailable(format!(
        "DynamoDB {}: {}",
        error.code().unwrap_or("error"),
        error.message().unwrap_or("no message")
    ))
}

fn build<T>(built: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    built.map_err(|e| StoreError::Corrupt(format!("DynamoDB request: {e}")))
}

/// What a cancelled transaction says.
enum Cancelled {
    /// A condition failed at this index of the transaction's items.
    Condition(Vec<usize>),
    /// Another transaction touched an item at the same time.
    Conflict,
}

/// A short random pause before another attempt, growing with the attempt.
async fn jitter(attempt: usize) {
    let cap = 20u64 << attempt.min(5);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=cap))).await;
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            page_size: 1000,
        }
    }

    /// The same store reading `size` items per Query page (tests use small pages).
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = size.max(1);
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, key_item: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item().cloned())
    }

    /// Every item of a query, page after page (or the first `limit`).
    async fn query_all(
        &self,
        index: Option<&str>,
        condition: &str,
        values: HashMap<String, AttributeValue>,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let left = limit.map_or(self.page_size, |l| l - out.len());
            let page_limit = Some(left.clamp(1, self.page_size) as i32);
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .set_limit(page_limit);
            request = match index {
                Some(index) => request.index_name(index),
                None => request.consistent_read(true),
            };
            let page = request.send().await.map_err(unavailable)?;
            out.extend(page.items().iter().cloned());
            if limit.is_some_and(|l| out.len() >= l) {
                out.truncate(limit.unwrap_or(usize::MAX));
                return Ok(out);
            }
            match page.last_evaluated_key() {
                Some(next) => start = Some(next.clone()),
                None => return Ok(out),
            }
        }
    }

    /// The items with these keys (absent ones left out), in no particular order.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET) {
            let mut pending = chunk.to_vec();
            for round in 0..BATCH_ROUNDS {
                let request = build(
                    KeysAndAttributes::builder()
                        .set_keys(Some(pending))
                        .consistent_read(true)
                        .build(),
                )?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if round + 1 == BATCH_ROUNDS {
                    return Err(StoreError::Unavailable(
                        "DynamoDB left batch reads unprocessed".to_owned(),
                    ));
                }
                jitter(round).await;
            }
        }
        Ok(found)
    }

    /// Writes these requests, re-sending what DynamoDB leaves unprocessed.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            for round in 0..BATCH_ROUNDS {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(unavailable)?;
                pending = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if round + 1 == BATCH_ROUNDS {
                    return Err(StoreError::Unavailable(
                        "DynamoDB left batch writes unprocessed".to_owned(),
                    ));
                }
                jitter(round).await;
            }
        }
        Ok(())
    }

    /// Runs a transaction; `Err(Cancelled)` when a condition or a concurrent writer
    /// cancelled it.
    async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(error) => match error.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let reasons = cancelled.cancellation_reasons();
                    let failed: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect();
                    if failed.is_empty() {
                        Ok(Err(Cancelled::Conflict))
                    } else {
                        Ok(Err(Cancelled::Condition(failed)))
                    }
                }
                TransactWriteItemsError::TransactionInProgressException(_) => {
                    Ok(Err(Cancelled::Conflict))
                }
                other => Err(service_error(&other)),
            },
        }
    }

    fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_values(values)
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, key_item: Item) -> Result<TransactWriteItem, StoreError> {
        let delete = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_item))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// `item` with `rev` set to `next`, written only if the stored revision is `expected`
    /// (0: the item does not exist yet).
    fn put_at_rev(
        &self,
        mut item: Item,
        expected: u64,
        next: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        item.insert("rev".to_owned(), n(next));
        if expected == 0 {
            self.put(item, Some("attribute_not_exists(pk) OR rev = :rev"), {
                Some(HashMap::from([(":rev".to_owned(), n(0))]))
            })
        } else {
            self.put(
                item,
                Some("rev = :rev"),
                Some(HashMap::from([(":rev".to_owned(), n(expected))])),
            )
        }
    }

    /// The summary's change when an artifact's status goes from `from` to `to` (`None`:
    /// the artifact is added, `delta` 1, or removed, `delta` -1, with status `from`).
    fn summary_change(
        &self,
        from: Compliance,
        to: Option<Compliance>,
        delta: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(SUMMARY_PK, SUMMARY_PK)));
        let update = match to {
            None => update
                .update_expression("ADD #total :d, #from :d")
                .expression_attribute_names("#total", "total")
                .expression_attribute_names("#from", from.as_str())
                .expression_attribute_values(":d", n(delta)),
            Some(to) => update
                .update_expression("ADD #from :minus, #to :plus")
                .expression_attribute_names("#from", from.as_str())
                .expression_attribute_names("#to", to.as_str())
                .expression_attribute_values(":minus", n(-1))
                .expression_attribute_values(":plus", n(1)),
        };
        let update = build(update.build())?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn add_counts(&self, delta: [i64; 3]) -> Result<(), StoreError> {
        if delta == [0, 0, 0] {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(COUNTS_PK, COUNTS_SK)))
            .update_expression("ADD #r :r, #j :j, #s :s")
            .expression_attribute_names("#r", "reads")
            .expression_attribute_names("#j", "judgements")
            .expression_attribute_names("#s", "summaries")
            .expression_attribute_values(":r", n(delta[0]))
            .expression_attribute_values(":j", n(delta[1]))
            .expression_attribute_values(":s", n(delta[2]))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Whether an alert id was ever enqueued.
    async fn alert_known(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.get(key(alert_pk(id), "ALERT")).await?.is_some())
    }

    fn alert_item(alert: &Alert, now: i64) -> Result<Item, StoreError> {
        let mut item = key(alert_pk(&alert.id), "ALERT");
        let (name, doc) = doc_attr(alert)?;
        item.insert(name, doc);
        item.insert("enqueued_at".to_owned(), n(now));
        item.insert("gsi2pk".to_owned(), s(OUTBOX));
        item.insert("gsi2sk".to_owned(), s(format!("{now:020}#{}", alert.id)));
        Ok(item)
    }

    /// The stored due items with these ids, by id.
    async fn due_items(&self, items: &[DueItem]) -> Result<HashMap<String, DueItem>, StoreError> {
        let keys: Vec<Item> = items
            .iter()
            .map(|i| key(artifact_pk(&i.artifact), due_sk(i)))
            .collect();
        let mut found = HashMap::new();
        for item in self.batch_get(keys).await? {
            let due: DueItem = read_doc(&item)?;
            found.insert(due.id(), due);
        }
        Ok(found)
    }

    fn counts_of(item: &DueItem) -> [i64; 3] {
        match item.work {
            DueWork::Read { .. } => [1, 0, 0],
            DueWork::Judge { .. } => JUDGEMENT,
            DueWork::Summarise => [0, 0, 1],
        }
    }

    fn add(total: &mut [i64; 3], delta: [i64; 3], sign: i64) {
        for (t, d) in total.iter_mut().zip(delta) {
            *t += sign * d;
        }
    }
}

fn delete_request(key_item: Item) -> Result<WriteRequest, StoreError> {
    let delete = build(DeleteRequest::builder().set_key(Some(key_item)).build())?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    let put = build(PutRequest::builder().set_item(Some(item)).build())?;
    Ok(WriteRequest::builder().put_request(put).build())
}

fn artifact_item(artifact: &WatchedArtifact) -> Result<Item, StoreError> {
    let k = artifact.key();
    let mut item = key(artifact_pk(&k), META);
    let (name, doc) = doc_attr(artifact)?;
    item.insert(name, doc);
    item.insert("gsi1pk".to_owned(), s(ARTIFACTS));
    item.insert("gsi1sk".to_owned(), s(k));
    Ok(item)
}

impl ArtifactStore for DynamoStore {
    async fn put_artifact(
        &self,
        artifact: &WatchedArtifact,
    ) -> Result<Option<WatchedArtifact>, StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            let old = self.get(key(artifact_pk(&artifact.key()), META)).await?;
            let rev = old.as_ref().map_or(0, rev_of);
            let previous: Option<WatchedArtifact> = old.as_ref().map(read_doc).transpose()?;
            let mut actions = Vec::new();
            let next = match &previous {
                // The store's own state (progress, counters) is not the caller's to overwrite.
                Some(stored) => artifact.clone().keeping_state_of(stored),
                None => {
                    let fresh = WatchedArtifact {
                        policy_rev: artifact.policy_rev,
                        ..WatchedArtifact::new(
                            artifact.artifact.clone(),
                            artifact.source.clone(),
                            artifact.added_at,
                        )
                    };
                    actions.push(self.summary_change(fresh.versions.status(), None, 1)?);
                    fresh
                }
            };
            actions.insert(0, self.put_at_rev(artifact_item(&next)?, rev, rev + 1)?);
            match self.transact(actions).await? {
                Ok(()) => return Ok(previous),
                Err(_) => jitter(attempt).await,
            }
        }
        Err(StoreError::Conflict(format!(
            "artifact {} kept changing while written",
            artifact.key()
        )))
    }

    async fn summary(&self) -> Result<Summary, StoreError> {
        let item = self.get(key(SUMMARY_PK, SUMMARY_PK)).await?;
        let read = |name: &str| {
            item.as_ref()
                .and_then(|i| num::<i64>(i, name))
                .unwrap_or(0)
                .max(0) as u64
        };
        Ok(Summary {
            total: read("total"),
            compliant: read("compliant"),
            non_compliant: read("non_compliant"),
            pending: read("pending"),
        })
    }

    async fn artifact(&self, key_: &str) -> Result<Option<WatchedArtifact>, StoreError> {
        self.get(key(artifact_pk(key_), META))
            .await?
            .as_ref()
            .map(read_doc)
            .transpose()
    }

    async fn artifacts_named(&self, keys: &[String]) -> Result<Vec<WatchedArtifact>, StoreError> {
        let wanted: Vec<Item> = keys.iter().map(|k| key(artifact_pk(k), META)).collect();
        let mut found: HashMap<String, WatchedArtifact> = HashMap::new();
        for item in self.batch_get(wanted).await? {
            let artifact: WatchedArtifact = read_doc(&item)?;
            found.insert(artifact.key(), artifact);
        }
        // In the order asked, as the embedded stores answer.
        Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
    }

    async fn artifacts_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WatchedArtifact>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut values = HashMap::from([(":p".to_owned(), s(ARTIFACTS))]);
        let condition = match after {
            Some(after) => {
                values.insert(":a".to_owned(), s(after));
                "gsi1pk = :p AND gsi1sk > :a"
            }
            None => "gsi1pk = :p",
        };
        self.query_all(Some(GSI1), condition, values, Some(limit))
            .await?
            .iter()
            .map(read_doc)
            .collect()
    }

    async fn delete_artifact(&self, key_: &str) -> Result<bool, StoreError> {
        let pk = artifact_pk(key_);
        let items = self
            .query_all(
                None,
                "pk = :p",
                HashMap::from([(":p".to_owned(), s(pk.clone()))]),
                None,
            )
            .await?;
        let mut meta = None;
        let mut counts = [0i64; 3];
        let mut requests = Vec::new();
        for item in &items {
            let sk = match item.get("sk") {
                Some(AttributeValue::S(sk)) => sk.clone(),
                _ => continue,
            };
            if sk == META {
                meta = Some(item.clone());
                continue;
            }
            if sk.starts_with("D#") {
                let due: DueItem = read_doc(item)?;
                Self::add(&mut counts, Self::counts_of(&due), -1);
            }
            requests.push(delete_request(key(pk.clone(), sk))?);
        }
        // Everything but the artifact first: a crash in between leaves a watched artifact
        // with less data, which a repeated delete finishes.
        self.batch_write(requests).await?;
        self.add_counts(counts).await?;
        let Some(meta) = meta else {
            return Ok(false);
        };
        let artifact: WatchedArtifact = read_doc(&meta)?;
        let rev = rev_of(&meta);
        let delete = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk, META)))
                .condition_expression("rev = :rev")
                .expression_attribute_values(":rev", n(rev))
                .build(),
        )?;
        let actions = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.summary_change(artifact.versions.status(), None, -1)?,
        ];
        match self.transact(actions).await? {
            Ok(()) => Ok(true),
            Err(_) => Err(StoreError::Conflict(format!(
                "{key_} changed while it was removed; remove it again"
            ))),
        }
    }
}

impl VerdictStore for DynamoStore {
    async fn version(
        &self,
        key_: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>, StoreError> {
        self.get(key(artifact_pk(key_), version_sk(version)))
            .await?
            .as_ref()
            .map(read_doc)
            .transpose()
    }

    async fn versions(&self, key_: &str) -> Result<Vec<VersionRecord>, StoreError> {
        let values = HashMap::from([
            (":p".to_owned(), s(artifact_pk(key_))),
            (":v".to_owned(), s("V#")),
        ]);
        self.query_all(None, "pk = :p AND begins_with(sk, :v)", values, None)
            .await?
            .iter()
            .map(read_doc)
            .collect()
    }

    async fn versions_page(
        &self,
        key_: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<VersionRecord>, StoreError> {
        let pk = artifact_pk(key_);
        let start = match after {
            None => None,
            Some(cursor) => {
                let start: HashMap<String, String> = serde_json::from_str(cursor)
                    .map_err(|_| StoreError::Corrupt("not a cursor of this store".to_owned()))?;
                if start.get("gsi1pk") != Some(&pk) {
                    return Err(StoreError::Corrupt("a cursor of another list".to_owned()));
                }
                Some(start.into_iter().map(|(k, v)| (k, s(v))).collect::<Item>())
            }
        };
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :p AND begins_with(gsi1sk, :t)")
            .expression_attribute_values(":p", s(pk))
            .expression_attribute_values(":t", s("T#"))
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(unavailable)?;
        let items = page
            .items()
            .iter()
            .map(read_doc)
            .collect::<Result<_, _>>()?;
        let next = match page.last_evaluated_key() {
            Some(last) => {
                let keys: HashMap<&str, &str> = last
                    .iter()
                    .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str())))
                    .collect();
                Some(serde_json::to_string(&keys).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            }
            None => None,
        };
        Ok(Page { items, next })
    }

    async fn record(
        &self,
        key_: &str,
        write: VerdictWrite<'_>,
        now: i64,
    ) -> Result<RecordOutcome, StoreError> {
        let pk = artifact_pk(key_);
        let record = write.record;
        for attempt in 0..MAX_ATTEMPTS {
            let stored_item = self
                .get(key(pk.clone(), version_sk(&record.version)))
                .await?;
            let stored: Option<VersionRecord> = stored_item.as_ref().map(read_doc).transpose()?;
            let stored_rev = stored_item.as_ref().map_or(0, rev_of);
            let before = stored.as_ref().map(|r| r.verdict.compliance);
            let (recorded, to_store) = VersionRecord::apply(stored, record, now);
            let mut outcome = RecordOutcome {
                recorded,
                alerts: 0,
                backfill_complete: false,
            };
            let mut actions = Vec::new();
            if let Some(next) = &to_store {
                let mut item = key(pk.clone(), version_sk(&record.version));
                let (name, doc) = doc_attr(next)?;
                item.insert(name, doc);
                // Listed newest first in GSI1 (a version without a time sorts last).
                item.insert("gsi1pk".to_owned(), s(pk.clone()));
                item.insert(
                    "gsi1sk".to_owned(),
                    s(format!(
                        "T#{:013}#{}",
                        next.published_at.unwrap_or(0).max(0),
                        next.version
                    )),
                );
                actions.push(self.put_at_rev(item, stored_rev, stored_rev + 1)?);
            }
            let alert = write.alert.filter(|_| recorded != Recorded::Unchanged);
            for alert in alert.into_iter().chain(write.notices) {
                if !self.alert_known(&alert.id).await? {
                    actions.push(self.put(
                        Self::alert_item(alert, now)?,
                        Some("attribute_not_exists(pk)"),
                        None,
                    )?);
                    outcome.alerts += 1;
                }
            }
            let mut counts = [0i64; 3];
            let judgement_key = key(pk.clone(), format!("D#J#{}", record.version));
            let existing_due: Option<DueItem> = self
                .get(judgement_key.clone())
                .await?
                .as_ref()
                .map(read_doc)
                .transpose()?;
            match write.retry {
                Some(item) => {
                    let merged = match &existing_due {
                        Some(existing) => item.clone().replacing(existing),
                        None => {
                            Self::add(&mut counts, Self::counts_of(item), 1);
                            item.clone()
                        }
                    };
                    actions.push(self.put(due_item(&merged)?, None, None)?);
                }
                None if existing_due.is_some() => {
                    Self::add(&mut counts, JUDGEMENT, -1);
                    actions.push(self.delete(judgement_key)?);
                }
                None => {}
            }
            // The artifact's counters and progress move with the verdict, in one transaction.
            if let Some(next) = to_store
                .as_ref()
                .filter(|_| recorded != Recorded::Unchanged)
                && let Some(meta) = self.get(key(pk.clone(), META)).await?
            {
                let mut artifact: WatchedArtifact = read_doc(&meta)?;
                let rev = rev_of(&meta);
                let status = artifact.versions.status();
                artifact.versions.moved(before, next.verdict.compliance);
                artifact.last_published = artifact.last_published.max(next.published_at);
                let now_status = artifact.versions.status();
                if now_status != status {
                    actions.push(self.summary_change(status, Some(now_status), 0)?);
                }
                if recorded == Recorded::New && record.backfill {
                    artifact.backfill.judged += 1;
                    if artifact.backfill.complete()
                        && artifact.backfill.judged == artifact.backfill.total
                    {
                        outcome.backfill_complete = true;
                        let summary = DueItem {
                            artifact: key_.to_owned(),
                            work: DueWork::Summarise,
                            due_at: now,
                        };
                        Self::add(&mut counts, Self::counts_of(&summary), 1);
                        actions.push(self.put(due_item(&summary)?, None, None)?);
                    }
                }
                actions.push(self.put_at_rev(artifact_item(&artifact)?, rev, rev + 1)?);
            }
            if actions.is_empty() {
                return Ok(outcome);
            }
            match self.transact(actions).await? {
                Ok(()) => {
                    self.add_counts(counts).await?;
                    return Ok(outcome);
                }
                // A writer changed the version, an alert marker, or the artifact: read again.
                Err(_) => jitter(attempt).await,
            }
        }
        Err(StoreError::Conflict(format!(
            "{key_}@{} kept changing while its verdict was recorded",
            record.version
        )))
    }
}

impl WatchStore for DynamoStore {
    async fn poll_state(&self, key_: &str) -> Result<Option<PollState>, StoreError> {
        let Some(item) = self.get(key(artifact_pk(key_), POLL)).await? else {
            return Ok(None);
        };
        let mut state: PollState = read_doc(&item)?;
        state.rev = rev_of(&item);
        Ok(Some(state))
    }

    async fn commit_poll(
        &self,
        key_: &str,
        state: &PollState,
        commit: &PollCommit,
        now: i64,
    ) -> Result<usize, StoreError> {
        let pk = artifact_pk(key_);
        let current = self
            .get(key(pk.clone(), POLL))
            .await?
            .map_or(0, |i| rev_of(&i));
        if current != state.rev {
            return Err(StoreError::Conflict(format!(
                "poll state of {key_} is at revision {current}, not {}",
                state.rev
            )));
        }
        // A small commit (a few new versions: the usual case) goes into the state's own
        // transaction, so a writer that loses the revision writes nothing at all. A large
        // one (a backfill) cannot (100 actions a transaction): its work is written first,
        // idempotently (the same ids whoever writes them), so a crash or a lost race before
        // the state commit repeats the read instead of losing what it found.
        let inline = commit.due.len() + commit.alerts.len() <= IN_TRANSACTION;
        let mut enqueued = 0;
        if !inline {
            self.schedule(&commit.due).await?;
            for alert in &commit.alerts {
                enqueued += usize::from(self.enqueue(alert, now).await?);
            }
        }
        for attempt in 0..MAX_ATTEMPTS {
            let mut actions = Vec::new();
            let mut item = key(pk.clone(), POLL);
            let (name, doc) = doc_attr(&PollState {
                rev: 0,
                ..state.clone()
            })?;
            item.insert(name, doc);
            actions.push(self.put_at_rev(item, state.rev, state.rev + 1)?);
            let mut counts = [0i64; 3];
            if inline {
                enqueued = 0;
                let existing = self.due_items(&commit.due).await?;
                for due in &commit.due {
                    let merged = match existing.get(&due.id()) {
                        Some(old) => due.clone().replacing(old),
                        None => {
                            Self::add(&mut counts, Self::counts_of(due), 1);
                            due.clone()
                        }
                    };
                    actions.push(self.put(due_item(&merged)?, None, None)?);
                }
                for alert in &commit.alerts {
                    if !self.alert_known(&alert.id).await? {
                        actions.push(self.put(
                            Self::alert_item(alert, now)?,
                            Some("attribute_not_exists(pk)"),
                            None,
                        )?);
                        enqueued += 1;
                    }
                }
            }
            if let Some(rejudged) = commit.read_done {
                let read_key = key(pk.clone(), "D#R");
                if let Some(existing) = self.get(read_key.clone()).await? {
                    let due: DueItem = read_doc(&existing)?;
                    if matches!(due.work, DueWork::Read { rejudge } if rejudged || !rejudge) {
                        Self::add(&mut counts, Self::counts_of(&due), -1);
                        actions.push(self.delete(read_key)?);
                    }
                }
            }
            if let Some(meta) = self.get(key(pk.clone(), META)).await? {
                let mut artifact: WatchedArtifact = read_doc(&meta)?;
                let rev = rev_of(&meta);
                if let Some(total) = commit.backfill_total {
                    artifact.backfill.total = total;
                    artifact.backfill.started = true;
                }
                artifact.last_read_at = Some(now);
                actions.push(self.put_at_rev(artifact_item(&artifact)?, rev, rev + 1)?);
            }
            match self.transact(actions).await? {
                Ok(()) => {
                    self.add_counts(counts).await?;
                    return Ok(enqueued);
                }
                Err(Cancelled::Condition(failed)) if failed.contains(&0) => {
                    return Err(StoreError::Conflict(format!(
                        "poll state of {key_} moved past revision {}",
                        state.rev
                    )));
                }
                // The artifact or its due read changed meanwhile: again from fresh reads.
                Err(_) => jitter(attempt).await,
            }
        }
        Err(StoreError::Conflict(format!(
            "{key_} kept changing while its poll state was written"
        )))
    }

    async fn feed_state(&self) -> Result<FeedState, StoreError> {
        let Some(item) = self.get(key(FEED_PK, FEED_SK)).await? else {
            return Ok(FeedState::default());
        };
        let mut state: FeedState = read_doc(&item)?;
        state.rev = rev_of(&item);
        Ok(state)
    }

    async fn put_feed_state(&self, state: &FeedState) -> Result<(), StoreError> {
        let mut item = key(FEED_PK, FEED_SK);
        let (name, doc) = doc_attr(&FeedState {
            rev: 0,
            ..state.clone()
        })?;
        item.insert(name, doc);
        let action = self.put_at_rev(item, state.rev, state.rev + 1)?;
        match self.transact(vec![action]).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::Conflict(format!(
                "feed state moved past revision {}",
                state.rev
            ))),
        }
    }

    async fn schedule(&self, items: &[DueItem]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let existing = self.due_items(items).await?;
        let mut counts = [0i64; 3];
        let mut requests = Vec::new();
        // The last of several items with one id wins, as in one embedded transaction.
        let mut by_id: HashMap<String, DueItem> = HashMap::new();
        for item in items {
            let merged = match existing.get(&item.id()).or(by_id.get(&item.id())) {
                Some(old) => item.clone().replacing(old),
                None => item.clone(),
            };
            by_id.insert(item.id(), merged);
        }
        for (id, item) in by_id {
            if !existing.contains_key(&id) {
                Self::add(&mut counts, Self::counts_of(&item), 1);
            }
            requests.push(put_request(due_item(&item)?)?);
        }
        self.batch_write(requests).await?;
        self.add_counts(counts).await
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<DueItem>, StoreError> {
        let mut out = Vec::new();
        for priority in artifact_monitor::domain::DuePriority::ALL {
            if out.len() >= limit {
                break;
            }
            let values = HashMap::from([
                (":p".to_owned(), s(format!("DUE#{}", priority.digit()))),
                (":t".to_owned(), s(format!("{:020}", now.max(0) + 1))),
            ]);
            let items = self
                .query_all(
                    Some(GSI2),
                    "gsi2pk = :p AND gsi2sk < :t",
                    values,
                    Some(limit - out.len()),
                )
                .await?;
            for item in &items {
                out.push(read_doc(item)?);
            }
        }
        Ok(out)
    }

    async fn due_of(&self, key_: &str) -> Result<Vec<DueItem>, StoreError> {
        let values = HashMap::from([
            (":p".to_owned(), s(artifact_pk(key_))),
            (":d".to_owned(), s("D#")),
        ]);
        let mut items: Vec<DueItem> = self
            .query_all(None, "pk = :p AND begins_with(sk, :d)", values, None)
            .await?
            .iter()
            .map(read_doc)
            .collect::<Result<_, _>>()?;
        // Reads, then summaries, then judgements by version: the embedded stores' order.
        let rank = |i: &DueItem| match i.work {
            DueWork::Read { .. } => 0,
            DueWork::Summarise => 1,
            DueWork::Judge { .. } => 2,
        };
        items.sort_by_key(|i| (rank(i), i.id()));
        Ok(items)
    }

    async fn postpone(&self, ids: &[String], until: i64) -> Result<(), StoreError> {
        let keys: Vec<Item> = ids
            .iter()
            .filter_map(|id| due_key_of_id(id))
            .map(|(pk, sk)| key(pk, sk))
            .collect();
        let mut requests = Vec::new();
        for item in self.batch_get(keys).await? {
            let mut due: DueItem = read_doc(&item)?;
            due.due_at = until;
            requests.push(put_request(due_item(&due)?)?);
        }
        self.batch_write(requests).await
    }

    async fn settle(&self, id: &str) -> Result<(), StoreError> {
        let Some((pk, sk)) = due_key_of_id(id) else {
            return Ok(());
        };
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        if let Some(old) = out.attributes() {
            let due: DueItem = read_doc(old)?;
            let mut counts = [0i64; 3];
            Self::add(&mut counts, Self::counts_of(&due), -1);
            self.add_counts(counts).await?;
        }
        Ok(())
    }

    async fn take_lease(
        &self,
        name: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let mut item = key(format!("LEASE#{name}"), "LEASE");
        item.insert("owner".to_owned(), s(owner));
        // The table's TTL attribute: DynamoDB removes expired leases in the background;
        // the condition below never trusts that it did.
        item.insert("expires_at".to_owned(), n(until));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now OR #owner = :owner",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(service_error(&other)),
            },
        }
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("LEASE#{name}"), "LEASE")))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(service_error(&other)),
            },
        }
    }

    async fn due_counts(&self) -> Result<DueCounts, StoreError> {
        let item = self.get(key(COUNTS_PK, COUNTS_SK)).await?;
        let read = |name: &str| {
            item.as_ref()
                .and_then(|i| num::<i64>(i, name))
                .unwrap_or(0)
                .max(0) as u64
        };
        Ok(DueCounts {
            reads: read("reads"),
            judgements: read("judgements"),
            summaries: read("summaries"),
        })
    }
}

fn outbox_entry(item: &Item) -> Result<OutboxEntry, StoreError> {
    Ok(OutboxEntry {
        alert: read_doc(item)?,
        enqueued_at: num(item, "enqueued_at").unwrap_or(0),
        printed: matches!(item.get("printed"), Some(AttributeValue::Bool(true))),
        attempts: num(item, "attempts").unwrap_or(0),
        last_error: match item.get("last_error") {
            Some(AttributeValue::S(e)) => Some(e.clone()),
            _ => None,
        },
        claimed_until: num(item, "claimed_until"),
    })
}

impl Outbox for DynamoStore {
    async fn enqueue(&self, alert: &Alert, now: i64) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::alert_item(alert, now)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(service_error(&other)),
            },
        }
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let values = HashMap::from([(":p".to_owned(), s(OUTBOX))]);
        self.query_all(Some(GSI2), "gsi2pk = :p", values, Some(limit))
            .await?
            .iter()
            .map(outbox_entry)
            .collect()
    }

    async fn claim(&self, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(alert_pk(id), "ALERT")))
            .update_expression("SET claimed_until = :until")
            .condition_expression(
                "attribute_exists(gsi2pk) AND (attribute_not_exists(claimed_until) OR claimed_until <= :now)",
            )
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(service_error(&other)),
            },
        }
    }

    async fn mark_printed(&self, id: &str) -> Result<(), StoreError> {
        self.update_alert(
            id,
            "SET printed = :t",
            vec![(":t", AttributeValue::Bool(true))],
        )
        .await
    }

    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.update_alert(
            id,
            "SET last_error = :e ADD attempts :one REMOVE claimed_until",
            vec![(":e", s(error)), (":one", n(1))],
        )
        .await
    }

    async fn mark_delivered(&self, id: &str) -> Result<(), StoreError> {
        // The item stays: its id is the memory that the alert was enqueued, ever.
        self.update_alert(
            id,
            "SET delivered = :t REMOVE gsi2pk, gsi2sk, claimed_until",
            vec![(":t", AttributeValue::Bool(true))],
        )
        .await
    }
}

impl DynamoStore {
    /// Updates an undelivered alert; an unknown or delivered one is left alone.
    async fn update_alert(
        &self,
        id: &str,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(alert_pk(id), "ALERT")))
            .update_expression(expression)
            .condition_expression("attribute_exists(gsi2pk)");
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(service_error(&other)),
            },
        }
    }
}
