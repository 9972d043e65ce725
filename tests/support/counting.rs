//! `CountingStore`: any store, with every call counted as a read or a write, so a test can
//! say what an operation cost ("a duplicated event costs one read").

use artifact_monitor_core::domain::{
    Alert, DueCounts, DueItem, FeedState, OutboxEntry, PollState, Summary, VersionRecord,
    WatchedArtifact,
};
use artifact_monitor_core::ports::{
    ArtifactStore, Outbox, Page, PollCommit, RecordOutcome, StoreError, VerdictStore, VerdictWrite,
    WatchStore,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Default)]
pub struct CountingStore<S> {
    pub inner: S,
    reads: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            reads: Arc::default(),
            writes: Arc::default(),
        }
    }

    /// (reads, writes) so far.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.reads.load(Ordering::SeqCst),
            self.writes.load(Ordering::SeqCst),
        )
    }

    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }

    fn write(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: ArtifactStore> ArtifactStore for CountingStore<S> {
    async fn put_artifact(
        &self,
        artifact: &WatchedArtifact,
    ) -> Result<Option<WatchedArtifact>, StoreError> {
        self.write();
        self.inner.put_artifact(artifact).await
    }
    async fn artifact(&self, key: &str) -> Result<Option<WatchedArtifact>, StoreError> {
        self.read();
        self.inner.artifact(key).await
    }
    async fn artifacts_named(&self, keys: &[String]) -> Result<Vec<WatchedArtifact>, StoreError> {
        self.read();
        self.inner.artifacts_named(keys).await
    }
    async fn artifacts_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WatchedArtifact>, StoreError> {
        self.read();
        self.inner.artifacts_after(after, limit).await
    }
    async fn delete_artifact(&self, key: &str) -> Result<bool, StoreError> {
        self.write();
        self.inner.delete_artifact(key).await
    }
    async fn summary(&self) -> Result<Summary, StoreError> {
        self.read();
        self.inner.summary().await
    }
}

impl<S: VerdictStore> VerdictStore for CountingStore<S> {
    async fn version(&self, key: &str, version: &str) -> Result<Option<VersionRecord>, StoreError> {
        self.read();
        self.inner.version(key, version).await
    }
    async fn versions(&self, key: &str) -> Result<Vec<VersionRecord>, StoreError> {
        self.read();
        self.inner.versions(key).await
    }
    async fn versions_page(
        &self,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<VersionRecord>, StoreError> {
        self.read();
        self.inner.versions_page(key, after, limit).await
    }
    async fn record(
        &self,
        key: &str,
        write: VerdictWrite<'_>,
        now: i64,
    ) -> Result<RecordOutcome, StoreError> {
        self.write();
        self.inner.record(key, write, now).await
    }
}

impl<S: WatchStore> WatchStore for CountingStore<S> {
    async fn poll_state(&self, key: &str) -> Result<Option<PollState>, StoreError> {
        self.read();
        self.inner.poll_state(key).await
    }
    async fn commit_poll(
        &self,
        key: &str,
        state: &PollState,
        commit: &PollCommit,
        now: i64,
    ) -> Result<usize, StoreError> {
        self.write();
        self.inner.commit_poll(key, state, commit, now).await
    }
    async fn feed_state(&self) -> Result<FeedState, StoreError> {
        self.read();
        self.inner.feed_state().await
    }
    async fn put_feed_state(&self, state: &FeedState) -> Result<(), StoreError> {
        self.write();
        self.inner.put_feed_state(state).await
    }
    async fn schedule(&self, items: &[DueItem]) -> Result<(), StoreError> {
        self.write();
        self.inner.schedule(items).await
    }
    async fn due(&self, now: i64, limit: usize) -> Result<Vec<DueItem>, StoreError> {
        self.read();
        self.inner.due(now, limit).await
    }
    async fn due_of(&self, key: &str) -> Result<Vec<DueItem>, StoreError> {
        self.read();
        self.inner.due_of(key).await
    }
    async fn postpone(&self, ids: &[String], until: i64) -> Result<(), StoreError> {
        self.write();
        self.inner.postpone(ids, until).await
    }
    async fn settle(&self, id: &str) -> Result<(), StoreError> {
        self.write();
        self.inner.settle(id).await
    }
    async fn due_counts(&self) -> Result<DueCounts, StoreError> {
        self.read();
        self.inner.due_counts().await
    }
    async fn take_lease(
        &self,
        name: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        self.write();
        self.inner.take_lease(name, owner, now, until).await
    }
    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        self.write();
        self.inner.release_lease(name, owner).await
    }
}

impl<S: Outbox> Outbox for CountingStore<S> {
    async fn enqueue(&self, alert: &Alert, now: i64) -> Result<bool, StoreError> {
        self.write();
        self.inner.enqueue(alert, now).await
    }
    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read();
        self.inner.outbox(limit).await
    }
    async fn claim(&self, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        self.write();
        self.inner.claim(id, now, until).await
    }
    async fn mark_printed(&self, id: &str) -> Result<(), StoreError> {
        self.write();
        self.inner.mark_printed(id).await
    }
    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.write();
        self.inner.mark_failed(id, error).await
    }
    async fn mark_delivered(&self, id: &str) -> Result<(), StoreError> {
        self.write();
        self.inner.mark_delivered(id).await
    }
}
