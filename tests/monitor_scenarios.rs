//! End-to-end scenarios of the monitor over real wire protocols: a local npm registry and a
//! local GitHub API serving real-format documents, the real attestation responses, the
//! offline verifier, and the store. Each scenario asserts the stored verdict and the alerts.

// Test helpers: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{
    Alert, AlertKind, Artifact, Compliance, Confidence, PolicySpec, Reason, Severity,
};
use artifact_monitor_core::monitor::{Monitor, PollOutcome};
use artifact_monitor_core::ports::{Outbox as _, VerdictStore as _, WatchStore as _};
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_http::{GithubRuns, NpmRegistry};
use artifact_monitor_tests::fake_http::Reply;
use artifact_monitor_tests::fakes::manifest;
use artifact_monitor_tests::poll::{needing_retry, poll};
use artifact_monitor_tests::read;
use artifact_monitor_tests::world::{
    COMMIT_2_3_1, MonitorWorld, OTHER_INTEGRITY, RUN_2_3_1, SIGSTORE_1_0_0, SIGSTORE_2_3_1,
    fast_http, octo,
};
use artifact_monitor_verify::ProvenanceVerifier;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The shared world, and this file's ways of publishing into it.
struct World(MonitorWorld);

impl std::ops::Deref for World {
    type Target = MonitorWorld;
    fn deref(&self) -> &MonitorWorld {
        &self.0
    }
}

async fn world(github: bool) -> World {
    World(MonitorWorld::start("2024-05-16T17:00:00Z", github).await)
}

fn sigstore(change: impl FnOnce(&mut PolicySpec)) -> Artifact {
    let mut policy = PolicySpec::new("sigstore/sigstore-js", &[".github/workflows/release.yml"]);
    change(&mut policy);
    Artifact::npm("sigstore", policy).unwrap()
}

impl World {
    /// The sigstore package as first seen: 1.0.0, published by an older workflow.
    async fn watch_sigstore(&self, artifact: &Artifact) -> Vec<Alert> {
        self.npm.create("sigstore", &["bdehamer"]);
        self.npm.publish(
            "sigstore",
            manifest("sigstore", "1.0.0", SIGSTORE_1_0_0, true),
            "2023-02-09T17:56:00.000Z",
        );
        self.npm.attest(
            "sigstore",
            "1.0.0",
            read("npm/attestations/sigstore@1.0.0.json"),
        );
        let report = poll(&self.monitor, artifact, false).await.unwrap();
        assert_eq!(report.judged.len(), 1);
        self.alerts().await
    }

    /// sigstore@2.3.1 as really published, with its run on GitHub.
    async fn publish_sigstore_2_3_1(&self) {
        self.github.add_run(
            RUN_2_3_1,
            "sigstore/sigstore-js",
            ".github/workflows/release.yml",
            COMMIT_2_3_1,
            "main",
            "2024-05-16T17:05:00Z",
            "2024-05-16T17:15:00Z",
            &["ubuntu-latest"],
        );
        let mut m = manifest("sigstore", "2.3.1", SIGSTORE_2_3_1, true);
        m["gitHead"] = json!(COMMIT_2_3_1);
        self.npm.publish("sigstore", m, "2024-05-16T17:12:03.000Z");
        self.npm.attest(
            "sigstore",
            "2.3.1",
            read("npm/attestations/sigstore@2.3.1.json"),
        );
        self.clock.set("2024-05-16T17:13:00Z");
    }
}

fn codes(list: &[&str]) -> Vec<Reason> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[tokio::test]
async fn backfill_is_summarised_once_and_a_compliant_release_is_quiet() {
    let w = world(true).await;
    let artifact = sigstore(|_| {});
    let alerts = w.watch_sigstore(&artifact).await;
    // 1.0.0 came from publish.yml (its certificate, from before the runner claim, attests
    // no runner: not a finding on its own).
    assert_eq!(
        w.verdict(&artifact, "1.0.0").await,
        (
            Compliance::NonCompliant,
            Confidence::High,
            codes(&["workflow_mismatch"])
        )
    );
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Backfill);
    assert_eq!(alerts[0].severity, Severity::Critical);

    w.publish_sigstore_2_3_1().await;
    let report = poll(&w.monitor, &artifact, false).await.unwrap();
    assert_eq!(report.judged.len(), 1);
    let record = w
        .monitor
        .store
        .version("npm/sigstore", "2.3.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.verdict.compliance, Compliance::Compliant);
    assert_eq!(record.verdict.confidence, Confidence::High);
    assert_eq!(
        record.verdict.reasons,
        codes(&["provenance_verified", "run_verified"])
    );
    assert_eq!(
        record.verdict.logs_url.as_deref(),
        Some("https://github.com/sigstore/sigstore-js/actions/runs/9116405766")
    );
    let evidence = record.verdict.evidence.provenance.unwrap();
    assert_eq!(evidence.commit.as_deref(), Some(COMMIT_2_3_1));
    assert_eq!(record.verdict.evidence.run.unwrap().id, RUN_2_3_1);
    assert!(!record.backfill);
    assert!(
        w.alerts().await.is_empty(),
        "a compliant release does not alert"
    );

    // Nothing changed: one conditional request answered 304, nothing judged.
    w.npm.server.clear_log();
    let report = poll(&w.monitor, &artifact, false).await.unwrap();
    assert_eq!(report.outcome, PollOutcome::NotModified);
    assert_eq!(w.npm.server.requests().len(), 1);
    assert_eq!(w.npm.packument_requests("sigstore"), [304]);
}

#[tokio::test]
async fn a_release_without_provenance_after_releases_with_it_alerts() {
    let w = world(true).await;
    let artifact = sigstore(|_| {});
    w.watch_sigstore(&artifact).await;
    w.publish_sigstore_2_3_1().await;
    poll(&w.monitor, &artifact, false).await.unwrap();
    w.npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.2", OTHER_INTEGRITY, false),
        "2024-05-16T17:30:00.000Z",
    );
    w.clock.set("2024-05-16T17:31:00Z");
    poll(&w.monitor, &artifact, false).await.unwrap();
    assert_eq!(
        w.verdict(&artifact, "2.3.2").await,
        (
            Compliance::NonCompliant,
            Confidence::High,
            codes(&["provenance_dropped"])
        )
    );
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].id, "npm/sigstore@2.3.2#non_compliant");
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(
        alerts[0].published_at.as_deref(),
        Some("2024-05-16T17:30:00Z")
    );
    // Polling again neither judges nor alerts again.
    poll(&w.monitor, &artifact, false).await.unwrap();
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn another_packages_attestation_is_rejected() {
    let w = world(true).await;
    let artifact = sigstore(|_| {});
    w.watch_sigstore(&artifact).await;
    w.npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.3", SIGSTORE_2_3_1, true),
        "2024-05-16T17:40:00.000Z",
    );
    // The registry serves a real, valid attestation of another package for this version.
    w.npm.attest(
        "sigstore",
        "2.3.3",
        read("npm/attestations/@playwright__cli@0.1.1.json"),
    );
    w.clock.set("2024-05-16T17:41:00Z");
    poll(&w.monitor, &artifact, false).await.unwrap();
    let record = w
        .monitor
        .store
        .version("npm/sigstore", "2.3.3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.verdict.compliance, Compliance::NonCompliant);
    assert_eq!(record.verdict.reasons, codes(&["provenance_invalid"]));
    assert_eq!(
        record.verdict.evidence.provenance_error.unwrap().kind,
        "subject"
    );
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].version.as_deref(), Some("2.3.3"));
}

#[tokio::test]
async fn provenance_from_another_repository_workflow_ref_or_event_is_non_compliant() {
    type Change = fn(&mut PolicySpec);
    let cases: [(&str, Change); 4] = [
        ("repository_mismatch", |p| {
            p.repository = "sigstore/sigstore-python".into()
        }),
        ("workflow_mismatch", |p| {
            p.workflows = vec![".github/workflows/publish.yml".into()]
        }),
        ("ref_not_allowed", |p| {
            p.allowed_refs = Some(vec!["refs/tags/v*".into()])
        }),
        ("event_not_allowed", |p| {
            p.allowed_events = Some(vec!["release".into()])
        }),
    ];
    for (code, change) in cases {
        let w = world(true).await;
        let artifact = sigstore(change);
        w.npm.create("sigstore", &["bdehamer"]);
        poll(&w.monitor, &artifact, false).await.unwrap();
        w.publish_sigstore_2_3_1().await;
        poll(&w.monitor, &artifact, false).await.unwrap();
        let (compliance, confidence, reasons) = w.verdict(&artifact, "2.3.1").await;
        assert_eq!(
            (compliance, confidence),
            (Compliance::NonCompliant, Confidence::High),
            "{code}"
        );
        assert!(reasons.iter().any(|r| r == code), "{code}: {reasons:?}");
        let alerts = w.alerts().await;
        assert_eq!(alerts.len(), 1, "{code}");
        assert_eq!(alerts[0].kind, AlertKind::Version);
    }
}

/// A package without provenance, published at 12:00 with commit `sha`.
async fn publish_unattested(w: &World, artifact: &Artifact, sha: &str) {
    w.npm.create(&artifact.name, &["octocat"]);
    poll(&w.monitor, artifact, false).await.unwrap();
    let mut m = manifest(&artifact.name, "1.0.0", OTHER_INTEGRITY, false);
    m["gitHead"] = json!(sha);
    w.npm.publish(&artifact.name, m, "2026-11-27T12:00:00.000Z");
    w.clock.set("2026-11-27T12:01:00Z");
    poll(&w.monitor, artifact, false).await.unwrap();
}

const SHA: &str = "acb5820ced9479c074f688cc328bf03f341a511d";

/// A run of octo-org/octo-repo building commit `SHA`.
fn octo_run(
    w: &World,
    id: u64,
    workflow: &str,
    branch: &str,
    created: &str,
    updated: &str,
    labels: &[&str],
) {
    w.github.add_run(
        id,
        "octo-org/octo-repo",
        workflow,
        SHA,
        branch,
        created,
        updated,
        labels,
    );
}

/// A run of octo-org/octo-repo: id, workflow, branch or tag, created, updated, runner labels.
type RunSpec = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

#[tokio::test]
async fn versions_without_provenance_are_judged_by_the_runs_around_their_publish_time() {
    const RELEASE: &str = ".github/workflows/release.yml";
    type Case = (
        &'static str,
        Vec<RunSpec>,
        Compliance,
        Confidence,
        &'static [&'static str],
    );
    let cases: [Case; 3] = [
        (
            "a matching run on a github-hosted runner",
            vec![(
                7,
                RELEASE,
                "v1.0.0",
                "2026-11-27T11:55:00Z",
                "2026-11-27T12:02:00Z",
                &["ubuntu-latest"],
            )],
            Compliance::Compliant,
            Confidence::Medium,
            &["no_provenance", "run_matches"],
        ),
        (
            "the matching run was on a self-hosted runner",
            vec![(
                8,
                RELEASE,
                "v1.0.0",
                "2026-11-27T11:55:00Z",
                "2026-11-27T12:02:00Z",
                &["self-hosted", "linux"],
            )],
            Compliance::NonCompliant,
            Confidence::Medium,
            &["no_provenance", "run_mismatch", "runner_not_github_hosted"],
        ),
        (
            "a run of another workflow, and one of the right workflow a day earlier",
            vec![
                (
                    9,
                    ".github/workflows/ci.yml",
                    "main",
                    "2026-11-27T11:55:00Z",
                    "2026-11-27T12:02:00Z",
                    &["ubuntu-latest"],
                ),
                (
                    10,
                    RELEASE,
                    "v0.9.0",
                    "2026-11-26T11:55:00Z",
                    "2026-11-26T12:02:00Z",
                    &["ubuntu-latest"],
                ),
            ],
            Compliance::NonCompliant,
            Confidence::Medium,
            &["no_provenance", "no_run"],
        ),
    ];
    for (case, runs, compliance, confidence, reasons) in cases {
        let w = world(true).await;
        for (id, workflow, branch, created, updated, labels) in runs {
            octo_run(&w, id, workflow, branch, created, updated, labels);
        }
        let artifact = octo("octo-pkg");
        publish_unattested(&w, &artifact, SHA).await;
        assert_eq!(
            w.verdict(&artifact, "1.0.0").await,
            (compliance, confidence, codes(reasons)),
            "{case}"
        );
        let alerts = w.alerts().await;
        let expected = usize::from(compliance != Compliance::Compliant);
        assert_eq!(alerts.len(), expected, "{case}");
        if let Some(alert) = alerts.first() {
            assert_eq!(alert.id, "npm/octo-pkg@1.0.0#non_compliant", "{case}");
        }
    }
}

#[tokio::test]
async fn registry_failing_then_recovering_loses_nothing_and_alerts_once() {
    let w = world(true).await;
    let artifact = octo("flaky-pkg");
    w.npm.create("flaky-pkg", &["octocat"]);
    poll(&w.monitor, &artifact, false).await.unwrap();
    w.npm.publish(
        "flaky-pkg",
        manifest("flaky-pkg", "2.0.0", OTHER_INTEGRITY, false),
        "2026-11-27T12:00:00.000Z",
    );
    w.clock.set("2026-11-27T12:01:00Z");
    // More 500s than the client retries: the poll fails and nothing is recorded.
    for _ in 0..4 {
        w.npm.fail_next("/flaky-pkg", Reply::status(500));
    }
    assert!(poll(&w.monitor, &artifact, false).await.is_err());
    assert!(
        w.monitor
            .store
            .version("npm/flaky-pkg", "2.0.0")
            .await
            .unwrap()
            .is_none()
    );
    // Then a 429 asking to wait a second, a body cut short, a dropped connection: retried.
    w.npm.fail_next(
        "/flaky-pkg",
        Reply::status(429).with_header("retry-after", "1"),
    );
    w.npm.fail_next(
        "/flaky-pkg",
        Reply::Truncated {
            status: 200,
            body: vec![b'{'; 4096],
            sent: 100,
        },
    );
    w.npm.fail_next("/flaky-pkg", Reply::Drop);
    let started = std::time::Instant::now();
    let report = poll(&w.monitor, &artifact, false).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(report.judged.len(), 1);
    assert_eq!(
        w.npm.packument_requests("flaky-pkg")[5..],
        [429, 200, 0, 200]
    );
    assert_eq!(
        w.verdict(&artifact, "2.0.0").await.0,
        Compliance::NonCompliant
    );
    assert_eq!(w.alerts().await.len(), 1);
    poll(&w.monitor, &artifact, false).await.unwrap();
    assert!(w.alerts().await.is_empty(), "no duplicate alert");
}

#[tokio::test]
async fn an_attestation_the_registry_cannot_serve_yet_is_judged_on_a_later_poll() {
    let w = world(true).await;
    let artifact = sigstore(|_| {});
    w.npm.create("sigstore", &["bdehamer"]);
    poll(&w.monitor, &artifact, false).await.unwrap();
    w.publish_sigstore_2_3_1().await;
    for _ in 0..4 {
        w.npm
            .fail_next("/-/npm/v1/attestations/sigstore@2.3.1", Reply::status(503));
    }
    let report = poll(&w.monitor, &artifact, false).await.unwrap();
    // Recorded pending (visible, not alerted), with what failed.
    assert_eq!(report.judged.len(), 1);
    assert_eq!(report.judged[0].compliance, Compliance::Pending);
    assert_eq!(report.judged[0].reasons, [Reason::RegistryUnavailable]);
    assert!(
        report.judged[0]
            .pending_because
            .as_deref()
            .is_some_and(|why| why.contains("503")),
        "{:?}",
        report.judged[0]
    );
    assert_eq!(w.verdict(&artifact, "2.3.1").await.0, Compliance::Pending);
    // The version stayed due with its facts: the next poll costs a 304 and judges it.
    let report = poll(&w.monitor, &artifact, false).await.unwrap();
    assert_eq!(report.outcome, PollOutcome::NotModified);
    assert_eq!(report.judged.len(), 1);
    assert_eq!(w.verdict(&artifact, "2.3.1").await.0, Compliance::Compliant);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn github_down_leaves_a_version_pending_then_unverifiable_then_decided() {
    let w = world(true).await;
    let artifact = sigstore(|_| {});
    w.npm.create("sigstore", &["bdehamer"]);
    poll(&w.monitor, &artifact, false).await.unwrap();
    w.publish_sigstore_2_3_1().await;
    for _ in 0..8 {
        w.github.fail_next("/actions/runs/", Reply::status(502));
    }
    let report = poll(&w.monitor, &artifact, false).await.unwrap();
    assert!(report.retry_pending);
    assert_eq!(
        needing_retry(&w.monitor, std::slice::from_ref(&artifact))
            .await
            .unwrap(),
        ["npm/sigstore"]
    );
    assert_eq!(
        w.verdict(&artifact, "2.3.1").await,
        (
            Compliance::Pending,
            Confidence::Medium,
            codes(&["provenance_verified", "github_unavailable"])
        )
    );
    assert!(
        w.alerts().await.is_empty(),
        "pending is not alerted at once"
    );
    // Still down after the bound: one unverifiable alert, and only one.
    w.clock.advance(31 * 60);
    poll(&w.monitor, &artifact, false).await.unwrap();
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Unverifiable);
    // GitHub is back: the version is decided, with its history.
    let report = poll(&w.monitor, &artifact, false).await.unwrap();
    assert!(!report.retry_pending);
    assert!(
        needing_retry(&w.monitor, std::slice::from_ref(&artifact))
            .await
            .unwrap()
            .is_empty()
    );
    let record = w
        .monitor
        .store
        .version("npm/sigstore", "2.3.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.verdict.compliance, Compliance::Compliant);
    assert_eq!(record.history.len(), 1);
    assert_eq!(record.pending_since, None);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn without_github_a_verified_release_is_compliant_medium() {
    let w = world(false).await;
    let artifact = sigstore(|_| {});
    w.npm.create("sigstore", &["bdehamer"]);
    poll(&w.monitor, &artifact, false).await.unwrap();
    w.publish_sigstore_2_3_1().await;
    poll(&w.monitor, &artifact, false).await.unwrap();
    assert_eq!(
        w.verdict(&artifact, "2.3.1").await,
        (
            Compliance::Compliant,
            Confidence::Medium,
            codes(&["provenance_verified", "run_not_checked"])
        )
    );
    assert!(w.github.server.requests().is_empty());
}

#[tokio::test]
async fn a_policy_change_rejudges_and_alerts_a_flip() {
    let w = world(true).await;
    let artifact = sigstore(|_| {});
    w.npm.create("sigstore", &["bdehamer"]);
    poll(&w.monitor, &artifact, false).await.unwrap();
    w.publish_sigstore_2_3_1().await;
    poll(&w.monitor, &artifact, false).await.unwrap();
    assert!(w.alerts().await.is_empty());
    let stricter = sigstore(|p| p.allowed_refs = Some(vec!["refs/tags/v*".into()]));
    let report = poll(&w.monitor, &stricter, true).await.unwrap();
    assert_eq!(report.judged.len(), 1);
    let record = w
        .monitor
        .store
        .version("npm/sigstore", "2.3.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.verdict.compliance, Compliance::NonCompliant);
    assert_eq!(record.history[0].from, Compliance::Compliant);
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].id, "npm/sigstore@2.3.1#non_compliant");
}

#[tokio::test]
async fn package_changes_raise_signals() {
    let w = world(true).await;
    octo_run(
        &w,
        11,
        ".github/workflows/release.yml",
        "v1.1.0",
        "2026-11-27T11:55:00Z",
        "2026-11-27T12:02:00Z",
        &["ubuntu-latest"],
    );
    let artifact = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    let mut m = manifest("octo-pkg", "1.0.0", OTHER_INTEGRITY, false);
    m["gitHead"] = json!("1111111111111111111111111111111111111111");
    w.npm.publish("octo-pkg", m, "2026-11-01T12:00:00.000Z");
    w.clock.set("2026-11-27T11:00:00Z");
    poll(&w.monitor, &artifact, false).await.unwrap();
    w.alerts().await;
    // A new maintainer publishes 1.1.0 by hand (matching run aside) with a postinstall script.
    let mut m = manifest("octo-pkg", "1.1.0", OTHER_INTEGRITY, false);
    m["gitHead"] = json!(SHA);
    m["_npmUser"] = json!({"name": "mallory", "email": "m@example.com"});
    m["scripts"]["postinstall"] = json!("node steal.js");
    w.npm.publish("octo-pkg", m, "2026-11-27T12:00:00.000Z");
    w.npm.edit("octo-pkg", |doc| {
        doc["maintainers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "mallory"}))
    });
    w.clock.set("2026-11-27T12:01:00Z");
    poll(&w.monitor, &artifact, false).await.unwrap();
    let (compliance, _, reasons) = w.verdict(&artifact, "1.1.0").await;
    assert_eq!(compliance, Compliance::Compliant);
    assert_eq!(
        reasons,
        codes(&[
            "no_provenance",
            "run_matches",
            "publisher_changed",
            "install_scripts_added"
        ])
    );
    let alerts = w.alerts().await;
    let kinds: Vec<_> = alerts.iter().map(|a| (a.kind, a.reasons[0])).collect();
    assert!(
        kinds.contains(&(AlertKind::Version, Reason::NoProvenance)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(AlertKind::Package, Reason::NewMaintainer)),
        "{kinds:?}"
    );
    // latest moved back to 1.0.0, and 1.1.0 unpublished.
    w.npm.edit("octo-pkg", |doc| {
        doc["dist-tags"]["latest"] = json!("1.0.0");
        doc["versions"].as_object_mut().unwrap().remove("1.1.0");
    });
    poll(&w.monitor, &artifact, false).await.unwrap();
    let reasons: Vec<_> = w.alerts().await.into_iter().map(|a| a.reasons[0]).collect();
    assert_eq!(
        reasons,
        codes(&["version_unpublished", "latest_moved_backwards"])
    );
    poll(&w.monitor, &artifact, false).await.unwrap();
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn a_document_that_is_not_this_packages_packument_is_refused() {
    let w = world(true).await;
    let artifact = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    w.npm
        .edit("octo-pkg", |doc| doc["name"] = json!("other-pkg"));
    let error = poll(&w.monitor, &artifact, false).await.unwrap_err();
    assert!(error.to_string().contains("other-pkg"), "{error}");
    w.npm
        .edit("octo-pkg", |doc| *doc = json!(["not", "a", "packument"]));
    assert!(poll(&w.monitor, &artifact, false).await.is_err());
    assert!(
        w.monitor
            .store
            .poll_state("npm/octo-pkg")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_packument_over_the_size_cap_is_refused() {
    let w = world(true).await;
    let registry = NpmRegistry::new(w.npm.url(), fast_http(), 1024).unwrap();
    let small = Monitor::new(
        registry,
        None::<GithubRuns>,
        MemoryStore::new(),
        w.clock.clone(),
        Arc::new(ProvenanceVerifier::embedded().unwrap()),
    );
    let artifact = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    w.npm
        .edit("octo-pkg", |doc| doc["readme"] = json!("x".repeat(4096)));
    let error = poll(&small, &artifact, false).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("larger than the 1024-byte limit"),
        "{error}"
    );
}

#[tokio::test]
async fn a_version_missing_from_a_stale_first_read_is_alerted_on_its_own() {
    let w = world(true).await;
    let artifact = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    w.clock.set("2026-11-27T12:03:00Z");
    poll(&w.monitor, &artifact, false).await.unwrap();
    // The first read came from a cache that did not have 1.0.0 yet, published at 12:00.
    w.npm.publish(
        "octo-pkg",
        manifest("octo-pkg", "1.0.0", OTHER_INTEGRITY, false),
        "2026-11-27T12:00:00.000Z",
    );
    w.clock.set("2026-11-27T12:05:00Z");
    poll(&w.monitor, &artifact, false).await.unwrap();
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Version);
    let record = w
        .monitor
        .store
        .version("npm/octo-pkg", "1.0.0")
        .await
        .unwrap()
        .unwrap();
    assert!(!record.backfill);
}

#[tokio::test]
async fn a_modified_time_in_the_future_does_not_blind_the_monitor() {
    let w = world(true).await;
    let artifact = octo("octo-pkg");
    w.npm.create("octo-pkg", &["octocat"]);
    w.npm.edit("octo-pkg", |doc| {
        doc["time"]["modified"] = json!("2099-01-01T00:00:00.000Z");
    });
    w.clock.set("2026-11-27T11:00:00Z");
    poll(&w.monitor, &artifact, false).await.unwrap();
    w.npm.publish(
        "octo-pkg",
        manifest("octo-pkg", "1.0.0", OTHER_INTEGRITY, false),
        "2026-11-27T12:00:00.000Z",
    );
    w.clock.set("2026-11-27T12:01:00Z");
    let report = poll(&w.monitor, &artifact, false).await.unwrap();
    assert_eq!(report.outcome, PollOutcome::Changed);
    assert_eq!(w.alerts().await.len(), 1);
}

#[tokio::test]
async fn the_outbox_is_drained_page_after_page_in_order() {
    let w = world(true).await;
    for i in 0..5 {
        let alert = artifact_monitor_core::domain::Alert::package(
            artifact_monitor_core::domain::AlertArtifact {
                registry: artifact_monitor_core::registry::RegistryType::Npm,
                name: "octo-pkg".into(),
            },
            Reason::VersionUnpublished,
            &format!("1.0.{i}"),
            format!("version 1.0.{i} was unpublished"),
            "2026-11-27T12:00:00Z".into(),
        );
        w.monitor.store.enqueue(&alert, i).await.unwrap();
    }
    let printed = std::sync::Mutex::new(Vec::new());
    let report = w
        .monitor
        .deliver::<artifact_monitor_http::Webhook>(
            artifact_monitor_core::monitor::Delivery {
                sink: None,
                limit: 2,
            },
            |alert| printed.lock().unwrap().push(alert.details[0].clone()),
        )
        .await
        .unwrap();
    assert_eq!((report.delivered, report.oldest_left), (5, None));
    let printed = printed.into_inner().unwrap();
    assert_eq!(printed.len(), 5);
    assert!(printed[0].contains("1.0.0") && printed[4].contains("1.0.4"));
    assert!(w.monitor.store.outbox(10).await.unwrap().is_empty());
}
