//! The Sigstore client conformance suite's offline verification cases, replayed through the
//! built binary with the suite's rules: every folder of `tests/fixtures/conformance/
//! bundle-verify` is one case; a name ending in `_fail` must be rejected, any other verified;
//! each case runs twice, with the artifact file and with its `sha256:<hex>` digest. Optional
//! files in a case override the defaults: `identity`, `issuer`, `artifact`, `key.pub` (verify
//! with the key instead of an identity), `trusted_root.json` (instead of the embedded
//! production root). The score is printed; anything below all cases fails.

use std::path::{Path, PathBuf};
use std::process::Command;

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn suite() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/conformance")
}

fn text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("the artifact is readable");
    artifact_monitor_verify::sha256_digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn passes_every_offline_verification_case() {
    let cases = suite().join("bundle-verify");
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .expect("the suite is there")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            entry
                .path()
                .is_dir()
                .then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 70, "{} cases", names.len());
    let mut passed = 0;
    let mut failures = Vec::new();
    for name in &names {
        let case = cases.join(name);
        let artifact = if case.join("artifact").exists() {
            case.join("artifact")
        } else {
            suite().join("a.txt")
        };
        let digest = format!("sha256:{}", sha256_hex(&artifact));
        for subject in [artifact.to_string_lossy().into_owned(), digest] {
            let mut command = Command::new(env!("CARGO_BIN_EXE_artifact-monitor"));
            command
                .arg("verify-bundle")
                .arg("--bundle")
                .arg(case.join("bundle.sigstore.json"));
            if case.join("key.pub").exists() {
                command.arg("--key").arg(case.join("key.pub"));
            } else {
                let identity = text(&case.join("identity")).unwrap_or(DEFAULT_IDENTITY.to_owned());
                let issuer = text(&case.join("issuer")).unwrap_or(DEFAULT_ISSUER.to_owned());
                command
                    .args(["--certificate-identity", &identity])
                    .args(["--certificate-oidc-issuer", &issuer]);
            }
            if case.join("trusted_root.json").exists() {
                command
                    .arg("--trusted-root")
                    .arg(case.join("trusted_root.json"));
            }
            let output = command.arg(&subject).output().expect("the binary runs");
            let code = output.status.code();
            let expected = if name.ends_with("_fail") {
                Some(1)
            } else {
                Some(0)
            };
            if code == expected {
                passed += 1;
            } else {
                failures.push(format!(
                    "{name} with {subject}: exit {code:?}, expected {expected:?}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
        }
    }
    let total = names.len() * 2;
    println!("Sigstore conformance (offline verification): {passed}/{total}");
    assert!(
        failures.is_empty(),
        "{passed}/{total}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn usage_errors_exit_2() {
    let case = suite().join("bundle-verify/happy-path-v0.3");
    let bundle = case.join("bundle.sigstore.json");
    let artifact = suite().join("a.txt");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_artifact-monitor"))
            .arg("verify-bundle")
            .arg("--bundle")
            .arg(&bundle)
            .args(args)
            .output()
            .expect("the binary runs")
            .status
            .code()
    };
    let artifact = artifact.to_str().expect("UTF-8 path");
    // No signer named.
    assert_eq!(run(&[artifact]), Some(2));
    // An identity without its issuer.
    assert_eq!(
        run(&["--certificate-identity", DEFAULT_IDENTITY, artifact]),
        Some(2)
    );
    // Staging trust material is not embedded.
    assert_eq!(
        run(&[
            "--staging",
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
            artifact
        ]),
        Some(2)
    );
    // A digest that is not 64 hex digits, and a file that does not exist.
    for subject in ["sha256:abc", "no-such-file"] {
        assert_eq!(
            run(&[
                "--certificate-identity",
                DEFAULT_IDENTITY,
                "--certificate-oidc-issuer",
                DEFAULT_ISSUER,
                subject
            ]),
            Some(2)
        );
    }
    // The right signer verifies; another identity is rejected.
    assert_eq!(
        run(&[
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
            artifact
        ]),
        Some(0)
    );
    assert_eq!(
        run(&[
            "--certificate-identity",
            "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main",
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
            artifact
        ]),
        Some(1)
    );
}
