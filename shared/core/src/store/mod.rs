//! The store's semantics, written once over a small key-value transaction interface
//! ([`kv`]), and the in-memory store over it ([`MemoryStore`]: the fake for tests and
//! `check`). The on-disk store (`artifact-monitor-embedded`'s `RedbStore`) is another engine
//! under the same interface, so the two cannot drift apart.
//!
//! A store for another database (DynamoDB) implements [`crate::ports::Store`] directly and
//! must pass the same contract suite.

pub mod kv;
mod memory;

pub use memory::MemoryStore;
