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

mod artifacts;
pub mod items;
mod outbox;
mod table;
mod verdicts;
mod watch;

pub use table::create_table;

use artifact_monitor_core::domain::{
    Alert, Compliance, DueCounts, DueItem, DueWork, FeedState, OutboxEntry, PollState, Recorded,
    Summary, VersionRecord, WatchedArtifact,
};
use artifact_monitor_core::ports::{
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
    ARTIFACTS, COUNTS_PK, COUNTS_SK, Item, META, OUTBOX, SUMMARY_PK, alert_pk, artifact_pk,
    doc_attr, due_sk, key, n, read_doc, s,
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

/// Whether a conditional write happened: `Ok(false)` when its condition did not hold
/// (`lost` says which service error that is), any other failure an error.
fn condition_held<O, E, R>(
    result: Result<O, SdkError<E, R>>,
    lost: fn(&E) -> bool,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if lost(e.err()) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

/// The condition that the stored revision is still `expected` (0: no item yet, too).
fn at_rev(expected: u64) -> (&'static str, HashMap<String, AttributeValue>) {
    let condition = if expected == 0 {
        "attribute_not_exists(pk) OR rev = :rev"
    } else {
        "rev = :rev"
    };
    (condition, HashMap::from([(":rev".to_owned(), n(expected))]))
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
        self.get_read(key_item, true).await
    }

    /// An eventually consistent read: half a strongly consistent one's price, and it may
    /// miss a write of the last moment. For reads a revision check stands behind.
    async fn get_eventually(&self, key_item: Item) -> Result<Option<Item>, StoreError> {
        self.get_read(key_item, false).await
    }

    async fn get_read(&self, key_item: Item, consistent: bool) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item))
            .consistent_read(consistent)
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
        let (condition, values) = at_rev(expected);
        self.put(item, Some(condition), Some(values))
    }

    /// `item` written at revision `next` if the stored one is still `expected`, alone: a
    /// conditional PutItem, half the write units of a transaction of one; `false`: it moved.
    async fn put_alone_at_rev(
        &self,
        mut item: Item,
        expected: u64,
        next: u64,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        item.insert("rev".to_owned(), n(next));
        let (condition, values) = at_rev(expected);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        condition_held(result, PutItemError::is_conditional_check_failed_exception)
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
