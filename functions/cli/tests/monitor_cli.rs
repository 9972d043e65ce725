//! `artifact-monitor check` and `serve` through the built binary, against the local fake
//! registry and GitHub API: output contracts, exit codes, restarts without re-alerting,
//! webhook delivery retried from the outbox, and a clean stop on Ctrl-C.

// Test helpers: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use artifact_monitor_tests::fake_http::{FakeServer, Reply};
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, manifest};
use artifact_monitor_tests::local_api::{self, listening_address};
use artifact_monitor_tests::world::sigstore_world;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const OTHER: &str = "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_artifact-monitor"));
    command
        .env_remove("GITHUB_TOKEN")
        .env_remove("ARTIFACT_MONITOR_WEBHOOK_URL");
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn check_command(npm: &FakeNpm, github: &FakeGithub, extra: &[&str]) -> Command {
    let mut command = binary();
    command.args([
        "check",
        "sigstore",
        "--repository",
        "sigstore/sigstore-js",
        "--workflow",
        ".github/workflows/release.yml",
        "--registry",
        npm.url(),
        "--github-api",
        github.url(),
    ]);
    command.args(extra);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_the_documented_json_and_exits_by_compliance() {
    let (npm, github) = sigstore_world().await;
    let output = run(check_command(&npm, &github, &["--json"])).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        value,
        json!({
            "artifact": {"type": "npm", "name": "sigstore"},
            "versions": [{
                "version": "2.3.1",
                "published_at": "2024-05-16T17:12:03Z",
                "compliance": "compliant",
                "confidence": "high",
                "reasons": ["provenance_verified", "run_verified"],
                "logs_url": "https://github.com/sigstore/sigstore-js/actions/runs/9116405766",
            }]
        })
    );

    // A later version without provenance: exit 1, and the table says why.
    npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.2", OTHER, false),
        "2024-05-17T10:00:00.000Z",
    );
    let output = run(check_command(&npm, &github, &[])).await;
    assert_eq!(output.status.code(), Some(1));
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.starts_with("VERSION"), "{table}");
    assert!(
        table.contains("2.3.2") && table.contains("provenance_dropped"),
        "{table}"
    );
    assert!(
        table.contains("\nsigstore: 2 version(s): 1 compliant, 1 non-compliant, 0 pending\n"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_how_many_versions_are_pending_and_why() {
    let (npm, github) = sigstore_world().await;
    npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.2", OTHER, false),
        "2024-05-17T10:00:00.000Z",
    );
    // GitHub answers nothing but errors: 2.3.1 waits for it; 2.3.2 dropped provenance,
    // which needs no GitHub to decide.
    let down = FakeServer::start(|_| Reply::status(503)).await;
    let command = check_command(&npm, &github, &[]);
    let args: Vec<String> = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut command = binary();
    for arg in args {
        command.arg(if arg == github.url() {
            down.url.clone()
        } else {
            arg
        });
    }
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(1));
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table.contains(
            "\nsigstore: 2 version(s): 0 compliant, 1 non-compliant, 1 pending (1 github_unavailable: not decided yet, judged again when the service answers)\n"
        ),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_usage_errors_exit_2() {
    let (npm, github) = sigstore_world().await;
    let mut bad_name = binary();
    bad_name.args([
        "check",
        "Not A Name",
        "--repository",
        "o/r",
        "--workflow",
        ".github/workflows/r.yml",
    ]);
    assert_eq!(run(bad_name).await.status.code(), Some(2));
    let mut no_policy = binary();
    no_policy.args(["check", "sigstore"]);
    assert_eq!(run(no_policy).await.status.code(), Some(2));
    let mut bad_workflow = check_command(&npm, &github, &[]);
    bad_workflow.args(["--workflow", "release.yml"]);
    assert_eq!(run(bad_workflow).await.status.code(), Some(2));
    let missing = check_offline(&npm, "no-such-package");
    let output = run(missing).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "a package the registry does not have is an error, not a pass"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("no package named no-such-package"));
    npm.create("empty-pkg", &["octocat"]);
    let empty = check_offline(&npm, "empty-pkg");
    let output = run(empty).await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "no version: nothing vouches for it"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no versions"));
}

/// `check NAME` against the fake registry, GitHub lookups off, with the o/r policy.
fn check_offline(npm: &FakeNpm, name: &str) -> Command {
    let mut command = binary();
    command.args([
        "check",
        name,
        "--repository",
        "o/r",
        "--workflow",
        ".github/workflows/r.yml",
        "--registry",
        npm.url(),
        "--no-github",
    ]);
    command
}

fn write_config(dir: &Path, npm: &FakeNpm, github: &FakeGithub) -> String {
    let config = format!(
        r#"
registry = "{}"
github_api = "{}"
interval_secs = 3600

[[artifacts]]
name = "sigstore"
repository = "sigstore/sigstore-js"
workflows = [".github/workflows/release.yml"]
"#,
        npm.url(),
        github.url()
    );
    let path = dir.join("monitor.toml");
    std::fs::write(&path, config).unwrap();
    path.to_str().unwrap().to_owned()
}

fn serve_once(config: &str, data: &Path, webhook: Option<&str>) -> Command {
    let mut command = binary();
    command.args([
        "serve",
        "--once",
        "--config",
        config,
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    if let Some(url) = webhook {
        command.env("ARTIFACT_MONITOR_WEBHOOK_URL", url);
    }
    command
}

fn alert_lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_alerts_once_across_restarts_and_retries_the_webhook_from_the_outbox() {
    let (npm, github) = sigstore_world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &npm, &github);
    let data = dir.path().join("data");
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let refuse = Arc::new(Mutex::new(true));
    let (r, f) = (Arc::clone(&received), Arc::clone(&refuse));
    let webhook = FakeServer::start(move |request| {
        if *f.lock().unwrap() {
            return Reply::status(400);
        }
        r.lock()
            .unwrap()
            .push(serde_json::from_slice(&request.body).unwrap());
        Reply::status(204)
    })
    .await;

    // First start: the backfill of a compliant package is quiet.
    let output = run(serve_once(&config, &data, Some(&webhook.url))).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(alert_lines(&output).is_empty());

    // A release without provenance: printed once; the webhook refuses it, so it stays queued.
    npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.2", OTHER, false),
        "2026-11-28T06:00:00.000Z",
    );
    let output = run(serve_once(&config, &data, Some(&webhook.url))).await;
    let alerts = alert_lines(&output);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["id"], "npm/sigstore@2.3.2#non_compliant");
    assert_eq!(alerts[0]["reasons"], json!(["provenance_dropped"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not delivered yet"), "{stderr}");
    assert!(
        !stderr.contains(&webhook.url),
        "the webhook URL is not logged: {stderr}"
    );
    assert!(received.lock().unwrap().is_empty());

    // Restart with the webhook accepting: delivered from the outbox, not printed again.
    *refuse.lock().unwrap() = false;
    let output = run(serve_once(&config, &data, Some(&webhook.url))).await;
    assert!(alert_lines(&output).is_empty(), "no re-alert on restart");
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["id"], "npm/sigstore@2.3.2#non_compliant");

    // And again: nothing new anywhere.
    let output = run(serve_once(&config, &data, Some(&webhook.url))).await;
    assert!(alert_lines(&output).is_empty());
    // Refused once by the tick's drain and once by the drain on exit, then accepted once.
    let statuses: Vec<u16> = webhook
        .requests()
        .into_iter()
        .map(|(_, status)| status)
        .collect();
    assert_eq!(statuses, [400, 400, 204]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_finds_a_publish_through_the_changes_feed_past_a_stale_cache() {
    let (npm, github) = sigstore_world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &npm, &github);
    let data = dir.path().join("data");
    let with_feed = |command: &mut Command| {
        command.args(["--changes-feed", &npm.feed_url()]);
    };
    let mut first = serve_once(&config, &data, None);
    with_feed(&mut first);
    let output = run(first).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("following the npm feed from its end"),
        "{stderr}"
    );

    // Published; plain reads keep getting the copy from before (a stale CDN).
    npm.serve_stale(1);
    npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.2", OTHER, false),
        "2026-11-28T06:00:00.000Z",
    );
    npm.server.clear_log();
    let mut second = serve_once(&config, &data, None);
    with_feed(&mut second);
    let output = run(second).await;
    let alerts = alert_lines(&output);
    assert_eq!(
        alerts.len(),
        1,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(alerts[0]["id"], "npm/sigstore@2.3.2#non_compliant");
    assert_eq!(npm.server.count(|r| r.target == "/sigstore?write=true"), 1);
    assert_eq!(npm.server.count(|r| r.path() == "/registry/_changes"), 1);

    // Sweep-only with a tiny budget still makes progress, and alerts nothing twice.
    let mut third = serve_once(&config, &data, None);
    third.args(["--no-changes-feed", "--registry-budget", "0.5"]);
    let output = run(third).await;
    assert!(output.status.success());
    assert!(alert_lines(&output).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_cleanly_on_ctrl_c() {
    let (npm, github) = sigstore_world().await;
    npm.publish(
        "sigstore",
        manifest("sigstore", "2.3.2", OTHER, false),
        "2024-05-17T10:00:00.000Z",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &npm, &github);
    let data = dir.path().join("data");
    let mut command = binary();
    command
        .args([
            "serve",
            "--config",
            &config,
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let token_file = data.join("api-token");
    let output = tokio::task::spawn_blocking(move || {
        use std::io::BufRead as _;
        let mut child = command.spawn().unwrap();
        // The start-up line says where the dashboard is; the API answers with the token.
        let stderr = child.stderr.take().unwrap();
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let log = std::thread::spawn(move || {
            let mut all = String::new();
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.unwrap();
                if let Some(address) = listening_address(&line) {
                    let _ = address_tx.send(address);
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let address = address_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap();
        let token = std::fs::read_to_string(&token_file).unwrap();
        let token = token.trim().to_owned();
        let health = local_api::get(&address, "/healthz", None);
        assert_eq!(health.0, 200, "{health:?}");
        let anonymous = local_api::get(&address, "/summary", None);
        assert_eq!(anonymous.0, 401, "{anonymous:?}");
        let summary = local_api::get(&address, "/summary", Some(&token));
        assert_eq!(summary.0, 200, "{summary:?}");
        assert!(summary.1.contains("\"total\":1"), "{summary:?}");
        // The backfill summary is printed at the end of the first tick.
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines.next().unwrap().unwrap();
        // The shell's own `kill`: no separate binary needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -INT {}", child.id())])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        (first, output, log.join().unwrap(), token)
    })
    .await
    .unwrap();
    let (first, output, stderr, token) = output;
    let alert: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(alert["kind"], "backfill");
    assert!(output.status.success());
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(
        stderr.contains("api-token"),
        "the start-up line names the token file"
    );
    assert!(!stderr.contains(&token), "the token is never logged");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(&token));

    // The store is intact and a restart does not alert again.
    let output = run(serve_once(&config, &data, None)).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(alert_lines(&output).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[artifacts]]\nname = \"sigstore\"\nrepository = \"sigstore/sigstore-js\"\nworkflows = [\".github/workflows/release.yml\"]\nallow_any_runner = true\n").unwrap();
    let mut command = binary();
    command.args(["serve", "--once", "--config", path.to_str().unwrap()]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("allow_any_runner"));

    // A broken line of 400 KB is named, not echoed whole.
    std::fs::write(&path, format!("registry = \"{}\n", "x".repeat(400_000))).unwrap();
    let mut command = binary();
    command.args(["serve", "--once", "--config", path.to_str().unwrap()]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stderr.len() < 4096, "{} bytes", output.stderr.len());
    assert!(String::from_utf8_lossy(&output.stderr).contains("characters in all"));

    // Numbers out of any sane range are refused with the setting named, not clamped; so
    // are a listen address that is not one and a byte budget one packument cannot fit.
    let artifact = "[[artifacts]]\nname = \"sigstore\"\nrepository = \"sigstore/sigstore-js\"\nworkflows = [\".github/workflows/release.yml\"]\n";
    for (setting, expected) in [
        (
            "timeout_secs = 9223372036854775807",
            ["timeout_secs", "out of range"].as_slice(),
        ),
        ("interval_secs = 0", &["interval_secs", "out of range"]),
        (
            "registry_requests_per_sec = 1e308",
            &["registry_requests_per_sec", "out of range"],
        ),
        (
            "max_packument_bytes = 1099511627776",
            &["max_packument_bytes", "out of range"],
        ),
        ("concurrency = 100000", &["concurrency", "out of range"]),
        ("max_bytes_in_flight = 1024", &["max_bytes_in_flight"]),
        ("listen = \"localhost\"", &["not an address"]),
        ("max_bytes_in_flight = 33554432", &["does not fit"]),
    ] {
        std::fs::write(&path, format!("{setting}\n{artifact}")).unwrap();
        let mut command = binary();
        command.args(["serve", "--once", "--config", path.to_str().unwrap()]);
        let output = run(command).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{setting}: {stderr}");
        for needle in expected {
            assert!(stderr.contains(needle), "{setting}: {stderr}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_json_lines_on_request_and_drops_artifacts_removed_from_the_config() {
    let (npm, github) = sigstore_world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &npm, &github);
    let data = dir.path().join("data");
    let mut first = serve_once(&config, &data, None);
    first.args(["--log-format", "json"]);
    let output = run(first).await;
    assert!(output.status.success());
    let lines: Vec<Value> = String::from_utf8(output.stderr)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let tick = lines
        .iter()
        .find(|l| l["message"].as_str().unwrap().contains("tick done"))
        .unwrap();
    assert!(tick["duration_ms"].is_u64(), "{tick}");
    assert!(
        lines
            .iter()
            .any(|l| l["artifact"] == "npm/sigstore" && l["backfill"] == true),
        "{lines:?}"
    );

    // The same store, a config without sigstore: it is no longer watched.
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("name = \"sigstore\"", "name = \"@sigstore/verify\""),
    )
    .unwrap();
    npm.create("@sigstore/verify", &["bdehamer"]);
    let output = run(serve_once(other.to_str().unwrap(), &data, None)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("npm/sigstore: no longer in the config file; no longer watched"),
        "{stderr}"
    );
    npm.server.clear_log();
    run(serve_once(other.to_str().unwrap(), &data, None)).await;
    assert_eq!(npm.packument_requests("sigstore"), Vec::<u16>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_escapes_control_characters_from_the_registry() {
    let npm = FakeNpm::start().await;
    npm.create("evil-pkg", &["mallory"]);
    let forged = "1.0.0\nFORGED 9.9.9  2026-01-01  compliant\u{1b}[2K";
    npm.publish(
        "evil-pkg",
        manifest("evil-pkg", forged, OTHER, false),
        "2026-11-28T06:00:00.000Z",
    );
    let check = check_offline(&npm, "evil-pkg");
    let output = run(check).await;
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.lines().all(|l| !l.starts_with("FORGED")),
        "no forged row: {stdout}"
    );
    assert!(!stdout.contains('\u{1b}'), "no terminal escape: {stdout:?}");
    assert!(stdout.contains("1.0.0\\u{a}FORGED"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_what_failed_for_a_version_it_could_not_judge() {
    let npm = FakeNpm::start().await;
    npm.create("big-pkg", &["octocat"]);
    npm.publish(
        "big-pkg",
        manifest("big-pkg", "1.0.0", OTHER, true),
        "2026-11-28T06:00:00.000Z",
    );
    // An attestations answer over the 4 MiB document limit.
    npm.attest("big-pkg", "1.0.0", vec![b' '; 5 * 1024 * 1024]);
    let output = run(check_offline(&npm, "big-pkg")).await;
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("registry_unavailable (the attestations the registry lists could not be read yet: registry response is larger than the 4194304-byte limit"),
        "{stdout}"
    );
    let mut json = check_offline(&npm, "big-pkg");
    json.arg("--json");
    let output = run(json).await;
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = &value["versions"][0];
    assert_eq!(row["compliance"], "pending");
    assert_eq!(row["reasons"], json!(["registry_unavailable"]));
    assert!(
        row["error"]
            .as_str()
            .unwrap()
            .ends_with("registry response is larger than the 4194304-byte limit"),
        "{row}"
    );
}
