//! AWS on this machine: moto's server speaking the real wire protocols (DynamoDB, SNS, SQS,
//! EventBridge), and SDK clients pointed at it with dummy credentials.
//!
//! The endpoint comes from `ARTIFACT_MONITOR_AWS_ENDPOINT` (`scripts/test.sh` starts one
//! moto server for the whole run and sets it); without it, the first test that needs AWS
//! starts `moto_server` from the project's `.venv` on a free loopback port, watched so it
//! ends with the test process. Every test creates its own uniquely named resources.

#![allow(clippy::unwrap_used)]

use aws_config::BehaviorVersion;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ENDPOINT_ENV: &str = "ARTIFACT_MONITOR_AWS_ENDPOINT";

fn start_moto() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let server = root.join(".venv/bin/moto_server");
    assert!(
        server.exists(),
        "no AWS emulator: run `bash scripts/test.sh` once (it installs moto into .venv), \
         or set {ENDPOINT_ENV} to a running moto server"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A watchdog shell: moto ends when this test process does.
    let script = format!(
        "{} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & moto=$!; \
         while kill -0 {} 2>/dev/null; do sleep 1; done; kill $moto",
        server.display(),
        std::process::id()
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // It outlives every test of this process by design; reap it from a thread.
    std::thread::spawn(move || {
        let mut watchdog = watchdog;
        let _ = watchdog.wait();
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// The emulator's endpoint.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| std::env::var(ENDPOINT_ENV).unwrap_or_else(|_| start_moto()))
}

/// SDK configuration for the emulator (region us-east-1, dummy credentials).
pub async fn config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

/// A name no other test of this run uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        fastrand::u32(..)
    )
}

/// A rule on `bus` sending the monitor's `detail_type` events to the queue `queue_arn`.
pub async fn route_to_queue(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    detail_type: &str,
    queue_arn: &str,
) {
    let rule = unique("rule");
    let pattern = serde_json::json!({
        "source": [artifact_monitor_aws::eventbridge::SOURCE],
        "detail-type": [detail_type],
    });
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// A fresh table with the store's layout.
pub async fn dynamo_store() -> artifact_monitor_aws::DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&config().await);
    let table = unique("monitor");
    artifact_monitor_aws::dynamo::create_table(&client, &table)
        .await
        .unwrap();
    artifact_monitor_aws::DynamoStore::new(client, table)
}
