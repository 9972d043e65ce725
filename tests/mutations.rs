//! One field of a real npm attestations response changed per case; each change must be
//! rejected, at the stage that owns the field.

use artifact_monitor_core::registry::npm::PackageName;
use artifact_monitor_tests::{read, tarball_sha512};
use artifact_monitor_verify::{ArtifactInput, ErrorKind, Expectation, ProvenanceVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

const RESPONSE: &str = "npm/attestations/sigstore@2.3.1.json";
/// Index of each bundle in that response.
const PUBLISH: usize = 0;
const PROVENANCE: usize = 1;

fn original() -> Value {
    serde_json::from_slice(&read(RESPONSE)).expect("fixture is JSON")
}

fn verify_with(
    verifier: &ProvenanceVerifier,
    response: &Value,
    sha512: [u8; 64],
) -> Result<(), ErrorKind> {
    let expectation = Expectation {
        package: Some((
            PackageName::parse("sigstore").expect("name"),
            "2.3.1".into(),
        )),
        artifact: ArtifactInput::Sha512(sha512),
    };
    let bytes = serde_json::to_vec(response).expect("serialises");
    verifier
        .verify_document(&bytes, &expectation)
        .map(|_| ())
        .map_err(|e| e.kind)
}

fn verify(response: &Value) -> Result<(), ErrorKind> {
    let verifier = ProvenanceVerifier::embedded().expect("embedded trust");
    verify_with(
        &verifier,
        response,
        tarball_sha512("sigstore@2.3.1").expect("digest recorded"),
    )
}

fn bundle(response: &mut Value, index: usize) -> &mut Value {
    &mut response["attestations"][index]["bundle"]
}

fn tlog(response: &mut Value, index: usize) -> &mut Value {
    &mut bundle(response, index)["verificationMaterial"]["tlogEntries"][0]
}

fn flip_base64_bit(value: &mut Value) {
    let mut bytes = STANDARD
        .decode(value.as_str().expect("base64 text"))
        .expect("base64");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    *value = Value::String(STANDARD.encode(bytes));
}

#[test]
fn the_unmodified_response_verifies() {
    assert_eq!(verify(&original()), Ok(()));
}

#[test]
fn each_single_field_mutation_is_rejected_at_its_stage() {
    type Mutate = fn(&mut Value);
    let cases: &[(&str, Mutate, ErrorKind)] = &[
        (
            "provenance DSSE signature bit",
            |r| flip_base64_bit(&mut bundle(r, PROVENANCE)["dsseEnvelope"]["signatures"][0]["sig"]),
            ErrorKind::Signature,
        ),
        (
            "publish DSSE signature bit",
            |r| flip_base64_bit(&mut bundle(r, PUBLISH)["dsseEnvelope"]["signatures"][0]["sig"]),
            ErrorKind::Signature,
        ),
        (
            "provenance payload bit",
            |r| flip_base64_bit(&mut bundle(r, PROVENANCE)["dsseEnvelope"]["payload"]),
            ErrorKind::Signature,
        ),
        (
            "payload type",
            |r| {
                bundle(r, PROVENANCE)["dsseEnvelope"]["payloadType"] =
                    "application/vnd.dev.sigstore.other+json".into()
            },
            ErrorKind::Signature,
        ),
        (
            "certificate swapped for another real Fulcio certificate",
            swap_certificate,
            ErrorKind::Certificate,
        ),
        (
            "integrated time",
            |r| tlog(r, PROVENANCE)["integratedTime"] = "1715879524".into(),
            ErrorKind::Tlog,
        ),
        (
            "log index",
            |r| tlog(r, PROVENANCE)["logIndex"] = "94408137".into(),
            ErrorKind::Tlog,
        ),
        (
            "inclusion proof removed",
            |r| {
                tlog(r, PROVENANCE)
                    .as_object_mut()
                    .expect("entry")
                    .remove("inclusionProof");
            },
            ErrorKind::Inclusion,
        ),
        (
            "inclusion proof hash",
            |r| flip_base64_bit(&mut tlog(r, PROVENANCE)["inclusionProof"]["hashes"][0]),
            ErrorKind::Inclusion,
        ),
        (
            "checkpoint root hash",
            mutate_checkpoint_root,
            ErrorKind::Inclusion,
        ),
        (
            "inclusion promise bit",
            |r| {
                flip_base64_bit(
                    &mut tlog(r, PROVENANCE)["inclusionPromise"]["signedEntryTimestamp"],
                )
            },
            ErrorKind::Tlog,
        ),
        (
            "log id of an unknown log",
            |r| tlog(r, PROVENANCE)["logId"]["keyId"] = STANDARD.encode([7u8; 32]).into(),
            ErrorKind::Tlog,
        ),
        (
            "publish key id of an unknown key",
            |r| {
                bundle(r, PUBLISH)["verificationMaterial"]["publicKey"]["hint"] =
                    "SHA256:unknown".into()
            },
            ErrorKind::Trust,
        ),
        (
            "publish key id of the other registry key",
            |r| {
                bundle(r, PUBLISH)["verificationMaterial"]["publicKey"]["hint"] =
                    "SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U".into()
            },
            ErrorKind::Signature,
        ),
        (
            "response predicate type",
            |r| {
                r["attestations"][PROVENANCE]["predicateType"] =
                    "https://slsa.dev/provenance/v0.2".into()
            },
            ErrorKind::Predicate,
        ),
        (
            "media type",
            |r| {
                bundle(r, PROVENANCE)["mediaType"] =
                    "application/vnd.dev.sigstore.bundle+json;version=9".into()
            },
            ErrorKind::Malformed,
        ),
        (
            "a third attestation",
            |r| {
                let extra = r["attestations"][PROVENANCE].clone();
                r["attestations"].as_array_mut().expect("list").push(extra);
            },
            ErrorKind::Malformed,
        ),
        (
            "no attestations",
            |r| r["attestations"] = Value::Array(vec![]),
            ErrorKind::Malformed,
        ),
    ];
    let mut failures = Vec::new();
    for (name, mutate, expected) in cases {
        let mut response = original();
        mutate(&mut response);
        let outcome = verify(&response);
        if outcome != Err(*expected) {
            failures.push(format!("{name}: expected {expected:?}, got {outcome:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Puts the provenance certificate of another real release in place of this one's.
fn swap_certificate(response: &mut Value) {
    let other: Value =
        serde_json::from_slice(&read("npm/attestations/sigstore@1.0.0.json")).expect("JSON");
    let certificate =
        other["attestations"][0]["bundle"]["verificationMaterial"]["x509CertificateChain"].clone();
    assert!(
        certificate.is_object(),
        "the other response has a certificate chain"
    );
    bundle(response, PROVENANCE)["verificationMaterial"]["x509CertificateChain"] = certificate;
}

fn mutate_checkpoint_root(response: &mut Value) {
    let checkpoint = &mut tlog(response, PROVENANCE)["inclusionProof"]["checkpoint"]["envelope"];
    let text = checkpoint.as_str().expect("checkpoint text").to_owned();
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let mut root = STANDARD.decode(&lines[2]).expect("root hash line");
    root[0] ^= 0x80;
    lines[2] = STANDARD.encode(root);
    *checkpoint = Value::String(lines.join("\n"));
}

#[test]
fn a_wrong_tarball_digest_is_a_subject_error() {
    let verifier = ProvenanceVerifier::embedded().expect("embedded trust");
    let mut digest = tarball_sha512("sigstore@2.3.1").expect("digest");
    digest[63] ^= 1;
    assert_eq!(
        verify_with(&verifier, &original(), digest),
        Err(ErrorKind::Subject)
    );
}

#[test]
fn another_packages_attestation_is_a_subject_error() {
    let verifier = ProvenanceVerifier::embedded().expect("embedded trust");
    let expectation = Expectation {
        package: Some((
            PackageName::parse("sigstore").expect("name"),
            "2.3.2".into(),
        )),
        artifact: ArtifactInput::Unchecked,
    };
    let error = verifier
        .verify_document(&read(RESPONSE), &expectation)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Subject, "{error}");
    let expectation = Expectation {
        package: Some((
            PackageName::parse("@evil/sigstore").expect("name"),
            "2.3.1".into(),
        )),
        artifact: ArtifactInput::Unchecked,
    };
    assert_eq!(
        verifier
            .verify_document(&read(RESPONSE), &expectation)
            .unwrap_err()
            .kind,
        ErrorKind::Subject
    );
}

#[test]
fn a_registry_key_past_its_expiry_is_a_trust_error() {
    // The publish attestation of @playwright/cli@0.1.1 was logged in February 2026 with the
    // current key; declare that key expired in 2025 and it must be refused.
    let keys = String::from_utf8(read("npm/keys/keys.json"))
        .expect("text")
        .replace(
            r#""expires":null"#,
            r#""expires":"2025-06-01T00:00:00.000Z""#,
        );
    let root = String::from_utf8(read("sigstore/trusted_root.json")).expect("text");
    let verifier = ProvenanceVerifier::new(&root, &keys).expect("trust material");
    let expectation = Expectation {
        package: Some((
            PackageName::parse("@playwright/cli").expect("name"),
            "0.1.1".into(),
        )),
        artifact: ArtifactInput::Unchecked,
    };
    let error = verifier
        .verify_document(
            &read("npm/attestations/@playwright__cli@0.1.1.json"),
            &expectation,
        )
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Trust, "{error}");
    assert!(error.message.contains("expired"), "{error}");
}
