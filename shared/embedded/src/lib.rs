//! `RedbStore`: the embedded on-disk store, one redb file.
//!
//! Every store operation is one redb write transaction committed with immediate durability,
//! so a crash (or Ctrl-C) leaves either all of an operation on disk or none of it: a verdict
//! and its alert are written together. Blocking redb calls run on tokio's blocking pool, a
//! bounded number at a time: many callers at once (the API under load, a tick's concurrent
//! reads) wait on a semaphore, not in as many blocked threads (redb has one writer, and a
//! read is short: more threads than cores only switch between one another).

use artifact_monitor_core::ports::StoreError;
use artifact_monitor_core::store::kv::{self, KvEngine, KvRead, KvWrite, Table};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

fn definition(table: Table) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(table.name())
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The on-disk store. Clones share the same database.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<redb::Database>,
    readers: Arc<tokio::sync::Semaphore>,
    writer: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbStore")
    }
}

impl RedbStore {
    /// Opens (or creates) the database file; a file left by a crash is repaired on open.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = redb::Database::create(path)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        let tx = db.begin_write().map_err(unavailable)?;
        for table in Table::ALL {
            tx.open_table(definition(table)).map_err(unavailable)?;
        }
        // Data written by an older version gets its counters and indexes.
        let mut tx = WriteTx(tx);
        kv::migrate(&mut tx)?;
        tx.0.commit().map_err(unavailable)?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            db: Arc::new(db),
            readers: Arc::new(tokio::sync::Semaphore::new(cores * 2)),
            writer: Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }
}

struct ReadTx(redb::ReadTransaction);

fn scan_table(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    prefix: &str,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for entry in table.range(prefix..).map_err(unavailable)? {
        let (key, value) = entry.map_err(unavailable)?;
        if !key.value().starts_with(prefix) || out.len() >= limit {
            break;
        }
        out.push((key.value().to_owned(), value.value().to_vec()));
    }
    Ok(out)
}

fn scan_table_after(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    use std::ops::Bound;
    let range = match after {
        Some(after) => table.range::<&str>((Bound::Excluded(after), Bound::Unbounded)),
        None => table.range::<&str>(..),
    };
    let mut out = Vec::new();
    for entry in range.map_err(unavailable)? {
        if out.len() >= limit {
            break;
        }
        let (key, value) = entry.map_err(unavailable)?;
        out.push((key.value().to_owned(), value.value().to_vec()));
    }
    Ok(out)
}

/// Reads are the same in a read and in a write transaction; only the table type differs.
macro_rules! impl_kv_read {
    ($tx:ty) => {
        impl KvRead for $tx {
            fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                let t = self.0.open_table(definition(table)).map_err(unavailable)?;
                Ok(t.get(key).map_err(unavailable)?.map(|v| v.value().to_vec()))
            }
            fn scan(
                &self,
                table: Table,
                prefix: &str,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                let t = self.0.open_table(definition(table)).map_err(unavailable)?;
                scan_table(&t, prefix, limit)
            }
            fn scan_after(
                &self,
                table: Table,
                after: Option<&str>,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                let t = self.0.open_table(definition(table)).map_err(unavailable)?;
                scan_table_after(&t, after, limit)
            }
        }
    };
}

struct WriteTx(redb::WriteTransaction);

impl_kv_read!(ReadTx);
impl_kv_read!(WriteTx);

impl KvWrite for WriteTx {
    fn put(&mut self, table: Table, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let mut t = self.0.open_table(definition(table)).map_err(unavailable)?;
        t.insert(key, value.as_slice()).map_err(unavailable)?;
        Ok(())
    }
    fn delete(&mut self, table: Table, key: &str) -> Result<(), StoreError> {
        let mut t = self.0.open_table(definition(table)).map_err(unavailable)?;
        t.remove(key).map_err(unavailable)?;
        Ok(())
    }
}

impl KvEngine for RedbStore {
    async fn read<T: Send + 'static>(
        &self,
        f: Box<dyn FnOnce(&dyn KvRead) -> Result<T, StoreError> + Send>,
    ) -> Result<T, StoreError> {
        let _permit = self.readers.acquire().await.map_err(unavailable)?;
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let tx = db.begin_read().map_err(unavailable)?;
            f(&ReadTx(tx))
        })
        .await
        .map_err(unavailable)?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: Box<dyn FnOnce(&mut dyn KvWrite) -> Result<T, StoreError> + Send>,
    ) -> Result<T, StoreError> {
        let _permit = self.writer.acquire().await.map_err(unavailable)?;
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let mut tx = WriteTx(db.begin_write().map_err(unavailable)?);
            // On error the transaction is dropped, which aborts it.
            let result = f(&mut tx)?;
            tx.0.commit().map_err(unavailable)?;
            Ok(result)
        })
        .await
        .map_err(unavailable)?
    }
}
