//! The Lambda functions end to end on emulated AWS: the real `poller`, `verifier` and `api`
//! binaries run as child processes against a Runtime API this test serves, over the SAM
//! template's own table, topic, bus, rule and queues created on moto, with the local fake
//! npm registry, package index and GitHub API. The
//! test plays EventBridge Scheduler (it invokes the poller with the scheduled event) and the
//! SQS event source mapping (it receives from the rule's queue, hands batches to the
//! verifier and deletes what the verifier did not report failed).

#![allow(clippy::unwrap_used)]

use artifact_monitor_aws::DynamoStore;
use artifact_monitor_aws_tests::aws::{self, unique};
use artifact_monitor_aws_tests::runtime_api::{Answer, RuntimeApi, binary};
use artifact_monitor_core::domain::{Artifact, ArtifactSource, Compliance, Confidence, PolicySpec};
use artifact_monitor_core::monitor::watchlist;
use artifact_monitor_core::ports::{VerdictStore as _, WatchStore as _};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_tests::fake_http::Reply;
use artifact_monitor_tests::fake_pypi::FakePypi;
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, manifest};
use artifact_monitor_tests::read;
use artifact_monitor_tests::world::{SIGSTORE_2_3_1, add_sigstore_2_3_1_run};
use serde_json::{Value, json};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

/// The emulated resources, named as the template names its own.
struct Cloud {
    store: DynamoStore,
    topic: String,
    bus: String,
    sqs: aws_sdk_sqs::Client,
    /// The verifier's input: the `Version Published` rule's target.
    input: String,
    /// Subscribed to the alert topic.
    alerts: String,
    alerts_arn: String,
    /// The `Version Verified` rule's target.
    verified: String,
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(unique(name))
        // Redelivery after a reported failure comes quickly in the test.
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "1",
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    (url, arn)
}

/// The template's own data resources, created on the emulator from `template.yaml`
/// translated offline (see `tests/aws/support/emulated_stack.py`), and what a user adds beside
/// them: a queue subscribed to the alert topic, and a rule sending `Version Verified` to a
/// queue.
async fn cloud() -> Cloud {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let stack = unique("monitor");
    let output = tokio::task::spawn_blocking({
        let stack = stack.clone();
        move || {
            std::process::Command::new(root.join(".venv/bin/python"))
                .arg(root.join("tests/aws/support/emulated_stack.py"))
                .arg(root.join("template.yaml"))
                .arg(aws::endpoint())
                .arg(&stack)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the template's resources could not be created: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let text = |key: &str| created[key].as_str().unwrap().to_owned();
    let config = aws::config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), text("table"));
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (alerts, alerts_arn) = queue(&sqs, "alerts").await;
    let (verified, verified_arn) = queue(&sqs, "verified").await;
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = text("alert_topic");
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(alerts_arn.clone())
        .send()
        .await
        .unwrap();
    let events = aws_sdk_eventbridge::Client::new(&config);
    let bus = text("bus");
    aws::route_to_queue(&events, &bus, "Version Verified", &verified_arn).await;
    Cloud {
        store,
        topic,
        bus,
        sqs,
        input: text("verifier_queue"),
        alerts,
        alerts_arn,
        verified,
    }
}

impl Cloud {
    /// The stored verdict of `version`.
    async fn verdict(&self, key: &str, version: &str) -> (Compliance, Confidence) {
        let record = self.store.version(key, version).await.unwrap().unwrap();
        (record.verdict.compliance, record.verdict.confidence)
    }

    /// Every message waiting on `queue`, removed from it.
    async fn drain(&self, queue: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut all = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if got.is_empty() {
                return all;
            }
            for message in &got {
                self.sqs
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            all.extend(got);
        }
    }
}

/// The SQS event the event source mapping would hand the verifier for `messages`.
fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id().unwrap(),
                "receiptHandle": m.receipt_handle().unwrap(),
                "body": m.body().unwrap(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:verifier",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The settings the template gives the poller and the verifier, toward the emulator and the
/// fakes.
fn environment(cloud: &Cloud, npm: &FakeNpm, github: &FakeGithub) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", aws::endpoint().to_owned()),
        ("TABLE_NAME", cloud.store.table().to_owned()),
        ("ALERT_TOPIC_ARN", cloud.topic.clone()),
        ("EVENT_BUS_NAME", cloud.bus.clone()),
        ("REGISTRY_URL", npm.url().to_owned()),
        ("GITHUB_API_URL", github.url().to_owned()),
        ("REGISTRY_REQUESTS_PER_SECOND", "100".to_owned()),
        ("INDEX_URL", "none".to_owned()),
    ]
}

/// The event EventBridge Scheduler invokes the poller with.
fn schedule() -> Value {
    serde_json::from_slice(&read("events/poller-schedule.json")).unwrap()
}

struct Functions {
    poller: RuntimeApi,
    verifier: RuntimeApi,
}

impl Functions {
    async fn start(cloud: &Cloud, npm: &FakeNpm, github: &FakeGithub) -> Self {
        Self::start_with(cloud, npm, github, &[]).await
    }

    /// The functions, with `extra` settings (a later value of a name wins).
    async fn start_with(
        cloud: &Cloud,
        npm: &FakeNpm,
        github: &FakeGithub,
        extra: &[(&str, &str)],
    ) -> Self {
        let mut env = environment(cloud, npm, github);
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let mut poller = RuntimeApi::start().await;
        poller.spawn(&binary("poller"), "poller", &env);
        let mut verifier = RuntimeApi::start().await;
        verifier.spawn(&binary("verifier"), "verifier", &env);
        Self { poller, verifier }
    }

    /// EventBridge Scheduler's tick.
    async fn tick(&self) -> Value {
        self.poller.invoke(schedule(), TIMEOUT).await.response()
    }

    /// The event source mapping: batches from the input queue to the verifier until the
    /// queue is empty; what the verifier reports failed stays on the queue and comes back.
    /// Returns every message handed over, and how many were reported failed.
    async fn deliver(&self, cloud: &Cloud) -> (Vec<aws_sdk_sqs::types::Message>, usize) {
        let mut handed = Vec::new();
        let mut failed = 0;
        for _ in 0..20 {
            let batch = cloud
                .sqs
                .receive_message()
                .queue_url(&cloud.input)
                .max_number_of_messages(10)
                .wait_time_seconds(2)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                break;
            }
            let answer = self
                .verifier
                .invoke(sqs_event(&batch), TIMEOUT)
                .await
                .response();
            let failures: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            failed += failures.len();
            for message in &batch {
                if failures.contains(&message.message_id().unwrap()) {
                    // The template's visibility timeout (720 s) passing, at once.
                    cloud
                        .sqs
                        .change_message_visibility()
                        .queue_url(&cloud.input)
                        .receipt_handle(message.receipt_handle().unwrap())
                        .visibility_timeout(0)
                        .send()
                        .await
                        .unwrap();
                } else {
                    cloud
                        .sqs
                        .delete_message()
                        .queue_url(&cloud.input)
                        .receipt_handle(message.receipt_handle().unwrap())
                        .send()
                        .await
                        .unwrap();
                }
            }
            handed.extend(batch);
        }
        (handed, failed)
    }
}

fn detail_of(message: &aws_sdk_sqs::types::Message) -> Value {
    let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    body["detail"].clone()
}

/// The emulated stack, the fake registry and GitHub (with sigstore@2.3.1's release run), and
/// `sigstore` watched, with no version yet.
async fn sigstore_world() -> (Cloud, FakeNpm, FakeGithub, Artifact) {
    let cloud = cloud().await;
    let npm = FakeNpm::start().await;
    let github = FakeGithub::start().await;
    add_sigstore_2_3_1_run(&github);
    npm.create("sigstore", &["bdehamer"]);
    let artifact = Artifact::npm(
        "sigstore",
        PolicySpec::new("sigstore/sigstore-js", &[".github/workflows/release.yml"]),
    )
    .unwrap();
    let now = jiff::Timestamp::now().as_second();
    watchlist::watch(&cloud.store, artifact.clone(), ArtifactSource::Api, now)
        .await
        .unwrap();
    (cloud, npm, github, artifact)
}

/// sigstore@2.3.2 appears with attestations that do not verify (a rogue release).
fn publish_rogue(npm: &FakeNpm) {
    let mut rogue = manifest("sigstore", "2.3.2", SIGSTORE_2_3_1, true);
    rogue["dist"]["integrity"] = json!(SIGSTORE_2_3_1);
    npm.publish("sigstore", rogue, "2024-05-17T10:00:00.000Z");
    npm.attest(
        "sigstore",
        "2.3.2",
        read("npm/attestations/invalid/sigstore@2.3.1.invalid-sig-provenance.json"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_detect_judge_and_alert_once_on_emulated_aws() {
    let (cloud, npm, github, artifact) = sigstore_world().await;
    let functions = Functions::start(&cloud, &npm, &github).await;

    // The first tick reads the newly watched package (no version yet).
    let outcome = functions.tick().await;
    assert_eq!(outcome["skipped"], false, "{outcome}");
    assert_eq!(outcome["ticks"][0]["reads"], 1, "{outcome}");
    functions.deliver(&cloud).await;
    cloud.drain(&cloud.alerts).await;

    // A compliant release: a stored compliant verdict, a Version Verified event, no alert.
    npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.1", SIGSTORE_2_3_1, true),
        "2024-05-16T17:12:03.000Z",
    );
    npm.attest(
        "sigstore",
        "2.3.1",
        read("npm/attestations/sigstore@2.3.1.json"),
    );
    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["emitted"], 1, "{outcome}");
    let (mut handed, failed) = functions.deliver(&cloud).await;
    assert_eq!((handed.len(), failed), (1, 0));
    assert_eq!(
        cloud.verdict(&artifact.key(), "2.3.1").await,
        (Compliance::Compliant, Confidence::High)
    );
    let verified = cloud.drain(&cloud.verified).await;
    assert_eq!(verified.len(), 1);
    assert_eq!(detail_of(&verified[0])["version"], "2.3.1");
    assert_eq!(detail_of(&verified[0])["compliance"], "compliant");
    assert!(cloud.drain(&cloud.alerts).await.is_empty(), "no alert");

    // A rogue release (attestations that do not verify), and the registry not serving them
    // at first: recorded pending and acknowledged (visible at once, nothing for the
    // dead-letter queue), then judged again by the due queue, alerted once.
    publish_rogue(&npm);
    npm.fail_next("/attestations/sigstore@2.3.2", Reply::status(404));
    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["emitted"], 1, "{outcome}");
    let (rogue_handed, failed) = functions.deliver(&cloud).await;
    assert_eq!(
        (rogue_handed.len(), failed),
        (1, 0),
        "acknowledged, not redelivered"
    );
    handed.extend(rogue_handed);
    assert_eq!(
        cloud.verdict(&artifact.key(), "2.3.2").await.0,
        Compliance::Pending
    );
    assert!(
        cloud.drain(&cloud.alerts).await.is_empty(),
        "pending is not alerted"
    );
    let pending = cloud.drain(&cloud.verified).await;
    assert_eq!(
        detail_of(&pending[0])["reasons"],
        json!(["registry_unavailable"])
    );
    // Its retry comes due (brought forward from a minute from now).
    cloud
        .store
        .postpone(
            &[artifact_monitor_core::domain::judge_id(
                &artifact.key(),
                "2.3.2",
            )],
            jiff::Timestamp::now().as_second(),
        )
        .await
        .unwrap();
    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["emitted"], 1, "{outcome}");
    let (again, failed) = functions.deliver(&cloud).await;
    assert_eq!((again.len(), failed), (1, 0));
    handed.extend(again);
    assert_eq!(
        cloud.verdict(&artifact.key(), "2.3.2").await,
        (Compliance::NonCompliant, Confidence::High)
    );
    let alerts = cloud.drain(&cloud.alerts).await;
    assert_eq!(alerts.len(), 1, "exactly one alert");
    let envelope: Value = serde_json::from_str(alerts[0].body().unwrap()).unwrap();
    let alert: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(alert["id"], "npm/sigstore@2.3.2#non_compliant");
    let attributes = &envelope["MessageAttributes"];
    assert_eq!(attributes["severity"]["Value"], "critical", "{envelope}");
    assert_eq!(attributes["compliance"]["Value"], "non_compliant");
    assert_eq!(attributes["artifact"]["Value"], "npm/sigstore");
    let verified = cloud.drain(&cloud.verified).await;
    assert_eq!(verified.len(), 1);
    assert_eq!(
        detail_of(&verified[0])["alert_id"],
        "npm/sigstore@2.3.2#non_compliant"
    );

    // Replaying every event and every tick changes nothing.
    let answer = functions
        .verifier
        .invoke(sqs_event(&handed), TIMEOUT)
        .await
        .response();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["emitted"], 0, "{outcome}");
    functions.deliver(&cloud).await;
    assert!(
        cloud.drain(&cloud.alerts).await.is_empty(),
        "no alert twice"
    );
    assert!(
        cloud.drain(&cloud.verified).await.is_empty(),
        "no verdict twice"
    );

    // The api function, fed API Gateway (payload 2.0) events, answers those verdicts to an
    // IAM-authenticated caller and refuses a request the gateway did not authenticate.
    let mut api = RuntimeApi::start().await;
    api.spawn(
        &binary("api"),
        "api",
        &[
            ("AWS_ENDPOINT_URL", aws::endpoint().to_owned()),
            ("TABLE_NAME", cloud.store.table().to_owned()),
        ],
    );
    let signed: Value = serde_json::from_slice(&read("events/api-iam-get.json")).unwrap();
    let answer = api.invoke(signed.clone(), TIMEOUT).await.response();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    let versions: Vec<(&str, &str)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["compliance"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [("2.3.2", "non_compliant"), ("2.3.1", "compliant")],
        "{body}"
    );
    let unauthenticated = |mut event: Value| {
        event["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("authorizer");
        event
    };
    let refused = api
        .invoke(unauthenticated(signed.clone()), TIMEOUT)
        .await
        .response();
    assert_eq!(refused["statusCode"], 401, "{refused}");
    let mut health = unauthenticated(signed);
    health["rawPath"] = json!("/healthz");
    health["rawQueryString"] = json!("");
    health["requestContext"]["http"]["path"] = json!("/healthz");
    let healthy = api.invoke(health, TIMEOUT).await.response();
    assert_eq!(healthy["statusCode"], 200, "{healthy}");

    // A person, through the Cognito-guarded /ui/api/ routes: reads, and writes only as a
    // member of the writers' group.
    let person = |method: &str, path: &str, groups: Option<&str>, body: Option<Value>| {
        let mut event = unauthenticated(
            serde_json::from_slice::<Value>(&read("events/api-iam-get.json")).unwrap(),
        );
        let mut claims = json!({"sub": "5f0c", "email": "ada@example.com", "token_use": "access"});
        if let Some(groups) = groups {
            claims["cognito:groups"] = json!(groups);
        }
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        event["rawPath"] = json!(path);
        event["rawQueryString"] = json!("");
        event["routeKey"] = json!(format!("{method} /ui/api/{{proxy+}}"));
        event["requestContext"]["http"]["method"] = json!(method);
        event["requestContext"]["http"]["path"] = json!(path);
        if let Some(body) = body {
            event["body"] = json!(body.to_string());
            event["headers"]["content-type"] = json!("application/json");
        }
        event
    };
    let summary = api
        .invoke(person("GET", "/ui/api/summary", None, None), TIMEOUT)
        .await
        .response();
    assert_eq!(summary["statusCode"], 200, "{summary}");
    let new = json!({
        "type": "npm",
        "name": "left-pad",
        "repository": "left-pad/left-pad",
        "workflows": [".github/workflows/release.yml"],
    });
    let refused = api
        .invoke(
            person(
                "POST",
                "/ui/api/artifacts",
                Some("[readers]"),
                Some(new.clone()),
            ),
            TIMEOUT,
        )
        .await
        .response();
    assert_eq!(refused["statusCode"], 403, "{refused}");
    let added = api
        .invoke(
            person("POST", "/ui/api/artifacts", Some("[admins]"), Some(new)),
            TIMEOUT,
        )
        .await
        .response();
    assert_eq!(added["statusCode"], 201, "{added}");
}

/// A PyPI project on the same functions: its first tick follows the index's RSS from its end
/// and backfills the genuine release quietly; a rogue upload (no provenance, no run) named
/// by the next RSS read is judged by the verifier and raises exactly one SNS alert, with the
/// `registry: pypi` attribute subscribers filter on; replays change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_pypi_upload_raises_exactly_one_alert_on_emulated_aws() {
    let cloud = cloud().await;
    let npm = FakeNpm::start().await;
    let github = FakeGithub::start().await;
    let index = FakePypi::start().await;
    index.create("sampleproject");
    index.upload(
        "sampleproject",
        "4.0.0",
        "sampleproject-4.0.0.tar.gz",
        "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b",
        "2024-11-06T22:37:10.868088Z",
        Some(read(
            "pypi/provenance/sampleproject-4.0.0.tar.gz.provenance",
        )),
    );
    let artifact = Artifact::new(
        RegistryType::Pypi,
        "SampleProject",
        PolicySpec::new("pypa/sampleproject", &[".github/workflows/release.yml"]),
    )
    .unwrap();
    let now = jiff::Timestamp::now().as_second();
    watchlist::watch(&cloud.store, artifact.clone(), ArtifactSource::Api, now)
        .await
        .unwrap();
    let functions =
        Functions::start_with(&cloud, &npm, &github, &[("INDEX_URL", index.url())]).await;

    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["reads"], 1, "{outcome}");
    assert_eq!(index.feed_requests(), 1, "the RSS is followed from its end");
    assert_eq!(npm.server.requests().len(), 0, "nothing of npm is watched");
    functions.deliver(&cloud).await;
    assert_ne!(
        cloud.verdict(&artifact.key(), "4.0.0").await.0,
        Compliance::NonCompliant
    );
    cloud.drain(&cloud.alerts).await;
    cloud.drain(&cloud.verified).await;

    index.upload(
        "sampleproject",
        "4.0.1",
        "sampleproject-4.0.1.tar.gz",
        "5f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0",
        &jiff::Timestamp::now().to_string(),
        None,
    );
    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["emitted"], 1, "{outcome}");
    let (handed, failed) = functions.deliver(&cloud).await;
    assert_eq!((handed.len(), failed), (1, 0));
    assert_eq!(detail_of(&handed[0])["artifact"]["type"], "pypi");
    assert_eq!(
        detail_of(&handed[0])["files"][0]["name"],
        "sampleproject-4.0.1.tar.gz"
    );
    assert_eq!(
        cloud.verdict(&artifact.key(), "4.0.1").await.0,
        Compliance::NonCompliant
    );
    let alerts = cloud.drain(&cloud.alerts).await;
    assert_eq!(alerts.len(), 1, "exactly one alert");
    let envelope: Value = serde_json::from_str(alerts[0].body().unwrap()).unwrap();
    let alert: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(alert["id"], "pypi/sampleproject@4.0.1#non_compliant");
    let attributes = &envelope["MessageAttributes"];
    assert_eq!(attributes["registry"]["Value"], "pypi", "{envelope}");
    assert_eq!(attributes["artifact"]["Value"], "pypi/sampleproject");
    let verified = cloud.drain(&cloud.verified).await;
    assert_eq!(verified.len(), 1);
    assert_eq!(detail_of(&verified[0])["artifact"]["type"], "pypi");

    // Replays: the same event again, and another tick.
    let answer = functions
        .verifier
        .invoke(sqs_event(&handed), TIMEOUT)
        .await
        .response();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["emitted"], 0, "{outcome}");
    functions.deliver(&cloud).await;
    assert!(
        cloud.drain(&cloud.alerts).await.is_empty(),
        "no alert twice"
    );
}

/// A tick that fails (here: its table does not exist) makes the invocation an error whose
/// `errorType` says waiting may help (`Retryable.Tick`): the Errors alarm sees it, and the
/// next schedule tries again.
#[tokio::test]
async fn a_failed_tick_is_a_retryable_invocation_error() {
    let (cloud, npm, github, _) = sigstore_world().await;
    let functions =
        Functions::start_with(&cloud, &npm, &github, &[("TABLE_NAME", "no-such-table")]).await;
    match functions.poller.invoke(schedule(), TIMEOUT).await {
        Answer::Error(error) => {
            assert_eq!(error["errorType"], "Retryable.Tick", "{error}");
            let message = error["errorMessage"].as_str().unwrap_or_default();
            assert!(message.starts_with("tick failed: lease: "), "{error}");
        }
        Answer::Response(answer) => panic!("a tick without its table answered {answer}"),
    }
}

/// `TickSeconds` 15: one invocation ticks every 15 s until its deadline, and a release
/// published between two ticks goes out on the second. Another instance invoked meanwhile
/// finds the lease taken and does nothing; once the invocation ended, it ticks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_ticks_every_tick_seconds_within_one_invocation() {
    let (cloud, npm, github, _) = sigstore_world().await;
    let functions = Functions::start_with(&cloud, &npm, &github, &[("TICK_SECONDS", "15")]).await;
    let mut other = RuntimeApi::start().await;
    other.spawn(
        &binary("poller"),
        "poller-2",
        &environment(&cloud, &npm, &github),
    );

    // 24 s less the 5 s margin: room for the ticks at 0 s and 15 s, not for one at 30 s.
    let timeout = Duration::from_secs(24);
    let started = std::time::Instant::now();
    let (outcome, overlapping) =
        tokio::join!(functions.poller.invoke(schedule(), timeout), async {
            // The first tick has read the package: a release appears before the second.
            for _ in 0..100 {
                if !npm.packument_requests("sigstore").is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(npm.packument_requests("sigstore").len(), 1);
            npm.publish(
                "sigstore",
                manifest("sigstore", "2.3.1", SIGSTORE_2_3_1, true),
                "2024-05-16T17:12:03.000Z",
            );
            other.invoke(schedule(), TIMEOUT).await.response()
        });
    let elapsed = started.elapsed();
    let outcome = outcome.response();
    assert_eq!(overlapping["skipped"], true, "{overlapping}");
    assert_eq!(overlapping["ticks"], json!([]), "{overlapping}");
    let ticks = outcome["ticks"].as_array().unwrap();
    assert_eq!(ticks.len(), 2, "{outcome}");
    assert_eq!(
        (&ticks[0]["reads"], &ticks[0]["emitted"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(
        (&ticks[1]["reads"], &ticks[1]["emitted"]),
        (&json!(1), &json!(1))
    );
    assert!(
        elapsed >= Duration::from_secs(15) && elapsed < timeout - poller_margin(),
        "the second tick starts 15 s after the first and the invocation ends before its deadline: {elapsed:?}"
    );
    let published = cloud.drain(&cloud.input).await;
    assert_eq!(published.len(), 1);
    assert_eq!(detail_of(&published[0])["version"], "2.3.1");

    // The lease went back with the answer: the other instance's tick runs.
    let next = other.invoke(schedule(), TIMEOUT).await.response();
    assert_eq!(next["skipped"], false, "{next}");
    assert_eq!(next["ticks"][0]["emitted"], 0, "{next}");
}

/// The metric lines (embedded metric format) the poller wrote to its log so far.
fn metric_lines(poller: &RuntimeApi) -> Vec<Value> {
    let log = std::fs::read_to_string(poller.log.as_ref().unwrap()).unwrap();
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record.get("_aws").is_some())
        .collect()
}

/// SNS refusing an alert (its topic is missing): the verdict is recorded and the message
/// acknowledged, the alert waits in the outbox, each tick reports how long it has waited
/// (the metric the undelivered-alert alarm watches), and the tick after SNS is back
/// delivers it once and reports 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_sns_refused_waits_and_the_poller_reports_its_age() {
    let (cloud, npm, github, artifact) = sigstore_world().await;
    // A topic of the template's account that does not exist yet.
    let name = unique("late-alerts");
    let topic = format!("arn:aws:sns:us-east-1:123456789012:{name}");
    let functions = Functions::start_with(
        &cloud,
        &npm,
        &github,
        &[
            ("ALERT_TOPIC_ARN", &topic),
            ("METRICS_NAMESPACE", "ArtifactMonitor"),
        ],
    )
    .await;
    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["outbox_drained"], true, "{outcome}");
    let lines = metric_lines(&functions.poller);
    assert_eq!(lines.len(), 1, "one metric line an invocation: {lines:?}");
    assert_eq!(lines[0]["OldestUndeliveredAlertAge"], 0.0, "{}", lines[0]);
    assert_eq!(lines[0]["FunctionName"], "poller");
    assert_eq!(
        lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "ArtifactMonitor"
    );

    publish_rogue(&npm);
    functions.tick().await;
    let (handed, failed) = functions.deliver(&cloud).await;
    assert_eq!(
        (handed.len(), failed),
        (1, 0),
        "SNS refusing is no reason to judge again"
    );
    assert_eq!(
        cloud.verdict(&artifact.key(), "2.3.2").await,
        (Compliance::NonCompliant, Confidence::High)
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let outcome = functions.tick().await;
    let tick = &outcome["ticks"][0];
    assert_eq!(
        (&tick["alerts_delivered"], &tick["errors"]),
        (&json!(0), &json!([])),
        "{outcome}"
    );
    let enqueued = tick["oldest_undelivered_at"].as_i64().unwrap();
    let line = metric_lines(&functions.poller).pop().unwrap();
    let age = line["OldestUndeliveredAlertAge"].as_f64().unwrap();
    let expected = (line["_aws"]["Timestamp"].as_i64().unwrap() / 1000 - enqueued) as f64;
    assert!(
        age >= 2.0 && age == expected,
        "{line} (enqueued at {enqueued})"
    );

    // SNS is back: the next tick delivers it, once.
    let config = aws::config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let created = sns.create_topic().name(&name).send().await.unwrap();
    assert_eq!(created.topic_arn(), Some(topic.as_str()));
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&cloud.alerts_arn)
        .send()
        .await
        .unwrap();
    let outcome = functions.tick().await;
    assert_eq!(outcome["ticks"][0]["alerts_delivered"], 1, "{outcome}");
    assert_eq!(
        metric_lines(&functions.poller).pop().unwrap()["OldestUndeliveredAlertAge"],
        0.0
    );
    functions.tick().await;
    let alerts = cloud.drain(&cloud.alerts).await;
    assert_eq!(alerts.len(), 1, "delivered once");
}

/// What the poller keeps back before its deadline (`poller::DEADLINE_MARGIN`).
fn poller_margin() -> Duration {
    Duration::from_secs(5)
}

/// A custom resource's answer: FAILED, its reason naming `what`.
fn assert_failed_naming(answer: &Value, what: &str) {
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(
        answer["Reason"].as_str().unwrap().contains(what),
        "{answer}"
    );
}

/// The real `provider` binary, and CloudFormation's response URLs: each request sent gets a
/// URL of its own, and [`CustomResources::send`] returns the answer PUT there.
struct CustomResources {
    provider: RuntimeApi,
    cloudformation: artifact_monitor_tests::fake_http::FakeServer,
    sent: std::sync::atomic::AtomicUsize,
}

impl CustomResources {
    async fn start(table: &str) -> Self {
        let cloudformation =
            artifact_monitor_tests::fake_http::FakeServer::start(|_| Reply::status(200)).await;
        let mut provider = RuntimeApi::start().await;
        provider.spawn(
            &binary("provider"),
            "provider",
            &[
                ("AWS_ENDPOINT_URL", aws::endpoint().to_owned()),
                ("TABLE_NAME", table.to_owned()),
            ],
        );
        Self {
            provider,
            cloudformation,
            sent: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    async fn send(&self, mut event: Value) -> Value {
        let n = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let path = format!("/cfn/{n}");
        event["ResponseURL"] = json!(format!(
            "{}{path}?X-Amz-Signature=example",
            self.cloudformation.url
        ));
        self.provider.invoke(event, TIMEOUT).await.response();
        let (request, _) = self
            .cloudformation
            .requests()
            .into_iter()
            .find(|(r, _)| r.path() == path)
            .expect("an answer at the response URL");
        assert_eq!(request.method, "PUT");
        assert_eq!(request.header("content-type"), Some(""));
        serde_json::from_slice::<Value>(&request.body).unwrap()
    }
}

/// `Custom::MonitoredArtifact` through the real `provider` binary: a Create watches the
/// artifact (owned by the stack: the API refuses to change it), an Update changes its
/// policy, a Delete removes it; bad properties fail with the field named, and the Delete
/// CloudFormation sends after a failed Create succeeds. Every request gets its answer at
/// the response URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custom_resource_creates_updates_and_deletes_an_artifact() {
    use artifact_monitor_core::ports::ArtifactStore as _;
    let store = aws::dynamo_store().await;
    let resources = CustomResources::start(store.table()).await;
    let send = |event: Value| resources.send(event);
    let create: Value = serde_json::from_slice(&read("events/provider-create.json")).unwrap();
    let stack = create["StackId"].as_str().unwrap().to_owned();

    let created = send(create.clone()).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["PhysicalResourceId"], "npm/sigstore");
    assert_eq!(created["Data"]["Key"], "npm/sigstore");
    let watched = store.artifact("npm/sigstore").await.unwrap().unwrap();
    assert_eq!(
        watched.source,
        ArtifactSource::Stack {
            stack: stack.clone()
        }
    );
    assert_eq!(
        watched.artifact.policy.allowed_refs,
        Some(vec!["refs/tags/v*".to_owned()])
    );
    assert_eq!(watched.policy_rev, 1);

    let mut update = create.clone();
    update["RequestType"] = json!("Update");
    update["PhysicalResourceId"] = json!("npm/sigstore");
    update["OldResourceProperties"] = create["ResourceProperties"].clone();
    update["ResourceProperties"]["Environment"] = json!("npm");
    let updated = send(update).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    let watched = store.artifact("npm/sigstore").await.unwrap().unwrap();
    assert_eq!(watched.artifact.policy.environment.as_deref(), Some("npm"));
    assert_eq!(
        watched.policy_rev, 2,
        "a policy change: every version judged again"
    );

    let mut delete = create.clone();
    delete["RequestType"] = json!("Delete");
    delete["PhysicalResourceId"] = json!("npm/sigstore");
    let deleted = send(delete.clone()).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(store.artifact("npm/sigstore").await.unwrap().is_none());

    // Bad properties: FAILED, the field named; then the Delete CloudFormation sends for
    // the failed resource succeeds and removes nothing.
    let mut bad = create.clone();
    bad["LogicalResourceId"] = json!("MonitoredBad");
    bad["ResourceProperties"]["Workflows"] = json!(["release.yml"]);
    let failed = send(bad.clone()).await;
    assert_failed_naming(&failed, "Workflows[0]");
    let mut cleanup = bad;
    cleanup["RequestType"] = json!("Delete");
    cleanup["PhysicalResourceId"] = failed["PhysicalResourceId"].clone();
    let cleaned = send(cleanup).await;
    assert_eq!(cleaned["Status"], "SUCCESS", "{cleaned}");

    // An artifact the API added is not the stack's to take over, nor to delete.
    let artifact = Artifact::npm(
        "sigstore",
        PolicySpec::new("sigstore/sigstore-js", &[".github/workflows/release.yml"]),
    )
    .unwrap();
    watchlist::watch(&store, artifact, ArtifactSource::Api, 0)
        .await
        .unwrap();
    let taken = send(create).await;
    assert_failed_naming(&taken, "through the API");
    let kept = send(delete).await;
    assert_eq!(kept["Status"], "SUCCESS");
    assert!(store.artifact("npm/sigstore").await.unwrap().is_some());
}

/// An API Gateway v2 event for a browser's request to a page route (no authorizer there):
/// `path` may carry a query, `cookies` are the browser's.
fn browser_event(method: &str, path: &str, cookies: &[String], form: Option<String>) -> Value {
    let mut event: Value = serde_json::from_slice(&read("events/api-iam-get.json")).unwrap();
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    event["rawPath"] = json!(raw_path);
    event["rawQueryString"] = json!(query);
    let parameters: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
            (k.to_owned(), json!(v))
        })
        .collect();
    event["queryStringParameters"] = Value::Object(parameters);
    event.as_object_mut().unwrap().remove("pathParameters");
    event["routeKey"] = json!(format!("{method} {raw_path}"));
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(raw_path);
    event["headers"]["accept"] = json!("text/html");
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if let Some(form) = form {
        event["body"] = json!(form);
        event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
        event["headers"]["origin"] =
            json!("https://abc123defg.execute-api.us-east-1.amazonaws.com");
    }
    event
}

/// The `name=value` of the cookie `name` a v2 response sets.
fn set_cookie(answer: &Value, name: &str) -> Option<String> {
    answer["cookies"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// The dashboard's sign-in in AWS, through the real `api` binary and the real Cognito
/// adapter against a local user pool: `/login` redirects to the pool's managed login with a
/// PKCE challenge, the callback redeems the code over HTTP and verifies the RS256 ID token
/// against the pool's key set, the session cookie then opens the pages (the key set fetched
/// once), a writer adds an artifact with the session's CSRF token; a token whose signature
/// or audience was tampered with is no session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_to_the_dashboard_at_the_user_pool() {
    use artifact_monitor_api::signin::{LOGIN_COOKIE, SESSION_COOKIE, session_csrf};
    use artifact_monitor_aws_tests::fake_cognito::{CLIENT_ID, FakeCognito};
    use artifact_monitor_core::ports::ArtifactStore as _;
    let store = aws::dynamo_store().await;
    let pool = FakeCognito::start().await;
    let mut api = RuntimeApi::start().await;
    api.spawn(
        &binary("api"),
        "api",
        &[
            ("AWS_ENDPOINT_URL", aws::endpoint().to_owned()),
            ("TABLE_NAME", store.table().to_owned()),
            ("SIGN_IN_ISSUER", pool.issuer()),
            ("SIGN_IN_CLIENT_ID", CLIENT_ID.to_owned()),
            ("SIGN_IN_DOMAIN_URL", pool.domain_url()),
        ],
    );
    let call = |event: Value| {
        let api = &api;
        async move { api.invoke(event, TIMEOUT).await.response() }
    };

    // Not signed in: the dashboard sends the browser to sign in, which sends it to the pool.
    let page = call(browser_event("GET", "/", &[], None)).await;
    assert_eq!(page["statusCode"], 303, "{page}");
    assert_eq!(page["headers"]["location"], "/login?next=%2F");
    let start = call(browser_event("GET", "/login?next=%2F", &[], None)).await;
    assert_eq!(start["statusCode"], 303, "{start}");
    let authorize = start["headers"]["location"].as_str().unwrap().to_owned();
    assert!(authorize.starts_with(&format!("{}/oauth2/authorize?", pool.domain_url())));
    assert!(authorize.contains("redirect_uri=https%3A%2F%2Fabc123defg.execute-api.us-east-1.amazonaws.com%2Flogin%2Fcallback"));
    let login = set_cookie(&start, LOGIN_COOKIE).expect("the login cookie");

    // Ada signs in at the pool's page and comes back with a code.
    let (code, state) = pool.sign_in(&authorize, "ada@example.org", &["admins"]);
    let back = call(browser_event(
        "GET",
        &format!("/login/callback?code={code}&state={state}"),
        std::slice::from_ref(&login),
        None,
    ))
    .await;
    assert_eq!(back["statusCode"], 303, "{back}");
    assert_eq!(back["headers"]["location"], "/");
    let session = set_cookie(&back, SESSION_COOKIE).expect("the session cookie");
    // The code is spent.
    let again = call(browser_event(
        "GET",
        &format!("/login/callback?code={code}&state={state}"),
        std::slice::from_ref(&login),
        None,
    ))
    .await;
    assert_eq!(again["statusCode"], 401, "{again}");

    // Signed in: the pages answer, and the key set was fetched once for all of them.
    for path in ["/", "/assets/app.css", "/view/summary"] {
        let page = call(browser_event(
            "GET",
            path,
            std::slice::from_ref(&session),
            None,
        ))
        .await;
        assert_eq!(page["statusCode"], 200, "{path}: {page}");
    }
    assert_eq!(pool.key_fetches(), 1);

    // Ada adds an artifact from the page's form, with the session's CSRF token.
    let csrf = session_csrf(session.split_once('=').unwrap().1);
    let form = |csrf: &str| {
        format!(
            "csrf={csrf}&type=npm&name=left-pad&repository=left-pad%2Fleft-pad&workflow=.github%2Fworkflows%2Frelease.yml"
        )
    };
    let refused = call(browser_event(
        "POST",
        "/view/add",
        std::slice::from_ref(&session),
        Some(form("forged")),
    ))
    .await;
    assert_eq!(refused["statusCode"], 403, "{refused}");
    let added = call(browser_event(
        "POST",
        "/view/add",
        std::slice::from_ref(&session),
        Some(form(&csrf)),
    ))
    .await;
    assert_eq!(added["statusCode"], 303, "{added}");
    assert!(store.artifact("npm/left-pad").await.unwrap().is_some());

    // Tampered sessions are nobody: another audience (signed by the pool's own key), an
    // expired token, a signature that is not the pool's.
    let token = session.split_once('=').unwrap().1.to_owned();
    let mut other_client = pool.claims("ada@example.org", &["admins"]);
    other_client["aud"] = json!("another-client");
    let mut expired = pool.claims("ada@example.org", &["admins"]);
    expired["exp"] = json!(jiff::Timestamp::now().as_second() - 3600);
    let (head, _) = token.rsplit_once('.').unwrap();
    let bad_signature = format!("{head}.{}", "A".repeat(342));
    for forged in [
        pool.token(&other_client),
        pool.token(&expired),
        bad_signature,
    ] {
        let cookie = format!("{SESSION_COOKIE}={forged}");
        let page = call(browser_event("GET", "/", &[cookie], None)).await;
        assert_eq!(page["statusCode"], 303, "{page}");
    }
}

/// `Custom::DashboardSignIn` through the real `provider` binary against the emulator's
/// Cognito: it turns the managed login on for the dashboard's client (code flow, the API's
/// callback and sign-out URLs) and keeps every other setting the client had; a Delete
/// leaves the client alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custom_resource_registers_the_dashboards_sign_in() {
    let config = aws::config().await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let pool = cognito
        .create_user_pool()
        .pool_name(unique("people"))
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("dashboard")
        .id_token_validity(1)
        .access_token_validity(1)
        .token_validity_units(
            aws_sdk_cognitoidentityprovider::types::TokenValidityUnitsType::builder()
                .id_token(aws_sdk_cognitoidentityprovider::types::TimeUnitsType::Hours)
                .access_token(aws_sdk_cognitoidentityprovider::types::TimeUnitsType::Hours)
                .build(),
        )
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowUserSrpAuth,
        )
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        )
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let resources = CustomResources::start("unused").await;
    let send = |event: Value| resources.send(event);
    let api = "https://abc123defg.execute-api.us-east-1.amazonaws.com";
    let mut event: Value = serde_json::from_slice(&read("events/provider-create.json")).unwrap();
    event["ResourceType"] = json!("Custom::DashboardSignIn");
    event["LogicalResourceId"] = json!("DashboardSignIn");
    event["ResourceProperties"] = json!({
        "ServiceToken": event["ResourceProperties"]["ServiceToken"],
        "Revision": "1",
        "UserPoolId": pool,
        "ClientId": client,
        "CallbackUrl": format!("{api}/login/callback"),
        "SignOutUrl": format!("{api}/"),
    });
    let created = send(event.clone()).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(
        created["PhysicalResourceId"],
        format!("dashboard-sign-in/{client}")
    );
    let described = cognito
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    assert_eq!(described.callback_urls(), [format!("{api}/login/callback")]);
    assert_eq!(described.logout_urls(), [format!("{api}/")]);
    assert_eq!(
        described.allowed_o_auth_flows(),
        [aws_sdk_cognitoidentityprovider::types::OAuthFlowType::Code]
    );
    assert_eq!(described.allowed_o_auth_scopes(), ["openid", "email"]);
    assert_eq!(
        described.allowed_o_auth_flows_user_pool_client(),
        Some(true)
    );
    assert_eq!(described.supported_identity_providers(), ["COGNITO"]);
    // What the client had is kept.
    assert_eq!(described.client_name(), Some("dashboard"));
    assert_eq!(described.id_token_validity(), Some(1));
    assert_eq!(described.explicit_auth_flows().len(), 2);

    // A URL that is not https fails, naming the property.
    let mut bad = event.clone();
    bad["ResourceProperties"]["CallbackUrl"] = json!("http://example.org/login/callback");
    let failed = send(bad.clone()).await;
    assert_failed_naming(&failed, "CallbackUrl");

    let mut delete = event;
    delete["RequestType"] = json!("Delete");
    delete["PhysicalResourceId"] = created["PhysicalResourceId"].clone();
    let deleted = send(delete).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    let still = cognito
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client)
        .send()
        .await
        .unwrap();
    assert!(still.user_pool_client.is_some());
}

/// What CloudFormation refuses at deploy time and neither `sam validate` nor cfn-lint
/// catch: a circular dependency. The translated template has none, and the check finds the
/// one a callback URL naming the API on the user pool client would make.
#[test]
fn the_template_has_no_circular_dependency() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let check = |template: &std::path::Path| {
        std::process::Command::new(root.join(".venv/bin/python"))
            .arg(root.join("tests/aws/support/emulated_stack.py"))
            .arg("--cycles")
            .arg(template)
            .output()
            .unwrap()
    };
    let ours = check(&root.join("template.yaml"));
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let anchor = "      GenerateSecret: false\n";
    assert!(text.contains(anchor));
    let cyclic = text.replace(
        anchor,
        &format!("{anchor}      CallbackURLs: [!Sub \"https://${{HttpApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/login/callback\"]\n"),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.yaml");
    std::fs::write(&path, cyclic).unwrap();
    let found = check(&path);
    assert!(!found.status.success());
    let said = String::from_utf8_lossy(&found.stderr);
    assert!(
        said.contains("circular dependency")
            && said.contains("UserPoolClient")
            && said.contains("HttpApi"),
        "{said}"
    );
}
