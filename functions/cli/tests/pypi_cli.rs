//! `artifact-monitor check --type pypi` through the built binary against a local package
//! index (PEP 691 simple page, PEP 740 Integrity API with real provenance): each release
//! judged file by file, `--json` listing the files, the exit code following the worst.

#![allow(clippy::unwrap_used)]

use artifact_monitor_tests::fake_http::{FakeServer, Reply};
use artifact_monitor_tests::read;
use serde_json::Value;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const SDIST_SHA: &str = "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b";

/// A local index for `sampleproject`: its files (JSON objects), the sdist's real provenance.
async fn index(files: Arc<Mutex<Vec<String>>>) -> FakeServer {
    let provenance = read("pypi/provenance/sampleproject-4.0.0.tar.gz.provenance");
    FakeServer::start(move |request| match request.path() {
        "/simple/sampleproject/" => Reply::json(
            200,
            format!(
                r#"{{"meta":{{"api-version":"1.1"}},"name":"sampleproject","files":[{}]}}"#,
                files.lock().unwrap().join(",")
            ),
        ),
        "/integrity/sampleproject/4.0.0/sampleproject-4.0.0.tar.gz/provenance" => {
            Reply::json(200, provenance.clone())
        }
        _ => Reply::status(404),
    })
    .await
}

fn file(name: &str, sha256: &str, at: &str, provenance: bool) -> String {
    let link = if provenance {
        r#""https://x.example/p""#
    } else {
        "null"
    };
    format!(
        r#"{{"filename":"{name}","hashes":{{"sha256":"{sha256}"}},"upload-time":"{at}","provenance":{link}}}"#
    )
}

async fn check(index: &FakeServer, name: &str, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_artifact-monitor"));
    command.env_remove("GITHUB_TOKEN").args([
        "check",
        name,
        "--type",
        "pypi",
        "--repository",
        "pypa/sampleproject",
        "--workflow",
        ".github/workflows/release.yml",
        "--registry",
        &index.url,
        "--no-github",
    ]);
    command.args(extra);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_judges_a_pypi_release_file_by_file() {
    let files = Arc::new(Mutex::new(vec![file(
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:10.868088Z",
        true,
    )]));
    let index = index(Arc::clone(&files)).await;

    // The name as the user writes it; the release's one file carries real provenance.
    let output = check(&index, "SampleProject", &["--json"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["artifact"]["type"], "pypi");
    assert_eq!(report["artifact"]["name"], "sampleproject");
    let version = &report["versions"][0];
    assert_eq!(version["version"], "4.0.0");
    assert_eq!(version["compliance"], "compliant");
    let sdist = &version["files"][0];
    assert_eq!(sdist["filename"], "sampleproject-4.0.0.tar.gz");
    assert_eq!(sdist["sha256"], SDIST_SHA);
    assert_eq!(sdist["uploaded_at"], "2024-11-06T22:37:10Z");
    assert_eq!(sdist["compliance"], "compliant");

    // A wheel uploaded two days later without provenance: the release is non-compliant
    // because of that file, and the table shows it under its release.
    files.lock().unwrap().push(file(
        "sampleproject-4.0.0-py3-none-any.whl",
        "2222222222222222222222222222222222222222222222222222222222222222",
        "2024-11-08T22:40:00Z",
        false,
    ));
    let output = check(&index, "sampleproject", &["--json"]).await;
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let version = &report["versions"][0];
    assert_eq!(version["compliance"], "non_compliant");
    let reasons: Vec<&str> = version["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"file_added_later"), "{reasons:?}");
    let wheel = &version["files"][1];
    assert_eq!(wheel["compliance"], "non_compliant");
    assert!(
        wheel["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "no_provenance")
    );
    let output = check(&index, "sampleproject", &[]).await;
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("  sampleproject-4.0.0-py3-none-any.whl")
                && l.contains("non_compliant")),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_refuses_an_unknown_type_a_bad_name_and_a_missing_project() {
    let index = index(Arc::new(Mutex::new(Vec::new()))).await;
    let output = check(&index, "no-such-project", &[]).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing project is an error"
    );
    let output = check(&index, "not a name", &[]).await;
    assert_eq!(output.status.code(), Some(2));
    let mut other = Command::new(env!("CARGO_BIN_EXE_artifact-monitor"));
    other.args([
        "check",
        "x",
        "--type",
        "cargo",
        "--repository",
        "o/r",
        "--workflow",
        ".github/workflows/r.yml",
    ]);
    let output = other.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("npm, pypi"));
}

/// `serve` watching a PyPI project from its config file, over the local index (its RSS,
/// simple pages and Integrity API): the backfill of a genuine release is quiet, a rogue
/// upload the RSS names is printed once, and a restart alerts nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_watches_a_pypi_project_through_the_index_rss() {
    use artifact_monitor_tests::fake_pypi::FakePypi;
    let index = FakePypi::start().await;
    index.create("sampleproject");
    index.upload(
        "sampleproject",
        "4.0.0",
        "sampleproject-4.0.0.tar.gz",
        SDIST_SHA,
        "2024-11-06T22:37:10.868088Z",
        Some(read(
            "pypi/provenance/sampleproject-4.0.0.tar.gz.provenance",
        )),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitor.toml");
    std::fs::write(
        &config,
        format!(
            r#"
index = "{}"
changes_feed = false
github = false
interval_secs = 3600

[[artifacts]]
type = "pypi"
name = "SampleProject"
repository = "pypa/sampleproject"
workflows = [".github/workflows/release.yml"]
"#,
            index.url()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let (config2, data2) = (config.clone(), data.clone());
    let serve_once = move || {
        Command::new(env!("CARGO_BIN_EXE_artifact-monitor"))
            .env_remove("GITHUB_TOKEN")
            .args([
                "serve",
                "--once",
                "--config",
                config2.to_str().unwrap(),
                "--data-dir",
                data2.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let alerts = |output: &Output| -> Vec<Value> {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    };

    let output = tokio::task::spawn_blocking(serve_once.clone())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("feeds pypi;"), "{stderr}");
    assert!(
        stderr.contains("following the pypi feed from its end"),
        "{stderr}"
    );
    assert!(alerts(&output).is_empty(), "the genuine backfill is quiet");
    assert_eq!(index.feed_requests(), 1);

    // A stolen token uploads 4.0.1 with no provenance.
    let now = jiff::Timestamp::now().to_string();
    index.upload(
        "sampleproject",
        "4.0.1",
        "sampleproject-4.0.1.tar.gz",
        "5f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0",
        &now,
        None,
    );
    let output = tokio::task::spawn_blocking(serve_once.clone())
        .await
        .unwrap();
    let printed = alerts(&output);
    assert_eq!(
        printed.len(),
        1,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(printed[0]["id"], "pypi/sampleproject@4.0.1#non_compliant");
    assert_eq!(printed[0]["artifact"]["type"], "pypi");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pypi 2 change(s), 1 hit(s)"), "{stderr}");

    // Restarted: nothing new, nothing printed again.
    let output = tokio::task::spawn_blocking(serve_once).await.unwrap();
    assert!(alerts(&output).is_empty());
}
