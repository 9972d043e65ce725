//! A key-value engine (one closure, one transaction) and the store ports over it.

use super::{
    KvRead, KvWrite, Table, artifacts_after, artifacts_named, claim, commit_poll, delete_artifact,
    due, due_counts, due_of, enqueue, feed_state, get, outbox, postpone, put_artifact,
    put_feed_state, record, release_lease, remove_due, schedule, summary, take_lease,
    update_outbox, version_key, versions, versions_page,
};
use crate::domain::{
    Alert, DueCounts, DueItem, FeedState, OutboxEntry, PollState, Summary, VersionRecord,
    WatchedArtifact,
};
use crate::ports::{Page, PollCommit, RecordOutcome, StoreError, VerdictWrite};

type ReadFn<T> = Box<dyn FnOnce(&dyn KvRead) -> Result<T, StoreError> + Send>;
type WriteFn<T> = Box<dyn FnOnce(&mut dyn KvWrite) -> Result<T, StoreError> + Send>;

/// A key-value database that runs a closure in one read or one atomic write transaction.
/// A write closure that returns an error leaves the database unchanged.
pub trait KvEngine: Send + Sync {
    fn read<T: Send + 'static>(
        &self,
        f: ReadFn<T>,
    ) -> impl std::future::Future<Output = Result<T, StoreError>> + Send;
    fn write<T: Send + 'static>(
        &self,
        f: WriteFn<T>,
    ) -> impl std::future::Future<Output = Result<T, StoreError>> + Send;
}

impl<E: KvEngine> crate::ports::ArtifactStore for E {
    async fn put_artifact(
        &self,
        artifact: &WatchedArtifact,
    ) -> Result<Option<WatchedArtifact>, StoreError> {
        let artifact = artifact.clone();
        self.write(Box::new(move |tx| put_artifact(tx, &artifact)))
            .await
    }

    async fn artifact(&self, key: &str) -> Result<Option<WatchedArtifact>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| get(tx, Table::Artifacts, &key)))
            .await
    }

    async fn artifacts_named(&self, keys: &[String]) -> Result<Vec<WatchedArtifact>, StoreError> {
        let keys = keys.to_vec();
        self.read(Box::new(move |tx| artifacts_named(tx, &keys)))
            .await
    }

    async fn artifacts_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WatchedArtifact>, StoreError> {
        let after = after.map(str::to_owned);
        self.read(Box::new(move |tx| {
            artifacts_after(tx, after.as_deref(), limit)
        }))
        .await
    }

    async fn delete_artifact(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.write(Box::new(move |tx| delete_artifact(tx, &key)))
            .await
    }

    async fn summary(&self) -> Result<Summary, StoreError> {
        self.read(Box::new(|tx| summary(tx))).await
    }
}

impl<E: KvEngine> crate::ports::VerdictStore for E {
    async fn version(&self, key: &str, version: &str) -> Result<Option<VersionRecord>, StoreError> {
        let key = version_key(key, version);
        self.read(Box::new(move |tx| get(tx, Table::Versions, &key)))
            .await
    }

    async fn versions(&self, key: &str) -> Result<Vec<VersionRecord>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| versions(tx, &key))).await
    }

    async fn versions_page(
        &self,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<VersionRecord>, StoreError> {
        let (key, after) = (key.to_owned(), after.map(str::to_owned));
        self.read(Box::new(move |tx| {
            versions_page(tx, &key, after.as_deref(), limit)
        }))
        .await
    }

    async fn record(
        &self,
        key: &str,
        write: VerdictWrite<'_>,
        now: i64,
    ) -> Result<RecordOutcome, StoreError> {
        let key = key.to_owned();
        let record = write.record.clone();
        let alert = write.alert.cloned();
        let notices = write.notices.to_vec();
        let retry = write.retry.cloned();
        self.write(Box::new(move |tx| {
            let write = VerdictWrite {
                record: &record,
                alert: alert.as_ref(),
                notices: &notices,
                retry: retry.as_ref(),
            };
            self::record(tx, &key, write, now)
        }))
        .await
    }
}

impl<E: KvEngine> crate::ports::WatchStore for E {
    async fn poll_state(&self, key: &str) -> Result<Option<PollState>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| get(tx, Table::PollState, &key)))
            .await
    }

    async fn commit_poll(
        &self,
        key: &str,
        state: &PollState,
        commit: &PollCommit,
        now: i64,
    ) -> Result<usize, StoreError> {
        let (key, state, commit) = (key.to_owned(), state.clone(), commit.clone());
        self.write(Box::new(move |tx| {
            commit_poll(tx, &key, &state, &commit, now)
        }))
        .await
    }

    async fn feed_state(&self) -> Result<FeedState, StoreError> {
        self.read(Box::new(|tx| feed_state(tx))).await
    }

    async fn put_feed_state(&self, state: &FeedState) -> Result<(), StoreError> {
        let state = state.clone();
        self.write(Box::new(move |tx| put_feed_state(tx, &state)))
            .await
    }

    async fn schedule(&self, items: &[DueItem]) -> Result<(), StoreError> {
        let items = items.to_vec();
        self.write(Box::new(move |tx| schedule(tx, &items))).await
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<DueItem>, StoreError> {
        self.read(Box::new(move |tx| due(tx, now, limit))).await
    }

    async fn due_of(&self, key: &str) -> Result<Vec<DueItem>, StoreError> {
        let key = key.to_owned();
        self.read(Box::new(move |tx| due_of(tx, &key))).await
    }

    async fn postpone(&self, ids: &[String], until: i64) -> Result<(), StoreError> {
        let ids = ids.to_vec();
        self.write(Box::new(move |tx| postpone(tx, &ids, until)))
            .await
    }

    async fn settle(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(Box::new(move |tx| remove_due(tx, &id))).await
    }

    async fn due_counts(&self) -> Result<DueCounts, StoreError> {
        self.read(Box::new(|tx| due_counts(tx))).await
    }

    async fn take_lease(
        &self,
        name: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let (name, owner) = (name.to_owned(), owner.to_owned());
        self.write(Box::new(move |tx| {
            take_lease(tx, &name, &owner, now, until)
        }))
        .await
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let (name, owner) = (name.to_owned(), owner.to_owned());
        self.write(Box::new(move |tx| release_lease(tx, &name, &owner)))
            .await
    }
}

impl<E: KvEngine> crate::ports::Outbox for E {
    async fn enqueue(&self, alert: &Alert, now: i64) -> Result<bool, StoreError> {
        let alert = alert.clone();
        self.write(Box::new(move |tx| enqueue(tx, &alert, now)))
            .await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(Box::new(move |tx| outbox(tx, limit))).await
    }

    async fn claim(&self, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(Box::new(move |tx| claim(tx, &id, now, until)))
            .await
    }

    async fn mark_printed(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(Box::new(move |tx| {
            update_outbox(tx, &id, |entry| {
                entry.printed = true;
                true
            })
        }))
        .await
    }

    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(Box::new(move |tx| {
            update_outbox(tx, &id, |entry| {
                entry.attempts = entry.attempts.saturating_add(1);
                entry.last_error = Some(error);
                entry.claimed_until = None;
                true
            })
        }))
        .await
    }

    async fn mark_delivered(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(Box::new(move |tx| update_outbox(tx, &id, |_| false)))
            .await
    }
}
