//! The npm and GitHub adapters against local servers: ETag revalidation,
//! GitHub's rate limits, the token on the wire, hostile answers.

// Test helpers: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::ArtifactRef;
use artifact_monitor_core::domain::{RepositoryName, Validators, WorkflowPath};
use artifact_monitor_core::ports::{DocumentFetch, Registry, RemoteError, Runs, Subject};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_http::{GithubRuns, HttpConfig, NpmRegistry};
use artifact_monitor_tests::fake_http::{FakeServer, Reply};
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, secs};
use std::time::{Duration, Instant};

fn fast() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_secs(2),
        max_retries: 2,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
        ..HttpConfig::default()
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn packuments_are_read_conditionally_and_scoped_names_encoded() {
    let npm = FakeNpm::start().await;
    npm.create("@scope/pkg", &["a"]);
    let registry = NpmRegistry::new(npm.url(), fast(), 1 << 20).unwrap();
    let name = npm_artifact("@scope/pkg");
    let DocumentFetch::Modified { validators, .. } = registry
        .document(&name, &Validators::default())
        .await
        .unwrap()
    else {
        panic!("expected a document");
    };
    assert!(validators.etag.is_some());
    assert_eq!(
        registry.document(&name, &validators).await.unwrap(),
        DocumentFetch::NotModified
    );
    let missing = npm_artifact("@scope/none");
    assert_eq!(
        registry
            .document(&missing, &Validators::default())
            .await
            .unwrap(),
        DocumentFetch::Missing
    );
    let paths: Vec<String> = npm
        .server
        .requests()
        .iter()
        .map(|(r, _)| r.path().to_owned())
        .collect();
    assert_eq!(paths, ["/@scope%2fpkg", "/@scope%2fpkg", "/@scope%2fnone"]);
    let sent = &npm.server.requests()[1].0;
    assert_eq!(sent.header("if-none-match"), validators.etag.as_deref());
}

#[tokio::test]
async fn github_answers_are_revalidated_with_their_etag() {
    let github = FakeGithub::start().await;
    github.add_run(
        42,
        "octo-org/octo-repo",
        ".github/workflows/release.yml",
        "abc",
        "main",
        "2026-11-27T11:55:00Z",
        "2026-11-27T12:02:00Z",
        &["ubuntu-latest"],
    );
    let runs = GithubRuns::new(github.url(), Some("ghs_testtoken".into()), fast()).unwrap();
    let repo = RepositoryName::parse("octo-org/octo-repo").unwrap();
    let first = runs.run(&repo, 42).await.unwrap().unwrap();
    let second = runs.run(&repo, 42).await.unwrap().unwrap();
    assert_eq!(first, second);
    assert_eq!(first.workflow_path, ".github/workflows/release.yml");
    let statuses: Vec<u16> = github.server.requests().iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [200, 304]);
    let request = &github.server.requests()[0].0;
    assert_eq!(
        request.header("authorization"),
        Some("Bearer ghs_testtoken")
    );
    assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
    assert!(runs.run(&repo, 43).await.unwrap().is_none());
    let other = RepositoryName::parse("evil/octo-repo").unwrap();
    assert!(
        runs.run(&other, 42).await.unwrap().is_none(),
        "a run of another repository is not this one"
    );
}

#[tokio::test]
async fn runs_are_searched_in_a_window_of_the_asked_workflow_only() {
    let github = FakeGithub::start().await;
    github.add_run(
        1,
        "octo-org/octo-repo",
        ".github/workflows/release.yml",
        "a",
        "v1",
        "2026-11-27T11:00:00Z",
        "2026-11-27T11:10:00Z",
        &[],
    );
    github.add_run(
        2,
        "octo-org/octo-repo",
        ".github/workflows/release.yml",
        "b",
        "v2",
        "2026-11-20T11:00:00Z",
        "2026-11-20T11:10:00Z",
        &[],
    );
    github.add_run(
        3,
        "octo-org/octo-repo",
        ".github/workflows/ci.yml",
        "c",
        "main",
        "2026-11-27T11:00:00Z",
        "2026-11-27T11:10:00Z",
        &[],
    );
    let runs = GithubRuns::new(github.url(), None, fast()).unwrap();
    let repo = RepositoryName::parse("octo-org/octo-repo").unwrap();
    let workflow = WorkflowPath::parse(".github/workflows/release.yml").unwrap();
    let found = runs
        .runs_between(
            &repo,
            &workflow,
            secs("2026-11-27T10:00:00Z"),
            secs("2026-11-27T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), [1]);
    let request = &github.server.requests()[0].0;
    assert_eq!(
        request.query("created").as_deref(),
        Some("2026-11-27T10:00:00Z..2026-11-27T12:00:00Z")
    );
    assert!(
        request
            .path()
            .ends_with("/actions/workflows/release.yml/runs")
    );
    let jobs = runs.jobs(&repo, 1).await.unwrap();
    assert_eq!(jobs.len(), 1);
}

/// The fake lists runs as GitHub does: each filter of the workflow-runs endpoint narrows
/// the list (`status` takes a status or a conclusion), so scenarios built on it test the
/// filters a real answer would apply.
#[tokio::test]
async fn the_fake_github_honours_the_run_list_filters() {
    let github = FakeGithub::start().await;
    let repo = "octo-org/octo-repo";
    let release = ".github/workflows/release.yml";
    github.add_run(
        1,
        repo,
        release,
        "a1",
        "v1",
        "2026-11-27T11:00:00Z",
        "2026-11-27T11:10:00Z",
        &[],
    );
    github.add_run(
        2,
        repo,
        release,
        "b2",
        "main",
        "2026-11-27T11:30:00Z",
        "2026-11-27T11:40:00Z",
        &[],
    );
    github.add_run(
        3,
        repo,
        release,
        "a1",
        "v1",
        "2026-11-26T11:00:00Z",
        "2026-11-26T11:10:00Z",
        &[],
    );
    github.edit_run(2, |r| {
        r["event"] = serde_json::json!("workflow_dispatch");
        r["status"] = serde_json::json!("in_progress");
        r["conclusion"] = serde_json::json!(null);
    });
    let client = reqwest::Client::new();
    let ids = |query: &'static str| {
        let client = client.clone();
        let url = format!(
            "{}/repos/{repo}/actions/workflows/release.yml/runs?{query}",
            github.url()
        );
        async move {
            let bytes = client.get(url).send().await.unwrap().bytes().await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            body["workflow_runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_u64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("").await, [1, 2, 3]);
    assert_eq!(
        ids("created=2026-11-27T00:00:00Z..2026-11-28T00:00:00Z").await,
        [1, 2]
    );
    assert_eq!(ids("created=%3E%3D2026-11-27T11:30:00Z").await, [2]);
    assert_eq!(ids("event=workflow_dispatch").await, [2]);
    assert_eq!(ids("branch=v1").await, [1, 3]);
    assert_eq!(
        ids("head_sha=a1&created=2026-11-27T00:00:00Z..*").await,
        [1]
    );
    assert_eq!(ids("status=in_progress").await, [2]);
    assert_eq!(ids("status=success").await, [1, 3]);
}

/// What run correlation asks besides the runs: which refs exist, the environment's
/// deployments with the runs their statuses link to, the newest commit touching a file.
#[tokio::test]
async fn refs_deployments_and_file_history_are_read() {
    let github = FakeGithub::start().await;
    let name = "octo-org/octo-repo";
    github.add_run(
        7,
        name,
        ".github/workflows/release.yml",
        "a1",
        "v1",
        "2026-11-27T11:00:00Z",
        "2026-11-27T11:10:00Z",
        &[],
    );
    github.add_ref(name, "refs/tags/v1.0.0");
    github.add_deployment(name, "npm", "a1", 7);
    github.add_deployment(name, "npm-staging", "a1", 7);
    github.set_last_change(name, ".github/workflows/release.yml", "a1", &"c".repeat(40));
    let runs = GithubRuns::new(github.url(), None, fast()).unwrap();
    let repo = RepositoryName::parse(name).unwrap();
    assert!(runs.ref_exists(&repo, "refs/tags/v1.0.0").await.unwrap());
    assert!(!runs.ref_exists(&repo, "refs/heads/v1.0.0").await.unwrap());
    assert!(!runs.ref_exists(&repo, "not-a-ref").await.unwrap());
    let deployments = runs.deployments(&repo, "a1", "npm").await.unwrap();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].environment, "npm");
    assert_eq!(deployments[0].run_ids, [7]);
    assert!(
        runs.deployments(&repo, "b2", "npm")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        runs.last_change(&repo, "a1", ".github/workflows/release.yml")
            .await
            .unwrap(),
        Some("c".repeat(40))
    );
    assert_eq!(
        runs.last_change(&repo, "zz", ".github/workflows/release.yml")
            .await
            .unwrap(),
        None,
        "an unknown commit (422) is no answer, not an error"
    );
    let jobs = runs.jobs(&repo, 7).await.unwrap();
    assert_eq!(jobs[0].runner_group_id, Some(0));
    assert_eq!(jobs[0].runner_group_name.as_deref(), Some("GitHub Actions"));
    assert!(jobs[0].started_at.is_some() && jobs[0].completed_at.is_some());
    let run = runs.run(&repo, 7).await.unwrap().unwrap();
    assert_eq!(run.head_repository.as_deref(), Some(name));
    assert!(run.repository_id.is_some() && run.repository_id == run.head_repository_id);
}

#[tokio::test]
async fn an_exhausted_rate_limit_is_waited_out_when_it_resets_soon() {
    let github = FakeGithub::start().await;
    github.add_run(
        42,
        "octo-org/octo-repo",
        ".github/workflows/release.yml",
        "abc",
        "main",
        "2026-11-27T11:55:00Z",
        "2026-11-27T12:02:00Z",
        &[],
    );
    let reset = (unix_now() + 2).to_string();
    github.fail_next(
        "/runs/42",
        Reply::json(403, r#"{"message":"API rate limit exceeded"}"#)
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset", &reset),
    );
    let runs = GithubRuns::new(github.url(), None, fast()).unwrap();
    let repo = RepositoryName::parse("octo-org/octo-repo").unwrap();
    let started = Instant::now();
    assert!(runs.run(&repo, 42).await.unwrap().is_some());
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_rate_limit_resetting_too_late_fails_the_request_at_once() {
    let github = FakeGithub::start().await;
    let reset = (unix_now() + 3600).to_string();
    github.fail_next(
        "/runs/42",
        Reply::json(403, "{}")
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset", &reset),
    );
    let runs = GithubRuns::new(github.url(), None, fast()).unwrap();
    let repo = RepositoryName::parse("octo-org/octo-repo").unwrap();
    let started = Instant::now();
    let error = runs.run(&repo, 42).await.unwrap_err();
    assert!(matches!(error, RemoteError::RateLimited(..)), "{error}");
    // Later calls do not even reach the server until the reset.
    let error = runs.run(&repo, 43).await.unwrap_err();
    assert!(matches!(error, RemoteError::RateLimited(..)), "{error}");
    assert_eq!(github.server.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn secondary_limits_are_honoured_through_retry_after() {
    let github = FakeGithub::start().await;
    github.add_run(
        42,
        "octo-org/octo-repo",
        ".github/workflows/release.yml",
        "abc",
        "main",
        "2026-11-27T11:55:00Z",
        "2026-11-27T12:02:00Z",
        &[],
    );
    github.fail_next(
        "/runs/42",
        Reply::json(403, r#"{"message":"secondary rate limit"}"#).with_header("retry-after", "1"),
    );
    let runs = GithubRuns::new(github.url(), None, fast()).unwrap();
    let repo = RepositoryName::parse("octo-org/octo-repo").unwrap();
    let started = Instant::now();
    assert!(runs.run(&repo, 42).await.unwrap().is_some());
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn hostile_github_answers_are_errors_not_verdicts() {
    let server = FakeServer::start(|request| {
        if request.path().ends_with("/runs/1") {
            Reply::json(200, r#"{"id": 2, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}"#)
        } else if request.path().ends_with("/runs/3") {
            Reply::json(200, r#"{"id": 3, "created_at": "yesterday", "updated_at": "today"}"#)
        } else {
            Reply::json(200, vec![b'x'; 9 * 1024 * 1024])
        }
    })
    .await;
    let runs = GithubRuns::new(&server.url, None, fast()).unwrap();
    let repo = RepositoryName::parse("octo-org/octo-repo").unwrap();
    for id in [1, 3] {
        let error = runs.run(&repo, id).await.unwrap_err();
        assert!(matches!(error, RemoteError::Invalid(..)), "{error}");
    }
    let error = runs.run(&repo, 5).await.unwrap_err();
    assert!(matches!(error, RemoteError::TooLarge(..)), "{error}");
}

#[tokio::test]
async fn a_stalled_answer_times_out() {
    let server =
        FakeServer::start(|_| Reply::Slow(Duration::from_secs(10), Box::new(Reply::status(200))))
            .await;
    let config = HttpConfig {
        timeout: Duration::from_millis(300),
        max_retries: 1,
        ..fast()
    };
    let registry = NpmRegistry::new(&server.url, config, 1 << 20).unwrap();
    let started = Instant::now();
    let error = registry
        .document(&npm_artifact("pkg"), &Validators::default())
        .await
        .unwrap_err();
    assert!(matches!(error, RemoteError::Unreachable(..)), "{error}");
    assert!(error.to_string().contains("timed out"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_names_where_it_pointed() {
    let elsewhere =
        FakeServer::start(|_| Reply::json(200, r#"{"name":"left-pad","versions":{}}"#)).await;
    let target = format!("{}/left-pad", elsewhere.url);
    let registry_server = FakeServer::start(move |request| match request.path() {
        // Within the origin: followed.
        "/moved" => Reply::status(301).with_header("location", "/moved-here"),
        "/moved-here" => Reply::json(200, r#"{"name":"moved","versions":{}}"#),
        // A loop within the origin: a permanent failure after a few hops.
        "/loop" => Reply::status(302).with_header("location", "/loop"),
        // Another origin (here another port; a metadata address alike): refused.
        _ => Reply::status(302).with_header("location", &target),
    })
    .await;
    let registry = NpmRegistry::new(&registry_server.url, fast(), 1 << 20).unwrap();
    let name = npm_artifact("left-pad");
    let error = registry
        .document(&name, &Validators::default())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, RemoteError::Invalid(..)), "{text}");
    assert!(
        text.contains("redirect to another origin refused"),
        "{text}"
    );
    assert!(text.contains("127.0.0.1"), "names the target: {text}");
    assert_eq!(elsewhere.requests().len(), 0, "nothing fetched from there");
    assert_eq!(registry_server.requests().len(), 1, "not retried");
    let error = registry
        .attestations(&version_of(&name, "1.0.0"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("another origin"), "{error}");
    assert_eq!(elsewhere.requests().len(), 0);

    let moved = npm_artifact("moved");
    assert!(matches!(
        registry
            .document(&moved, &Validators::default())
            .await
            .unwrap(),
        DocumentFetch::Modified { .. }
    ));
    registry_server.clear_log();
    let looping = npm_artifact("loop");
    let error = registry
        .document(&looping, &Validators::default())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("more than 3 redirects"),
        "{error}"
    );
    assert_eq!(
        registry_server.requests().len(),
        4,
        "one chain, never retried"
    );

    // GitHub too.
    let github = GithubRuns::new(&registry_server.url, None, fast()).unwrap();
    let repo = RepositoryName::parse("o/r").unwrap();
    let error = github.run(&repo, 1).await.unwrap_err();
    assert!(error.to_string().contains("another origin"), "{error}");
    assert_eq!(elsewhere.requests().len(), 0);
}

#[tokio::test]
async fn a_service_that_keeps_failing_is_not_asked_again_for_every_version() {
    let server = FakeServer::start(|_| Reply::status(503)).await;
    let registry = NpmRegistry::new(&server.url, fast(), 1 << 20).unwrap();
    let name = npm_artifact("pkg");
    let error = registry
        .attestations(&version_of(&name, "1.0.0"))
        .await
        .unwrap_err();
    assert_eq!(error, RemoteError::Status("registry", 503));
    assert_eq!(server.requests().len(), 3, "the first try and two retries");
    // The next versions fail at once, naming why, without a request or a backoff.
    let started = Instant::now();
    for version in ["1.0.1", "1.0.2", "1.0.3"] {
        let error = registry
            .attestations(&version_of(&name, version))
            .await
            .unwrap_err();
        assert!(matches!(error, RemoteError::Unreachable(..)), "{error}");
        assert!(error.to_string().contains("HTTP 503"), "{error}");
    }
    assert_eq!(server.requests().len(), 3);
    assert!(started.elapsed() < Duration::from_millis(100));
}

#[tokio::test]
async fn a_long_retry_after_holds_every_request_to_the_service() {
    // `Retry-After: 600` on attestations: one request, not four per version.
    let server = FakeServer::start(|_| Reply::status(429).with_header("retry-after", "600")).await;
    let registry = NpmRegistry::new(&server.url, fast(), 1 << 20).unwrap();
    let name = npm_artifact("pkg");
    let started = Instant::now();
    for version in ["1.0.0", "1.0.1", "1.0.2"] {
        let error = registry
            .attestations(&version_of(&name, version))
            .await
            .unwrap_err();
        assert!(
            matches!(error, RemoteError::RateLimited(_, 590..=600)),
            "{error}"
        );
    }
    assert_eq!(server.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// An npm artifact by name.
fn npm_artifact(name: &str) -> ArtifactRef {
    ArtifactRef {
        registry: RegistryType::Npm,
        name: name.to_owned(),
    }
}

/// The subject of one npm version (one file: no file name, no integrity needed to fetch).
fn version_of<'a>(artifact: &'a ArtifactRef, version: &'a str) -> Subject<'a> {
    Subject {
        artifact,
        version,
        file: None,
        integrity: None,
    }
}
