//! Publish-to-alert harness: the real `artifact-monitor serve` (its feeds, its paced sweep,
//! its default request budget) against the local fake registry (npm's, with its changes
//! feed, or with `--type pypi` the package index with its RSS) and GitHub API. Versions
//! without provenance are published at random moments on random watched artifacts; the time
//! from each publish to its alert line on `serve`'s stdout is measured, and every request
//! the registry receives is counted.
//!
//! ```text
//! cargo build --release --locked -p artifact-monitor-cli
//! cargo bench -p artifact-monitor-tests --bench publish_to_alert -- \
//!     [--type npm|pypi] [--packages 10000] [--publishes 20] [--spread 600] [--interval 60] \
//!     [--hold SECS]
//! ```
//!
//! The watched artifacts are read once first with no budget (`serve --once`), as a long
//! running monitor would already have them; the measured run then starts from that store and
//! lasts at least `--hold` seconds (the sweep's next round starts an hour after the first
//! when the feeds cover every watched type: hold past it to count a round). With
//! `--type pypi` other projects release every 5 seconds meanwhile, as on the public index,
//! so the RSS moves on as it does there.

#![allow(clippy::unwrap_used)]

use artifact_monitor_tests::fake_pypi::FakePypi;
use artifact_monitor_tests::fakes::{FakeGithub, FakeNpm, manifest};
use artifact_monitor_tests::world::OTHER_INTEGRITY;
use std::collections::HashMap;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    pypi: bool,
    hold: u64,
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
    let pypi = match args.iter().position(|a| a == "--type") {
        None => false,
        Some(i) => match args.get(i + 1).map(String::as_str) {
            Some("npm") => false,
            Some("pypi") => true,
            other => panic!("--type {other:?}: npm or pypi"),
        },
    };
    Options {
        pypi,
        hold: value("--hold", 0),
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
    if options.pypi {
        runtime.block_on(run_pypi(options));
    } else {
        runtime.block_on(run(options));
    }
}

/// A measured `serve` run over `config`: `publish(name)` publishes on the named artifact
/// and returns the id its alert will have.
struct Measured {
    published: usize,
    /// The measured time, in hours.
    elapsed_h: f64,
}

fn serve_command(config: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env_remove("GITHUB_TOKEN")
        .env_remove("ARTIFACT_MONITOR_WEBHOOK_URL");
    command
}

/// Reads every artifact of `config` once with no budget, then runs `serve` from that store,
/// publishes `o.publishes` times over `o.spread` seconds through `publish`, and times each
/// alert line; `clear` runs when the measured part starts (to reset request logs).
async fn measure(
    o: &Options,
    config: String,
    names: &[String],
    clear: impl FnOnce(),
    mut publish: impl FnMut(&str) -> String,
) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("monitor.toml");
    std::fs::write(&config_path, config).unwrap();
    let data = dir.path().join("data");

    let started = Instant::now();
    let mut prepare = serve_command(&config_path, &data, &["--once", "--registry-budget", "0"]);
    let status = tokio::task::spawn_blocking(move || {
        prepare.stdout(Stdio::null()).stderr(Stdio::null()).status()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success());
    println!("watched artifacts         {}", o.packages);
    println!(
        "first read of all (no budget) {:.0} s",
        started.elapsed().as_secs_f64()
    );

    clear();
    let mut child = serve_command(&config_path, &data, &[])
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

    // Publish at random moments over the spread, each on a different artifact.
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
        let id = publish(name);
        published.insert(id, Instant::now());
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
    let hold_until = measured_from + Duration::from_secs(o.hold);
    if Instant::now() < hold_until {
        tokio::time::sleep_until(hold_until.into()).await;
    }
    let elapsed_h = measured_from.elapsed().as_secs_f64() / 3600.0;
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
    println!("measured for              {:.0} s", elapsed_h * 3600.0);
    Measured {
        published: published.len(),
        elapsed_h,
    }
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
    let measured = measure(
        &o,
        config,
        &names,
        || npm.server.clear_log(),
        |name| {
            let at = jiff::Timestamp::now().to_string();
            npm.publish(name, manifest(name, "1.1.0", OTHER_INTEGRITY, false), &at);
            format!("npm/{name}@1.1.0#non_compliant")
        },
    )
    .await;
    let requests = npm.server.requests();
    let count =
        |f: &dyn Fn(&str) -> bool| requests.iter().filter(|(r, _)| f(&r.target)).count() as f64;
    let feed = count(&|t| t.starts_with("/registry"));
    let fresh = count(&|t| t.ends_with("?write=true"));
    let attestations = count(&|t| t.starts_with("/-/"));
    let sweep = requests.len() as f64 - feed - fresh - attestations;
    let per_hour = |n: f64| n / measured.elapsed_h;
    println!(
        "registry requests/hour    {:.0} in all",
        per_hour(requests.len() as f64)
    );
    println!("  changes feed            {:.0}/h", per_hour(feed));
    println!("  sweep (conditional)     {:.0}/h", per_hour(sweep));
    println!("  fresh reads (feed hits) {:.0}/h", per_hour(fresh));
    println!("  attestations            {:.0}/h", per_hour(attestations));
    let per_publish = if measured.published == 0 {
        0.0
    } else {
        fresh / measured.published as f64
    };
    println!(
        "at 10 publishes an hour   {:.0} requests/hour (feed + sweep + {:.1} per publish)",
        per_hour(feed) + per_hour(sweep) + 10.0 * per_publish,
        per_publish
    );
}

/// The same over the package index: `--packages` PyPI projects with one release each,
/// rogue uploads (an sdist, no provenance) of a new release, other projects releasing every
/// 5 seconds meanwhile.
async fn run_pypi(o: Options) {
    let index = std::sync::Arc::new(FakePypi::start().await);
    let github = FakeGithub::start().await;
    let names: Vec<String> = (0..o.packages).map(|i| format!("proj-{i:05}")).collect();
    let mut config = format!(
        "index = \"{}\"\ngithub_api = \"{}\"\nchanges_feed = false\ninterval_secs = {}\n",
        index.url(),
        github.url(),
        o.interval
    );
    // Their releases a year ago, a minute apart.
    let year_ago = jiff::Timestamp::now().as_second() - 365 * 24 * 3600;
    for (i, name) in names.iter().enumerate() {
        index.create(name);
        let at = jiff::Timestamp::from_second(year_ago + 60 * i as i64).unwrap();
        index.upload(
            name,
            "1.0",
            &format!("{name}-1.0.tar.gz"),
            &format!("{:064x}", i + 1),
            &at.to_string(),
            None,
        );
        config.push_str(&format!(
            "[[artifacts]]\ntype = \"pypi\"\nname = \"{name}\"\nrepository = \"octo-org/{name}\"\nworkflows = [\".github/workflows/release.yml\"]\n"
        ));
    }
    // The rest of the index keeps releasing.
    let noise = std::sync::Arc::clone(&index);
    let releasing = tokio::spawn(async move {
        for n in 0u64.. {
            let name = format!("other-{n:06}");
            noise.create(&name);
            let at = jiff::Timestamp::now().to_string();
            noise.upload(
                &name,
                "1.0",
                &format!("{name}-1.0.tar.gz"),
                &format!("{:064x}", n + 1_000_000),
                &at,
                None,
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    let measured = measure(
        &o,
        config,
        &names,
        || index.server.clear_log(),
        |name| {
            let at = jiff::Timestamp::now().to_string();
            index.upload(
                name,
                "1.1",
                &format!("{name}-1.1.tar.gz"),
                &format!("{:064x}", fastrand::u64(..)),
                &at,
                None,
            );
            format!("pypi/{name}@1.1#non_compliant")
        },
    )
    .await;
    releasing.abort();
    let requests = index.server.requests();
    let count = |f: &dyn Fn(&artifact_monitor_tests::fake_http::Request) -> bool| {
        requests.iter().filter(|(r, _)| f(r)).count() as f64
    };
    let rss = count(&|r| r.path().starts_with("/rss/"));
    let fresh = count(&|r| {
        r.path().starts_with("/simple/") && r.header("cache-control") == Some("no-cache")
    });
    let conditional = count(&|r| {
        r.path().starts_with("/simple/") && r.header("cache-control") != Some("no-cache")
    });
    let unchanged = requests
        .iter()
        .filter(|(r, status)| r.path().starts_with("/simple/") && *status == 304)
        .count();
    let integrity = count(&|r| r.path().starts_with("/integrity/"));
    let per_hour = |n: f64| n / measured.elapsed_h;
    println!(
        "index requests            {:.0} in all, {:.0}/h over the run",
        requests.len(),
        per_hour(requests.len() as f64)
    );
    println!(
        "  RSS                     {rss:.0} ({:.0}/h)",
        per_hour(rss)
    );
    println!("  sweep (conditional)     {conditional:.0} ({unchanged} answered 304)");
    println!("  fresh reads (RSS hits)  {fresh:.0}");
    println!("  integrity               {integrity:.0}");
    let per_publish = if measured.published == 0 {
        0.0
    } else {
        (fresh + integrity) / measured.published as f64
    };
    println!(
        "an hour at 10 publishes   {:.0} requests (RSS {:.0} + one sweep round of {} + {:.1} per publish)",
        per_hour(rss) + o.packages as f64 + 10.0 * per_publish,
        per_hour(rss),
        o.packages,
        per_publish
    );
}
