//! One test per row of DESIGN §3's decision table, plus the extra signals.

use super::*;
use crate::domain::Reason;
use crate::domain::{PolicySpec, RunFacts};

const NOW: i64 = 1_790_000_000;
const PUBLISHED: i64 = NOW - 3600;
const HEAD: &str = "0123456789abcdef0123456789abcdef01234567";

fn policy() -> ReleasePolicy {
    PolicySpec::new("octo-org/octo-repo", &[".github/workflows/release.yml"])
        .to_policy()
        .unwrap()
}

fn evidence() -> Evidence {
    Evidence {
        repository: Some("octo-org/octo-repo".into()),
        workflow_path: Some(".github/workflows/release.yml".into()),
        workflow_ref: Some(
            "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.3".into(),
        ),
        run_id: Some(42),
        run_url: Some("https://github.com/octo-org/octo-repo/actions/runs/42/attempts/1".into()),
        runner_environment: Some("github-hosted".into()),
        ..Evidence::default()
    }
}

fn run(workflow: &str, created: i64, updated: i64) -> RunFacts {
    RunFacts {
        id: 42,
        repository: "octo-org/octo-repo".into(),
        workflow_path: workflow.into(),
        head_sha: HEAD.into(),
        head_branch: Some("v1.2.3".into()),
        event: "release".into(),
        status: "completed".into(),
        conclusion: Some("success".into()),
        created_at: created,
        updated_at: updated,
        html_url: "https://github.com/octo-org/octo-repo/actions/runs/42".into(),
        self_hosted_runner: Some(false),
    }
}

fn facts(provenance: Provenance) -> Facts<'static> {
    Facts {
        version: "1.2.3",
        published_at: Some(PUBLISHED),
        git_head: Some(HEAD),
        provenance,
        run: RunLookup::NotChecked,
        nearby_runs: RunSearch::NotChecked,
        earlier_had_provenance: false,
        signals: Vec::new(),
        now: NOW,
    }
}

fn verified() -> Provenance {
    let evidence = evidence();
    let violations = policy().evaluate(&evidence);
    Provenance::Verified {
        evidence: Box::new(evidence),
        violations,
    }
}

fn decided(f: Facts<'_>) -> (Compliance, Confidence, Vec<Reason>) {
    let v = decide(&policy(), f);
    assert_eq!(v.reasons.len(), v.details.len());
    (v.compliance, v.confidence, v.reasons)
}

fn codes(list: &[&str]) -> Vec<Reason> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

use Compliance::*;
use Confidence::*;

#[test]
fn verified_provenance_and_its_run_is_compliant_high() {
    let mut f = facts(verified());
    f.run = RunLookup::Found(run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    ));
    let v = decide(&policy(), f);
    assert_eq!((v.compliance, v.confidence), (Compliant, High));
    assert_eq!(v.reasons, codes(&["provenance_verified", "run_verified"]));
    assert_eq!(
        v.logs_url.as_deref(),
        Some("https://github.com/octo-org/octo-repo/actions/runs/42")
    );
    assert!(v.evidence.provenance.is_some() && v.evidence.run.is_some());
    assert!(!v.alerts());
}

#[test]
fn verified_provenance_without_github_is_compliant_medium() {
    assert_eq!(
        decided(facts(verified())),
        (
            Compliant,
            Medium,
            codes(&["provenance_verified", "run_not_checked"])
        )
    );
}

#[test]
fn the_named_run_using_another_workflow_is_non_compliant() {
    let mut f = facts(verified());
    f.run = RunLookup::Found(run(
        ".github/workflows/other.yml",
        PUBLISHED - 60,
        PUBLISHED,
    ));
    assert_eq!(
        decided(f),
        (
            NonCompliant,
            High,
            codes(&["provenance_verified", "run_mismatch"])
        )
    );
}

#[test]
fn a_missing_run_of_an_old_release_is_expected() {
    let mut f = facts(verified());
    f.run = RunLookup::NotFound;
    f.published_at = Some(NOW - RUN_RETENTION_SECS - 1);
    assert_eq!(
        decided(f),
        (
            Compliant,
            Medium,
            codes(&["provenance_verified", "run_expired"])
        )
    );
}

#[test]
fn a_missing_run_of_a_recent_release_alerts_without_condemning() {
    let mut f = facts(verified());
    f.run = RunLookup::NotFound;
    let v = decide(&policy(), f);
    assert_eq!((v.compliance, v.confidence), (Compliant, Low));
    assert!(v.alerts());
}

#[test]
fn github_unavailable_leaves_the_version_pending() {
    let mut f = facts(verified());
    f.run = RunLookup::Unavailable("timed out".into());
    assert_eq!(
        decided(f),
        (
            Pending,
            Medium,
            codes(&["provenance_verified", "github_unavailable"])
        )
    );
    let mut f = facts(Provenance::Absent);
    f.nearby_runs = RunSearch::Unavailable("503".into());
    assert_eq!(decided(f).0, Pending);
}

#[test]
fn provenance_from_elsewhere_is_non_compliant_high() {
    type Mutation = fn(&mut Evidence);
    let cases: [(&str, Mutation); 4] = [
        ("repository_mismatch", |e| {
            e.repository = Some("evil/octo-repo".into())
        }),
        ("workflow_mismatch", |e| {
            e.workflow_ref =
                Some("octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main".into())
        }),
        ("runner_not_github_hosted", |e| {
            e.runner_environment = Some("self-hosted".into())
        }),
        ("event_not_allowed", |e| {
            e.event = Some("pull_request_target".into())
        }),
    ];
    for (code, mutate) in cases {
        let mut evidence = evidence();
        mutate(&mut evidence);
        let mut policy = policy();
        policy.allowed_events = Some(vec!["release".into()]);
        if code != "event_not_allowed" {
            evidence.event = Some("release".into());
        }
        let violations = policy.evaluate(&evidence);
        let v = decide(
            &policy,
            facts(Provenance::Verified {
                evidence: Box::new(evidence),
                violations,
            }),
        );
        assert_eq!((v.compliance, v.confidence), (NonCompliant, High), "{code}");
        assert_eq!(v.reasons, codes(&[code]));
    }
}

#[test]
fn provenance_that_does_not_verify_is_non_compliant_high() {
    let v = decide(
        &policy(),
        facts(Provenance::Invalid {
            kind: "subject".into(),
            message: "digest differs".into(),
        }),
    );
    assert_eq!((v.compliance, v.confidence), (NonCompliant, High));
    assert_eq!(v.reasons, codes(&["provenance_invalid"]));
    assert_eq!(v.evidence.provenance_error.unwrap().kind, "subject");
}

#[test]
fn provenance_dropped_is_non_compliant_high() {
    let mut f = facts(Provenance::Absent);
    f.earlier_had_provenance = true;
    f.nearby_runs = RunSearch::Runs(vec![run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED,
    )]);
    assert_eq!(
        decided(f),
        (NonCompliant, High, codes(&["provenance_dropped"]))
    );
}

#[test]
fn no_provenance_but_a_matching_run_is_compliant_medium() {
    let mut f = facts(Provenance::Absent);
    f.nearby_runs = RunSearch::Runs(vec![run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    )]);
    assert_eq!(
        decided(f),
        (Compliant, Medium, codes(&["no_provenance", "run_matches"]))
    );
    // Without gitHead, the run's tag must name the version.
    let mut f = facts(Provenance::Absent);
    f.git_head = None;
    f.nearby_runs = RunSearch::Runs(vec![run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    )]);
    assert_eq!(decided(f).0, Compliant);
}

#[test]
fn no_provenance_and_a_near_run_that_does_not_match_is_non_compliant_low() {
    let mut other_commit = run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    );
    other_commit.head_sha = "f".repeat(40);
    let mut failed = run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    );
    failed.conclusion = Some("failure".into());
    let finished_before = run(
        ".github/workflows/release.yml",
        PUBLISHED - 7200,
        PUBLISHED - 3600,
    );
    let mut self_hosted = run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    );
    self_hosted.self_hosted_runner = Some(true);
    for near in [other_commit, failed, finished_before, self_hosted] {
        let mut f = facts(Provenance::Absent);
        f.nearby_runs = RunSearch::Runs(vec![near]);
        assert_eq!(
            decided(f),
            (NonCompliant, Low, codes(&["no_provenance", "run_mismatch"]))
        );
    }
}

#[test]
fn no_provenance_and_no_run_is_non_compliant_medium() {
    let mut f = facts(Provenance::Absent);
    f.nearby_runs = RunSearch::Runs(Vec::new());
    assert_eq!(
        decided(f),
        (NonCompliant, Medium, codes(&["no_provenance", "no_run"]))
    );
}

#[test]
fn no_provenance_and_no_github_is_non_compliant_low() {
    assert_eq!(
        decided(facts(Provenance::Absent)),
        (
            NonCompliant,
            Low,
            codes(&["no_provenance", "run_not_checked"])
        )
    );
}

#[test]
fn signals_alert_on_a_compliant_version() {
    let mut f = facts(verified());
    f.signals = vec![Signal::InstallScriptsAdded(vec!["postinstall".into()])];
    let v = decide(&policy(), f);
    assert_eq!(v.compliance, Compliant);
    assert_eq!(v.reasons.last().copied(), Some(Reason::InstallScriptsAdded));
    assert!(v.alerts());
}
