//! Load harness for the HTTP API on the real `serve`: an embedded store seeded with 10,000
//! artifacts and 200,000 versions, then, per endpoint, a fixed number of requests at a fixed
//! concurrency over loopback (`/summary`, a page of `/artifacts` from the middle of the list,
//! a page of one artifact's versions). Reports requests per second and the p50/p99/max
//! latency. The client shares the machine with the server, so the figures are a floor: the
//! load comes from `wrk` (Debian's package, a light C client: one thread, `CONCURRENCY`
//! connections, 10 s per endpoint) when it is installed, else from a client in this harness
//! (reqwest, `REQUESTS` requests per endpoint), which takes a larger share of the CPU.
//!
//! `apt-get install wrk && cargo build --release --locked -p artifact-monitor-cli &&
//!  cargo bench -p artifact-monitor-tests --bench api_load [-- ARTIFACTS VERSIONS_EACH CONCURRENCY REQUESTS]`
//!
//! Seeding writes every version through the store's own `record` (one durable transaction
//! each) and is kept in `target/api-load-<artifacts>x<versions>/` for the next run.

#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::Compliance;
use artifact_monitor_core::ports::{ArtifactStore, VerdictStore};
use artifact_monitor_embedded::RedbStore;
use artifact_monitor_tests::store_contract::{record, record_with, verdict, watched};
use futures_util::StreamExt as _;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "load-test-token-0123456789-abcdefghijklmnopqrstuvwxyz";

fn binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/artifact-monitor");
    assert!(
        path.exists(),
        "build it first: cargo build --release --locked -p artifact-monitor-cli"
    );
    path
}

fn name(i: usize) -> String {
    format!("load-pkg-{i:05}")
}

async fn seed(dir: &std::path::Path, artifacts: usize, versions: usize) {
    let marker = dir.join("seeded");
    if marker.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let store = RedbStore::open(&dir.join("monitor.redb")).unwrap();
    let started = Instant::now();
    let kinds = [
        verdict(
            Compliance::Compliant,
            &["provenance_verified", "run_verified"],
        ),
        verdict(Compliance::NonCompliant, &["no_provenance", "no_run"]),
        verdict(Compliance::Pending, &["github_unavailable"]),
    ];
    for i in 0..artifacts {
        let key = format!("npm/{}", name(i));
        store.put_artifact(&watched(&name(i))).await.unwrap();
        for v in 0..versions {
            // Mostly compliant; one artifact in ten has a non-compliant version, one in
            // twenty a pending one.
            let kind = match (i % 10, i % 20, v) {
                (0, _, 0) => &kinds[1],
                (_, 5, 1) => &kinds[2],
                _ => &kinds[0],
            };
            let at = 1_700_000_000 + (i * versions + v) as i64 * 60;
            let version = format!("1.{}.{v}", i % 7);
            record_with(&store, &key, &record(&version, kind.clone(), at), None, at).await;
        }
        if i % 1000 == 999 {
            eprintln!(
                "seeded {} artifacts, {} versions ({:.0} s)",
                i + 1,
                (i + 1) * versions,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let summary = store.summary().await.unwrap();
    let sample = store
        .versions_page(&format!("npm/{}", name(0)), None, 5)
        .await
        .unwrap();
    assert_eq!(summary.total, artifacts as u64);
    assert_eq!(sample.items.len(), versions.min(5));
    drop(store);
    std::fs::write(marker, "").unwrap();
}

struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    errors: usize,
}

async fn load(client: &reqwest::Client, url: &str, concurrency: usize, requests: usize) -> Figures {
    let one = |client: reqwest::Client, url: String| async move {
        let started = Instant::now();
        let ok = match client.get(&url).bearer_auth(TOKEN).send().await {
            Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
            Err(_) => false,
        };
        (started.elapsed(), ok)
    };
    // Warm-up: connections opened, caches filled.
    futures_util::stream::iter(0..concurrency * 2)
        .map(|_| one(client.clone(), url.to_owned()))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let started = Instant::now();
    let mut results: Vec<(Duration, bool)> = futures_util::stream::iter(0..requests)
        .map(|_| one(client.clone(), url.to_owned()))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    results.sort_by_key(|(d, _)| *d);
    let at = |q: f64| results[((results.len() as f64 * q) as usize).min(results.len() - 1)].0;
    Figures {
        rps: requests as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        max: results.last().unwrap().0,
        errors: results.iter().filter(|(_, ok)| !ok).count(),
    }
}

/// A latency as wrk prints it (`850.00us`, `4.71ms`, `1.20s`).
fn wrk_duration(text: &str) -> Duration {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        (text, 1.0)
    };
    Duration::from_secs_f64(number.parse::<f64>().unwrap_or(0.0) * scale)
}

/// The same figures from `wrk --latency` (its max is the latency table's).
fn wrk(url: &str, concurrency: usize) -> Option<Figures> {
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{concurrency}"), "-d10s", "--latency"])
        .args(["-H", &format!("Authorization: Bearer {TOKEN}"), url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_owned)
    };
    let max = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Latency"))
        .and_then(|l| l.split_whitespace().nth(3))
        .map(wrk_duration)?;
    let errors = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Non-2xx"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Some(Figures {
        rps: field("Requests/sec:")?.parse().ok()?,
        p50: wrk_duration(&field("50%")?),
        p99: wrk_duration(&field("99%")?),
        max,
        errors,
    })
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let artifacts = args.first().copied().unwrap_or(10_000);
    let versions = args.get(1).copied().unwrap_or(20);
    let concurrency = args.get(2).copied().unwrap_or(200);
    let requests = args.get(3).copied().unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let data = root.join(format!("target/api-load-{artifacts}x{versions}"));
        seed(&data, artifacts, versions).await;
        let work = tempfile::tempdir().unwrap();
        let config = work.path().join("monitor.toml");
        std::fs::write(&config, "changes_feed = false\ngithub = false\ninterval_secs = 86400\nregistry = \"http://127.0.0.1:9\"\n").unwrap();
        let mut child = Command::new(binary())
            .args(["serve", "--config", config.to_str().unwrap(), "--data-dir"])
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"])
            .env("ARTIFACT_MONITOR_API_TOKEN", TOKEN)
            .env_remove("GITHUB_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = artifact_monitor_tests::local_api::listening_address(&line) {
                    let _ = tx.send(address);
                }
            }
        });
        let address = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        // Let the first tick (a few failing reads: the registry is unreachable) pass.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()
            .unwrap();
        let middle = artifact_monitor_api::cursor::encode(
            "artifacts",
            &format!("npm/{}", name(artifacts / 2)),
        );
        let endpoints = [
            ("/summary", "/summary".to_owned()),
            ("/artifacts?limit=50 (mid-list)", format!("/artifacts?limit=50&cursor={middle}")),
            (
                "/artifacts/{type}/{name}/versions?limit=50",
                format!("/artifacts/npm/{}/versions?limit=50", name(artifacts / 3)),
            ),
        ];
        let with_wrk = Command::new("wrk").arg("--version").output().is_ok();
        println!(
            "{artifacts} artifacts, {} versions; {concurrency} concurrent; load from {}",
            artifacts * versions,
            if with_wrk {
                "wrk, 10 s per endpoint".to_owned()
            } else {
                format!("the harness's client, {requests} requests per endpoint")
            }
        );
        println!("| endpoint | requests/s | p50 | p99 | max | errors |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for (label, path) in endpoints {
            let url = format!("http://{address}{path}");
            let f = match with_wrk.then(|| wrk(&url, concurrency)).flatten() {
                Some(f) => f,
                None => load(&client, &url, concurrency, requests).await,
            };
            println!(
                "| `{label}` | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
                f.rps,
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0,
                f.max.as_secs_f64() * 1000.0,
                f.errors
            );
        }
        let _ = child.kill();
        let _ = child.wait();
    });
}
