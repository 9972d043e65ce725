//! The dashboard in headless Chromium (Debian's `chromium`, driven by `playwright-core`
//! from `tests/browser/`), against the real `serve` on loopback, seeded from the local fake
//! registry and GitHub with a compliant, a non-compliant and a pending artifact. What the
//! browser shows is compared with what the API answers; screenshots of the list, a detail
//! view and the list on a phone are written to `target/tmp/dashboard/`.
//!
//! `bash scripts/test.sh` installs Chromium (apt-get) and playwright-core (npm ci) first;
//! run alone, this test needs both and says so when they are missing.

#![allow(clippy::unwrap_used)]

use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, manifest};
use artifact_monitor_tests::local_api;
use artifact_monitor_tests::world::sigstore_world;
use serde_json::{Value, json};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const OTHER: &str = "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

/// A GET with the token: the status and the JSON body.
fn api(address: &str, token: &str, path: &str) -> (u16, Value) {
    let (status, body) = local_api::get(address, path, Some(token));
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// `(version, compliance)` of a list of versions.
fn version_compliance(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().to_owned(),
                v["compliance"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn world() -> (FakeNpm, FakeGithub) {
    // Compliant: sigstore 2.3.1, its real attestations and the run that built it.
    let (npm, github) = sigstore_world().await;
    // Non-compliant: two versions published by hand (no provenance, no run).
    npm.create("@octo/rogue", &["mallory"]);
    for (version, at) in [
        ("1.0.0", "2026-11-20T09:00:00.000Z"),
        ("1.0.1", "2026-11-21T09:00:00.000Z"),
    ] {
        npm.publish(
            "@octo/rogue",
            manifest("@octo/rogue", version, OTHER, false),
            at,
        );
    }
    // Pending: more runs building its commit at the publish time than are checked.
    npm.create("busy-pkg", &["octocat"]);
    let mut busy = manifest("busy-pkg", "3.0.0", OTHER, false);
    busy["gitHead"] = json!("0000000000000000000000000000000000000000");
    npm.publish("busy-pkg", busy, "2026-11-25T12:00:00.000Z");
    for id in 0..25 {
        github.add_run(
            7_000 + id,
            "octo-org/busy-repo",
            ".github/workflows/release.yml",
            "0000000000000000000000000000000000000000",
            "main",
            "2026-11-25T11:55:00Z",
            "2026-11-25T12:05:00Z",
            &["ubuntu-latest"],
        );
    }
    (npm, github)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_what_the_api_says_in_a_real_browser() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: `bash scripts/test.sh` installs Debian's chromium"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: `bash scripts/test.sh` runs `npm ci` in tests/browser"
    );
    let (npm, github) = world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"registry = "{}"
github_api = "{}"
changes_feed = false
registry_requests_per_sec = 0
interval_secs = 3600

[[artifacts]]
name = "sigstore"
repository = "sigstore/sigstore-js"
workflows = [".github/workflows/release.yml"]

[[artifacts]]
name = "@octo/rogue"
repository = "octo-org/octo-repo"
workflows = [".github/workflows/release.yml"]

[[artifacts]]
name = "busy-pkg"
repository = "octo-org/busy-repo"
workflows = [".github/workflows/release.yml"]
"#,
        npm.url(),
        github.url()
    );
    let config_path = dir.path().join("monitor.toml");
    std::fs::write(&config_path, config).unwrap();
    let data = dir.path().join("data");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");

    let mut command = Command::new(env!("CARGO_BIN_EXE_artifact-monitor"));
    command
        .env_remove("GITHUB_TOKEN")
        .env_remove("ARTIFACT_MONITOR_API_TOKEN")
        .args([
            "serve",
            "--config",
            config_path.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let browser = browser_dir();
    let token_file = data.join("api-token");
    let seen = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(address) = local_api::listening_address(&line) {
                    let _ = tx.send(address);
                }
            }
        });
        let address = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        let token = std::fs::read_to_string(&token_file)
            .unwrap()
            .trim()
            .to_owned();
        // Wait for the first tick: every artifact's existing versions judged.
        let started = Instant::now();
        loop {
            let (status, page) = api(&address, &token, "/artifacts");
            assert_eq!(status, 200, "{page}");
            let done = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["backfill"]["complete"] == json!(true));
            if done {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "{page}");
            std::thread::sleep(Duration::from_millis(200));
        }
        let summary = api(&address, &token, "/summary").1;
        let artifacts = api(&address, &token, "/artifacts").1;
        let versions = api(&address, &token, "/artifacts/npm/%40octo%2Frogue/versions").1;
        let output = Command::new("node")
            .arg(browser.join("dashboard.mjs"))
            .env("BASE_URL", format!("http://{address}"))
            .env("API_TOKEN", &token)
            .env("OUT_DIR", &out)
            .env("DETAIL", "npm/@octo/rogue")
            .env("CHROMIUM", &chromium)
            .output()
            .unwrap();
        let added = api(&address, &token, "/artifacts/npm/new-pkg");
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            output.status.success(),
            "the browser script failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
        (seen, summary, artifacts, versions, added, address, out)
    })
    .await
    .unwrap();
    let (seen, summary, artifacts, versions, added, address, out) = seen;

    // The three kinds of artifact are there, as seeded.
    assert_eq!(
        summary,
        json!({"total": 3, "compliant": 1, "non_compliant": 1, "pending": 1})
    );
    // Sign-in went through the form; a wrong token was refused at the field.
    assert!(
        seen["login_url"].as_str().unwrap().contains("/login?next="),
        "{seen}"
    );
    assert!(seen["login_error"].as_str().unwrap().contains("not valid"));
    // The top metrics and every ring equal what the API returns.
    for metric in ["total", "compliant", "non_compliant", "pending"] {
        assert_eq!(seen["metrics"][metric], summary[metric], "{metric}");
    }
    let rows = seen["rows"].as_array().unwrap();
    let items = artifacts["items"].as_array().unwrap();
    assert_eq!(rows.len(), items.len());
    for (row, item) in rows.iter().zip(items) {
        let key = format!(
            "{}/{}",
            item["type"].as_str().unwrap(),
            item["name"].as_str().unwrap()
        );
        assert_eq!(row["artifact"], json!(key));
        for count in ["total", "compliant", "non_compliant", "pending"] {
            assert_eq!(row["ring"][count], item["versions"][count], "{key} {count}");
        }
        assert_eq!(row["ring"]["centre"], item["versions"]["total"]);
        assert!(row["ring"]["label"].as_str().unwrap().contains("versions"));
        assert_eq!(
            row["warning"],
            json!(item["compliance"] == "non_compliant"),
            "{key}"
        );
        let cells = row["cells"].as_array().unwrap();
        assert!(
            cells[1]
                .as_str()
                .unwrap()
                .contains(".github/workflows/release.yml")
        );
        assert_eq!(cells[2], "npm");
    }
    // The detail view lists every version with the API's compliance, and expands.
    let shown = version_compliance(&seen["versions"]);
    let expected = version_compliance(&versions["items"]);
    assert_eq!(shown, expected);
    assert_eq!(shown.len(), 2);
    assert!(
        seen["versions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["badge"] == "Non-compliant")
    );
    assert_eq!(seen["expanded"], true);
    assert!(!seen["explanations"].as_str().unwrap().is_empty());
    // The add form: the bad name's error at its field, then the artifact added.
    assert!(!seen["name_error"].as_str().unwrap().is_empty(), "{seen}");
    assert_eq!(seen["name_invalid"], "true");
    assert!(
        seen["added_url"]
            .as_str()
            .unwrap()
            .ends_with("/view/npm/new-pkg")
    );
    assert_eq!(added.0, 200, "{}", added.1);
    // Every control is reached with the keyboard.
    assert_eq!(
        seen["keyboard"]["reached"], seen["keyboard"]["controls"],
        "{seen}"
    );
    assert!(seen["keyboard"]["controls"].as_u64().unwrap() >= 10);
    // Nothing is fetched from anywhere but the monitor; readable on a phone.
    for url in seen["requests"].as_array().unwrap() {
        assert!(
            url.as_str()
                .unwrap()
                .starts_with(&format!("http://{address}/")),
            "{url}"
        );
    }
    assert_eq!(seen["phone_overflow"], false);
    for file in ["dashboard.png", "detail.png", "dashboard-phone.png"] {
        let size = std::fs::metadata(out.join(file)).unwrap().len();
        assert!(size > 10_000, "{file}: {size} bytes");
    }
}
