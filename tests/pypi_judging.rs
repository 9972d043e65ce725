//! A PyPI release judged end to end by the production use-cases (detection's full read and
//! the judge, with the real Sigstore verifier) over the real wire: `PypiIndex` reading a
//! local index server's simple page (PEP 691 JSON, ETag) and Integrity API (real PEP 740
//! provenance). Each file is judged on its own evidence, the release is the worst of its
//! files, a file added later is raised; the adapter reads conditionally, builds every URL
//! from its base, and refuses what is not the index's.

#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{
    Artifact, ArtifactRef, ArtifactSource, Compliance, PolicySpec, Reason, Validators,
    WatchedArtifact,
};
use artifact_monitor_core::monitor::{Detector, Judge, MonitorConfig};
use artifact_monitor_core::ports::{
    ArtifactStore, DocumentFetch, Registry, RemoteError, Subject, VerdictStore,
};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_http::{GithubRuns, HttpConfig, PypiIndex, Registries};
use artifact_monitor_tests::fake_http::{FakeServer, Reply};
use artifact_monitor_tests::fakes::FixedClock;
use artifact_monitor_tests::read;
use artifact_monitor_verify::ProvenanceVerifier;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SDIST_SHA: &str = "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b";

/// What the local index serves: one project's files, and provenance by filename.
#[derive(Debug, Clone, Default)]
struct Uploads {
    files: Arc<Mutex<Vec<String>>>,
    provenance: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl Uploads {
    fn upload(&self, filename: &str, sha256: &str, at: &str, provenance: Option<Vec<u8>>) {
        // The page's link points elsewhere: the adapter must build its own from its base.
        let link = match provenance.is_some() {
            true => format!(r#""https://elsewhere.example/integrity/{filename}""#),
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

    /// A local index: `/simple/sampleproject/` (ETag: the number of files) and
    /// `/integrity/sampleproject/<version>/<file>/provenance`, each only for its media type.
    async fn serve(&self) -> FakeServer {
        let uploads = self.clone();
        FakeServer::start(move |request| {
            let path = request.path();
            if path == "/simple/sampleproject/" {
                if request.header("accept") != Some("application/vnd.pypi.simple.v1+json") {
                    return Reply::status(406);
                }
                let etag = format!("\"{}\"", uploads.files.lock().unwrap().len());
                if request.header("if-none-match") == Some(etag.as_str()) {
                    return Reply::status(304);
                }
                return Reply::json(200, uploads.page()).with_header("etag", &etag);
            }
            if let Some(rest) = path.strip_prefix("/integrity/sampleproject/") {
                if request.header("accept") != Some("application/vnd.pypi.integrity.v1+json") {
                    return Reply::status(406);
                }
                let file = rest
                    .strip_suffix("/provenance")
                    .and_then(|r| r.split_once('/'))
                    .map(|(_, file)| file.to_owned());
                let served = file.and_then(|f| uploads.provenance.lock().unwrap().get(&f).cloned());
                if let Some(document) = served {
                    return Reply::json(200, document);
                }
            }
            Reply::status(404)
        })
        .await
    }
}

fn fast() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_secs(2),
        max_retries: 1,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(10),
        ..HttpConfig::default()
    }
}

type Detection = Detector<PypiIndex, MemoryStore, FixedClock>;
type Judging = Judge<PypiIndex, GithubRuns, MemoryStore, FixedClock>;

struct World {
    uploads: Uploads,
    server: FakeServer,
    index: PypiIndex,
    store: MemoryStore,
    clock: FixedClock,
    watched: WatchedArtifact,
}

impl World {
    async fn new() -> Self {
        let store = MemoryStore::default();
        let clock = FixedClock::at("2024-11-10T00:00:00Z");
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
        let uploads = Uploads::default();
        let server = uploads.serve().await;
        let index = PypiIndex::new(&server.url, fast(), 1 << 20).unwrap();
        Self {
            uploads,
            server,
            index,
            store,
            clock,
            watched,
        }
    }

    /// The production detection and judging over the local index, GitHub not asked.
    fn use_cases(&self) -> (Detection, Judging) {
        let detector = Detector {
            registry: self.index.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            config: MonitorConfig::default(),
        };
        let judge = Judge {
            registry: self.index.clone(),
            runs: None,
            store: self.store.clone(),
            clock: self.clock.clone(),
            verifier: Arc::new(ProvenanceVerifier::embedded().unwrap()),
            config: MonitorConfig::default(),
        };
        (detector, judge)
    }

    /// Every release read in full and judged (as detection's events would be); the stored
    /// record of 4.0.0. A release judged before is judged again only for a new file.
    async fn judge_all(&self) -> artifact_monitor_core::domain::VersionRecord {
        let (detector, judge) = self.use_cases();
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
    world.uploads.upload(
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
    world.uploads.upload(
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
    world.uploads.upload(
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:10.868088Z",
        Some(read(
            "pypi/provenance/sampleproject-4.0.0.tar.gz.provenance",
        )),
    );
    world.uploads.upload(
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

#[tokio::test]
async fn the_index_is_read_conditionally_and_every_url_is_built_from_its_base() {
    let world = World::new().await;
    world.uploads.upload(
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:10.868088Z",
        Some(read(
            "pypi/provenance/sampleproject-4.0.0.tar.gz.provenance",
        )),
    );
    let project = ArtifactRef {
        registry: RegistryType::Pypi,
        name: "sampleproject".into(),
    };
    let DocumentFetch::Modified { validators, .. } = world
        .index
        .document(&project, &Validators::default())
        .await
        .unwrap()
    else {
        panic!("a page")
    };
    assert_eq!(validators.etag.as_deref(), Some("\"1\""));
    assert_eq!(
        world.index.document(&project, &validators).await.unwrap(),
        DocumentFetch::NotModified
    );
    let missing = ArtifactRef {
        registry: RegistryType::Pypi,
        name: "no-such-project".into(),
    };
    assert_eq!(
        world
            .index
            .document(&missing, &Validators::default())
            .await
            .unwrap(),
        DocumentFetch::Missing
    );
    // The provenance comes from the configured index, never the page's link elsewhere.
    let file = Subject {
        artifact: &project,
        version: "4.0.0",
        file: Some("sampleproject-4.0.0.tar.gz"),
        integrity: None,
    };
    assert!(world.index.attestations(&file).await.unwrap().is_some());
    let absent = Subject {
        file: Some("sampleproject-4.0.0-py3-none-any.whl"),
        ..file
    };
    assert!(world.index.attestations(&absent).await.unwrap().is_none());
    assert!(
        world
            .server
            .requests()
            .iter()
            .all(|(r, _)| !r.path().contains("elsewhere"))
    );
    // A release's evidence is per file; another registry's artifact is not the index's.
    let whole = Subject { file: None, ..file };
    assert!(world.index.attestations(&whole).await.is_err());
    let npm = ArtifactRef {
        registry: RegistryType::Npm,
        name: "sampleproject".into(),
    };
    assert!(
        world
            .index
            .document(&npm, &Validators::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn each_artifact_goes_to_its_types_adapter() {
    let world = World::new().await;
    world.uploads.upload(
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:10.868088Z",
        None,
    );
    // npm points at a closed port: a PyPI read must not touch it, an npm read must.
    let npm =
        artifact_monitor_http::NpmRegistry::new("http://127.0.0.1:9", fast(), 1 << 20).unwrap();
    let both = Registries {
        npm: npm.clone(),
        pypi: Some(world.index.clone()),
    };
    let project = ArtifactRef {
        registry: RegistryType::Pypi,
        name: "sampleproject".into(),
    };
    assert!(matches!(
        both.document(&project, &Validators::default()).await,
        Ok(DocumentFetch::Modified { .. })
    ));
    let package = ArtifactRef {
        registry: RegistryType::Npm,
        name: "left-pad".into(),
    };
    assert!(matches!(
        both.document(&package, &Validators::default()).await,
        Err(RemoteError::Unreachable(..))
    ));
    // Without a configured index, PyPI artifacts are refused, not sent to npm.
    let npm_only = Registries { npm, pypi: None };
    let sent = npm_only.requests_sent();
    let refused = npm_only
        .document(&project, &Validators::default())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("no package index"),
        "{refused}"
    );
    assert_eq!(npm_only.requests_sent(), sent);
}

#[tokio::test]
async fn provenance_the_page_lists_but_the_integrity_api_does_not_serve_yet_is_waited_for() {
    let world = World::new().await;
    world.clock.set("2024-11-06T22:40:00Z");
    // Uploaded three minutes ago with its provenance; the Integrity API does not serve it
    // yet (a replica behind).
    let genuine = read("pypi/provenance/sampleproject-4.0.0.tar.gz.provenance");
    world.uploads.upload(
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:00Z",
        Some(genuine.clone()),
    );
    let served = world
        .uploads
        .provenance
        .lock()
        .unwrap()
        .remove("sampleproject-4.0.0.tar.gz");
    assert!(served.is_some());
    let (detector, judge) = world.use_cases();
    let events = detector.read_all(&world.watched).await.unwrap().unwrap();
    // Its 404 leaves the release pending (recorded, judged again when due), never "no
    // provenance".
    let pending = judge.judge(&events[0]).await.unwrap().unwrap();
    assert_eq!(pending.compliance, Compliance::Pending, "{pending:?}");
    assert!(
        pending.reasons.contains(&Reason::RegistryUnavailable),
        "{pending:?}"
    );
    let record = world
        .store
        .version("pypi/sampleproject", "4.0.0")
        .await
        .unwrap()
        .unwrap();
    assert!(
        record
            .verdict
            .details
            .iter()
            .any(|d| d.contains("or not yet")),
        "{:?}",
        record.verdict.details
    );
    // Served a minute later: judged on it.
    world
        .uploads
        .provenance
        .lock()
        .unwrap()
        .insert("sampleproject-4.0.0.tar.gz".into(), genuine);
    world.clock.set("2024-11-06T22:41:00Z");
    let judged = judge.judge(&events[0]).await.unwrap().unwrap();
    assert_eq!(judged.compliance, Compliance::Compliant, "{judged:?}");
}

#[tokio::test]
async fn a_fresh_upload_the_page_lists_without_provenance_is_judged_at_once() {
    let world = World::new().await;
    world.clock.set("2024-11-06T22:37:30Z");
    // The index takes a file's attestations with the upload itself (PEP 740): a page that
    // lists the file lists its provenance, so "none" seconds after the upload is final.
    world.uploads.upload(
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:00Z",
        None,
    );
    let (detector, judge) = world.use_cases();
    let events = detector.read_all(&world.watched).await.unwrap().unwrap();
    let judged = judge.judge(&events[0]).await.unwrap().unwrap();
    assert_eq!(judged.compliance, Compliance::NonCompliant, "{judged:?}");
    assert!(judged.reasons.contains(&Reason::NoProvenance), "{judged:?}");
    assert!(
        !world
            .server
            .requests()
            .iter()
            .any(|(r, _)| r.path().starts_with("/integrity/")),
        "nothing asked of the Integrity API"
    );
}
