//! Poll and feed state against revisions, the due queue (GSI2 `DUE#<priority>`), the due
//! counters and leases on DynamoDB.

use super::items::{
    COUNTS_PK, COUNTS_SK, FEED_PK, FEED_SK, GSI2, Item, META, POLL, artifact_pk, doc_attr,
    due_item, due_key_of_id, key, n, num, read_doc, rev_of, s,
};
use super::*;

impl WatchStore for DynamoStore {
    async fn poll_state(&self, key_: &str) -> Result<Option<PollState>, StoreError> {
        // Read once a package a tick (the sweep's every read): eventually consistent, at
        // half the price. A state a moment old costs at most a full read instead of a 304
        // and a commit refused on its revision (the read below is consistent): no write.
        let Some(item) = self.get_eventually(key(artifact_pk(key_), POLL)).await? else {
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
        if self
            .put_alone_at_rev(item, state.rev, state.rev + 1)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "feed state moved past revision {}",
                state.rev
            )))
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
        for priority in artifact_monitor_core::domain::DuePriority::ALL {
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
        condition_held(result, PutItemError::is_conditional_check_failed_exception)
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
        condition_held(
            result,
            DeleteItemError::is_conditional_check_failed_exception,
        )
        .map(|_| ())
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
