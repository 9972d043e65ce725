//! Arbitrary JSON, truncated and bit-flipped bundles: the verifier must reject without
//! panicking, whatever it is fed.

use artifact_monitor_tests::read;
use artifact_monitor_verify::{Expectation, ProvenanceVerifier};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

fn verifier() -> &'static ProvenanceVerifier {
    static VERIFIER: OnceLock<ProvenanceVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| ProvenanceVerifier::embedded().expect("embedded trust"))
}

const DOCUMENTS: &[&str] = &[
    "npm/attestations/sigstore@2.3.1.json",
    "npm/attestations/@playwright__cli@0.1.1.json",
    "bundles/conformance.happy-path-v0.3.sigstore.json",
    "bundles/sigstore-js.bundleV01-intoto-with-proof.sigstore.json",
];

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "application/vnd.dev.sigstore.bundle.v0.3+json",
            "application/vnd.in-toto+json",
            "https://slsa.dev/provenance/v1",
            "SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U",
            "AAAA",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "attestations",
                    "bundle",
                    "predicateType",
                    "mediaType",
                    "verificationMaterial",
                    "dsseEnvelope",
                    "messageSignature",
                    "tlogEntries",
                    "publicKey",
                    "hint",
                    "certificate",
                    "rawBytes",
                    "payload",
                    "payloadType",
                    "signatures",
                    "sig",
                    "x509CertificateChain",
                    "certificates",
                    "inclusionProof",
                    "checkpoint",
                ])
                .prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_is_rejected_without_panicking(value in arbitrary_json()) {
        let bytes = serde_json::to_vec(&value).expect("serialises");
        prop_assert!(verifier().verify_document(&bytes, &Expectation::none()).is_err());
    }

    #[test]
    fn truncated_documents_are_rejected(which in 0..DOCUMENTS.len(), cut in 0.0f64..1.0) {
        let document = read(DOCUMENTS[which]);
        // Cut into the document itself: trailing whitespace (a final newline) is not part
        // of the JSON, and a file without it is the same document.
        let content = document.len() - document.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
        let end = ((content as f64) * cut) as usize;
        prop_assert!(verifier().verify_document(&document[..end], &Expectation::none()).is_err());
    }

    #[test]
    fn flipped_bytes_never_panic(which in 0..DOCUMENTS.len(), at in 0.0f64..1.0, mask in 1u8..=255) {
        let mut document = read(DOCUMENTS[which]);
        let index = ((document.len() as f64) * at) as usize % document.len();
        document[index] ^= mask;
        // Some flips land in ignored whitespace or unknown fields and still verify; the
        // property is that every input gets an answer.
        let _ = verifier().verify_document(&document, &Expectation::none());
    }

    #[test]
    fn arbitrary_bytes_are_rejected(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(verifier().verify_document(&bytes, &Expectation::none()).is_err());
    }
}

#[test]
fn oversized_documents_are_refused_before_parsing() {
    let huge = vec![b' '; artifact_monitor_verify::MAX_DOCUMENT_BYTES + 1];
    let error = verifier()
        .verify_document(&huge, &Expectation::none())
        .unwrap_err();
    assert_eq!(error.kind, artifact_monitor_verify::ErrorKind::Malformed);
}

const PACKUMENTS: &[&str] = &[
    "npm/packuments/has-package-exports.json",
    "npm/packuments/@ljharb__has-package-exports-patterns.json",
    "npm/packuments/tiny-tarball.json",
    "npm/packuments/synthetic-attestation-changes.dependabot.json",
];

#[test]
fn the_real_packuments_parse() {
    for path in PACKUMENTS {
        let packument = artifact_monitor_core::registry::npm::Packument::parse(&read(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(!packument.versions.is_empty(), "{path}");
        assert!(!packument.name.is_empty(), "{path}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn damaged_packuments_get_an_answer(which in 0..PACKUMENTS.len(), at in 0.0f64..1.0, mask in 1u8..=255, cut in 0.0f64..1.0) {
        let mut document = read(PACKUMENTS[which]);
        let index = ((document.len() as f64) * at) as usize % document.len();
        document[index] ^= mask;
        let _ = artifact_monitor_core::registry::npm::Packument::parse(&document);
        let end = ((document.len() as f64) * cut) as usize;
        let truncated = artifact_monitor_core::registry::npm::Packument::parse(&document[..end]);
        prop_assert!(truncated.is_err() || end + 2 >= document.len());
    }

    #[test]
    fn arbitrary_json_is_not_a_packument_unless_it_has_one_shape(value in arbitrary_json()) {
        let bytes = serde_json::to_vec(&value).expect("serialises");
        if let Ok(packument) = artifact_monitor_core::registry::npm::Packument::parse(&bytes) {
            // Only an object with a name and a versions map is ever accepted.
            prop_assert!(value.get("versions").is_some_and(Value::is_object));
            prop_assert!(value.get("name").is_some());
            let _ = packument.versions_by_publish_time();
        }
    }
}
