//! Detection fidelity end to end: no false alarm on a genuine release, no rogue release
//! judged compliant. Each scenario runs the monitor against the local npm registry and
//! GitHub API (real-format packuments, the real attestation responses, GitHub REST payloads
//! with head repositories, run conclusions and runner groups), hostile and benign variants
//! side by side, and asserts the stored verdict and the alerts.

// Test helpers: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{
    Alert, Artifact, Compliance, Confidence, Evidence, PolicySpec, Reason, Verdict,
    VerdictEvidence, VersionRecord,
};
use artifact_monitor_core::ports::{VerdictStore as _, VerdictWrite};
use artifact_monitor_tests::fake_http::Reply;
use artifact_monitor_tests::fakes::{manifest, secs};
use artifact_monitor_tests::poll::poll;
use artifact_monitor_tests::read;
use artifact_monitor_tests::world::{
    COMMIT_2_3_1, MonitorWorld, OTHER_INTEGRITY, RUN_2_3_1, SIGSTORE_1_0_0, SIGSTORE_2_3_1,
    add_sigstore_2_3_1_run,
};
use serde_json::{Value, json};

/// The run the real sigstore@1.0.0 provenance (February 2023) names.
const RUN_1_0_0: u64 = 4_137_028_816;
const OCTO: &str = "octo-org/octo-repo";
const RELEASE: &str = ".github/workflows/release.yml";
const SHA: &str = "acb5820ced9479c074f688cc328bf03f341a511d";

/// The shared world, and this file's ways of publishing into it.
struct World(MonitorWorld);

impl std::ops::Deref for World {
    type Target = MonitorWorld;
    fn deref(&self) -> &MonitorWorld {
        &self.0
    }
}

async fn world(at: &str) -> World {
    World(MonitorWorld::start(at, true).await)
}

impl World {
    /// Starts watching `artifact` (an empty package), so later versions are new, not
    /// backfill: each alerts on its own.
    async fn watch(&self, artifact: &Artifact, maintainer: &str) {
        self.npm.create(&artifact.name, &[maintainer]);
        poll(&self.monitor, artifact, false).await.unwrap();
    }

    async fn poll(&self, artifact: &Artifact) {
        poll(&self.monitor, artifact, false).await.unwrap();
    }

    /// A run of octo-org/octo-repo's release workflow building `sha` for `branch`,
    /// 10 minutes around `published`, with one job on a standard GitHub-hosted runner.
    fn octo_run(&self, id: u64, sha: &str, branch: &str, published: &str) {
        let at = secs(published);
        let time = |s: i64| jiff::Timestamp::from_second(s).unwrap().to_string();
        self.github.add_run(
            id,
            OCTO,
            RELEASE,
            sha,
            branch,
            &time(at - 300),
            &time(at + 300),
            &["ubuntu-latest"],
        );
    }

    /// Publishes an unattested version of `artifact` built from `sha`, one minute before the
    /// clock, and polls.
    async fn publish_unattested(&self, artifact: &Artifact, version: &str, sha: &str, at: &str) {
        let mut m = manifest(&artifact.name, version, OTHER_INTEGRITY, false);
        m["gitHead"] = json!(sha);
        self.npm.publish(&artifact.name, m, at);
        self.clock.set(at);
        self.clock.advance(60);
        self.poll(artifact).await;
    }
}

fn codes(list: &[&str]) -> Vec<Reason> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn octo(name: &str, change: impl FnOnce(&mut PolicySpec)) -> Artifact {
    let mut policy = PolicySpec::new(OCTO, &[RELEASE]);
    change(&mut policy);
    Artifact::npm(name, policy).unwrap()
}

/// The job GitHub reports for an Actions Runner Controller scale-set runner: no
/// `self-hosted` label, the scale set's name as its label, the organisation's group.
fn arc_runner(job: &mut Value) {
    job["labels"] = json!(["arc-runner-set"]);
    job["runner_name"] = json!("arc-runner-set-7x2kq-runner-9vj4c");
    job["runner_group_id"] = json!(1);
    job["runner_group_name"] = json!("Default");
}

/// Genuine releases signed before mid-2023 carry no runner claim: the real sigstore@1.0.0
/// attestations. Not attested is not self-hosted: compliant, high only when the run's jobs
/// show a GitHub-hosted runner, and no alert either way.
#[tokio::test]
async fn a_2023_release_without_the_runner_claim_is_compliant() {
    type JobChange = fn(&mut Value);
    type Case = (
        &'static str,
        &'static str,
        Option<JobChange>,
        Confidence,
        &'static [&'static str],
    );
    let cases: [Case; 3] = [
        (
            "its run found, the job on the GitHub-hosted runner group",
            "2023-02-09T18:10:00Z",
            Some(|_| {}),
            Confidence::High,
            &["provenance_verified", "run_verified", "runner_not_attested"],
        ),
        (
            "its run found, the job on an ARC runner",
            "2023-02-09T18:10:00Z",
            Some(arc_runner),
            Confidence::Medium,
            &["provenance_verified", "run_verified", "runner_not_attested"],
        ),
        (
            "checked years later, the run deleted after GitHub's retention",
            "2026-12-01T00:00:00Z",
            None,
            Confidence::Medium,
            &["provenance_verified", "run_expired", "runner_not_attested"],
        ),
    ];
    for (case, now, job, confidence, expected) in cases {
        let w = world("2023-02-09T17:00:00Z").await;
        let artifact = Artifact::npm(
            "sigstore",
            PolicySpec {
                allowed_events: Some(vec!["release".into()]),
                allowed_refs: Some(vec!["refs/tags/v*".into()]),
                ..PolicySpec::new("sigstore/sigstore-js", &[".github/workflows/publish.yml"])
            },
        )
        .unwrap();
        w.watch(&artifact, "bdehamer").await;
        if let Some(change) = job {
            w.github.add_run(
                RUN_1_0_0,
                "sigstore/sigstore-js",
                ".github/workflows/publish.yml",
                "0000000000000000000000000000000000000000",
                "v1.0.0",
                "2023-02-09T17:50:00Z",
                "2023-02-09T18:00:00Z",
                &["ubuntu-latest"],
            );
            w.github.edit_job(RUN_1_0_0, change);
        }
        w.npm.publish(
            "sigstore",
            manifest("sigstore", "1.0.0", SIGSTORE_1_0_0, true),
            "2023-02-09T17:56:00.000Z",
        );
        w.npm.attest(
            "sigstore",
            "1.0.0",
            read("npm/attestations/sigstore@1.0.0.json"),
        );
        w.clock.set(now);
        w.poll(&artifact).await;
        assert_eq!(
            w.verdict(&artifact, "1.0.0").await,
            (Compliance::Compliant, confidence, codes(expected)),
            "{case}"
        );
        assert!(w.alerts().await.is_empty(), "{case}: no false alarm");
        let jobs_asked = w.github.server.count(|r| r.path().ends_with("/jobs"));
        assert_eq!(jobs_asked, usize::from(job.is_some()), "{case}");
    }
}

/// A version without provenance is vouched for by a run only when the run satisfies the
/// whole policy, as a certificate would have to: one hostile run per row, next to the
/// benign runs that do vouch.
#[tokio::test]
async fn runs_that_do_not_satisfy_the_policy_do_not_vouch_for_a_release() {
    type Setup = fn(&World, u64);
    fn strict(p: &mut PolicySpec) {
        p.allowed_events = Some(vec!["release".into()]);
        p.allowed_refs = Some(vec!["refs/tags/v*".into()]);
        p.environment = Some("npm".into());
    }
    fn tags_only(p: &mut PolicySpec) {
        p.allowed_refs = Some(vec!["refs/tags/v*".into()]);
    }
    fn plain(_: &mut PolicySpec) {}
    fn release_of_tag(w: &World, id: u64) {
        w.github.edit_run(id, |r| r["event"] = json!("release"));
        w.github.add_deployment(OCTO, "npm", SHA, id);
    }
    type Case = (
        &'static str,
        fn(&mut PolicySpec),
        Setup,
        Compliance,
        &'static [&'static str],
    );
    let cases: [Case; 10] = [
        (
            "benign: a release of tag v1.0.0, deployed to npm by its job",
            strict,
            release_of_tag,
            Compliance::Compliant,
            &["run_matches"],
        ),
        (
            "a run dispatched by hand on main",
            strict,
            |w, id| {
                w.github.edit_run(id, |r| {
                    r["event"] = json!("workflow_dispatch");
                    r["head_branch"] = json!("main");
                });
                w.github.add_deployment(OCTO, "npm", SHA, id);
            },
            Compliance::NonCompliant,
            &["run_mismatch", "event_not_allowed", "ref_not_allowed"],
        ),
        (
            "a release whose job made no deployment to npm",
            strict,
            |w, id| w.github.edit_run(id, |r| r["event"] = json!("release")),
            Compliance::NonCompliant,
            &["run_mismatch", "environment_mismatch"],
        ),
        (
            "benign: a push of the tag v1.0.0",
            tags_only,
            |w, _| w.github.add_ref(OCTO, "refs/tags/v1.0.0"),
            Compliance::Compliant,
            &["run_matches"],
        ),
        (
            "a push of a branch named v1.0.0 (no such tag)",
            tags_only,
            |w, _| w.github.add_ref(OCTO, "refs/heads/v1.0.0"),
            Compliance::NonCompliant,
            &["run_mismatch", "ref_not_allowed"],
        ),
        (
            "pull_request_target building a fork's commit",
            plain,
            |w, id| {
                w.github.edit_run(id, |r| {
                    r["event"] = json!("pull_request_target");
                    r["head_repository"]["full_name"] = json!("mallory/octo-repo");
                    r["head_repository"]["id"] = json!(66_666);
                });
            },
            Compliance::NonCompliant,
            &["run_mismatch", "head_repository_mismatch"],
        ),
        (
            "a run that concluded skipped",
            plain,
            |w, id| {
                w.github
                    .edit_run(id, |r| r["conclusion"] = json!("skipped"))
            },
            Compliance::NonCompliant,
            &["run_mismatch", "run_not_successful"],
        ),
        (
            "a run waiting for an environment approval, its publishing job never started",
            plain,
            |w, id| {
                w.github.edit_run(id, |r| {
                    r["status"] = json!("waiting");
                    r["conclusion"] = json!(null);
                });
                w.github.edit_job(id, |j| {
                    j["status"] = json!("waiting");
                    j["conclusion"] = json!(null);
                    j["started_at"] = json!(null);
                    j["completed_at"] = json!(null);
                    for field in [
                        "runner_id",
                        "runner_name",
                        "runner_group_id",
                        "runner_group_name",
                    ] {
                        j[field] = json!(null);
                    }
                });
            },
            Compliance::NonCompliant,
            &["run_mismatch", "run_not_successful"],
        ),
        (
            "the publishing job on an Actions Runner Controller runner",
            plain,
            |w, id| w.github.edit_job(id, arc_runner),
            Compliance::NonCompliant,
            &["run_mismatch", "runner_not_github_hosted"],
        ),
        (
            "benign: the same runner under --allow-self-hosted-runner",
            |p| p.require_github_hosted_runner = false,
            |w, id| w.github.edit_job(id, arc_runner),
            Compliance::Compliant,
            &["run_matches"],
        ),
    ];
    for (case, policy, setup, compliance, expected) in cases {
        let w = world("2026-11-27T11:00:00Z").await;
        let artifact = octo("octo-pkg", policy);
        w.watch(&artifact, "octocat").await;
        w.octo_run(7, SHA, "v1.0.0", "2026-11-27T12:00:00Z");
        setup(&w, 7);
        w.publish_unattested(&artifact, "1.0.0", SHA, "2026-11-27T12:00:00Z")
            .await;
        let mut want = vec![Reason::NoProvenance];
        want.extend(codes(expected));
        let (got, confidence, reasons) = w.verdict(&artifact, "1.0.0").await;
        assert_eq!((got, &reasons), (compliance, &want), "{case}");
        // Weaker evidence never earns a better verdict than provenance would.
        assert!(confidence != Confidence::High, "{case}");
        let alerts = w.alerts().await;
        let ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
        if compliance == Compliance::Compliant {
            assert!(ids.is_empty(), "{case}: {ids:?}");
        } else {
            assert_eq!(ids, ["npm/octo-pkg@1.0.0#non_compliant"], "{case}");
            assert!(alerts[0].reasons.contains(&want[2]), "{case}");
        }
    }
}

/// A stored verdict of `version` whose verified provenance named `run_id`, attempt 1.
fn verified_record(version: &str, published: &str, run_id: u64) -> VersionRecord {
    VersionRecord {
        version: version.to_owned(),
        published_at: Some(secs(published)),
        integrity: None,
        tarball: None,
        publisher: None,
        detected_at: secs(published),
        pending_since: None,
        backfill: false,
        verdict: Verdict {
            compliance: Compliance::Compliant,
            confidence: Confidence::High,
            reasons: codes(&["provenance_verified", "run_verified"]),
            details: vec!["provenance verifies".into(), "run exists".into()],
            evidence: VerdictEvidence {
                provenance: Some(Evidence {
                    repository: Some("sigstore/sigstore-js".into()),
                    commit: Some("1111111111111111111111111111111111111111".into()),
                    workflow_path: Some(RELEASE.into()),
                    run_id: Some(run_id),
                    run_attempt: Some(1),
                    ..Evidence::default()
                }),
                ..VerdictEvidence::default()
            },
            logs_url: None,
            files: Vec::new(),
        },
        policy_rev: 1,
        history: Vec::new(),
    }
}

/// Two versions of one package whose provenance names the same run and attempt (the May
/// 2026 cache-poisoning pattern: the genuine release run publishing twice). The earlier
/// version's verdict is seeded in the store (no real pair of attestations from one run is
/// at hand); the later one is the real sigstore@2.3.1.
#[tokio::test]
async fn a_second_version_from_one_release_run_alerts_even_when_compliant() {
    for (case, earlier_run, alerted) in [
        (
            "the earlier version came from the same run",
            RUN_2_3_1,
            true,
        ),
        (
            "benign: the earlier version came from its own run",
            RUN_2_3_1 - 5,
            false,
        ),
    ] {
        let w = world("2024-05-16T17:00:00Z").await;
        let artifact = Artifact::npm(
            "sigstore",
            PolicySpec::new("sigstore/sigstore-js", &[RELEASE]),
        )
        .unwrap();
        w.watch(&artifact, "bdehamer").await;
        let earlier = verified_record("2.3.0", "2024-05-16T17:08:00Z", earlier_run);
        w.monitor
            .store
            .record(
                &artifact.key(),
                VerdictWrite {
                    record: &earlier,
                    alert: None,
                    notices: &[],
                    retry: None,
                },
                secs("2024-05-16T17:08:00Z"),
            )
            .await
            .unwrap();
        w.npm.publish(
            "sigstore",
            manifest("sigstore", "2.3.0", SIGSTORE_2_3_1, true),
            "2024-05-16T17:08:00.000Z",
        );
        add_sigstore_2_3_1_run(&w.github);
        let mut m = manifest("sigstore", "2.3.1", SIGSTORE_2_3_1, true);
        m["gitHead"] = json!(COMMIT_2_3_1);
        w.npm.publish("sigstore", m, "2024-05-16T17:12:03.000Z");
        w.npm.attest(
            "sigstore",
            "2.3.1",
            read("npm/attestations/sigstore@2.3.1.json"),
        );
        w.clock.set("2024-05-16T17:13:00Z");
        w.poll(&artifact).await;
        let (compliance, confidence, reasons) = w.verdict(&artifact, "2.3.1").await;
        assert_eq!(
            (compliance, confidence),
            (Compliance::Compliant, Confidence::High),
            "{case}"
        );
        assert_eq!(
            reasons.contains(&Reason::SameRunAsEarlier),
            alerted,
            "{case}: {reasons:?}"
        );
        let alerts = w.alerts().await;
        let on_2_3_1: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.version.as_deref() == Some("2.3.1"))
            .collect();
        assert_eq!(on_2_3_1.len(), usize::from(alerted), "{case}");
        if alerted {
            let record = w.record(&artifact, "2.3.1").await;
            assert!(
                record
                    .verdict
                    .details
                    .iter()
                    .any(|d| d.contains("already published 2.3.0")),
                "{:?}",
                record.verdict.details
            );
        }
    }
}

/// A version that adds a git dependency (the worm's orphan-commit `optionalDependencies`
/// entry) alerts with the dependency named, even with valid provenance.
#[tokio::test]
async fn a_dependency_from_outside_the_registry_alerts_with_its_name() {
    for (case, spec, alerted) in [
        (
            "a GitHub shorthand at an orphan commit",
            "github:sigstore/sigstore-js#79ac49eedf774dd4b0cfa308722bc463cfe5885c",
            true,
        ),
        ("benign: a registry range", "^1.2.0", false),
    ] {
        let w = world("2024-05-16T17:00:00Z").await;
        let artifact = Artifact::npm(
            "sigstore",
            PolicySpec::new("sigstore/sigstore-js", &[RELEASE]),
        )
        .unwrap();
        w.npm.create("sigstore", &["bdehamer"]);
        let mut before = manifest("sigstore", "2.3.0", OTHER_INTEGRITY, false);
        before["dependencies"] = json!({"@sigstore/bundle": "^2.3.2"});
        w.npm
            .publish("sigstore", before, "2024-05-10T10:00:00.000Z");
        w.poll(&artifact).await;
        w.alerts().await;
        add_sigstore_2_3_1_run(&w.github);
        let mut m = manifest("sigstore", "2.3.1", SIGSTORE_2_3_1, true);
        m["gitHead"] = json!(COMMIT_2_3_1);
        m["dependencies"] = json!({"@sigstore/bundle": "^2.3.2"});
        m["optionalDependencies"] = json!({"@sigstore/setup": spec});
        w.npm.publish("sigstore", m, "2024-05-16T17:12:03.000Z");
        w.npm.attest(
            "sigstore",
            "2.3.1",
            read("npm/attestations/sigstore@2.3.1.json"),
        );
        w.clock.set("2024-05-16T17:13:00Z");
        w.poll(&artifact).await;
        let record = w.record(&artifact, "2.3.1").await;
        assert_eq!(record.verdict.compliance, Compliance::Compliant, "{case}");
        assert_eq!(
            record
                .verdict
                .reasons
                .contains(&Reason::NonRegistryDependency),
            alerted,
            "{case}"
        );
        let alerts = w.alerts().await;
        assert_eq!(alerts.len(), usize::from(alerted), "{case}");
        if alerted {
            assert!(
                alerts[0]
                    .details
                    .iter()
                    .any(|d| d.contains("@sigstore/setup") && d.contains(spec)),
                "{:?}",
                alerts[0].details
            );
        }
    }
}

/// A release whose commit differs from the last compliant release's: GitHub is asked
/// whether the authorised workflow file changed in between; it alerts with the compare link
/// when it did, stays quiet when it did not, and says so when it could not be asked.
#[tokio::test]
async fn a_changed_release_workflow_since_the_last_compliant_release_alerts() {
    const BASE: &str = "1111111111111111111111111111111111111111";
    const HEAD: &str = "2222222222222222222222222222222222222222";
    for (case, head_change, github_fails, expected) in [
        (
            "the workflow file changed",
            "c2",
            false,
            Some(Reason::WorkflowChanged),
        ),
        (
            "benign: the workflow file did not change",
            "c1",
            false,
            None,
        ),
        (
            "GitHub could not be asked",
            "c1",
            true,
            Some(Reason::WorkflowChangeNotChecked),
        ),
    ] {
        let w = world("2026-11-27T09:00:00Z").await;
        let artifact = octo("octo-pkg", |_| {});
        w.watch(&artifact, "octocat").await;
        w.octo_run(1, BASE, "v1.0.0", "2026-11-27T10:00:00Z");
        w.publish_unattested(&artifact, "1.0.0", BASE, "2026-11-27T10:00:00Z")
            .await;
        assert_eq!(w.verdict(&artifact, "1.0.0").await.0, Compliance::Compliant);
        w.alerts().await;
        let commit = |c: &str| c.repeat(20);
        w.github.set_last_change(OCTO, RELEASE, BASE, &commit("c1"));
        w.github
            .set_last_change(OCTO, RELEASE, HEAD, &commit(head_change));
        if github_fails {
            for _ in 0..4 {
                w.github.fail_next("/commits", Reply::status(500));
            }
        }
        w.octo_run(2, HEAD, "v1.1.0", "2026-11-27T12:00:00Z");
        w.publish_unattested(&artifact, "1.1.0", HEAD, "2026-11-27T12:00:00Z")
            .await;
        let record = w.record(&artifact, "1.1.0").await;
        assert_eq!(record.verdict.compliance, Compliance::Compliant, "{case}");
        let found: Vec<Reason> = record
            .verdict
            .reasons
            .iter()
            .copied()
            .filter(|r| {
                matches!(
                    r,
                    Reason::WorkflowChanged | Reason::WorkflowChangeNotChecked
                )
            })
            .collect();
        assert_eq!(found, expected.into_iter().collect::<Vec<_>>(), "{case}");
        let alerts = w.alerts().await;
        let alerted = expected == Some(Reason::WorkflowChanged);
        assert_eq!(alerts.len(), usize::from(alerted), "{case}: {alerts:?}");
        if alerted {
            let link = format!("https://github.com/{OCTO}/compare/{BASE}...{HEAD}");
            assert!(
                alerts[0].details.iter().any(|d| d.contains(&link)),
                "{:?}",
                alerts[0].details
            );
        }
    }
}
