//! Shared helpers for the integration tests: where the fixtures are and what they are
//! expected to do.

use std::path::{Path, PathBuf};

/// `tests/fixtures`, copied from the project's reference fixture set (see SOURCES.md there).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Reads a fixture file relative to `tests/fixtures`.
pub fn read(relative: &str) -> Vec<u8> {
    let path = fixtures().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// `EXPECTED.json`: the outcome two peer verifiers reached for every bundle and response.
pub fn expected() -> serde_json::Value {
    serde_json::from_slice(&read("EXPECTED.json")).expect("EXPECTED.json is JSON")
}

/// The sha512 (hex) of the real tarball an attestation names, from `npm/tarball-digests.json`.
pub fn tarball_sha512(package_at_version: &str) -> Option<[u8; 64]> {
    let digests: serde_json::Value =
        serde_json::from_slice(&read("npm/tarball-digests.json")).expect("digests are JSON");
    let hex = digests.get(package_at_version)?.get("sha512")?.as_str()?;
    let mut out = [0u8; 64];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// `@scope__name@1.0.0.json` (how the fixtures spell a scope) → (`@scope/name`, `1.0.0`).
pub fn package_of_response_file(file_name: &str) -> (String, String) {
    let stem = file_name.split(".json").next().expect("a .json name");
    let stem = stem.replacen("__", "/", 1);
    let (name, version) = stem.rsplit_once('@').expect("name@version");
    // Invalid fixtures carry a suffix after the version: `1.0.0.npm-att-...`.
    let version = version.split(".npm-").next().unwrap_or(version);
    let version = version.split(".invalid-").next().unwrap_or(version);
    (name.to_owned(), version.to_owned())
}

pub mod counting;
pub mod fake_http;
pub mod fake_pypi;
pub mod fakes;
pub mod local_api;
pub mod poll;
pub mod store_contract;

/// A field of `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:`), for the benchmark harnesses;
/// 0 where the file does not exist.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
pub mod world;
