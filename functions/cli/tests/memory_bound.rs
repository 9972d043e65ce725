//! Peak memory of `serve` while a hostile registry answers every watched package with a
//! huge packument at once: half declare a length just under the default cap, half stream
//! an endless chunked body past it. The process-wide budget of bytes in flight (256 MiB by
//! default) keeps the whole process under 400 MiB, where sixteen bodies at the 128 MiB
//! cap would hold about 2 GiB.
//!
//! One test in its own binary: the peak is read with `getrusage(RUSAGE_CHILDREN)`, the
//! largest resident set of any child this process waited for.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PACKAGES: usize = 16;
const MIB: usize = 1024 * 1024;
/// Just under the default 128 MiB packument cap: read in full, then parsed.
const DECLARED_BYTES: usize = 120 * MIB;
/// What a chunked answer would send if the client kept reading (it stops at the cap).
const ENDLESS_BYTES: usize = 1024 * MIB;
/// The documented bound for the whole process with the default settings.
const PEAK_LIMIT_KIB: i64 = 400 * 1024;

/// Serves `/pkgN`: an even N with a Content-Length of [`DECLARED_BYTES`], an odd N chunked
/// without end. The body is a valid packument whose `readme` is padding, written from one
/// shared chunk so the server itself stays small.
async fn serve(stream: TcpStream) -> std::io::Result<()> {
    let (mut read, mut write) = stream.into_split();
    let padding = vec![b'x'; MIB];
    let mut head = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        loop {
            if read.read(&mut byte).await? == 0 {
                return Ok(());
            }
            head.push(byte[0]);
            if head.ends_with(b"\r\n\r\n") {
                break;
            }
        }
        let request = String::from_utf8_lossy(&head).into_owned();
        head.clear();
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let name = path.trim_start_matches('/').split('?').next().unwrap_or("");
        let index: usize = name.trim_start_matches("pkg").parse().unwrap_or(0);
        let prefix = format!(r#"{{"name":"{name}","versions":{{}},"time":{{}},"readme":""#);
        let suffix = "\"}";
        if index.is_multiple_of(2) {
            let pad = DECLARED_BYTES - prefix.len() - suffix.len();
            write
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        DECLARED_BYTES
                    )
                    .as_bytes(),
                )
                .await?;
            write.write_all(prefix.as_bytes()).await?;
            let mut left = pad;
            while left > 0 {
                let n = left.min(MIB);
                write.write_all(&padding[..n]).await?;
                left -= n;
            }
            write.write_all(suffix.as_bytes()).await?;
        } else {
            write
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
                )
                .await?;
            write
                .write_all(format!("{:x}\r\n{prefix}\r\n", prefix.len()).as_bytes())
                .await?;
            let mut sent = 0;
            while sent < ENDLESS_BYTES {
                write.write_all(format!("{:x}\r\n", MIB).as_bytes()).await?;
                write.write_all(&padding).await?;
                write.write_all(b"\r\n").await?;
                sent += MIB;
            }
            write.write_all(b"0\r\n\r\n").await?;
        }
    }
}

/// The largest resident set (KiB) of any child this process has waited for.
fn peak_child_rss_kib() -> i64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_huge_packuments_at_once_stay_within_the_byte_budget() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = serve(stream).await;
            });
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let mut config = format!("registry = \"{url}\"\ngithub = false\nchanges_feed = false\n");
    for index in 0..PACKAGES {
        config.push_str(&format!(
            "\n[[artifacts]]\nname = \"pkg{index}\"\nrepository = \"owner/repo\"\nworkflows = [\".github/workflows/release.yml\"]\n"
        ));
    }
    let config_path = dir.path().join("monitor.toml");
    std::fs::write(&config_path, config).unwrap();

    let mut command = Command::new(env!("CARGO_BIN_EXE_artifact-monitor"));
    command.env_remove("GITHUB_TOKEN").args([
        "serve",
        "--once",
        "--config",
        config_path.to_str().unwrap(),
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
    ]);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "took {:?}",
        started.elapsed()
    );
    // Every package was read: the declared ones judged (no versions), the endless ones
    // refused at the cap.
    let refused = stderr
        .lines()
        .filter(|line| line.contains("read failed") && line.contains("larger than the"))
        .count();
    assert_eq!(refused, PACKAGES / 2, "{stderr}");
    let read = stderr
        .lines()
        .filter(|line| line.contains("0 version(s) to judge"))
        .count();
    assert_eq!(read, PACKAGES / 2, "{stderr}");
    let peak = peak_child_rss_kib();
    eprintln!(
        "peak resident set: {} MiB over {PACKAGES} packuments in {:?}",
        peak / 1024,
        started.elapsed()
    );
    assert!(
        peak < PEAK_LIMIT_KIB,
        "peak resident set {} MiB is over the 400 MiB bound",
        peak / 1024
    );
}
