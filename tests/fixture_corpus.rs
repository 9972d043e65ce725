//! Every bundle and npm attestations response in tests/fixtures, decided as EXPECTED.json
//! says the peer verifiers (sigstore-js, sigstore-python) decided it: accepted files with
//! their evidence, rejected files with the stage that rejects them.

use artifact_monitor_core::registry::npm::PackageName;
use artifact_monitor_tests::{expected, package_of_response_file, read, tarball_sha512};
use artifact_monitor_verify::{
    ArtifactInput, ErrorKind, Expectation, ProvenanceVerifier, Signer, VerifiedDocument,
};
use serde_json::Value;

/// The stage that must reject each invalid fixture (EXPECTED.json gives the peers' reason).
const REJECTIONS: &[(&str, ErrorKind)] = &[
    (
        "conformance.checkpoint-wrong-roothash_fail",
        ErrorKind::Inclusion,
    ),
    ("conformance.dsse-invalid-sig_fail", ErrorKind::Signature),
    ("conformance.dsse-mismatch-envelope_fail", ErrorKind::Tlog),
    ("conformance.dsse-mismatch-sig_fail", ErrorKind::Tlog),
    (
        "conformance.inclusion-proof-corrupted-hash_fail",
        ErrorKind::Inclusion,
    ),
    (
        "conformance.invalid-inclusion-proof_fail",
        ErrorKind::Inclusion,
    ),
    ("conformance.set-invalid-signature_fail", ErrorKind::Tlog),
    // DSSE envelopes in a Sigstore bundle carry exactly one signature.
    (
        "sigstore-go.slsa-provenance-0.0.7-dsse-2sigs",
        ErrorKind::Malformed,
    ),
    // Both carry base64 with non-canonical trailing bits, refused when parsed.
    ("slsa-verifier.invalid-dsse-sig", ErrorKind::Malformed),
    ("slsa-verifier.invalid-set", ErrorKind::Malformed),
    // The log entry is from before the certificate was issued.
    ("slsa-verifier.mismatch-tlog", ErrorKind::Certificate),
    ("npm-att-mismatch-prov-payloadtype", ErrorKind::Signature),
    ("npm-att-mismatch-prov-predicatetype", ErrorKind::Predicate),
    ("npm-att-mismatch-pub-predicatetype", ErrorKind::Predicate),
    ("npm-att-publish-nodigest", ErrorKind::Signature),
    ("npm-att-publish-nosubjects", ErrorKind::Signature),
    ("npm-stmt-mismatch-prov-predicatetype", ErrorKind::Signature),
    (
        "sigstore@2.3.1.invalid-sig-provenance",
        ErrorKind::Signature,
    ),
    ("sigstore@2.3.1.invalid-sig-publish", ErrorKind::Signature),
];

fn verify(
    path: &str,
    entry: &Value,
) -> Result<VerifiedDocument, artifact_monitor_verify::VerificationError> {
    let verifier = ProvenanceVerifier::embedded().expect("embedded trust material loads");
    let document = read(path);
    let blob = read("bundles/conformance.a.txt");
    let mut expectation = Expectation::none();
    let file_name = path.rsplit('/').next().expect("a file name");
    if entry["kind"] == "npm-attestations-response" {
        let (name, version) = package_of_response_file(file_name);
        // Not every tarball's digest was recorded; without one the subject's own digest is
        // verified and the document says the artifact was not checked.
        if let Some(digest) = tarball_sha512(&format!("{name}@{version}")) {
            expectation.artifact = ArtifactInput::Sha512(digest);
        }
        expectation.package = Some((PackageName::parse(&name).expect("fixture name"), version));
    } else if entry["bundles"][0]["content"] == "messageSignature" {
        expectation.artifact = ArtifactInput::Blob(&blob);
    }
    verifier.verify_document(&document, &expectation)
}

#[test]
fn every_fixture_is_decided_as_the_peers_decided() {
    let expected = expected();
    let files = expected["files"].as_object().expect("files");
    assert_eq!(files.len(), 38, "EXPECTED.json lists 38 files");
    let mut accepted = 0;
    for (path, entry) in files {
        let outcome = entry["expected_outcome"].as_str().expect("outcome");
        let result = verify(path, entry);
        if outcome == "accept" {
            let document = result.unwrap_or_else(|e| panic!("{path} must verify, got {e}"));
            assert_accepted_evidence(path, entry, &document);
            accepted += 1;
        } else {
            let error = result
                .err()
                .unwrap_or_else(|| panic!("{path} must be rejected"));
            let (_, kind) = REJECTIONS
                .iter()
                .find(|(name, _)| path.contains(name))
                .unwrap_or_else(|| panic!("no expected kind listed for {path}"));
            assert_eq!(error.kind, *kind, "{path}: {error}");
        }
    }
    assert_eq!(accepted, 19);
}

/// The evidence we report matches what the independent verifier read off the certificate.
fn assert_accepted_evidence(path: &str, entry: &Value, document: &VerifiedDocument) {
    let bundles = entry["bundles"].as_array().expect("bundles");
    assert_eq!(document.bundles.len(), bundles.len(), "{path}");
    let Some(certificate) = bundles
        .iter()
        .find_map(|b| b.get("certificate").filter(|c| !c.is_null()))
    else {
        return;
    };
    let signer = document
        .bundles
        .iter()
        .find_map(|b| match &b.signer {
            Signer::Certificate { identity, .. } => identity.clone(),
            Signer::NpmRegistryKey { .. } => None,
        })
        .expect("a keyless bundle");
    let san = certificate["sanURI"]
        .as_str()
        .or(certificate["sanEmail"].as_str());
    assert_eq!(Some(signer.as_str()), san, "{path}");
    let is_slsa = |b: &Value| {
        b["statement"]["predicateType"].as_str().is_some_and(|p| {
            [
                "https://slsa.dev/provenance/v0.2",
                "https://slsa.dev/provenance/v1",
            ]
            .contains(&p)
        })
    };
    if !bundles.iter().any(is_slsa) {
        return;
    }
    let evidence = document
        .provenance
        .as_ref()
        .unwrap_or_else(|| panic!("{path} has provenance"));
    if let Some(repository) = certificate["sourceRepositoryURI"].as_str() {
        let short = repository.trim_start_matches("https://github.com/");
        assert_eq!(evidence.repository.as_deref(), Some(short), "{path}");
    }
    if let Some(config) = certificate["buildConfigURI"].as_str() {
        let short = config.trim_start_matches("https://github.com/");
        assert_eq!(evidence.workflow_ref.as_deref(), Some(short), "{path}");
    }
    if let Some(run) = certificate["runInvocationURI"].as_str() {
        assert_eq!(evidence.run_url.as_deref(), Some(run), "{path}");
    }
    assert!(
        evidence.integrated_time.is_some() && evidence.log_index.is_some(),
        "{path}"
    );
    if entry["kind"] == "npm-attestations-response" {
        let publish = document
            .publish
            .as_ref()
            .unwrap_or_else(|| panic!("{path} has a publish attestation"));
        assert!(publish.keyid.starts_with("SHA256:"), "{path}");
        let (name, version) = package_of_response_file(path.rsplit('/').next().expect("name"));
        let recorded = tarball_sha512(&format!("{name}@{version}")).is_some();
        assert_eq!(document.artifact_checked, recorded, "{path}");
    }
}

#[test]
fn npm_evidence_is_complete_for_a_modern_release() {
    let path = "npm/attestations/@playwright__cli@0.1.1.json";
    let document = verify(path, &expected()["files"][path]).expect("verifies");
    let evidence = document.provenance.expect("provenance");
    assert_eq!(
        evidence.repository.as_deref(),
        Some("microsoft/playwright-cli")
    );
    assert_eq!(evidence.repository_id.as_deref(), Some("273562379"));
    assert_eq!(evidence.owner_id.as_deref(), Some("6154722"));
    assert_eq!(evidence.git_ref.as_deref(), Some("refs/tags/v0.1.1"));
    assert_eq!(
        evidence.commit.as_deref(),
        Some("d1c6d1113932ddcee243e8b111b6d4aea553df20")
    );
    assert_eq!(
        evidence.workflow_path.as_deref(),
        Some(".github/workflows/publish.yml")
    );
    assert_eq!(evidence.event.as_deref(), Some("release"));
    assert_eq!(
        evidence.runner_environment.as_deref(),
        Some("github-hosted")
    );
    assert_eq!(evidence.run_id, Some(22_026_075_834));
    assert_eq!(evidence.run_attempt, Some(1));
    assert_eq!(
        evidence.run_url.as_deref(),
        Some("https://github.com/microsoft/playwright-cli/actions/runs/22026075834/attempts/1")
    );
    assert_eq!(evidence.subject_name, "pkg:npm/%40playwright/cli@0.1.1");
    assert_eq!(evidence.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(evidence.log_index, Some(953_297_574));
    assert_eq!(evidence.integrated_time, Some(1_771_111_723));
    let publish = document.publish.expect("publish attestation");
    assert_eq!(
        publish.keyid,
        "SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U"
    );
    assert_eq!(
        (publish.name.as_str(), publish.version.as_str()),
        ("@playwright/cli", "0.1.1")
    );
}

#[test]
fn legacy_certificates_are_completed_from_the_predicate() {
    // Early 2023: the certificate has only the deprecated GitHub extensions.
    let path = "npm/attestations/sigstore@1.0.0.json";
    let document = verify(path, &expected()["files"][path]).expect("verifies");
    let evidence = document.provenance.expect("provenance");
    assert_eq!(evidence.repository.as_deref(), Some("sigstore/sigstore-js"));
    assert_eq!(
        evidence.workflow_path.as_deref(),
        Some(".github/workflows/publish.yml")
    );
    assert_eq!(evidence.git_ref.as_deref(), Some("refs/tags/v1.0.0"));
    assert_eq!(evidence.event.as_deref(), Some("release"));
    assert_eq!(evidence.repository_id.as_deref(), Some("495574555"));
    assert_eq!(evidence.run_id, Some(4_137_028_816));
    assert_eq!(
        evidence.runner_environment, None,
        "not attested before Fulcio's .1.11"
    );
}

#[test]
fn a_reusable_workflow_is_reported_as_the_build_signer() {
    let path = "npm/attestations/@laurentsimon__provenance-npm-test@1.0.5.json";
    let document = verify(path, &expected()["files"][path]).expect("verifies");
    let evidence = document.provenance.expect("provenance");
    assert_eq!(
        evidence.workflow_path.as_deref(),
        Some(".github/workflows/release-slsa3.yml")
    );
    assert_eq!(
        evidence.build_signer.as_deref(),
        Some(
            "slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v1.6.0"
        )
    );
}
