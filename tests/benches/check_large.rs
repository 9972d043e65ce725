//! Large-package harness: the real `artifact-monitor check --no-github --json` of a package
//! with 200,000 versions (a packument of some 70 MB: each version with a dist, a
//! publisher and a few dependencies), served by a local registry. Reports the wall time of
//! the whole check, which must grow about linearly with the number of versions.
//!
//! `cargo build --release --locked -p artifact-monitor-cli &&
//!  cargo bench -p artifact-monitor-tests --bench check_large [-- VERSIONS]`

#![allow(clippy::unwrap_used)]

use artifact_monitor_tests::fake_http::{FakeServer, Reply};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

fn build(versions: usize) -> Vec<u8> {
    let mut version_map = Map::new();
    let mut time = Map::new();
    time.insert("created".into(), json!("2015-01-01T00:00:00.000Z"));
    for i in 0..versions {
        let v = format!("{}.{}.{}", i / 10_000, (i / 100) % 100, i % 100);
        let at = jiff::Timestamp::from_second(1_420_070_400 + i as i64 * 600).unwrap();
        version_map.insert(
            v.clone(),
            json!({
                "name": "huge-package",
                "version": v,
                "dependencies": {"left-pad": "^1.3.0", "chalk": "^5.0.0", "debug": "^4.3.0"},
                "scripts": {"test": "vitest run"},
                "gitHead": format!("{i:040x}"),
                "_npmUser": {"name": "octocat", "email": "octocat@example.com"},
                "dist": {
                    "integrity": "sha512-8G+/XDU8wNsJOQS5ysDVO0Etg9/2uA5gR9l4ZwijjlwxBcrU6RPfwi2+jJmbP+Ap1Hlp/nVAaEO4Fj22/SL2gQ==",
                    "shasum": "0000000000000000000000000000000000000000",
                    "tarball": format!("https://registry.npmjs.org/huge-package/-/huge-package-{v}.tgz"),
                },
            }),
        );
        time.insert(v, json!(at.to_string()));
    }
    let doc = json!({
        "name": "huge-package",
        "dist-tags": {"latest": "0.0.0"},
        "maintainers": [{"name": "octocat", "email": "octocat@example.com"}],
        "time": Value::Object(time),
        "versions": Value::Object(version_map),
    });
    serde_json::to_vec(&doc).unwrap()
}

fn binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("target/release/artifact-monitor");
    assert!(
        path.exists(),
        "build it first: cargo build --release --locked -p artifact-monitor-cli"
    );
    path
}

fn main() {
    let versions: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let body = Arc::new(build(versions));
    println!(
        "packument                 {versions} versions, {:.1} MiB",
        body.len() as f64 / (1 << 20) as f64
    );
    let served = Arc::clone(&body);
    let server = runtime.block_on(FakeServer::start(move |request| {
        if request.path() == "/huge-package" {
            Reply::json(200, served.as_ref().clone())
        } else {
            Reply::status(404)
        }
    }));
    let started = Instant::now();
    let output = Command::new(binary())
        .args([
            "check",
            "huge-package",
            "--repository",
            "octo-org/huge-package",
            "--workflow",
            ".github/workflows/release.yml",
            "--registry",
            &server.url,
            "--no-github",
            "--json",
        ])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let judged = report["versions"].as_array().map_or(0, Vec::len);
    assert_eq!(
        judged,
        versions,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "check --no-github         {:.2} s for {judged} versions (exit {:?})",
        elapsed.as_secs_f64(),
        output.status.code()
    );
}
