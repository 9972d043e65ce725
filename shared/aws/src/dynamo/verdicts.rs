//! Versions and verdicts on DynamoDB: one transaction per verdict with its alert marker,
//! its due item, the artifact's counters and, on a status flip, the summary.

use super::items::{
    GSI1, Item, META, artifact_pk, doc_attr, due_item, key, read_doc, rev_of, s, version_sk,
};
use super::*;

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
