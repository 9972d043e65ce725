//! The watched set on DynamoDB: artifact items (`META`), listed through GSI1.

use super::items::{
    ARTIFACTS, GSI1, Item, META, SUMMARY_PK, artifact_pk, key, n, num, read_doc, rev_of, s,
};
use super::*;

impl ArtifactStore for DynamoStore {
    async fn put_artifact(
        &self,
        artifact: &WatchedArtifact,
    ) -> Result<Option<WatchedArtifact>, StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            let old = self.get(key(artifact_pk(&artifact.key()), META)).await?;
            let rev = old.as_ref().map_or(0, rev_of);
            let previous: Option<WatchedArtifact> = old.as_ref().map(read_doc).transpose()?;
            let next = artifact.clone().stored_over(previous.as_ref());
            let mut actions = Vec::new();
            if previous.is_none() {
                actions.push(self.summary_change(next.versions.status(), None, 1)?);
            }
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
