//! A PyPI release judged end to end by the production use-cases (detection's full read and
//! the judge, with the real Sigstore verifier), over an in-memory index serving a simple
//! page and real PEP 740 provenance: each file on its own evidence, the release as the
//! worst of its files, a file added later raised.
//!
//! The in-memory index stands in for the HTTP adapter the entry points will wire; what is
//! tested here is everything after the bytes arrive.

#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{
    Artifact, ArtifactRef, ArtifactSource, Compliance, PolicySpec, Reason, Validators,
    WatchedArtifact,
};
use artifact_monitor_core::monitor::{Detector, Judge, MonitorConfig};
use artifact_monitor_core::ports::{
    ArtifactStore, Body, DocumentFetch, Registry, RemoteError, Subject, VerdictStore,
};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_http::GithubRuns;
use artifact_monitor_tests::fakes::FixedClock;
use artifact_monitor_tests::read;
use artifact_monitor_verify::ProvenanceVerifier;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const SDIST_SHA: &str = "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b";

/// An index in memory: one project's simple page, and provenance by filename.
#[derive(Debug, Clone, Default)]
struct Index {
    files: Arc<Mutex<Vec<String>>>,
    provenance: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl Index {
    fn upload(&self, filename: &str, sha256: &str, at: &str, provenance: Option<Vec<u8>>) {
        let link = match provenance.is_some() {
            true => format!(
                r#""https://index.example/integrity/sampleproject/4.0.0/{filename}/provenance""#
            ),
            false => "null".to_owned(),
        };
        self.files.lock().unwrap().push(format!(
            r#"{{"filename":"{filename}","url":"https://files.example/{filename}","hashes":{{"sha256":"{sha256}"}},"upload-time":"{at}","provenance":{link}}}"#
        ));
        if let Some(document) = provenance {
            self.provenance
                .lock()
                .unwrap()
                .insert(filename.to_owned(), document);
        }
    }

    fn page(&self) -> Vec<u8> {
        format!(
            r#"{{"meta":{{"api-version":"1.1"}},"name":"sampleproject","versions":["4.0.0"],"files":[{}]}}"#,
            self.files.lock().unwrap().join(",")
        )
        .into_bytes()
    }
}

impl Registry for Index {
    async fn document(
        &self,
        artifact: &ArtifactRef,
        _validators: &Validators,
    ) -> Result<DocumentFetch, RemoteError> {
        assert_eq!(artifact.registry, RegistryType::Pypi);
        Ok(DocumentFetch::Modified {
            body: Body::from(self.page()),
            validators: Validators::default(),
        })
    }

    async fn document_fresh(&self, artifact: &ArtifactRef) -> Result<DocumentFetch, RemoteError> {
        self.document(artifact, &Validators::default()).await
    }

    async fn attestations(&self, subject: &Subject<'_>) -> Result<Option<Body>, RemoteError> {
        let file = subject.file.expect("a PyPI subject names its file");
        Ok(self
            .provenance
            .lock()
            .unwrap()
            .get(file)
            .cloned()
            .map(Body::from))
    }
}

struct World {
    index: Index,
    store: MemoryStore,
    clock: FixedClock,
    watched: WatchedArtifact,
}

impl World {
    async fn new() -> Self {
        let store = MemoryStore::default();
        let clock = FixedClock::at("2024-11-08T00:00:00Z");
        let artifact = Artifact::new(
            RegistryType::Pypi,
            "SampleProject",
            PolicySpec::new("pypa/sampleproject", &[".github/workflows/release.yml"]),
        )
        .unwrap();
        assert_eq!(
            artifact.key(),
            "pypi/sampleproject",
            "keys hold the normal form"
        );
        let watched = WatchedArtifact::new(artifact, ArtifactSource::Api, 0);
        store.put_artifact(&watched).await.unwrap();
        Self {
            index: Index::default(),
            store,
            clock,
            watched,
        }
    }

    /// Every release read in full and judged (as detection's events would be); the stored
    /// record of 4.0.0. A release judged before is judged again only for a new file.
    async fn judge_all(&self) -> artifact_monitor_core::domain::VersionRecord {
        let detector = Detector {
            registry: self.index.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            config: MonitorConfig::default(),
        };
        let judge = Judge {
            registry: self.index.clone(),
            runs: None::<GithubRuns>,
            store: self.store.clone(),
            clock: self.clock.clone(),
            verifier: Arc::new(ProvenanceVerifier::embedded().unwrap()),
            config: MonitorConfig::default(),
        };
        for event in detector.read_all(&self.watched).await.unwrap().unwrap() {
            judge.judge(&event).await.unwrap();
        }
        self.store
            .version("pypi/sampleproject", "4.0.0")
            .await
            .unwrap()
            .unwrap()
    }
}

#[tokio::test]
async fn each_file_is_judged_on_its_own_evidence_and_the_release_is_the_worst() {
    let world = World::new().await;
    let genuine = read("pypi/provenance/sampleproject-4.0.0.tar.gz.provenance");
    world.index.upload(
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:10.868088Z",
        Some(genuine.clone()),
    );

    // One file, its real provenance from the authorised workflow: compliant (GitHub not
    // asked, so medium).
    let record = world.judge_all().await;
    assert_eq!(record.verdict.compliance, Compliance::Compliant);
    assert_eq!(record.verdict.files.len(), 1);
    assert_eq!(record.verdict.files[0].name, "sampleproject-4.0.0.tar.gz");
    assert_eq!(record.verdict.files[0].compliance, Compliance::Compliant);
    let evidence = record.verdict.evidence.provenance.as_ref().unwrap();
    assert_eq!(evidence.repository.as_deref(), Some("pypa/sampleproject"));

    // A wheel whose provenance was signed for another file (the sdist's, served again):
    // refused at the subject; the release is non-compliant because of that file alone.
    world.index.upload(
        "sampleproject-4.0.0-py3-none-any.whl",
        "7a1d8b4b9c5f0e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aab",
        "2024-11-06T22:37:12Z",
        Some(genuine),
    );
    let record = world.judge_all().await;
    assert_eq!(record.verdict.compliance, Compliance::NonCompliant);
    let files: Vec<(&str, Compliance)> = record
        .verdict
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.compliance))
        .collect();
    assert_eq!(
        files,
        [
            ("sampleproject-4.0.0.tar.gz", Compliance::Compliant),
            (
                "sampleproject-4.0.0-py3-none-any.whl",
                Compliance::NonCompliant
            )
        ]
    );
    assert_eq!(record.verdict.files[1].reasons, [Reason::ProvenanceInvalid]);
    assert!(
        record.verdict.details.iter().any(|d| d.starts_with(
            "sampleproject-4.0.0-py3-none-any.whl: provenance does not verify (subject)"
        )),
        "{:?}",
        record.verdict.details
    );
}

#[tokio::test]
async fn a_file_uploaded_days_later_without_provenance_is_raised() {
    let world = World::new().await;
    world.index.upload(
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:10.868088Z",
        Some(read(
            "pypi/provenance/sampleproject-4.0.0.tar.gz.provenance",
        )),
    );
    world.index.upload(
        "sampleproject-4.0.0-cp313-cp313-win_amd64.whl",
        "1111111111111111111111111111111111111111111111111111111111111111",
        "2024-11-09T10:00:00Z",
        None,
    );
    let record = world.judge_all().await;
    assert_eq!(record.verdict.compliance, Compliance::NonCompliant);
    assert!(record.verdict.reasons.contains(&Reason::FileAddedLater));
    assert!(record.verdict.reasons.contains(&Reason::NoProvenance));
    let late = &record.verdict.files[1];
    assert_eq!(late.name, "sampleproject-4.0.0-cp313-cp313-win_amd64.whl");
    assert_eq!(late.compliance, Compliance::NonCompliant);
}
