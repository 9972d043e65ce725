//! Lambda timing harness: the release builds of the `poller`, `verifier` and `api` binaries
//! run as child processes against a Runtime API this harness serves, over moto and the local
//! fake registry and GitHub. Reports each function's cold start (from the process starting
//! to its first answer: runtime start-up, settings, clients, the first invocation's work) and
//! the median of its warm invocations, and the AWS requests one warm invocation sent
//! (counted exactly by a proxy in front of the emulator). Host build (x86-64) on an emulator:
//! the times are indicative only, the shape of the figures rather than what AWS would bill.
//!
//! `cargo build --release --locked -p artifact-monitor-poller -p artifact-monitor-verifier
//!  -p artifact-monitor-api-lambda && cargo bench -p artifact-monitor-aws-tests --bench lambda_timing`
//! (moto from `.venv`, as `scripts/test.sh` installs it, or `ARTIFACT_MONITOR_AWS_ENDPOINT`).

#![allow(clippy::unwrap_used)]

use artifact_monitor_api::signin::SESSION_COOKIE;
use artifact_monitor_aws_tests::aws::{self, unique};
use artifact_monitor_aws_tests::counting_proxy::{CountingProxy, Counts};
use artifact_monitor_aws_tests::fake_cognito::{CLIENT_ID, FakeCognito};
use artifact_monitor_aws_tests::runtime_api::{RuntimeApi, binary};
use artifact_monitor_core::domain::{
    Artifact, ArtifactSource, PolicySpec, VERSION_PUBLISHED_SCHEMA,
};
use artifact_monitor_core::monitor::watchlist;
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, manifest};
use artifact_monitor_tests::read;
use artifact_monitor_tests::world::{OTHER_INTEGRITY, SIGSTORE_2_3_1, add_sigstore_2_3_1_run};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
const PACKAGES: usize = 50;
const WARM: usize = 15;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// An SQS event carrying one `Version Published` event of `name@version`.
fn sqs_event(name: &str, version: &str, attested: bool, published_at: i64, id: usize) -> Value {
    let detail = json!({
        "schema_version": VERSION_PUBLISHED_SCHEMA,
        "artifact": {"type": "npm", "name": name},
        "version": version,
        "integrity": if attested {
            SIGSTORE_2_3_1
        } else {
            OTHER_INTEGRITY
        },
        "git_head": "46e7056ff9912ebfee5298d94024895a9fea76c0",
        "published_at": published_at,
        "has_attestations": attested,
        "earlier_had_provenance": false,
        "reason": "new",
        "policy_rev": 1,
        "detected_at": published_at + 30,
    });
    let body = json!({
        "version": "0", "id": format!("event-{id}"), "detail-type": "Version Published",
        "source": "artifact-monitor", "account": "123456789012", "time": "2026-12-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail": detail,
    });
    json!({"Records": [{
        "messageId": format!("message-{id}"), "receiptHandle": "handle", "body": body.to_string(),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:verifier", "awsRegion": "us-east-1",
    }]})
}

/// Starts `name` and times its first answer from the process start, then `warm` more;
/// returns the AWS requests of the last warm invocation and its answer too.
async fn timed(
    name: &str,
    env: &[(&str, String)],
    proxy: &CountingProxy,
    first: Value,
    warm: impl Fn(usize) -> Value,
) -> (Duration, Duration, Counts, Value) {
    let mut api = RuntimeApi::start().await;
    let started = Instant::now();
    api.spawn(&binary(name), name, env);
    let answer = api.invoke(first, TIMEOUT).await;
    let cold = started.elapsed();
    answer.response();
    let mut samples = Vec::new();
    let mut last = Counts::new();
    let mut answer = Value::Null;
    for i in 0..WARM {
        let event = warm(i);
        let before = proxy.counts();
        let started = Instant::now();
        answer = api.invoke(event, TIMEOUT).await.response();
        samples.push(started.elapsed());
        last = proxy.since(&before);
    }
    (cold, median(samples), last, answer)
}

fn requests(counts: &Counts) -> String {
    let total: u64 = counts.values().sum();
    let each: Vec<String> = counts.iter().map(|(op, n)| format!("{n} {op}")).collect();
    format!("{total} ({})", each.join(", "))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = aws::config().await;
        let store = aws::dynamo_store().await;
        let events = aws_sdk_eventbridge::Client::new(&config);
        let bus = unique("timing");
        events.create_event_bus().name(&bus).send().await.unwrap();
        let topic = aws_sdk_sns::Client::new(&config)
            .create_topic()
            .name(unique("timing"))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let npm = FakeNpm::start().await;
        let github = FakeGithub::start().await;
        add_sigstore_2_3_1_run(&github);
        let now = jiff::Timestamp::now().as_second();
        for i in 0..PACKAGES {
            let name = format!("pkg-{i}");
            npm.create(&name, &["octocat"]);
            npm.publish(
                &name,
                manifest(&name, "1.0.0", OTHER_INTEGRITY, false),
                "2026-01-01T00:00:00.000Z",
            );
            let artifact =
                Artifact::npm(&name, PolicySpec::new("octo-org/octo-repo", &[".github/workflows/release.yml"])).unwrap();
            watchlist::watch(&store, artifact, ArtifactSource::Api, now)
                .await
                .unwrap();
        }
        npm.create("sigstore", &["bdehamer"]);
        npm.publish(
            "sigstore",
            manifest(
                "sigstore",
                "2.3.1",
                SIGSTORE_2_3_1,
                true,
            ),
            "2024-05-16T17:12:03.000Z",
        );
        npm.attest("sigstore", "2.3.1", read("npm/attestations/sigstore@2.3.1.json"));
        let sigstore = Artifact::npm(
            "sigstore",
            PolicySpec::new("sigstore/sigstore-js", &[".github/workflows/release.yml"]),
        )
        .unwrap();
        watchlist::watch(&store, sigstore, ArtifactSource::Api, now)
            .await
            .unwrap();
        let proxy = CountingProxy::start(aws::endpoint()).await;
        let env = vec![
            ("AWS_ENDPOINT_URL", proxy.url.clone()),
            ("TABLE_NAME", store.table().to_owned()),
            ("ALERT_TOPIC_ARN", topic.clone()),
            ("EVENT_BUS_NAME", bus.clone()),
            ("REGISTRY_URL", npm.url().to_owned()),
            ("GITHUB_API_URL", github.url().to_owned()),
            ("REGISTRY_REQUESTS_PER_SECOND", "1000".to_owned()),
        ];
        let tick = json!({"source": "artifact-monitor.schedule", "tick": "poll"});
        let (poller_cold, poller_warm, poller_requests, _) =
            timed("poller", &env, &proxy, tick.clone(), |_| tick.clone()).await;
        // The verifier: first a real judgement of sigstore@2.3.1 (attestations verified,
        // its run looked up), then versions without provenance, each a real judgement
        // (the runs around its publish time looked up).
        let published = 1_715_879_523;
        let (verifier_cold, verifier_warm, verifier_requests, _) = timed(
            "verifier",
            &env,
            &proxy,
            sqs_event("sigstore", "2.3.1", true, published, 0),
            |i| sqs_event(&format!("pkg-{i}"), "1.0.0", false, published, i + 1),
        )
        .await;
        let summary: Value =
            serde_json::from_slice(&read("events/api-iam-get.json")).unwrap();
        let mut summary = summary;
        summary["rawPath"] = json!("/summary");
        summary["rawQueryString"] = json!("");
        summary["requestContext"]["http"]["path"] = json!("/summary");
        let (api_cold, api_warm, api_requests, _) =
            timed("api", &env, &proxy, summary.clone(), |_| summary.clone()).await;
        // The api as the template deploys it, with people's sign-in: the dashboard page
        // for a signed-in person (the session's ID token verified against the pool's key
        // set, fetched at the first request), through the local user pool.
        let pool = FakeCognito::start().await;
        let mut signed_in_env = env.clone();
        signed_in_env.extend([
            ("SIGN_IN_ISSUER", pool.issuer()),
            ("SIGN_IN_CLIENT_ID", CLIENT_ID.to_owned()),
            ("SIGN_IN_DOMAIN_URL", pool.domain_url()),
        ]);
        let session = pool.token(&pool.claims("ada@example.com", &["admins"]));
        let mut page = summary.clone();
        page["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("authorizer");
        page["rawPath"] = json!("/");
        page["routeKey"] = json!("GET /");
        page["requestContext"]["http"]["path"] = json!("/");
        page["headers"]["accept"] = json!("text/html");
        page["cookies"] = json!([format!("{SESSION_COOKIE}={session}")]);
        let (page_cold, page_warm, page_requests, answer) =
            timed("api", &signed_in_env, &proxy, page.clone(), |_| page.clone()).await;
        assert_eq!(answer["statusCode"], 200, "the page, not the sign-in: {answer}");
        assert_eq!(pool.key_fetches(), 1, "the key set is fetched once");
        println!("function   cold start (process start → first answer)   warm (median of {WARM})");
        println!(
            "poller     {:<44} {}   (first: {PACKAGES} + 1 packages read for the first time; warm: a tick sweeping them, all 304)",
            ms(poller_cold),
            ms(poller_warm)
        );
        println!(
            "verifier   {:<44} {}   (first: provenance verified, run looked up; warm: a version without provenance judged)",
            ms(verifier_cold),
            ms(verifier_warm)
        );
        println!(
            "api        {:<44} {}   (GET /summary)",
            ms(api_cold),
            ms(api_warm)
        );
        println!(
            "api        {:<44} {}   (GET / signed in: the session's ID token verified, the dashboard rendered)",
            ms(page_cold),
            ms(page_warm)
        );
        println!("AWS requests of one warm invocation:");
        println!("poller     {}", requests(&poller_requests));
        println!("verifier   {}", requests(&verifier_requests));
        println!("api        {}", requests(&api_requests));
        println!("api page   {}", requests(&page_requests));
    });
}
