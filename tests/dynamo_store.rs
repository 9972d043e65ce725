//! The store contract suite on DynamoDB's real wire protocol (moto), each check on a fresh
//! table, plus what only the DynamoDB store has to show: pagination across pages, the item
//! size guard, and two writers racing on one version.

#![allow(clippy::unwrap_used)]

use artifact_monitor_tests::aws::dynamo_store;
use artifact_monitor_tests::store_contract;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_store_passes_the_contract() {
    store_contract::run_all(dynamo_store).await;
}
