//! The store's semantics, written once over a small key-value transaction interface, and the
//! two embedded implementations: [`RedbStore`] on disk (crash-safe: every operation is one
//! ACID transaction) and [`MemoryStore`] (the fake for tests and `check`).
//!
//! A store for another database (DynamoDB) implements [`crate::ports::Store`] directly and
//! must pass the same contract suite.

mod kv;
mod memory;
#[cfg(feature = "embedded")]
mod redb_store;

pub use memory::MemoryStore;
#[cfg(feature = "embedded")]
pub use redb_store::RedbStore;
