//! The decision table, row by row, on PyPI: a release of `sampleproject` read from the local
//! package index (its real PEP 740 provenance, or none), judged by the production use-cases
//! with the local GitHub API (the real run id, commit and branch the certificate names), and
//! the verdict compared with the row's compliance, confidence and reasons. The same table
//! as npm's (README, "What a verdict says"): only where the evidence comes from differs.

#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{
    Artifact, ArtifactSource, Compliance, Confidence, PolicySpec, Reason, WatchedArtifact,
};
use artifact_monitor_core::monitor::{Detector, Judge, MonitorConfig};
use artifact_monitor_core::ports::ArtifactStore as _;
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_http::{GithubRuns, NpmRegistry, PypiIndex, Registries};
use artifact_monitor_tests::fake_pypi::FakePypi;
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, FixedClock};
use artifact_monitor_tests::read;
use artifact_monitor_tests::world::fast_http;
use artifact_monitor_verify::ProvenanceVerifier;
use std::sync::Arc;

const SDIST_4_0_0: &str = "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b";
const UPLOADED: &str = "2024-11-06T22:37:10.868088Z";
/// What the certificate of the real provenance names.
const RUN_ID: u64 = 11_713_038_981;
const COMMIT: &str = "621e4974ca25ce531773def586ba3ed8e736b3fc";
const WORKFLOW: &str = ".github/workflows/release.yml";
const ROGUE_SHA: &str = "5f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

/// How GitHub is reached in a row.
#[derive(Clone, Copy, PartialEq)]
enum Github {
    Asked,
    Off,
    Down,
}

struct Row {
    index: FakePypi,
    github: FakeGithub,
    _npm: FakeNpm,
    clock: FixedClock,
}

async fn row() -> Row {
    let index = FakePypi::start().await;
    index.create("sampleproject");
    Row {
        index,
        github: FakeGithub::start().await,
        _npm: FakeNpm::start().await,
        clock: FixedClock::at("2026-11-27T12:00:00Z"),
    }
}

impl Row {
    /// The real 4.0.0 sdist with its real provenance.
    fn genuine(&self) {
        self.index.upload(
            "sampleproject",
            "4.0.0",
            "sampleproject-4.0.0.tar.gz",
            SDIST_4_0_0,
            UPLOADED,
            Some(read(
                "pypi/provenance/sampleproject-4.0.0.tar.gz.provenance",
            )),
        );
    }

    /// The release run the certificate names, as GitHub shows it.
    fn release_run(&self, workflow: &str) {
        self.github.add_run(
            RUN_ID,
            "pypa/sampleproject",
            workflow,
            COMMIT,
            "main",
            "2024-11-06T22:35:40Z",
            "2024-11-06T22:37:30Z",
            &["ubuntu-latest"],
        );
    }

    /// `version` uploaded without provenance at `at`.
    fn bare(&self, version: &str, at: &str) {
        self.index.upload(
            "sampleproject",
            version,
            &format!("sampleproject-{version}.tar.gz"),
            ROGUE_SHA,
            at,
            None,
        );
    }

    /// Every release of sampleproject read and judged; the verdict of `version`.
    async fn verdict(
        &self,
        policy: PolicySpec,
        github: Github,
        version: &str,
    ) -> (Compliance, Confidence, Vec<Reason>) {
        self.verdict_of("sampleproject", policy, github, version)
            .await
    }

    /// Every release of `project` read and judged; the verdict of `version`.
    async fn verdict_of(
        &self,
        project: &str,
        policy: PolicySpec,
        github: Github,
        version: &str,
    ) -> (Compliance, Confidence, Vec<Reason>) {
        let store = MemoryStore::new();
        let artifact = Artifact::new(RegistryType::Pypi, project, policy).unwrap();
        let watched = WatchedArtifact::new(artifact, ArtifactSource::Api, 0);
        store.put_artifact(&watched).await.unwrap();
        let registry = Registries {
            npm: NpmRegistry::new(self._npm.url(), fast_http(), 1 << 20).unwrap(),
            pypi: Some(PypiIndex::new(self.index.url(), fast_http(), 1 << 24).unwrap()),
        };
        let runs = match github {
            Github::Asked => Some(GithubRuns::new(self.github.url(), None, fast_http()).unwrap()),
            Github::Off => None,
            // Nothing listens there: every question fails.
            Github::Down => Some(GithubRuns::new("http://127.0.0.1:9", None, fast_http()).unwrap()),
        };
        let detector = Detector {
            registry: registry.clone(),
            store: store.clone(),
            clock: self.clock.clone(),
            config: MonitorConfig::default(),
        };
        let judge = Judge {
            registry,
            runs,
            store: store.clone(),
            clock: self.clock.clone(),
            verifier: Arc::new(ProvenanceVerifier::embedded().unwrap()),
            config: MonitorConfig::default(),
        };
        let mut result = None;
        for event in detector.read_all(&watched).await.unwrap().unwrap() {
            // Judged as new releases are (not as a backfill), oldest first.
            let event = artifact_monitor_core::domain::VersionPublished {
                backfill: false,
                ..event
            };
            let judged = judge.judge(&event).await.unwrap().unwrap();
            if event.version == version {
                result = Some((judged.compliance, judged.confidence, judged.reasons));
            }
        }
        result.unwrap()
    }
}

fn policy() -> PolicySpec {
    PolicySpec::new("pypa/sampleproject", &[WORKFLOW])
}

use Compliance::{Compliant, NonCompliant, Pending};
use Confidence::{High, Low, Medium};

#[tokio::test]
async fn provenance_and_the_run_it_names() {
    // The run exists and used the authorised workflow.
    let r = row().await;
    r.genuine();
    r.release_run(WORKFLOW);
    assert_eq!(
        r.verdict(policy(), Github::Asked, "4.0.0").await,
        (
            Compliant,
            High,
            vec![Reason::ProvenanceVerified, Reason::RunVerified]
        )
    );
    // GitHub not asked.
    assert_eq!(
        r.verdict(policy(), Github::Off, "4.0.0").await,
        (
            Compliant,
            Medium,
            vec![Reason::ProvenanceVerified, Reason::RunNotChecked]
        )
    );

    // The run is gone: past GitHub's retention it is expected; days after the upload, not.
    let r = row().await;
    r.genuine();
    assert_eq!(
        r.verdict(policy(), Github::Asked, "4.0.0").await,
        (
            Compliant,
            Medium,
            vec![Reason::ProvenanceVerified, Reason::RunExpired]
        )
    );
    r.clock.set("2024-11-08T00:00:00Z");
    assert_eq!(
        r.verdict(policy(), Github::Asked, "4.0.0").await,
        (
            Compliant,
            Low,
            vec![Reason::ProvenanceVerified, Reason::RunNotFound]
        )
    );

    // The run the certificate names ran another workflow.
    let r = row().await;
    r.genuine();
    r.release_run(".github/workflows/other.yml");
    let (compliance, confidence, reasons) = r.verdict(policy(), Github::Asked, "4.0.0").await;
    assert_eq!((compliance, confidence), (NonCompliant, High));
    assert!(reasons.contains(&Reason::RunMismatch), "{reasons:?}");
}

#[tokio::test]
async fn provenance_that_breaks_the_policy() {
    let r = row().await;
    r.genuine();
    r.release_run(WORKFLOW);
    let with = |change: &dyn Fn(&mut PolicySpec)| {
        let mut spec = policy();
        change(&mut spec);
        spec
    };
    let cases: Vec<(PolicySpec, Reason)> = vec![
        (
            PolicySpec::new("pypa/other", &[WORKFLOW]),
            Reason::RepositoryMismatch,
        ),
        (
            PolicySpec::new("pypa/sampleproject", &[".github/workflows/publish.yml"]),
            Reason::WorkflowMismatch,
        ),
        (
            with(&|p| p.allowed_refs = Some(vec!["refs/tags/v*".into()])),
            Reason::RefNotAllowed,
        ),
        (
            with(&|p| p.allowed_events = Some(vec!["release".into()])),
            Reason::EventNotAllowed,
        ),
        (
            with(&|p| p.repository_id = Some("1".into())),
            Reason::RepositoryIdMismatch,
        ),
        (
            with(&|p| p.owner_id = Some("1".into())),
            Reason::OwnerIdMismatch,
        ),
    ];
    for (spec, reason) in cases {
        let (compliance, confidence, reasons) = r.verdict(spec, Github::Asked, "4.0.0").await;
        assert_eq!((compliance, confidence), (NonCompliant, High), "{reason:?}");
        assert!(reasons.contains(&reason), "{reason:?}: {reasons:?}");
    }
    // An environment the certificate (issued before the claim existed) does not attest,
    // and the run shows no deployment of: refused.
    let (compliance, _, reasons) = r
        .verdict(
            with(&|p| p.environment = Some("pypi".into())),
            Github::Asked,
            "4.0.0",
        )
        .await;
    assert_eq!(compliance, NonCompliant, "{reasons:?}");
    assert!(
        reasons.contains(&Reason::EnvironmentMismatch),
        "{reasons:?}"
    );
    // The certificate's own ids pass.
    let pinned = with(&|p| {
        p.repository_id = Some("14899596".into());
        p.owner_id = Some("647025".into());
    });
    assert_eq!(r.verdict(pinned, Github::Asked, "4.0.0").await.0, Compliant);
}

#[tokio::test]
async fn provenance_that_does_not_verify_or_another_ci_signed() {
    // A flipped signature bit.
    let r = row().await;
    r.index.upload(
        "sampleproject",
        "4.0.0",
        "sampleproject-4.0.0.tar.gz",
        SDIST_4_0_0,
        UPLOADED,
        Some(read(
            "pypi/tampered/sampleproject-4.0.0.tar.gz.provenance.sig-bitflip.json",
        )),
    );
    assert_eq!(
        r.verdict(policy(), Github::Asked, "4.0.0").await,
        (NonCompliant, High, vec![Reason::ProvenanceInvalid])
    );

    // GitLab CI signed it (a real GitLab-published project's provenance).
    let r = row().await;
    r.index.create("pep740-sampleproject");
    r.index.upload(
        "pep740-sampleproject",
        "1.0.0",
        "pep740_sampleproject-1.0.0.tar.gz",
        "6cdd4a1a0a49aeef47265e7bf8ec1667257b397d34d731dc7b7af349deca1cd8",
        "2024-11-20T10:00:00Z",
        Some(read(
            "pypi/provenance/pep740-sampleproject-1.0.0.tar.gz.provenance",
        )),
    );
    let (compliance, confidence, reasons) = r
        .verdict_of("pep740-sampleproject", policy(), Github::Asked, "1.0.0")
        .await;
    assert_eq!(
        (compliance, confidence),
        (NonCompliant, High),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&Reason::SignerNotGithubActions),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn no_provenance_and_what_the_runs_say() {
    // Earlier releases had provenance, this one has none.
    let r = row().await;
    r.genuine();
    r.release_run(WORKFLOW);
    r.bare("4.0.1", "2026-11-27T11:00:00Z");
    let (compliance, confidence, reasons) = r.verdict(policy(), Github::Asked, "4.0.1").await;
    assert_eq!((compliance, confidence), (NonCompliant, High));
    assert!(reasons.contains(&Reason::ProvenanceDropped), "{reasons:?}");

    // A first release without provenance, built by the authorised workflow for its tag at
    // the upload time: the run vouches (medium: weaker than a signature).
    let r = row().await;
    r.bare("4.1.0", "2026-11-27T11:00:00Z");
    r.github.add_run(
        77,
        "pypa/sampleproject",
        WORKFLOW,
        "aaaa4974ca25ce531773def586ba3ed8e736b3fc",
        "v4.1.0",
        "2026-11-27T10:58:00Z",
        "2026-11-27T11:01:00Z",
        &["ubuntu-latest"],
    );
    r.github.add_ref("pypa/sampleproject", "refs/tags/v4.1.0");
    assert_eq!(
        r.verdict(policy(), Github::Asked, "4.1.0").await,
        (
            Compliant,
            Medium,
            vec![Reason::NoProvenance, Reason::RunMatches]
        )
    );
    // The same run, when the policy allows releases only: it breaks the policy.
    let mut releases_only = policy();
    releases_only.allowed_events = Some(vec!["release".into()]);
    let (compliance, confidence, reasons) = r.verdict(releases_only, Github::Asked, "4.1.0").await;
    assert_eq!((compliance, confidence), (NonCompliant, Medium));
    assert!(
        reasons.contains(&Reason::RunMismatch) && reasons.contains(&Reason::EventNotAllowed),
        "{reasons:?}"
    );

    // The run failed: it cannot vouch.
    r.github
        .edit_run(77, |run| run["conclusion"] = serde_json::json!("failure"));
    let (compliance, confidence, reasons) = r.verdict(policy(), Github::Asked, "4.1.0").await;
    assert_eq!((compliance, confidence), (NonCompliant, Low), "{reasons:?}");
    assert!(reasons.contains(&Reason::RunNotSuccessful), "{reasons:?}");

    // A run near the upload built another tag: it does not vouch.
    let r = row().await;
    r.bare("4.2.0", "2026-11-27T11:00:00Z");
    r.github.add_run(
        78,
        "pypa/sampleproject",
        WORKFLOW,
        "bbbb4974ca25ce531773def586ba3ed8e736b3fc",
        "v4.1.9",
        "2026-11-27T10:58:00Z",
        "2026-11-27T11:01:00Z",
        &["ubuntu-latest"],
    );
    assert_eq!(
        r.verdict(policy(), Github::Asked, "4.2.0").await,
        (
            NonCompliant,
            Low,
            vec![Reason::NoProvenance, Reason::RunMismatch]
        )
    );

    // No run at all near the upload: the shape of a stolen token.
    let r = row().await;
    r.bare("4.3.0", "2026-11-27T11:00:00Z");
    assert_eq!(
        r.verdict(policy(), Github::Asked, "4.3.0").await,
        (
            NonCompliant,
            Medium,
            vec![Reason::NoProvenance, Reason::NoRun]
        )
    );
    // GitHub not asked.
    assert_eq!(
        r.verdict(policy(), Github::Off, "4.3.0").await,
        (
            NonCompliant,
            Low,
            vec![Reason::NoProvenance, Reason::RunNotChecked]
        )
    );
    // GitHub could not be asked: not decided.
    let (compliance, _, reasons) = r.verdict(policy(), Github::Down, "4.3.0").await;
    assert_eq!(compliance, Pending);
    assert_eq!(
        reasons,
        vec![Reason::NoProvenance, Reason::GithubUnavailable]
    );
}
