//! Publish-to-alert harness: the real `artifact-monitor serve` (its changes feed, its paced
//! sweep, its default request budget) against the local fake registry, feed and GitHub API.
//! Versions without provenance are published at random moments on random watched packages;
//! the time from each publish to its alert line on `serve`'s stdout is measured, and every
//! request the registry receives is counted.
//!
//! ```text
//! cargo build --release --locked -p artifact-monitor-cli
//! cargo bench -p artifact-monitor-tests --bench publish_to_alert -- \
//!     [--packages 10000] [--publishes 20] [--spread 600] [--interval 60]
//! ```
//!
//! The watched packages are read once first with no budget (`serve --once`), as a long
//! running monitor would already have them; the measured run then starts from that store.

#![allow(clippy::unwrap_used)]

use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, manifest};
use artifact_monitor_tests::world::OTHER_INTEGRITY;
use std::collections::HashMap;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    packages: usize,
    publishes: usize,
    spread: u64,
    interval: u64,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    Options {
        packages: value("--packages", 10_000) as usize,
        publishes: value("--publishes", 20) as usize,
        spread: value("--spread", 600),
        interval: value("--interval", 60),
    }
}

fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("ARTIFACT_MONITOR_BIN") {
        return PathBuf::from(path);
    }
    // target/release/deps/<this> → target/release/artifact-monitor
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("artifact-monitor");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release --locked -p artifact-monitor-cli` first",
        path.display()
    );
    path
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(options));
}

async fn run(o: Options) {
    let npm = FakeNpm::start().await;
    let github = FakeGithub::start().await;
    let names: Vec<String> = (0..o.packages).map(|i| format!("pkg-{i:05}")).collect();
    let mut config = format!(
        "registry = \"{}\"\ngithub_api = \"{}\"\nchanges_feed_url = \"{}\"\ninterval_secs = {}\n",
        npm.url(),
        github.url(),
        npm.feed_url(),
        o.interval
    );
    for name in &names {
        npm.create(name, &["owner"]);
        npm.publish(
            name,
            manifest(name, "1.0.0", OTHER_INTEGRITY, false),
            "2026-01-01T00:00:00.000Z",
        );
        config.push_str(&format!(
            "[[artifacts]]\nname = \"{name}\"\nrepository = \"octo-org/octo-repo\"\nworkflows = [\".github/workflows/release.yml\"]\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("monitor.toml");
    std::fs::write(&config_path, config).unwrap();
    let data = dir.path().join("data");
    let serve = |extra: &[&str]| {
        let mut command = Command::new(binary());
        command
            .args([
                "serve",
                "--config",
                config_path.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env_remove("GITHUB_TOKEN")
            .env_remove("ARTIFACT_MONITOR_WEBHOOK_URL");
        command
    };

    let started = Instant::now();
    let mut prepare = serve(&["--once", "--registry-budget", "0"]);
    let status = tokio::task::spawn_blocking(move || {
        prepare.stdout(Stdio::null()).stderr(Stdio::null()).status()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success());
    println!("watched packages          {}", o.packages);
    println!(
        "first read of all (no budget) {:.0} s",
        started.elapsed().as_secs_f64()
    );

    npm.server.clear_log();
    let mut child = serve(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Publishing starts once serve has started and finished its first tick, as a monitor
    // that has been running for a while would have. `BENCH_SERVE_LOG=1` shows its log.
    let stderr = child.stderr.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let show = std::env::var_os("BENCH_SERVE_LOG").is_some();
        let mut ready = Some(ready_tx);
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if show {
                eprintln!("{line}");
            }
            if line.contains("tick done")
                && let Some(ready) = ready.take()
            {
                let _ = ready.send(());
            }
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(600)).unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<(Instant, String)>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let measured_from = Instant::now();

    // Publish at random moments over the spread, each on a different package.
    let mut offsets: Vec<u64> = (0..o.publishes)
        .map(|_| fastrand::u64(0..o.spread * 1000))
        .collect();
    offsets.sort_unstable();
    let mut published: HashMap<String, Instant> = HashMap::new();
    let step = (o.packages / o.publishes.max(1)).max(1);
    for (i, offset) in offsets.iter().enumerate() {
        let due = measured_from + Duration::from_millis(*offset);
        tokio::time::sleep_until(due.into()).await;
        let name = &names[(i * step + fastrand::usize(0..step)) % o.packages];
        let at = jiff::Timestamp::now().to_string();
        npm.publish(name, manifest(name, "1.1.0", OTHER_INTEGRITY, false), &at);
        published.insert(format!("npm/{name}@1.1.0#non_compliant"), Instant::now());
    }
    let deadline = Instant::now() + Duration::from_secs(o.interval * 2 + 30);
    let mut latencies = Vec::new();
    while latencies.len() < published.len() && Instant::now() < deadline {
        let Ok((at, line)) = lines_rx.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        let alert: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(when) = alert["id"].as_str().and_then(|id| published.get(id)) {
            latencies.push(at.duration_since(*when).as_secs_f64());
        }
    }
    let elapsed_h = measured_from.elapsed().as_secs_f64() / 3600.0;
    let requests = npm.server.requests();
    // The shell's own `kill`: no separate binary needed.
    Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    child.wait().unwrap();

    latencies.sort_by(f64::total_cmp);
    println!("tick interval             {} s", o.interval);
    println!(
        "publishes                 {} over {} s, alerted {}",
        published.len(),
        o.spread,
        latencies.len()
    );
    if !latencies.is_empty() {
        println!(
            "publish to alert          p50 {:.1} s, p95 {:.1} s, max {:.1} s",
            percentile(&latencies, 50.0),
            percentile(&latencies, 95.0),
            latencies[latencies.len() - 1]
        );
    }
    let count =
        |f: &dyn Fn(&str) -> bool| requests.iter().filter(|(r, _)| f(&r.target)).count() as f64;
    let feed = count(&|t| t.starts_with("/registry"));
    let fresh = count(&|t| t.ends_with("?write=true"));
    let attestations = count(&|t| t.starts_with("/-/"));
    let sweep = requests.len() as f64 - feed - fresh - attestations;
    let per_hour = |n: f64| n / elapsed_h;
    println!("measured for              {:.0} s", elapsed_h * 3600.0);
    println!(
        "registry requests/hour    {:.0} in all",
        per_hour(requests.len() as f64)
    );
    println!("  changes feed            {:.0}/h", per_hour(feed));
    println!("  sweep (conditional)     {:.0}/h", per_hour(sweep));
    println!("  fresh reads (feed hits) {:.0}/h", per_hour(fresh));
    println!("  attestations            {:.0}/h", per_hour(attestations));
    let per_publish = if published.is_empty() {
        0.0
    } else {
        fresh / published.len() as f64
    };
    println!(
        "at 10 publishes an hour   {:.0} requests/hour (feed + sweep + {:.1} per publish)",
        per_hour(feed) + per_hour(sweep) + 10.0 * per_publish,
        per_publish
    );
}
