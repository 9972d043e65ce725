//! Every fuzzing seed and every input a fuzzing run found (`fuzz/seeds/<target>/`) replayed
//! through the fuzz targets on the stable toolchain: what once crashed stays fixed, and the
//! targets keep compiling. The seeds are real answers (fixtures) where there are some, so
//! they also must parse.

#![allow(clippy::unwrap_used)]

#[path = "../fuzz/src/lib.rs"]
mod targets;

use artifact_monitor_core::domain::{RepositoryName, VersionPublished};
use artifact_monitor_core::registry::npm::Packument;
use artifact_monitor_http::github;
use artifact_monitor_http::npm::changes;
use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds for {target}");
    files
}

#[test]
fn every_seed_runs_through_its_target() {
    for (target, run) in targets::TARGETS {
        for seed in seeds(target) {
            let bytes = std::fs::read(&seed).unwrap();
            run(&bytes);
        }
    }
}

#[test]
fn the_real_seeds_parse() {
    for seed in seeds("packument") {
        let bytes = std::fs::read(&seed).unwrap();
        if seed
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("crash-")
        {
            continue;
        }
        Packument::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", seed.display()));
    }
    let repository = RepositoryName::parse("octo-org/octo-repo").unwrap();
    let read = |target: &str, name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/seeds")
                .join(target)
                .join(name),
        )
        .unwrap()
    };
    github::parse_run(&read("github", "get-workflow-run.json"), &repository).unwrap();
    github::parse_run_page(
        &read("github", "list-workflow-runs-for-workflow.json"),
        &repository,
    )
    .unwrap();
    github::parse_jobs(&read("github", "list-jobs-for-workflow-run.json")).unwrap();
    let page = changes::parse_page(&read("changes", "page.json")).unwrap();
    assert_eq!(page.names, ["sigstore", "@sigstore/verify"]);
    assert_eq!(
        changes::parse_info(&read("changes", "info.json")).unwrap(),
        "41234568"
    );
    VersionPublished::from_json(&read("event", "new.json")).unwrap();
}
