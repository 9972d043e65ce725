//! Packument parse harness: builds a realistic packument of at least 30 MB (thousands of
//! versions with the fields the registry really serves: dependency maps, dist with
//! signatures and attestations, publisher, maintainers, scripts), then, in a fresh child
//! process so the builder's memory does not count, reads it and parses it as the monitor
//! does, reporting parse time and peak memory against the document's size.
//!
//! `cargo bench -p artifact-monitor-tests --bench packument_parse [-- VERSIONS]`

#![allow(clippy::unwrap_used)]

use artifact_monitor_core::registry::npm::Packument;
use artifact_monitor_tests::status_kib;
use serde_json::{Map, Value, json};
use std::time::Instant;

fn build(versions: usize) -> Vec<u8> {
    let mut version_map = Map::new();
    let mut time = Map::new();
    time.insert("created".into(), json!("2015-01-01T00:00:00.000Z"));
    for i in 0..versions {
        let v = format!("{}.{}.{}", i / 1000, (i / 10) % 100, i % 10);
        let deps: Map<String, Value> = (0..25)
            .map(|d| {
                (
                    format!("dependency-number-{d}"),
                    json!(format!("^{d}.{i}.0")),
                )
            })
            .collect();
        let dev: Map<String, Value> = (0..35)
            .map(|d| {
                (
                    format!("@types/dev-dependency-{d}"),
                    json!(format!("~{d}.0.{i}")),
                )
            })
            .collect();
        version_map.insert(
            v.clone(),
            json!({
                "name": "huge-package",
                "version": v,
                "description": "A package with a long history of releases, used to measure parsing.",
                "main": "dist/index.js",
                "types": "dist/index.d.ts",
                "exports": {".": {"import": "./dist/index.mjs", "require": "./dist/index.js", "types": "./dist/index.d.ts"}},
                "scripts": {"build": "tsc -p .", "test": "vitest run", "lint": "eslint .", "prepare": "npm run build"},
                "repository": {"type": "git", "url": "git+https://github.com/octo-org/huge-package.git"},
                "keywords": ["huge", "package", "benchmark", "registry", "npm"],
                "author": {"name": "Octo Cat", "email": "octocat@example.com"},
                "license": "MIT",
                "dependencies": deps,
                "devDependencies": dev,
                "engines": {"node": ">=18"},
                "gitHead": format!("{i:040x}"),
                "_id": format!("huge-package@{v}"),
                "_nodeVersion": "20.11.1",
                "_npmVersion": "10.2.4",
                "dist": {
                    "integrity": "sha512-8G+/XDU8wNsJOQS5ysDVO0Etg9/2uA5gR9l4ZwijjlwxBcrU6RPfwi2+jJmbP+Ap1Hlp/nVAaEO4Fj22/SL2gQ==",
                    "shasum": "7988de73efb56862fbe277adaf857d70b37a1f07",
                    "tarball": format!("https://registry.npm.example/huge-package/-/huge-package-{v}.tgz"),
                    "fileCount": 120,
                    "unpackedSize": 904_233,
                    "signatures": [{"keyid": "SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U", "sig": "MEUCIQDbDqnmDGaLw7k0hf3a3Mn1kbVgKaqs3vZ8NBpyPh+CxwIgXrj7EcIjqOPhq9bAk4U4bP5g1YrO+GSH6j3V1pJ3GJQ="}],
                    "attestations": {"url": format!("https://registry.npm.example/-/npm/v1/attestations/huge-package@{v}"), "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}},
                },
                "_npmUser": {"name": "GitHub Actions", "email": "npm-oidc-no-reply@github.com", "trustedPublisher": {"id": "github", "oidcConfigId": "oidc:00000000-0000-0000-0000-000000000000"}},
                "maintainers": [{"name": "octocat", "email": "octocat@example.com"}, {"name": "hubot", "email": "hubot@example.com"}],
                "directories": {},
                "_npmOperationalInternal": {"host": "s3://npm-registry-packages", "tmp": format!("tmp/huge-package_{v}_1700000000000_0.{i}")},
                "_hasShrinkwrap": false,
            }),
        );
        time.insert(
            v,
            json!(format!("2016-01-01T00:00:{:02}.{:03}Z", i % 60, i % 1000)),
        );
    }
    let doc = json!({
        "_id": "huge-package",
        "name": "huge-package",
        "dist-tags": {"latest": "1.0.0"},
        "versions": version_map,
        "time": time,
        "maintainers": [{"name": "octocat", "email": "octocat@example.com"}],
        "readme": "# huge-package\n".repeat(2000),
    });
    serde_json::to_vec(&doc).unwrap()
}

fn measure(path: &str) {
    let before = status_kib("VmRSS:");
    let bytes = std::fs::read(path).unwrap();
    let mut best = f64::MAX;
    let mut versions = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let packument = Packument::parse(&bytes).unwrap();
        best = best.min(started.elapsed().as_secs_f64());
        versions = packument.versions.len();
        drop(packument);
    }
    let peak = status_kib("VmHWM:");
    let doc_mib = bytes.len() as f64 / (1024.0 * 1024.0);
    let used_mib = peak.saturating_sub(before) as f64 / 1024.0;
    println!("document                 {doc_mib:.1} MiB, {versions} versions");
    println!(
        "parse time (best of 3)   {:.0} ms ({:.0} MiB/s)",
        best * 1000.0,
        doc_mib / best
    );
    println!(
        "peak memory for read+parse {used_mib:.1} MiB = {:.2}x the document",
        used_mib / doc_mib
    );
    println!("process peak RSS         {:.1} MiB", peak as f64 / 1024.0);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        measure(&args[i + 1]);
        return;
    }
    let versions = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("packument.json");
    std::fs::write(&path, build(versions)).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--measure", path.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}
