//! Pieces the end-to-end tests share: fast client settings, a policy for the octo-org
//! example repository, reading the alerts a monitor has queued, the real sigstore releases,
//! and the local monitor over the fakes.

#![allow(clippy::unwrap_used)]

use crate::fakes::{FakeGithub, FakeNpm, FixedClock};
use artifact_monitor_core::domain::{
    Alert, Artifact, Compliance, Confidence, PolicySpec, Reason, VersionRecord,
};
use artifact_monitor_core::monitor::{Delivery, Monitor};
use artifact_monitor_core::ports::{Clock, Registry, Runs, Store, VerdictStore as _};
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_http::{GithubRuns, HttpConfig, NpmRegistry, Webhook};
use artifact_monitor_verify::ProvenanceVerifier;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An integrity no attestation matches.
pub const OTHER_INTEGRITY: &str = "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

/// Short timeouts and backoffs, so failure scenarios run in milliseconds. No fail-fast
/// cooldown: scenarios play ticks back to back, where in use they are a minute apart (past
/// the 30 s cooldown); the cooldown has tests of its own.
pub fn fast_http() -> HttpConfig {
    HttpConfig {
        unreachable_cooldown: Duration::ZERO,
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        max_retries: 3,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_wait: Duration::from_secs(3),
        concurrency: 8,
        ..HttpConfig::default()
    }
}

/// A package released by octo-org/octo-repo's release workflow.
pub fn octo(name: &str) -> Artifact {
    Artifact::npm(
        name,
        PolicySpec::new("octo-org/octo-repo", &[".github/workflows/release.yml"]),
    )
    .unwrap()
}

/// Delivers the queued alerts by printing alone, and returns them.
pub async fn drain_alerts<R: Registry + Clone, G: Runs, S: Store + Clone, C: Clock + Clone>(
    monitor: &Monitor<R, G, S, C>,
) -> Vec<Alert> {
    let printed = Mutex::new(Vec::new());
    let report = monitor
        .deliver::<Webhook>(
            Delivery {
                sink: None,
                limit: 1000,
            },
            |alert| printed.lock().unwrap().push(alert.clone()),
        )
        .await
        .unwrap();
    let printed = printed.into_inner().unwrap();
    assert_eq!(report.printed, printed.len());
    printed
}

/// The `dist.integrity` of sigstore 1.0.0, as the registry gives it.
pub const SIGSTORE_1_0_0: &str = "sha512-e+qfbn/zf1+rCza/BhIA//Awmf0v1pa5HQS8Xk8iXrn9bgytytVLqYD0P7NSqZ6IELTgq+tcDvLPkQjNHyWLNg==";
/// The `dist.integrity` of sigstore 2.3.1, as the registry gives it.
pub const SIGSTORE_2_3_1: &str = "sha512-8G+/XDU8wNsJOQS5ysDVO0Etg9/2uA5gR9l4ZwijjlwxBcrU6RPfwi2+jJmbP+Ap1Hlp/nVAaEO4Fj22/SL2gQ==";
/// The run and commit the real sigstore@2.3.1 provenance names.
pub const RUN_2_3_1: u64 = 9_116_405_766;
pub const COMMIT_2_3_1: &str = "46e7056ff9912ebfee5298d94024895a9fea76c0";

/// The run the real sigstore@2.3.1 provenance names, on a GitHub-hosted runner, as GitHub
/// reports it.
pub fn add_sigstore_2_3_1_run(github: &crate::fakes::FakeGithub) {
    github.add_run(
        RUN_2_3_1,
        "sigstore/sigstore-js",
        ".github/workflows/release.yml",
        COMMIT_2_3_1,
        "main",
        "2024-05-16T17:05:00Z",
        "2024-05-16T17:15:00Z",
        &["ubuntu-latest"],
    );
}

/// sigstore with its real 2.3.1 release and the run that built it.
pub async fn sigstore_world() -> (crate::fakes::FakeNpm, crate::fakes::FakeGithub) {
    let npm = crate::fakes::FakeNpm::start().await;
    let github = crate::fakes::FakeGithub::start().await;
    add_sigstore_2_3_1_run(&github);
    npm.create("sigstore", &["bdehamer"]);
    npm.publish(
        "sigstore",
        crate::fakes::manifest("sigstore", "2.3.1", SIGSTORE_2_3_1, true),
        "2024-05-16T17:12:03.000Z",
    );
    npm.attest(
        "sigstore",
        "2.3.1",
        crate::read("npm/attestations/sigstore@2.3.1.json"),
    );
    (npm, github)
}

/// The monitor the local scenarios run: the fake registry and GitHub, an in-memory store, a
/// clock the test sets.
pub type LocalMonitor = Monitor<NpmRegistry, GithubRuns, MemoryStore, FixedClock>;

/// The fakes and the monitor over them.
#[allow(missing_debug_implementations)]
pub struct MonitorWorld {
    pub npm: FakeNpm,
    pub github: FakeGithub,
    pub clock: FixedClock,
    pub monitor: LocalMonitor,
}

impl MonitorWorld {
    /// The world with its clock at `at`; `github`: whether the monitor looks runs up.
    pub async fn start(at: &str, github: bool) -> Self {
        let npm = FakeNpm::start().await;
        let gh = FakeGithub::start().await;
        let clock = FixedClock::at(at);
        let registry = NpmRegistry::new(npm.url(), fast_http(), 64 * 1024 * 1024).unwrap();
        let runs = github.then(|| GithubRuns::new(gh.url(), None, fast_http()).unwrap());
        let verifier = Arc::new(ProvenanceVerifier::embedded().unwrap());
        let monitor = Monitor::new(registry, runs, MemoryStore::new(), clock.clone(), verifier);
        Self {
            npm,
            github: gh,
            clock,
            monitor,
        }
    }

    /// The stored record of `version`; panics when there is none.
    pub async fn record(&self, artifact: &Artifact, version: &str) -> VersionRecord {
        self.monitor
            .store
            .version(&artifact.key(), version)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{version} not stored"))
    }

    /// The stored verdict of `version`.
    pub async fn verdict(
        &self,
        artifact: &Artifact,
        version: &str,
    ) -> (Compliance, Confidence, Vec<Reason>) {
        let v = self.record(artifact, version).await.verdict;
        (v.compliance, v.confidence, v.reasons)
    }

    /// The queued alerts, delivered by printing.
    pub async fn alerts(&self) -> Vec<Alert> {
        drain_alerts(&self.monitor).await
    }
}
