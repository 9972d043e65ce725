//! `MemoryStore`: the store in memory, with the same semantics as the on-disk one (the
//! operations are shared; only the transaction differs). For tests and one-shot `check`.

use super::kv::{KvEngine, KvRead, KvWrite, Table};
use crate::ports::StoreError;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

type Data = BTreeMap<(Table, String), Vec<u8>>;

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

impl KvRead for Snapshot<'_> {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(&(table, key.to_owned())).cloned())
    }
    fn scan(
        &self,
        table: Table,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(scan(self.0, table, prefix, limit))
    }
    fn scan_after(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(scan_after(self.0, table, after, limit))
    }
}

/// Writes go to a copy that replaces the data only when the closure succeeds.
struct Staged(Data);

impl KvRead for Staged {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(&(table, key.to_owned())).cloned())
    }
    fn scan(
        &self,
        table: Table,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(scan(&self.0, table, prefix, limit))
    }
    fn scan_after(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(scan_after(&self.0, table, after, limit))
    }
}

impl KvWrite for Staged {
    fn put(&mut self, table: Table, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.0.insert((table, key.to_owned()), value);
        Ok(())
    }
    fn delete(&mut self, table: Table, key: &str) -> Result<(), StoreError> {
        self.0.remove(&(table, key.to_owned()));
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
        let mut staged = Staged(data.clone());
        let result = f(&mut staged)?;
        *data = staged.0;
        Ok(result)
    }
}
