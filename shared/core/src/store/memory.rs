//! `MemoryStore`: the store in memory, with the same semantics as the on-disk one (the
//! operations are shared; only the transaction differs). For tests and one-shot `check`.

use super::kv::{KvEngine, KvRead, KvWrite, Table};
use crate::ports::StoreError;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

type Key = (Table, String);
type Data = BTreeMap<Key, Vec<u8>>;

/// An in-memory store. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    data: Arc<Mutex<Data>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

struct Snapshot<'a>(&'a Data);

fn scan_after(
    data: &Data,
    table: Table,
    after: Option<&str>,
    limit: usize,
) -> Vec<(String, Vec<u8>)> {
    use std::ops::Bound;
    let start = match after {
        Some(after) => Bound::Excluded((table, after.to_owned())),
        None => Bound::Included((table, String::new())),
    };
    data.range((start, Bound::Unbounded))
        .take_while(|((t, _), _)| *t == table)
        .take(limit)
        .map(|((_, k), v)| (k.clone(), v.clone()))
        .collect()
}

fn scan(data: &Data, table: Table, prefix: &str, limit: usize) -> Vec<(String, Vec<u8>)> {
    data.range((table, prefix.to_owned())..)
        .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
        .take(limit)
        .map(|((_, k), v)| (k.clone(), v.clone()))
        .collect()
}

/// Reads are the same from a snapshot and from a write in progress: both see the data.
trait Sees {
    fn data(&self) -> &Data;
}

impl Sees for Snapshot<'_> {
    fn data(&self) -> &Data {
        self.0
    }
}

impl<T: Sees> KvRead for T {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.data().get(&(table, key.to_owned())).cloned())
    }
    fn scan(
        &self,
        table: Table,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(scan(self.data(), table, prefix, limit))
    }
    fn scan_after(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(scan_after(self.data(), table, after, limit))
    }
}

/// Writes go straight to the data, each with an undo entry; a closure that fails has its
/// writes undone, newest first, so the data is as before.
struct Staged<'a> {
    data: &'a mut Data,
    undo: Vec<(Key, Option<Vec<u8>>)>,
}

impl Sees for Staged<'_> {
    fn data(&self) -> &Data {
        self.data
    }
}

impl KvWrite for Staged<'_> {
    fn put(&mut self, table: Table, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let key = (table, key.to_owned());
        let previous = self.data.insert(key.clone(), value);
        self.undo.push((key, previous));
        Ok(())
    }
    fn delete(&mut self, table: Table, key: &str) -> Result<(), StoreError> {
        let key = (table, key.to_owned());
        if let Some(previous) = self.data.remove(&key) {
            self.undo.push((key, Some(previous)));
        }
        Ok(())
    }
}

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Data>, StoreError> {
        self.data
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".to_owned()))
    }
}

impl KvEngine for MemoryStore {
    async fn read<T: Send + 'static>(
        &self,
        f: Box<dyn FnOnce(&dyn KvRead) -> Result<T, StoreError> + Send>,
    ) -> Result<T, StoreError> {
        let data = self.lock()?;
        f(&Snapshot(&data))
    }

    async fn write<T: Send + 'static>(
        &self,
        f: Box<dyn FnOnce(&mut dyn KvWrite) -> Result<T, StoreError> + Send>,
    ) -> Result<T, StoreError> {
        let mut data = self.lock()?;
        let mut staged = Staged {
            data: &mut data,
            undo: Vec::new(),
        };
        match f(&mut staged) {
            Ok(result) => Ok(result),
            Err(e) => {
                for (key, previous) in staged.undo.into_iter().rev() {
                    match previous {
                        Some(value) => staged.data.insert(key, value),
                        None => staged.data.remove(&key),
                    };
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Artifact, ArtifactSource, Compliance, Confidence, PolicySpec, Verdict, VerdictEvidence,
        VersionRecord, WatchedArtifact,
    };
    use crate::ports::{ArtifactStore, VerdictStore};

    #[tokio::test]
    async fn data_from_before_the_counters_gets_them_and_its_index() {
        let store = MemoryStore::new();
        let artifact = WatchedArtifact::new(
            Artifact::npm("p", PolicySpec::new("o/r", &[".github/workflows/r.yml"])).unwrap(),
            ArtifactSource::Api,
            1,
        );
        let record = |version: &str, compliance, at| VersionRecord {
            version: version.to_owned(),
            published_at: Some(at),
            integrity: None,
            tarball: None,
            publisher: None,
            detected_at: at,
            pending_since: None,
            backfill: false,
            verdict: Verdict {
                compliance,
                confidence: Confidence::High,
                reasons: vec![],
                details: vec![],
                evidence: VerdictEvidence::default(),
                logs_url: None,
                files: Vec::new(),
            },
            policy_rev: 1,
            history: vec![],
        };
        let versions = [
            record("1.0.0", Compliance::Compliant, 10),
            record("2.0.0", Compliance::NonCompliant, 20),
        ];
        // As an older version wrote it: entries only, no counters, no index.
        store
            .write(Box::new(move |tx| {
                tx.put(
                    Table::Artifacts,
                    "npm/p",
                    serde_json::to_vec(&artifact).unwrap(),
                )?;
                for v in &versions {
                    tx.put(
                        Table::Versions,
                        &super::super::kv::version_key("npm/p", &v.version),
                        serde_json::to_vec(v).unwrap(),
                    )?;
                }
                Ok(())
            }))
            .await
            .unwrap();
        store
            .write(Box::new(|tx| super::super::kv::migrate(tx)))
            .await
            .unwrap();
        let summary = store.summary().await.unwrap();
        assert_eq!((summary.total, summary.non_compliant), (1, 1));
        let p = store.artifact("npm/p").await.unwrap().unwrap();
        assert_eq!((p.versions.total, p.last_published), (2, Some(20)));
        let page = store.versions_page("npm/p", None, 10).await.unwrap();
        let order: Vec<_> = page.items.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(order, ["2.0.0", "1.0.0"]);
        // Once migrated, never again.
        store
            .write(Box::new(|tx| super::super::kv::migrate(tx)))
            .await
            .unwrap();
        assert_eq!(store.summary().await.unwrap().total, 1);
    }

    #[tokio::test]
    async fn a_failed_write_leaves_the_data_as_before() {
        let store = MemoryStore::new();
        store
            .write(Box::new(|tx| tx.put(Table::Meta, "a", b"1".to_vec())))
            .await
            .unwrap();
        let failed: Result<(), _> = store
            .write(Box::new(|tx| {
                tx.put(Table::Meta, "a", b"2".to_vec())?;
                tx.put(Table::Meta, "b", b"3".to_vec())?;
                tx.delete(Table::Meta, "a")?;
                Err(StoreError::Conflict("lost".into()))
            }))
            .await;
        assert!(failed.is_err());
        let data = store.lock().unwrap();
        assert_eq!(data.get(&(Table::Meta, "a".into())), Some(&b"1".to_vec()));
        assert_eq!(data.get(&(Table::Meta, "b".into())), None);
        assert_eq!(data.len(), 1);
    }
}
