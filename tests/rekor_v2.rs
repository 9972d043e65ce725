//! Rekor v2 through the same engine the npm path uses: a DSSE bundle logged as a
//! `hashedrekord` 0.0.2 entry with an RFC 3161 timestamp and no integrated time (from the
//! Sigstore conformance suite) verifies with `verify_document`, yields its evidence and
//! verified time, and is rejected at the right stage when tampered with or when it is
//! presented as an npm attestation of a package it does not name.

// Test helpers: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use artifact_monitor_core::registry::npm::PackageName;
use artifact_monitor_tests::read;
use artifact_monitor_verify::{
    ArtifactInput, EMBEDDED_NPM_KEYS, ErrorKind, Expectation, ProvenanceVerifier,
};
use serde_json::{Value, json};

const CASE: &str = "conformance/bundle-verify/rekor2-dsse-happy-path";

fn verifier() -> ProvenanceVerifier {
    let root = String::from_utf8(read(&format!("{CASE}/trusted_root.json"))).unwrap();
    ProvenanceVerifier::new(&root, EMBEDDED_NPM_KEYS).unwrap()
}

fn bundle() -> Value {
    serde_json::from_slice(&read(&format!("{CASE}/bundle.sigstore.json"))).unwrap()
}

#[test]
fn a_rekor_v2_dsse_bundle_verifies_with_a_timestamp_for_time() {
    let bundle = bundle();
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(
        entry["kindVersion"],
        json!({"kind": "hashedrekord", "version": "0.0.2"})
    );
    assert!(
        entry
            .get("integratedTime")
            .is_none_or(|t| t == "0" || t.is_null())
    );
    let artifact = read("conformance/a.txt");
    let verified = verifier()
        .verify_document(
            &serde_json::to_vec(&bundle).unwrap(),
            &Expectation {
                package: None,
                artifact: ArtifactInput::Blob(&artifact),
            },
        )
        .unwrap();
    assert!(verified.artifact_checked);
    let evidence = verified.provenance.expect("certificate evidence");
    assert_eq!(
        evidence.issuer.as_deref(),
        Some("https://token.actions.githubusercontent.com")
    );
    assert!(
        evidence.integrated_time.is_some(),
        "time from the RFC 3161 timestamp"
    );
}

#[test]
fn a_tampered_rekor_v2_signature_is_rejected() {
    let mut bundle = bundle();
    let sig = bundle["dsseEnvelope"]["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = base64_decode(&sig);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = json!(base64_encode(&bytes));
    let error = verifier()
        .verify_document(&serde_json::to_vec(&bundle).unwrap(), &Expectation::none())
        .unwrap_err();
    // The RFC 3161 timestamp covers the signature, so it is the first check to fail.
    assert!(
        matches!(
            error.kind,
            ErrorKind::Time | ErrorKind::Signature | ErrorKind::Tlog
        ),
        "{error}"
    );
}

#[test]
fn as_an_npm_attestation_of_a_package_it_does_not_name_it_is_rejected_for_its_subject() {
    let response = json!({"attestations": [{
        "predicateType": "https://slsa.dev/provenance/v1",
        "bundle": bundle(),
    }]});
    let error = verifier()
        .verify_document(
            &serde_json::to_vec(&response).unwrap(),
            &Expectation {
                package: Some((PackageName::parse("a-txt").unwrap(), "1.0.0".to_owned())),
                artifact: ArtifactInput::Unchecked,
            },
        )
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Subject, "{error}");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
