//! The store contract suite run against the embedded stores, plus what only the on-disk
//! store promises: data survives closing and reopening (and a process that never closed it).

use artifact_monitor_core::domain::Compliance;
use artifact_monitor_core::ports::store::*;
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_embedded::RedbStore;
use artifact_monitor_tests::store_contract::{self, alert_for, record, record_with, verdict};

#[tokio::test]
async fn memory_store_passes_the_contract() {
    store_contract::run_all(|| async { MemoryStore::new() }).await;
}

#[tokio::test]
async fn redb_store_passes_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    store_contract::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.path().join(format!("store-{n}.redb"));
        async move { RedbStore::open(&path).unwrap() }
    })
    .await;
}

#[tokio::test]
async fn redb_store_keeps_everything_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("monitor.redb");
    let bad = verdict(Compliance::NonCompliant, &["no_provenance", "no_run"]);
    let alert = alert_for("alpha", "1.0.0", &bad);
    {
        let store = RedbStore::open(&path).unwrap();
        store
            .put_artifact(&store_contract::watched("alpha"))
            .await
            .unwrap();
        record_with(
            &store,
            "npm/alpha",
            &record("1.0.0", bad.clone(), 1),
            Some(&alert),
            1,
        )
        .await;
        // Dropped without any shutdown step, as a killed process would leave it.
    }
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.artifacts_after(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.outbox(10).await.unwrap()[0].alert, alert);
    assert_eq!(
        store
            .version("npm/alpha", "1.0.0")
            .await
            .unwrap()
            .unwrap()
            .verdict,
        bad
    );
    assert!(!store.enqueue(&alert, 2).await.unwrap());
}

#[test]
fn redb_store_refuses_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db");
    std::fs::write(&path, b"this is not a database").unwrap();
    assert!(RedbStore::open(&path).is_err());
}
