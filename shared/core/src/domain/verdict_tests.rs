//! One test per row of the decision table (README, "What a verdict says"), plus the extra signals.

use super::*;
use crate::domain::Reason;
use crate::domain::{DeploymentFacts, JobFacts, PolicySpec, RunContext, RunFacts};

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
        repository_id: Some(1296269),
        head_repository: Some("octo-org/octo-repo".into()),
        head_repository_id: Some(1296269),
        run_attempt: Some(1),
        workflow_path: workflow.into(),
        head_sha: HEAD.into(),
        head_branch: Some("v1.2.3".into()),
        event: "release".into(),
        status: "completed".into(),
        conclusion: Some("success".into()),
        created_at: created,
        updated_at: updated,
        html_url: "https://github.com/octo-org/octo-repo/actions/runs/42".into(),
        runner: None,
    }
}

/// The publishing job, on a standard GitHub-hosted runner, running at the publish time.
fn hosted_job() -> JobFacts {
    JobFacts {
        id: 7,
        name: "publish".into(),
        status: "completed".into(),
        conclusion: Some("success".into()),
        started_at: Some(PUBLISHED - 120),
        completed_at: Some(PUBLISHED + 30),
        labels: vec!["ubuntu-latest".into()],
        runner_id: Some(11),
        runner_name: Some("GitHub Actions 11".into()),
        runner_group_id: Some(0),
        runner_group_name: Some("GitHub Actions".into()),
    }
}

/// A run with its jobs looked up, as the use-case hands over a run that could vouch.
fn looked_into(run: RunFacts) -> RunContext {
    RunContext {
        jobs: Some(vec![hosted_job()]),
        ..RunContext::bare(run)
    }
}

fn found(run: RunFacts) -> RunLookup {
    RunLookup::Found(Box::new(RunContext::bare(run)))
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
    f.run = found(run(
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
    f.run = found(run(
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
    f.nearby_runs = RunSearch::Runs(vec![looked_into(run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED,
    ))]);
    assert_eq!(
        decided(f),
        (NonCompliant, High, codes(&["provenance_dropped"]))
    );
}

#[test]
fn no_provenance_but_a_matching_run_is_compliant_medium() {
    let mut f = facts(Provenance::Absent);
    f.nearby_runs = RunSearch::Runs(vec![looked_into(run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    ))]);
    assert_eq!(
        decided(f),
        (Compliant, Medium, codes(&["no_provenance", "run_matches"]))
    );
    // Without gitHead, the run's tag must name the version.
    let mut f = facts(Provenance::Absent);
    f.git_head = None;
    f.nearby_runs = RunSearch::Runs(vec![looked_into(run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    ))]);
    assert_eq!(decided(f).0, Compliant);
}

#[test]
fn no_provenance_and_a_near_run_that_did_not_build_it_is_non_compliant_low() {
    let mut other_commit = run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    );
    other_commit.head_sha = "f".repeat(40);
    let finished_before = run(
        ".github/workflows/release.yml",
        PUBLISHED - 7200,
        PUBLISHED - 3600,
    );
    for near in [other_commit, finished_before] {
        let mut f = facts(Provenance::Absent);
        f.nearby_runs = RunSearch::Runs(vec![RunContext::bare(near)]);
        assert_eq!(
            decided(f),
            (NonCompliant, Low, codes(&["no_provenance", "run_mismatch"]))
        );
    }
}

type PolicyChange = fn(&mut ReleasePolicy);
type RunChange = fn(&mut RunContext);
type Outcome = (Compliance, Confidence);
type CorrelationRow = (
    &'static str,
    PolicyChange,
    RunChange,
    Outcome,
    &'static [&'static str],
);
type RunnerRow = (
    &'static str,
    ReleasePolicy,
    Evidence,
    RunLookup,
    Outcome,
    &'static [&'static str],
);

/// Run correlation applies the whole policy: one row per way a run that built the version
/// at the publish time can still not vouch for it, each next to the benign variant that
/// does. `strict` policies allow only `release` events on `refs/tags/v*`, in environment
/// `npm`, with the repository id pinned.
#[test]
fn run_correlation_applies_the_whole_policy() {
    fn strict(p: &mut ReleasePolicy) {
        p.allowed_events = Some(vec!["release".into()]);
        p.allowed_refs = Some(vec![
            crate::domain::RefPattern::parse("refs/tags/v*").unwrap(),
        ]);
        p.environment = Some("npm".into());
        p.repository_id = Some("1296269".into());
    }
    fn deployed(c: &mut RunContext) {
        c.deployments = Some(vec![DeploymentFacts {
            id: 1,
            environment: "npm".into(),
            sha: HEAD.into(),
            created_at: PUBLISHED - 100,
            run_ids: vec![42],
        }]);
    }
    fn arc(c: &mut RunContext) {
        let job = &mut c.jobs.as_mut().unwrap()[0];
        job.labels = vec!["arc-runner-set".into()];
        job.runner_name = Some("arc-runner-set-7x2kq-runner-9vj4c".into());
        job.runner_group_id = Some(1);
        job.runner_group_name = Some("Default".into());
    }
    let none: PolicyChange = |_| {};
    let table: &[CorrelationRow] = &[
        (
            "benign: plain policy",
            none,
            |_| {},
            (Compliant, Medium),
            &["run_matches"],
        ),
        (
            "benign: strict policy, release of a tag, deployed to npm",
            strict,
            deployed,
            (Compliant, Medium),
            &["run_matches"],
        ),
        (
            "hand-dispatched run on main",
            strict,
            |c| {
                deployed(c);
                c.run.event = "workflow_dispatch".into();
                c.run.head_branch = Some("main".into());
            },
            (NonCompliant, Medium),
            &["run_mismatch", "event_not_allowed", "ref_not_allowed"],
        ),
        (
            "push of a branch named like a tag (the tag does not exist)",
            |p| {
                strict(p);
                p.allowed_events = None;
            },
            |c| {
                deployed(c);
                c.run.event = "push".into();
                c.run.head_branch = Some("v1.2.3".into());
                c.existing_refs = Some(vec!["refs/heads/v1.2.3".into()]);
            },
            (NonCompliant, Medium),
            &["run_mismatch", "ref_not_allowed"],
        ),
        (
            "benign: push of the tag v1.2.3",
            |p| {
                strict(p);
                p.allowed_events = None;
            },
            |c| {
                deployed(c);
                c.run.event = "push".into();
                c.existing_refs = Some(vec!["refs/tags/v1.2.3".into()]);
            },
            (Compliant, Medium),
            &["run_matches"],
        ),
        (
            "push when a branch and a tag of that name both exist",
            |p| {
                strict(p);
                p.allowed_events = None;
            },
            |c| {
                deployed(c);
                c.run.event = "push".into();
                c.existing_refs = Some(vec!["refs/heads/v1.2.3".into(), "refs/tags/v1.2.3".into()]);
            },
            (NonCompliant, Medium),
            &["run_mismatch", "ref_not_allowed"],
        ),
        (
            "no deployment to the required environment",
            strict,
            |c| c.deployments = Some(Vec::new()),
            (NonCompliant, Medium),
            &["run_mismatch", "environment_mismatch"],
        ),
        (
            "a deployment of another run",
            strict,
            |c| {
                deployed(c);
                c.deployments.as_mut().unwrap()[0].run_ids = vec![41];
            },
            (NonCompliant, Medium),
            &["run_mismatch", "environment_mismatch"],
        ),
        (
            "pull_request_target building a fork's commit",
            none,
            |c| {
                c.run.event = "pull_request_target".into();
                c.run.head_repository = Some("mallory/octo-repo".into());
                c.run.head_repository_id = Some(666);
            },
            (NonCompliant, Medium),
            &["run_mismatch", "head_repository_mismatch"],
        ),
        (
            "fork of the same name under a pinned id",
            |p| p.repository_id = Some("1296269".into()),
            |c| c.run.head_repository_id = Some(666),
            (NonCompliant, Medium),
            &["run_mismatch", "head_repository_mismatch"],
        ),
        (
            "run concluded skipped",
            none,
            |c| c.run.conclusion = Some("skipped".into()),
            (NonCompliant, Low),
            &["run_mismatch", "run_not_successful"],
        ),
        (
            "run concluded neutral",
            none,
            |c| c.run.conclusion = Some("neutral".into()),
            (NonCompliant, Low),
            &["run_mismatch", "run_not_successful"],
        ),
        (
            "run concluded stale",
            none,
            |c| c.run.conclusion = Some("stale".into()),
            (NonCompliant, Low),
            &["run_mismatch", "run_not_successful"],
        ),
        (
            "run failed",
            none,
            |c| c.run.conclusion = Some("failure".into()),
            (NonCompliant, Low),
            &["run_mismatch", "run_not_successful"],
        ),
        (
            "run waiting for an environment approval",
            none,
            |c| {
                c.run.status = "waiting".into();
                c.run.conclusion = None;
            },
            (NonCompliant, Low),
            &["run_mismatch", "run_not_successful"],
        ),
        (
            "run in progress, its publishing job never started",
            none,
            |c| {
                c.run.status = "in_progress".into();
                c.run.conclusion = None;
                let job = &mut c.jobs.as_mut().unwrap()[0];
                job.status = "waiting".into();
                job.conclusion = None;
                job.started_at = None;
                job.completed_at = None;
                job.runner_id = None;
                job.runner_name = None;
                job.runner_group_id = None;
                job.runner_group_name = None;
            },
            (NonCompliant, Low),
            &["run_mismatch", "no_publishing_job"],
        ),
        (
            "benign: run in progress, its publishing job running",
            none,
            |c| {
                c.run.status = "in_progress".into();
                c.run.conclusion = None;
                let job = &mut c.jobs.as_mut().unwrap()[0];
                job.status = "in_progress".into();
                job.conclusion = None;
                job.completed_at = None;
            },
            (Compliant, Medium),
            &["run_matches"],
        ),
        (
            "self-hosted runner with its label",
            none,
            |c| {
                let job = &mut c.jobs.as_mut().unwrap()[0];
                job.labels = vec!["self-hosted".into(), "linux".into()];
                job.runner_group_id = Some(1);
                job.runner_group_name = Some("Default".into());
            },
            (NonCompliant, Medium),
            &["run_mismatch", "runner_not_github_hosted"],
        ),
        (
            "Actions Runner Controller runner, no self-hosted label",
            none,
            arc,
            (NonCompliant, Medium),
            &["run_mismatch", "runner_not_github_hosted"],
        ),
        (
            "benign: the same runner when the policy allows self-hosted runners",
            |p| p.require_github_hosted_runner = false,
            arc,
            (Compliant, Medium),
            &["run_matches"],
        ),
        (
            "jobs not looked up",
            none,
            |c| c.jobs = None,
            (NonCompliant, Low),
            &["run_mismatch"],
        ),
    ];
    for (name, change_policy, change_run, expected, expected_codes) in table {
        let mut policy = policy();
        change_policy(&mut policy);
        let mut context = looked_into(run(
            ".github/workflows/release.yml",
            PUBLISHED - 600,
            PUBLISHED + 60,
        ));
        change_run(&mut context);
        let mut f = facts(Provenance::Absent);
        f.nearby_runs = RunSearch::Runs(vec![context]);
        let v = decide(&policy, f);
        let mut want = vec![Reason::NoProvenance];
        want.extend(codes(expected_codes));
        assert_eq!(
            (v.compliance, v.confidence),
            *expected,
            "{name}: {:?}",
            v.details
        );
        assert_eq!(v.reasons, want, "{name}: {:?}", v.details);
        assert_eq!(v.reasons.len(), v.details.len());
        // Weaker evidence never earns a better verdict than provenance would.
        assert!(v.compliance != Compliant || v.confidence != High, "{name}");
    }
}

#[test]
fn a_run_that_vouches_wins_over_one_that_does_not() {
    let mut fork = looked_into(run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    ));
    fork.run.id = 41;
    fork.run.head_repository = Some("mallory/octo-repo".into());
    let genuine = looked_into(run(
        ".github/workflows/release.yml",
        PUBLISHED - 60,
        PUBLISHED + 60,
    ));
    let mut f = facts(Provenance::Absent);
    f.nearby_runs = RunSearch::Runs(vec![fork, genuine]);
    let v = decide(&policy(), f);
    assert_eq!((v.compliance, v.confidence), (Compliant, Medium));
    assert_eq!(v.evidence.run.as_ref().map(|r| r.id), Some(42));
    assert!(v.evidence.run.unwrap().runner.unwrap().github_hosted);
}

/// Certificates from before mid-2023 carry no runner claim: not attested, not self-hosted.
#[test]
fn a_runner_the_certificate_does_not_attest() {
    let unattested = || {
        let mut e = evidence();
        e.runner_environment = None;
        e.integrated_time = Some(PUBLISHED - 30);
        e
    };
    let verified_with = |policy: &ReleasePolicy, e: Evidence| Provenance::Verified {
        violations: policy.evaluate(&e),
        evidence: Box::new(e),
    };
    let with_jobs = |jobs: Vec<JobFacts>| {
        RunLookup::Found(Box::new(RunContext {
            jobs: Some(jobs),
            ..RunContext::bare(run(
                ".github/workflows/release.yml",
                PUBLISHED - 600,
                PUBLISHED + 60,
            ))
        }))
    };
    let mut arc_job = hosted_job();
    arc_job.labels = vec!["arc-set".into()];
    arc_job.runner_group_id = Some(2);
    arc_job.runner_group_name = Some("arc".into());
    let mut allow_self_hosted = policy();
    allow_self_hosted.require_github_hosted_runner = false;
    let rows: Vec<RunnerRow> = vec![
        (
            "jobs confirm a GitHub-hosted runner",
            policy(),
            unattested(),
            with_jobs(vec![hosted_job()]),
            (Compliant, High),
            &["provenance_verified", "run_verified", "runner_not_attested"],
        ),
        (
            "jobs show an ARC runner",
            policy(),
            unattested(),
            with_jobs(vec![arc_job]),
            (Compliant, Medium),
            &["provenance_verified", "run_verified", "runner_not_attested"],
        ),
        (
            "jobs not available",
            policy(),
            unattested(),
            found(run(
                ".github/workflows/release.yml",
                PUBLISHED - 600,
                PUBLISHED + 60,
            )),
            (Compliant, Medium),
            &["provenance_verified", "run_verified", "runner_not_attested"],
        ),
        (
            "no GitHub access",
            policy(),
            unattested(),
            RunLookup::NotChecked,
            (Compliant, Medium),
            &[
                "provenance_verified",
                "run_not_checked",
                "runner_not_attested",
            ],
        ),
        (
            "run not found (a recent release)",
            policy(),
            unattested(),
            RunLookup::NotFound,
            (Compliant, Low),
            &[
                "provenance_verified",
                "run_not_found",
                "runner_not_attested",
            ],
        ),
        (
            "a self-hosted claim is still a violation",
            policy(),
            Evidence {
                runner_environment: Some("self-hosted".into()),
                ..unattested()
            },
            RunLookup::NotChecked,
            (NonCompliant, High),
            &["runner_not_github_hosted"],
        ),
        (
            "a policy allowing self-hosted runners asks nothing",
            allow_self_hosted,
            unattested(),
            found(run(
                ".github/workflows/release.yml",
                PUBLISHED - 600,
                PUBLISHED + 60,
            )),
            (Compliant, High),
            &["provenance_verified", "run_verified"],
        ),
    ];
    for (name, policy, evidence, lookup, expected, expected_codes) in rows {
        let mut f = facts(verified_with(&policy, evidence));
        f.run = lookup;
        let v = decide(&policy, f);
        assert_eq!(
            (v.compliance, v.confidence),
            expected,
            "{name}: {:?}",
            v.details
        );
        assert_eq!(v.reasons, codes(expected_codes), "{name}");
        assert!(
            !v.alerts() || expected.0 == NonCompliant || expected.1 == Low,
            "{name}"
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

fn file(name: &str) -> FileVerdict {
    FileVerdict {
        name: name.into(),
        integrity: Some(format!("sha256-{name}")),
        uploaded_at: Some(PUBLISHED),
        compliance: Pending,
        reasons: Vec::new(),
    }
}

#[test]
fn a_release_is_as_bad_as_its_worst_file() {
    let good = decide(&policy(), facts(verified()));
    let tampered = decide(
        &policy(),
        facts(Provenance::Invalid {
            kind: "signature".into(),
            message: "forged".into(),
        }),
    );
    assert_eq!(good.compliance, Compliant);
    let release = Verdict::worst_of(vec![
        (file("p-1.0.tar.gz"), good.clone()),
        (file("p-1.0-py3-none-any.whl"), tampered.clone()),
        (file("p-1.0-cp312-cp312-win_amd64.whl"), good.clone()),
    ]);
    assert_eq!(release.compliance, NonCompliant);
    assert_eq!(release.confidence, High);
    // Every file's reasons once each, in the order first met; details name their file.
    assert_eq!(
        release.reasons,
        codes(&[
            "provenance_verified",
            "run_not_checked",
            "provenance_invalid"
        ])
    );
    assert!(
        release
            .details
            .iter()
            .any(|d| d.starts_with("p-1.0-py3-none-any.whl: "))
    );
    // The evidence shown is the worst file's.
    assert!(release.evidence.provenance_error.is_some());
    let files: Vec<(&str, Compliance)> = release
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.compliance))
        .collect();
    assert_eq!(
        files,
        [
            ("p-1.0.tar.gz", Compliant),
            ("p-1.0-py3-none-any.whl", NonCompliant),
            ("p-1.0-cp312-cp312-win_amd64.whl", Compliant)
        ]
    );
    assert_eq!(release.files[1].reasons, codes(&["provenance_invalid"]));

    // Pending beats compliant; a release of compliant files is compliant.
    let mut waiting = good.clone();
    waiting.compliance = Pending;
    let release = Verdict::worst_of(vec![(file("a"), good.clone()), (file("b"), waiting)]);
    assert_eq!(release.compliance, Pending);
    let release = Verdict::worst_of(vec![(file("a"), good.clone()), (file("b"), good.clone())]);
    assert_eq!(release.compliance, Compliant);
    assert_eq!(release.reasons, good.reasons);

    // A release without files is judged again later, never compliant.
    let empty = Verdict::worst_of(Vec::new());
    assert_eq!(empty.compliance, Pending);
    assert_eq!(empty.reasons, codes(&["registry_unavailable"]));
}

#[test]
fn a_file_added_to_a_release_is_a_new_decision() {
    let good = decide(&policy(), facts(verified()));
    let one = Verdict::worst_of(vec![(file("a"), good.clone())]);
    let two = Verdict::worst_of(vec![(file("a"), good.clone()), (file("b"), good.clone())]);
    assert!(one.same_decision(&one.clone()));
    assert!(!one.same_decision(&two));
    let signal = Signal::FileAddedLater {
        file: "b".into(),
        hours: 72,
    };
    assert_eq!(signal.code(), Reason::FileAddedLater);
    assert!(ALERTING_REASONS.contains(&Reason::FileAddedLater));
}
