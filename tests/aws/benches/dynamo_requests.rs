//! DynamoDB request harness: what the monitor's operations cost on the DynamoDB store,
//! counted on the wire (every request the SDK sends to the emulator, by operation) with
//! request units estimated from the items sent and received as DynamoDB bills them (a
//! write unit per KB written, doubled in transactions; a read unit per 4 KB read
//! consistently, half on an index or eventually consistent). Counts are exact; units are
//! an estimate; times on moto mean nothing and are not printed.
//!
//! `cargo bench -p artifact-monitor-aws-tests --bench dynamo_requests` (moto from `.venv`, as
//! `scripts/test.sh` installs it, or `ARTIFACT_MONITOR_AWS_ENDPOINT`).
//!
//! Measures: one judged version (a new release, non-compliant, alerted) with its alert
//! delivered; one unchanged package met by the sweep (a 304); one tick with nothing new
//! (a feed read with no hit, an empty due queue and outbox, a sweep of 55 unchanged
//! packages: the default budget's share of a one-minute tick).

#![allow(clippy::unwrap_used)]

use artifact_monitor_aws::DynamoStore;
use artifact_monitor_aws_tests::aws::{config, unique};
use artifact_monitor_core::domain::{Alert, ArtifactSource, EmitReason};
use artifact_monitor_core::monitor::{
    Delivery, Detector, Judge, MonitorConfig, NoBus, Read, TickPlan, WatchConfig, watchlist,
};
use artifact_monitor_core::ports::Clock;
use artifact_monitor_core::ports::store::*;
use artifact_monitor_http::{GithubRuns, NpmChanges, NpmRegistry, Webhook};
use artifact_monitor_tests::fakes::{FakeNpm, FixedClock, manifest};
use artifact_monitor_tests::store_contract::event;
use artifact_monitor_tests::world::{OTHER_INTEGRITY, fast_http, octo};
use artifact_monitor_verify::ProvenanceVerifier;
use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Requests, write units and read units, by operation.
#[derive(Debug, Default, Clone)]
struct Tally {
    requests: u64,
    write_units: f64,
    read_units: f64,
}

#[derive(Debug, Default, Clone)]
struct Counter {
    by_operation: Arc<Mutex<BTreeMap<String, Tally>>>,
    /// The operation of the request in flight (one at a time in this harness).
    current: Arc<Mutex<Option<(String, bool)>>>,
}

/// The size DynamoDB bills for an item in its JSON wire form: names and values.
fn item_bytes(item: &Value) -> usize {
    let Some(map) = item.as_object() else {
        return 0;
    };
    map.iter()
        .map(|(name, value)| {
            name.len()
                + match value.as_object().and_then(|v| v.iter().next()) {
                    Some((kind, v)) if kind == "B" => v.as_str().map_or(0, |b| b.len() * 3 / 4),
                    Some((_, Value::String(text))) => text.len(),
                    Some((_, Value::Bool(_))) => 1,
                    _ => 8,
                }
        })
        .sum()
}

fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// Write units of one request, from its body.
fn writes_of(operation: &str, body: &Value) -> f64 {
    match operation {
        "PutItem" => write_units(item_bytes(&body["Item"])),
        "UpdateItem" | "DeleteItem" => 1.0,
        "TransactWriteItems" => body["TransactItems"].as_array().map_or(0.0, |items| {
            items
                .iter()
                .map(|i| match i.get("Put") {
                    Some(put) => 2.0 * write_units(item_bytes(&put["Item"])),
                    None => 2.0,
                })
                .sum()
        }),
        "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.values())
            .flat_map(|requests| requests.as_array().into_iter().flatten())
            .map(|r| match r.get("PutRequest") {
                Some(put) => write_units(item_bytes(&put["Item"])),
                None => 1.0,
            })
            .sum(),
        _ => 0.0,
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "request counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_owned();
        let body: Value = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        // Half a unit: an index (always eventually consistent) or a read that does not ask
        // for consistency (DynamoDB's default).
        let consistent = match operation.as_str() {
            "BatchGetItem" => body["RequestItems"]
                .as_object()
                .is_some_and(|tables| tables.values().all(|t| t["ConsistentRead"] == true)),
            _ => body["ConsistentRead"] == true,
        };
        let on_index = body.get("IndexName").is_some() || !consistent;
        let mut counts = self.by_operation.lock().unwrap();
        let tally = counts.entry(operation.clone()).or_default();
        tally.requests += 1;
        tally.write_units += writes_of(&operation, &body);
        *self.current.lock().unwrap() = Some((operation, on_index));
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some((operation, on_index)) = self.current.lock().unwrap().take() else {
            return Ok(());
        };
        if !["GetItem", "Query", "BatchGetItem"].contains(&operation.as_str()) {
            return Ok(());
        }
        let bytes = context.response().body().bytes().map_or(0, <[u8]>::len);
        let units = bytes.div_ceil(4096).max(1) as f64 * if on_index { 0.5 } else { 1.0 };
        if let Some(tally) = self.by_operation.lock().unwrap().get_mut(&operation) {
            tally.read_units += units;
        }
        Ok(())
    }
}

impl Counter {
    fn take(&self) -> BTreeMap<String, Tally> {
        std::mem::take(&mut self.by_operation.lock().unwrap())
    }
}

fn show(title: &str, tallies: &BTreeMap<String, Tally>) -> (u64, f64, f64) {
    let total = tallies.values().fold((0, 0.0, 0.0), |t, v| {
        (t.0 + v.requests, t.1 + v.write_units, t.2 + v.read_units)
    });
    let detail: Vec<String> = tallies
        .iter()
        .map(|(op, t)| format!("{op} {}", t.requests))
        .collect();
    println!(
        "{title:<34} {:>3} requests, {:>5.1} write units, {:>4.1} read units  ({})",
        total.0,
        total.1,
        total.2,
        detail.join(", ")
    );
    total
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let counter = Counter::default();
    let aws = config().await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws)
            .interceptor(counter.clone())
            .build(),
    );
    let table = unique("bench");
    artifact_monitor_aws::dynamo::create_table(&client, &table)
        .await
        .unwrap();
    let store = DynamoStore::new(client, table);
    let npm = FakeNpm::start().await;
    let clock = FixedClock::at("2026-11-27T12:00:00Z");
    let registry = NpmRegistry::new(npm.url(), fast_http(), 1 << 24).unwrap();
    let detector = Detector {
        registry: registry.clone(),
        store: store.clone(),
        clock: clock.clone(),
        config: MonitorConfig::default(),
    };
    let judge = Judge {
        registry,
        runs: None::<GithubRuns>,
        store: store.clone(),
        clock: clock.clone(),
        verifier: Arc::new(ProvenanceVerifier::embedded().unwrap()),
        config: MonitorConfig::default(),
    };
    let names: Vec<String> = (0..55).map(|i| format!("pkg-{i:02}")).collect();
    for name in &names {
        npm.create(name, &["octocat"]);
        npm.publish(
            name,
            manifest(name, "1.0.0", OTHER_INTEGRITY, false),
            "2026-01-01T00:00:00Z",
        );
        watchlist::watch(&store, octo(name), ArtifactSource::Api, clock.now())
            .await
            .unwrap();
        let watched = store
            .artifact(&format!("npm/{name}"))
            .await
            .unwrap()
            .unwrap();
        detector.detect(&watched, Read::Full, &NoBus).await.unwrap();
    }
    // The backfill judged, so what follows is the steady state.
    for item in store.due(clock.now() + 3600, 1000).await.unwrap() {
        if let artifact_monitor_core::domain::DueWork::Judge { event } = item.work {
            judge.judge(&event).await.unwrap();
        }
    }
    let print = |_: &Alert| {};
    let deliver = || Delivery::<Webhook> {
        sink: None,
        limit: 100,
    };
    detector.deliver(deliver(), print).await.unwrap();
    counter.take();

    println!("DynamoDB requests on moto (counts exact, units estimated)");
    // One new release, non-compliant: judged, recorded with its alert, delivered.
    let mut release = event("pkg-00", "1.1.0", EmitReason::New);
    release.integrity = Some(OTHER_INTEGRITY.to_owned());
    let judged = judge.judge(&release).await.unwrap().unwrap();
    assert_eq!(judged.alerts, 1);
    let judged_cost = show("judge one version (record + alert)", &counter.take());
    detector.deliver(deliver(), print).await.unwrap();
    let delivery_cost = show("deliver its alert", &counter.take());

    // A feed hit: the package read fresh, its new version written as due (the event handed
    // to the bus is the verifier's, counted above).
    let watched = store.artifact("npm/pkg-02").await.unwrap().unwrap();
    npm.publish(
        "pkg-02",
        manifest("pkg-02", "1.1.0", OTHER_INTEGRITY, false),
        "2026-11-27T11:59:00Z",
    );
    counter.take();
    detector
        .detect(&watched, Read::Fresh, &NoBus)
        .await
        .unwrap();
    let hit_cost = show("detect one new version (feed hit)", &counter.take());

    // The sweep meets an unchanged package.
    let watched = store.artifact("npm/pkg-01").await.unwrap().unwrap();
    counter.take();
    detector
        .detect(
            &watched,
            Read::Sweep {
                round_started: None,
            },
            &NoBus,
        )
        .await
        .unwrap();
    let sweep_cost = show("sweep one unchanged package (304)", &counter.take());

    // A quiet tick: the feed (no hit), an empty due queue, 55 unchanged packages swept,
    // an empty outbox.
    let feed = NpmChanges::new(&npm.feed_url(), fast_http()).unwrap();
    let plan = TickPlan {
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(120),
        allowance: None,
        reserve: 0.0,
        max_due: 10_000,
        max_sweep: 55,
        sweep_round_secs: 0,
        concurrency: 1,
        watch: WatchConfig::default(),
    };
    detector
        .tick(std::slice::from_ref(&feed), &NoBus, deliver(), &print, plan)
        .await;
    counter.take();
    let report = detector
        .tick(std::slice::from_ref(&feed), &NoBus, deliver(), &print, plan)
        .await;
    assert_eq!(report.sweep.unwrap().unwrap().polled.len(), 55);
    let tick_cost = show("one quiet tick (feed, due, 55 swept)", &counter.take());

    // The monthly bill for 10,000 watched artifacts, a tick a minute, 10 publishes an
    // hour, at on-demand list prices (us-east-1).
    const WRITE_PRICE: f64 = 0.625; // per million write request units
    const READ_PRICE: f64 = 0.125; // per million read request units
    let ticks = 60.0 * 24.0 * 30.0;
    let publishes = 10.0 * 24.0 * 30.0;
    let per_publish = (
        judged_cost.0 + delivery_cost.0 + hit_cost.0,
        judged_cost.1 + delivery_cost.1 + hit_cost.1,
        judged_cost.2 + delivery_cost.2 + hit_cost.2,
    );
    let writes = ticks * tick_cost.1 + publishes * per_publish.1;
    let reads = ticks * tick_cost.2 + publishes * per_publish.2;
    println!(
        "a month at a tick a minute and 10 publishes an hour (each alerted): {:.0} requests, {:.2} M write units, {:.2} M read units",
        ticks * tick_cost.0 as f64 + publishes * per_publish.0 as f64,
        writes / 1e6,
        reads / 1e6
    );
    println!(
        "  = ${:.2} writes + ${:.2} reads = ${:.2} a month (on-demand, ${WRITE_PRICE}/M WRU, ${READ_PRICE}/M RRU); the sweep's share of a tick: {} requests per unchanged package",
        writes / 1e6 * WRITE_PRICE,
        reads / 1e6 * READ_PRICE,
        writes / 1e6 * WRITE_PRICE + reads / 1e6 * READ_PRICE,
        sweep_cost.0
    );
}
