//! Every PEP 740 case in tests/fixtures/pypi decided as `pypi/EXPECTED.json` says the peer
//! (pypi-attestations with sigstore-python, offline) decided it: real attestations and
//! Integrity API provenance objects accepted with the identity their certificate names,
//! tampered ones refused at the stage that catches them, an attestation bound to another
//! file refused as a subject mismatch, and the owner's GitHub policy refusing another
//! repository's or workflow's signer.
//!
//! What differs from the peer, by design: the peer checks the signer against the
//! provenance object's unsigned `publisher` (or an identity it is given); here the
//! certificate is read into evidence and the owner's policy is checked against it, so a
//! rewritten `publisher` changes nothing.

#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::Evidence;
use artifact_monitor_core::domain::{PolicySpec, Reason};
use artifact_monitor_tests::read;
use artifact_monitor_verify::pypi::PypiFile;
use artifact_monitor_verify::{ErrorKind, Expectation, ProvenanceVerifier, VerificationError};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let expected: Value = serde_json::from_slice(&read("pypi/EXPECTED.json")).unwrap();
    expected["cases"].as_array().unwrap().clone()
}

fn verifier(instance: &str) -> ProvenanceVerifier {
    match instance {
        "production" => ProvenanceVerifier::embedded().unwrap(),
        "staging" => {
            let root = String::from_utf8(read("pypi/sigstore/trusted_root.staging.json")).unwrap();
            ProvenanceVerifier::new(&root, artifact_monitor_verify::EMBEDDED_NPM_KEYS).unwrap()
        }
        other => panic!("unknown instance {other}"),
    }
}

fn sha256(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn project_of(filename: &str) -> String {
    let dists: Value = serde_json::from_slice(&read("pypi/dists.json")).unwrap();
    let project = dists
        .get(filename)
        .and_then(|d| d["project"].as_str())
        .map(str::to_owned)
        // A file the fixtures do not list: its name part, up to the first dash.
        .unwrap_or_else(|| filename.split('-').next().unwrap().to_owned());
    artifact_monitor_core::registry::pypi::normalise(&project)
}

/// The case's document verified for its `dist`, as the evidence every attestation shares.
fn decide(case: &Value) -> Result<Evidence, VerificationError> {
    let verifier = verifier(case["sigstore_instance"].as_str().unwrap());
    let document = read(&format!("pypi/{}", case["file"].as_str().unwrap()));
    let filename = case["dist"]["filename"].as_str().unwrap();
    let project = project_of(filename);
    let file = PypiFile {
        project: &project,
        filename,
        sha256: sha256(case["dist"]["sha256"].as_str().unwrap()),
    };
    let kind = case["kind"].as_str().unwrap();
    if kind.ends_with("provenance") {
        verifier
            .verify_pypi_provenance(&document, &file)
            .map(|verified| verified.evidence)
    } else {
        verifier
            .verify_pypi_attestation(&document, &file)
            .map(|verified| verified.evidence)
    }
}

/// The owner's policy a GitHub identity of the fixtures stands for.
fn github_policy(identity: &Value) -> Option<PolicySpec> {
    (identity["kind"] == "GitHub").then(|| {
        let workflow = format!(
            ".github/workflows/{}",
            identity["workflow"].as_str().unwrap()
        );
        PolicySpec::new(identity["repository"].as_str().unwrap(), &[&workflow])
    })
}

#[test]
fn every_attestation_case_is_decided_as_the_peer_decided_it() {
    let mut decided = 0;
    for case in cases() {
        let id = case["id"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        // A bare leaf certificate (no chain, no log) and an upstream Sigstore bundle are not
        // PyPI documents: the first is a policy case of the peer's own API, the second is
        // covered by the bundle corpus.
        if kind.starts_with("policy-only") || kind == "bundle" {
            continue;
        }
        let outcome = decide(&case);
        let expected = case["expected"].as_str().unwrap();
        match expected {
            "accept" | "reject-policy" => {
                let evidence =
                    &outcome.unwrap_or_else(|e| panic!("{id}: expected to verify, got {e}"));
                let certificate = &case["certificate"];
                if let Some(san) = certificate["san"][0].as_str() {
                    assert_eq!(evidence.certificate_identity.as_deref(), Some(san), "{id}");
                }
                let violations = github_policy(&case["identity_checked"])
                    .map(|spec| spec.to_policy().unwrap().evaluate(evidence));
                // Another CI's or a person's certificate: recognised, and refused by any
                // GitHub policy for what it is.
                if case["identity_checked"]["kind"] != "GitHub" {
                    let any_github =
                        PolicySpec::new("pypa/sampleproject", &[".github/workflows/release.yml"]);
                    let refused = any_github.to_policy().unwrap().evaluate(evidence);
                    assert!(
                        refused
                            .iter()
                            .any(|v| v.code() == Reason::SignerNotGithubActions),
                        "{id}: {refused:?}"
                    );
                    let words = refused[0].to_string();
                    assert!(
                        words.contains("not a GitHub Actions workflow"),
                        "{id}: {words}"
                    );
                }
                match (expected, violations) {
                    ("accept", Some(violations)) => {
                        assert!(violations.is_empty(), "{id}: {violations:?}")
                    }
                    ("reject-policy", Some(violations)) => {
                        assert!(!violations.is_empty(), "{id}: the policy must refuse")
                    }
                    ("reject-policy", None) => panic!("{id}: a policy case names no GitHub owner"),
                    _ => {}
                }
            }
            "reject-crypto" => {
                let error = outcome
                    .err()
                    .unwrap_or_else(|| panic!("{id}: must be refused"));
                assert!(
                    !matches!(
                        error.kind,
                        ErrorKind::Subject | ErrorKind::Policy | ErrorKind::Malformed
                    ),
                    "{id}: refused at {} ({}), not a cryptographic stage",
                    error.kind,
                    error.message
                );
            }
            "reject-binding" => {
                let error = outcome
                    .err()
                    .unwrap_or_else(|| panic!("{id}: must be refused"));
                assert_eq!(error.kind, ErrorKind::Subject, "{id}: {}", error.message);
            }
            other => panic!("{id}: unknown expectation {other}"),
        }
        decided += 1;
    }
    assert_eq!(decided, 22, "every PyPI document case was decided");
}

#[test]
fn the_upstream_bundles_verify_as_plain_sigstore_bundles() {
    for case in cases().iter().filter(|c| c["kind"] == "bundle") {
        let verifier = verifier(case["sigstore_instance"].as_str().unwrap());
        let document = read(&format!("pypi/{}", case["file"].as_str().unwrap()));
        let verified = verifier
            .verify_document(&document, &Expectation::none())
            .unwrap_or_else(|e| panic!("{}: {e}", case["id"]));
        assert_eq!(
            verified.subject_name.as_deref(),
            case["dist"]["filename"].as_str()
        );
    }
}

#[test]
fn the_rewrap_is_the_bundle_the_peer_converted() {
    // Each converted bundle is what pypi-attestations' own conversion made of the same
    // attestation: both must verify, and to the same evidence.
    let verifier = ProvenanceVerifier::embedded().unwrap();
    let file = PypiFile {
        project: "pypi-attestations",
        filename: "pypi_attestations-0.0.19.tar.gz",
        sha256: sha256("9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3"),
    };
    let ours = verifier
        .verify_pypi_attestation(
            &read("pypi/attestations/pypi_attestations-0.0.19.tar.gz.slsa.attestation"),
            &file,
        )
        .unwrap();
    let theirs = verifier
        .verify_document(
            &read("pypi/bundles/converted/pypi_attestations-0.0.19.tar.gz.slsa.attestation.sigstore.json"),
            &Expectation::none(),
        )
        .unwrap();
    let theirs = theirs.provenance.expect("SLSA provenance");
    assert_eq!(ours.evidence.repository, theirs.repository);
    assert_eq!(ours.evidence.workflow_ref, theirs.workflow_ref);
    assert_eq!(ours.evidence.run_id, theirs.run_id);
    assert_eq!(ours.evidence.integrated_time, theirs.integrated_time);
    assert_eq!(
        ours.evidence.repository.as_deref(),
        Some("trailofbits/pypi-attestations")
    );
}

#[test]
fn the_unsigned_publisher_object_is_never_read() {
    // The index serves `publisher` beside the attestations, unsigned: rewriting it (here to
    // another repository, and to an environment) leaves the evidence as the certificate
    // says.
    let verifier = ProvenanceVerifier::embedded().unwrap();
    let file = PypiFile {
        project: "sampleproject",
        filename: "sampleproject-4.0.0.tar.gz",
        sha256: sha256("0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b"),
    };
    let genuine = verifier
        .verify_pypi_provenance(
            &read("pypi/provenance/sampleproject-4.0.0.tar.gz.provenance"),
            &file,
        )
        .unwrap();
    for rewritten in ["publisher-repo", "publisher-environment"] {
        let path = format!("pypi/tampered/sampleproject-4.0.0.tar.gz.provenance.{rewritten}.json");
        let verified = verifier
            .verify_pypi_provenance(&read(&path), &file)
            .unwrap();
        assert_eq!(verified.evidence, genuine.evidence, "{rewritten}");
    }
    assert_eq!(
        genuine.evidence.repository.as_deref(),
        Some("pypa/sampleproject")
    );
    assert_eq!(genuine.evidence.environment, None);
}

#[test]
fn hostile_provenance_objects_are_refused_with_a_reason() {
    let verifier = ProvenanceVerifier::embedded().unwrap();
    let file = PypiFile {
        project: "sampleproject",
        filename: "sampleproject-4.0.0.tar.gz",
        sha256: sha256("0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b"),
    };
    let genuine: Value = serde_json::from_slice(&read(
        "pypi/provenance/sampleproject-4.0.0.tar.gz.provenance",
    ))
    .unwrap();
    let attestation = genuine["attestation_bundles"][0]["attestations"][0].clone();

    // No transparency-log entry: nothing shows it was logged.
    let mut unlogged = genuine.clone();
    unlogged["attestation_bundles"][0]["attestations"][0]["verification_material"]["transparency_entries"] =
        serde_json::json!([]);
    let error = verifier
        .verify_pypi_provenance(unlogged.to_string().as_bytes(), &file)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Tlog);
    assert!(
        error.message.contains("no transparency-log entry"),
        "{}",
        error.message
    );

    // No attestation at all, or more than the bound.
    let mut empty = genuine.clone();
    empty["attestation_bundles"] = serde_json::json!([]);
    let many: Vec<Value> = (0..17).map(|_| attestation.clone()).collect();
    let mut flood = genuine.clone();
    flood["attestation_bundles"][0]["attestations"] = Value::Array(many);
    let mut other_version = genuine.clone();
    other_version["version"] = serde_json::json!(2);
    for (what, document) in [
        ("empty", empty),
        ("flood", flood),
        ("version", other_version),
    ] {
        let error = verifier
            .verify_pypi_provenance(document.to_string().as_bytes(), &file)
            .unwrap_err();
        assert_eq!(
            error.kind,
            ErrorKind::Malformed,
            "{what}: {}",
            error.message
        );
    }

    // The right attestation for another file of the same release.
    let wheel = PypiFile {
        filename: "sampleproject-4.0.0-py3-none-any.whl",
        ..file
    };
    let error = verifier
        .verify_pypi_provenance(
            &read("pypi/provenance/sampleproject-4.0.0.tar.gz.provenance"),
            &wheel,
        )
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Subject, "{}", error.message);

    // Not JSON, not a provenance object.
    for junk in [&b"[]"[..], b"{}", b"\xff", b"{\"version\":1}"] {
        assert_eq!(
            verifier
                .verify_pypi_provenance(junk, &file)
                .unwrap_err()
                .kind,
            ErrorKind::Malformed
        );
    }
}
