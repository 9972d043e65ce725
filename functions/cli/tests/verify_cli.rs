//! The `artifact-monitor verify` contract, exercised through the built binary: exit codes,
//! the one-line reason on stderr, and the JSON object other tools read.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(relative);
    path.to_str().expect("UTF-8 path").to_owned()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_artifact-monitor"))
        .arg("verify")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

const SIGSTORE_231_SHA512: &str = "f06fbf5c353cc0db093904b9cac0d53b412d83dff6b80e6047d9786708a38e5c3105cad4e913dfc22dbe8c999b3fe029d47969fe75406843b8163db6fd22f681";

#[test]
fn a_verified_response_that_satisfies_the_policy_exits_0() {
    let response = fixture("npm/attestations/sigstore@2.3.1.json");
    let output = run(&[
        "--name",
        "sigstore",
        "--version",
        "2.3.1",
        "--sha512",
        SIGSTORE_231_SHA512,
        "--repository",
        "sigstore/sigstore-js",
        "--workflow",
        ".github/workflows/release.yml",
        "--json",
        &response,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = json_of(&output);
    assert_eq!(json["verified"], true);
    assert_eq!(json["error"], Value::Null);
    assert_eq!(json["evidence"]["repository"], "sigstore/sigstore-js");
    assert_eq!(
        json["evidence"]["workflow_path"],
        ".github/workflows/release.yml"
    );
    assert_eq!(
        json["evidence"]["run_url"],
        "https://github.com/sigstore/sigstore-js/actions/runs/9116405766/attempts/1"
    );
    assert_eq!(json["document"]["artifact_checked"], true);
}

#[test]
fn the_sri_integrity_form_is_accepted_for_sha512() {
    let response = fixture("npm/attestations/sigstore@1.0.0.json");
    let integrity = "sha512-e+qfbn/zf1+rCza/BhIA//Awmf0v1pa5HQS8Xk8iXrn9bgytytVLqYD0P7NSqZ6IELTgq+tcDvLPkQjNHyWLNg==";
    let output = run(&[
        "--name",
        "sigstore",
        "--version",
        "1.0.0",
        "--sha512",
        integrity,
        &response,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("verified: pkg:npm/sigstore@1.0.0"));
}

#[test]
fn a_policy_violation_exits_1_with_a_one_line_reason_and_the_evidence() {
    let response = fixture("npm/attestations/sigstore@2.3.1.json");
    let args = [
        "--repository",
        "sigstore/sigstore-js",
        "--workflow",
        ".github/workflows/publish.yml",
    ];
    let output = run(&[&args[..], &[response.as_str()]].concat());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("rejected: policy: built by workflow"),
        "{stderr}"
    );

    let output = run(&[&args[..], &["--json", response.as_str()]].concat());
    assert_eq!(output.status.code(), Some(1));
    let json = json_of(&output);
    assert_eq!(json["verified"], false);
    assert_eq!(json["error"]["kind"], "policy");
    assert_eq!(
        json["evidence"]["workflow_path"],
        ".github/workflows/release.yml"
    );
}

#[test]
fn a_forged_response_exits_1_with_its_stage() {
    let response = fixture("npm/attestations/invalid/sigstore@2.3.1.invalid-sig-publish.json");
    let output = run(&["--json", &response]);
    assert_eq!(output.status.code(), Some(1));
    let json = json_of(&output);
    assert_eq!(json["verified"], false);
    assert_eq!(json["error"]["kind"], "signature");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(json["evidence"], Value::Null);
}

#[test]
fn another_version_or_digest_exits_1_as_a_subject_error() {
    let response = fixture("npm/attestations/sigstore@2.3.1.json");
    let output = run(&[
        "--name",
        "sigstore",
        "--version",
        "2.3.2",
        "--json",
        &response,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_of(&output)["error"]["kind"], "subject");
    let wrong = format!("{}0", &SIGSTORE_231_SHA512[..127]);
    let output = run(&["--sha512", &wrong, "--json", &response]);
    assert_eq!(json_of(&output)["error"]["kind"], "subject");
}

#[test]
fn message_signature_bundles_verify_against_the_artifact() {
    let bundle = fixture("bundles/conformance.happy-path-v0.3.sigstore.json");
    let output = run(&["--artifact", &fixture("bundles/conformance.a.txt"), &bundle]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run(&["--artifact", &fixture("SOURCES.md"), "--json", &bundle]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_of(&output)["error"]["kind"], "subject");
}

#[test]
fn usage_errors_and_unreadable_input_exit_2() {
    let response = fixture("npm/attestations/sigstore@2.3.1.json");
    let cases: &[&[&str]] = &[
        &[],
        &["/nonexistent/bundle.json"],
        &["--repository", "sigstore/sigstore-js", &response],
        &["--workflow", ".github/workflows/release.yml", &response],
        &["--name", "sigstore", &response],
        &["--sha512", "abc", &response],
        &["--sha512", &"é".repeat(64), &response],
        &[
            "--artifact",
            &response,
            "--sha512",
            SIGSTORE_231_SHA512,
            &response,
        ],
        &[
            "--repository",
            "not a repo",
            "--workflow",
            ".github/workflows/release.yml",
            &response,
        ],
        &[
            "--repository",
            "o/r",
            "--workflow",
            "../evil.yml",
            &response,
        ],
        &["--name", "Not A Name", "--version", "1.0.0", &response],
        &["--trusted-root", &fixture("SOURCES.md"), &response],
        &[
            "--npm-keys",
            &fixture("npm/keys/tuf-target-npm-registry-keys.json"),
            &response,
        ],
    ];
    for args in cases {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn trust_material_can_be_replaced_by_files() {
    let response = fixture("npm/attestations/@playwright__cli@0.1.1.json");
    let output = run(&[
        "--trusted-root",
        &fixture("sigstore/trusted_root.json"),
        "--npm-keys",
        &fixture("npm/keys/keys.json"),
        &response,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The 2023 keys document lacks the key that signed this 2026 publish attestation.
    let output = run(&[
        "--npm-keys",
        &fixture("npm/keys/keys-legacy-2023.json"),
        "--json",
        &response,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_of(&output)["error"]["kind"], "trust");
}
