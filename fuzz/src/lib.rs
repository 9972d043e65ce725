//! What each fuzz target does with its bytes, written once: the libFuzzer targets in
//! `fuzz_targets/` call these, and the stable test suite replays every seed and every input
//! a run found through the same functions (`tests/fuzz_seeds.rs`).
//!
//! Each one feeds hostile bytes to a parser the monitor points at the outside world and,
//! when they parse, through what runs on the result next. A panic, an overflow or a hang is
//! a finding; an `Err` is the parser doing its job.

#![allow(missing_debug_implementations)]

// The `serve` configuration parser lives in the command-line program (a binary crate):
// compiled in here from its source rather than moved, so the program keeps its layout.
#[allow(dead_code)]
#[path = "../../functions/cli/src/config.rs"]
mod config;

use artifact_monitor_core::domain::{RepositoryName, VersionPublished, publishing_runners};
use artifact_monitor_core::registry::npm::{Packument, diff, snapshot, version_contexts};
use artifact_monitor_http::github;
use artifact_monitor_http::npm::changes;
use artifact_monitor_verify::{Expectation, ProvenanceVerifier};
use std::sync::OnceLock;

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// The targets by name, for the seed replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("packument", packument),
    ("document", document),
    ("changes", changes_feed),
    ("github", github_pages),
    ("config", config_file),
    ("event", event),
];

/// A registry packument: parsed, then snapshotted, diffed against itself and read for
/// per-version signals (what every read does next).
pub fn packument(data: &[u8]) {
    if let Ok(packument) = Packument::parse(data) {
        let _ = diff(&snapshot(&packument), &packument);
        let _ = version_contexts(&packument);
    }
}

fn verifier() -> &'static ProvenanceVerifier {
    static VERIFIER: OnceLock<ProvenanceVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| ProvenanceVerifier::embedded().expect("embedded trust material"))
}

/// An attestations answer or a Sigstore bundle, verified offline against the embedded
/// trust material, once without expectations and once for a named package.
pub fn document(data: &[u8]) {
    let verifier = verifier();
    let _ = verifier.verify_document(data, &Expectation::none());
    if let Ok(name) = artifact_monitor_core::registry::npm::PackageName::parse("sigstore") {
        let expectation = Expectation {
            package: Some((name, "2.3.1".to_owned())),
            ..Expectation::none()
        };
        let _ = verifier.verify_document(data, &expectation);
    }
}

/// A changes-feed page and the feed's database document.
pub fn changes_feed(data: &[u8]) {
    let _ = changes::parse_page(data);
    let _ = changes::parse_info(data);
}

/// GitHub's answers: one run, a page of a workflow's runs, a run's jobs.
pub fn github_pages(data: &[u8]) {
    let Ok(repository) = RepositoryName::parse("octo-org/octo-repo") else {
        return;
    };
    let _ = github::parse_run(data, &repository);
    let _ = github::parse_run_page(data, &repository);
    if let Ok(jobs) = github::parse_jobs(data) {
        let _ = publishing_runners(&jobs, 1_700_000_000, 600);
    }
    let _ = github::parse_ref(data);
    let _ = github::parse_deployments(data);
    let _ = github::parse_deployment_runs(data, "octo-org/octo-repo");
    let _ = github::parse_commits(data);
}

/// The `serve` configuration file.
pub fn config_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = config::parse(text);
    }
}

/// A `Version Published` event as the verifier receives it from a queue.
pub fn event(data: &[u8]) {
    let _ = VersionPublished::from_json(data);
}
