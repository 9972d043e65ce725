//! The SNS and EventBridge adapters on their real wire protocols: moto for what it
//! emulates (topics with SQS subscriptions, buses with rules to SQS queues), a local HTTP
//! server speaking EventBridge's JSON protocol for the partial failure moto cannot produce.

#![allow(clippy::unwrap_used)]

use artifact_monitor_aws::eventbridge::{SOURCE, VERSION_PUBLISHED, VERSION_VERIFIED};
use artifact_monitor_aws::{EventBridgeEvents, SnsAlerts};
use artifact_monitor_aws_tests::aws::{config, unique};
use artifact_monitor_core::SystemClock;
use artifact_monitor_core::domain::{
    Alert, AlertArtifact, ArtifactRef, Compliance, Confidence, EmitReason, JudgedVersion, Reason,
    Recorded, Verdict, VerdictEvidence, VersionVerified,
};
use artifact_monitor_core::monitor::{Delivery, Detector, MonitorConfig};
use artifact_monitor_core::ports::store::*;
use artifact_monitor_core::ports::{Alerts, Events};
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_http::{HttpConfig, NpmRegistry};
use artifact_monitor_tests::fake_http::{FakeServer, Reply};
use artifact_monitor_tests::store_contract::event;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn bad_alert(version: &str) -> Alert {
    let verdict = Verdict {
        compliance: Compliance::NonCompliant,
        confidence: Confidence::High,
        reasons: vec![Reason::ProvenanceDropped],
        details: vec!["no provenance, although earlier versions of this artifact had it".into()],
        evidence: VerdictEvidence::default(),
        logs_url: None,
        files: Vec::new(),
    };
    Alert::for_verdict(
        AlertArtifact {
            registry: artifact_monitor_core::registry::RegistryType::Npm,
            name: "chalk".into(),
        },
        version,
        &verdict,
        Some("2025-09-08T13:16:00Z".into()),
        "2025-09-08T13:17:00Z".into(),
    )
}

/// A queue subscribed to a new topic; returns (topic ARN, queue URL).
async fn topic_with_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> (String, String) {
    let topic = sns.create_topic().name(name).send().await.unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_owned();
    let queue = sqs.create_queue().queue_name(name).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let arn = queue_arn(sqs, &queue_url).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    (topic_arn, queue_url)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    attributes
        .attributes()
        .unwrap()
        .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .unwrap()
        .clone()
}

/// Every message now in the queue, deleted as read.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = page.messages();
        if messages.is_empty() {
            return out;
        }
        for message in messages {
            out.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sns_alert_carries_the_json_the_subject_and_the_filter_attributes() {
    let aws = config().await;
    let (sns, sqs) = (
        aws_sdk_sns::Client::new(&aws),
        aws_sdk_sqs::Client::new(&aws),
    );
    let (topic, queue) = topic_with_queue(&sns, &sqs, &unique("alerts")).await;
    let alerts = SnsAlerts::new(sns, topic, Some("https://monitor.example/".into()));
    let alert = bad_alert("5.6.1");
    alerts.deliver(&alert).await.unwrap();
    let received = drain(&sqs, &queue).await;
    assert_eq!(received.len(), 1);
    let envelope = &received[0];
    assert_eq!(
        envelope["Subject"],
        "[artifact-monitor] NON-COMPLIANT npm chalk@5.6.1"
    );
    // The SQS subscriber gets the `default` body: the alert as JSON.
    let body: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], "npm/chalk@5.6.1#non_compliant");
    assert_eq!(body["reasons"], serde_json::json!(["provenance_dropped"]));
    assert_eq!(body["dashboard_url"], "https://monitor.example/");
    let attributes = &envelope["MessageAttributes"];
    for (name, value) in [
        ("severity", "critical"),
        ("compliance", "non_compliant"),
        ("kind", "version"),
        ("registry", "npm"),
        ("artifact", "npm/chalk"),
        ("alert_id", "npm/chalk@5.6.1#non_compliant"),
    ] {
        assert_eq!(attributes[name]["Value"], value, "{name}: {attributes}");
        assert_eq!(attributes[name]["Type"], "String");
    }
    // The e-mail protocol gets plain text.
    let message: Value =
        serde_json::from_str(&artifact_monitor_aws::sns::message(&alert, None).unwrap()).unwrap();
    let email = message["email"].as_str().unwrap();
    assert!(
        email.contains("Verdict:    non_compliant (high confidence)"),
        "{email}"
    );
    assert!(email.contains("Alert id: npm/chalk@5.6.1#non_compliant"));
    assert!(!email.trim_start().starts_with('{'));
}

type Deliverer = Detector<NpmRegistry, MemoryStore, SystemClock>;

fn deliverer(store: &MemoryStore) -> Deliverer {
    Detector {
        // Never asked: delivery reads only the outbox.
        registry: NpmRegistry::new("http://127.0.0.1:9", HttpConfig::default(), 1024).unwrap(),
        store: store.clone(),
        clock: SystemClock,
        config: MonitorConfig::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_refusing_or_unreachable_keeps_alerts_queued_until_each_is_delivered_once() {
    let aws = config().await;
    let (sns, sqs) = (
        aws_sdk_sns::Client::new(&aws),
        aws_sdk_sqs::Client::new(&aws),
    );
    let name = unique("outage");
    let (topic, queue) = topic_with_queue(&sns, &sqs, &name).await;
    let store = MemoryStore::new();
    for version in ["1.0.0", "1.0.1"] {
        assert!(store.enqueue(&bad_alert(version), 1).await.unwrap());
    }
    let detector = deliverer(&store);
    let print = |_: &Alert| {};

    // The topic is gone: SNS refuses; both alerts stay queued.
    sns.delete_topic().topic_arn(&topic).send().await.unwrap();
    let alerts = SnsAlerts::new(sns.clone(), topic.clone(), None);
    let report = detector
        .deliver(
            Delivery {
                sink: Some(&alerts),
                limit: 10,
            },
            print,
        )
        .await
        .unwrap();
    assert_eq!((report.delivered, report.failed.len()), (0, 1));
    assert_eq!(
        report.oldest_left,
        Some(1),
        "the oldest alert left waits since 1"
    );
    assert_eq!(store.outbox(10).await.unwrap().len(), 2);

    // SNS cannot be reached at all: still queued.
    let nowhere = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&aws)
            .endpoint_url("http://127.0.0.1:9")
            .build(),
    );
    let unreachable = SnsAlerts::new(nowhere, topic.clone(), None);
    let report = detector
        .deliver(
            Delivery {
                sink: Some(&unreachable),
                limit: 10,
            },
            print,
        )
        .await
        .unwrap();
    assert_eq!(report.delivered, 0);
    assert!(report.failed[0].1.contains("SNS"), "{:?}", report.failed);

    // Back (the same name gives the same ARN): each alert delivered once.
    let (topic, _) = {
        let topic = sns.create_topic().name(&name).send().await.unwrap();
        let arn = topic.topic_arn().unwrap().to_owned();
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(queue_arn(&sqs, &queue).await)
            .send()
            .await
            .unwrap();
        (arn, ())
    };
    let alerts = SnsAlerts::new(sns, topic, None);
    for _ in 0..2 {
        detector
            .deliver(
                Delivery {
                    sink: Some(&alerts),
                    limit: 10,
                },
                print,
            )
            .await
            .unwrap();
    }
    let ids: Vec<String> = drain(&sqs, &queue)
        .await
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m["Message"].as_str().unwrap()).unwrap();
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "npm/chalk@1.0.0#non_compliant",
            "npm/chalk@1.0.1#non_compliant"
        ]
    );
    assert!(store.outbox(10).await.unwrap().is_empty());
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../infra/events")
        .join(name);
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// A bus with a rule sending `detail_type` events to a new queue.
async fn bus_to_queue(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus: &str,
    detail_type: &str,
) -> String {
    let queue = sqs
        .create_queue()
        .queue_name(unique("bus"))
        .send()
        .await
        .unwrap();
    let url = queue.queue_url().unwrap().to_owned();
    artifact_monitor_aws_tests::aws::route_to_queue(
        events,
        bus,
        detail_type,
        &queue_arn(sqs, &url).await,
    )
    .await;
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_a_queue_through_the_bus_and_match_their_schemas() {
    let aws = config().await;
    let (client, sqs) = (
        aws_sdk_eventbridge::Client::new(&aws),
        aws_sdk_sqs::Client::new(&aws),
    );
    let bus = unique("bus");
    client.create_event_bus().name(&bus).send().await.unwrap();
    let published_queue = bus_to_queue(&client, &sqs, &bus, VERSION_PUBLISHED).await;
    let verified_queue = bus_to_queue(&client, &sqs, &bus, VERSION_VERIFIED).await;
    let events = EventBridgeEvents::new(client, &bus);

    // Twelve events: two PutEvents calls of at most ten; the last two of a PyPI release
    // (a set of files, PyPI's signals).
    let sent: Vec<_> = (0..12)
        .map(|i| {
            let mut e = event("chalk", &format!("5.6.{i}"), EmitReason::New);
            e.signals = vec![artifact_monitor_core::domain::Signal::InstallScriptsAdded(
                vec!["postinstall".into()],
            )];
            if i >= 10 {
                use artifact_monitor_core::domain::{FileFacts, Signal};
                e.artifact.registry = artifact_monitor_core::registry::RegistryType::Pypi;
                e.artifact.name = "sampleproject".into();
                e.integrity = None;
                e.files = vec![FileFacts {
                    name: format!("sampleproject-5.6.{i}.tar.gz"),
                    integrity: Some("sha256-Cs55gPgsWBXt5M17+fZpNoTOwq5Hubet6a3VM7hifGs=".into()),
                    uploaded_at: Some(1_796_637_600),
                    has_attestations: false,
                    yanked: false,
                }];
                e.signals = vec![
                    Signal::TooManyFiles {
                        files: 501,
                        judged: 500,
                    },
                    Signal::FileAddedLater {
                        file: format!("sampleproject-5.6.{i}.tar.gz"),
                        hours: 49,
                    },
                ];
            }
            e
        })
        .collect();
    let emitted = events.publish(sent.clone()).await;
    assert_eq!((emitted.accepted, emitted.failed.len()), (12, 0));
    let published = schema("version-published.v1.json");
    let mut versions = Vec::new();
    for envelope in drain(&sqs, &published_queue).await {
        assert_eq!(envelope["source"], SOURCE);
        assert_eq!(envelope["detail-type"], VERSION_PUBLISHED);
        let detail = &envelope["detail"];
        assert!(published.is_valid(detail), "{detail}");
        versions.push(detail["version"].as_str().unwrap().to_owned());
    }
    versions.sort();
    let mut expected: Vec<String> = sent.iter().map(|e| e.version.clone()).collect();
    expected.sort();
    assert_eq!(versions, expected);

    let judged = JudgedVersion {
        artifact: "npm/chalk".into(),
        version: "5.6.1".into(),
        compliance: Compliance::NonCompliant,
        confidence: Confidence::High,
        reasons: vec![Reason::ProvenanceDropped],
        recorded: Recorded::New,
        alerts: 1,
        alert_id: Some("npm/chalk@5.6.1#non_compliant".into()),
        published_at: Some(1_757_337_360),
        logs_url: None,
        files: Vec::new(),
        pending_because: None,
    };
    let artifact = ArtifactRef {
        registry: artifact_monitor_core::registry::RegistryType::Npm,
        name: "chalk".into(),
    };
    let emitted = events
        .verified(vec![VersionVerified::of(artifact, &judged)])
        .await;
    assert_eq!(emitted.accepted, 1);
    let verified = schema("version-verified.v1.json");
    let received = drain(&sqs, &verified_queue).await;
    assert_eq!(received.len(), 1);
    assert!(verified.is_valid(&received[0]["detail"]), "{}", received[0]);
    assert_eq!(
        received[0]["detail"]["alert_id"],
        "npm/chalk@5.6.1#non_compliant"
    );
    let pypi = ArtifactRef {
        registry: artifact_monitor_core::registry::RegistryType::Pypi,
        name: "sampleproject".into(),
    };
    let emitted = events
        .verified(vec![VersionVerified::of(pypi, &judged)])
        .await;
    assert_eq!(emitted.accepted, 1);
    let received = drain(&sqs, &verified_queue).await;
    assert!(verified.is_valid(&received[0]["detail"]), "{}", received[0]);
    assert_eq!(received[0]["detail"]["artifact"]["type"], "pypi");
    // The schemas refuse what the code must never emit.
    let mut wrong = received[0]["detail"].clone();
    wrong["compliance"] = "fine".into();
    assert!(!verified.is_valid(&wrong));
    let mut wrong = received[0]["detail"].clone();
    wrong["artifact"]["type"] = "maven".into();
    assert!(!verified.is_valid(&wrong));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_the_bus_reports_failed_are_sent_again_and_what_keeps_failing_is_reported() {
    // A bus that fails the second entry of the first call, then takes everything; and one
    // that never takes the last entry.
    let calls = Arc::new(Mutex::new(Vec::<Value>::new()));
    let seen = Arc::clone(&calls);
    let server = FakeServer::start(move |request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let entries = body["Entries"].as_array().unwrap().clone();
        let mut calls = seen.lock().unwrap();
        calls.push(body.clone());
        let first = calls.len() == 1;
        let results: Vec<Value> = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let stuck = entry["Detail"].as_str().unwrap().contains("\"9.9.9\"");
                if (first && i == 1) || stuck {
                    serde_json::json!({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
                } else {
                    serde_json::json!({"EventId": format!("id-{i}")})
                }
            })
            .collect();
        let failed = results
            .iter()
            .filter(|r| r.get("ErrorCode").is_some())
            .count();
        Reply::json(
            200,
            serde_json::json!({"FailedEntryCount": failed, "Entries": results}).to_string(),
        )
        .with_header("content-type", "application/x-amz-json-1.1")
    })
    .await;
    let aws = config().await;
    let client = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&aws)
            .endpoint_url(&server.url)
            .build(),
    );
    let events = EventBridgeEvents::new(client, "monitor-bus");
    let sent: Vec<_> = ["1.0.0", "1.0.1", "1.0.2"]
        .iter()
        .map(|v| event("chalk", v, EmitReason::New))
        .collect();
    let emitted = events.publish(sent).await;
    assert_eq!((emitted.accepted, emitted.failed.len()), (3, 0));
    let calls_made = calls.lock().unwrap().clone();
    assert_eq!(calls_made.len(), 2, "the failed entry alone is sent again");
    assert_eq!(calls_made[1]["Entries"].as_array().unwrap().len(), 1);

    let emitted = events
        .publish(vec![event("chalk", "9.9.9", EmitReason::New)])
        .await;
    assert_eq!(emitted.accepted, 0);
    assert_eq!(emitted.failed.len(), 1);
    assert_eq!(emitted.failed[0].version, "9.9.9");
    assert!(emitted.failed[0].error.contains("InternalFailure"));
}
