//! Whole documents: a single Sigstore bundle, or a registry's attestations response (npm's,
//! read in [`crate::npm`]).

use super::bundle::ParsedBundle;
use super::claims::{SLSA_V1, SLSA_V02};
use super::npm::{NpmSubject, npm_subject, publish_attestation};
use super::{BundleSummary, ErrorKind, MAX_DOCUMENT_BYTES, ProvenanceVerifier, VerificationError};
use artifact_monitor_core::domain::{Evidence, PolicyViolation, ReleasePolicy};
use artifact_monitor_core::registry::npm::{PackageName, npm_purl};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sigstore_verify::crypto::sha512;
use sigstore_verify::types::{
    Artifact, ArtifactDigest, HashAlgorithm, SignatureContent, Statement,
};

/// What the signed artifact is, when the caller has it.
#[derive(Debug, Clone, Copy)]
pub enum ArtifactInput<'a> {
    /// Not given: the signature is verified over the statement's own subject digest, which
    /// proves who signed what, but not that it is any particular file.
    Unchecked,
    /// The artifact's bytes (a tarball, or the blob a message signature covers).
    Blob(&'a [u8]),
    /// The tarball's SHA-512 digest (npm's `dist.integrity`).
    Sha512([u8; 64]),
}

/// What the caller expects the document to attest.
#[derive(Debug, Clone)]
pub struct Expectation<'a> {
    /// The package and version the subject must name.
    pub package: Option<(PackageName, String)>,
    pub artifact: ArtifactInput<'a>,
}

impl Expectation<'_> {
    /// Expect nothing in particular: report what the document proves.
    pub fn none() -> Self {
        Self {
            package: None,
            artifact: ArtifactInput::Unchecked,
        }
    }
}

/// The npm registry's statement that it published a version, signed with a registry key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PublishAttestation {
    pub keyid: String,
    pub name: String,
    pub version: String,
    pub integrated_time: Option<i64>,
    pub log_index: Option<u64>,
}

/// A document that passed every check. Only the verifier constructs one.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifiedDocument {
    /// `sigstore_bundle` or `npm_attestations`.
    pub document: &'static str,
    pub bundles: Vec<BundleSummary>,
    /// The build facts from a verified SLSA provenance, if the document carries one.
    pub provenance: Option<Evidence>,
    pub publish: Option<PublishAttestation>,
    /// The in-toto subject every bundle names (for DSSE documents).
    pub subject_name: Option<String>,
    pub subject_sha512: Option<String>,
    /// Whether the caller's artifact or digest was checked against the signature.
    pub artifact_checked: bool,
}

impl VerifiedDocument {
    /// Every way the provenance falls short of `policy`; a document without provenance
    /// cannot satisfy any policy.
    pub fn check_policy(&self, policy: &ReleasePolicy) -> Result<(), VerificationError> {
        let Some(evidence) = &self.provenance else {
            return Err(VerificationError::new(
                ErrorKind::Policy,
                "the document carries no SLSA provenance to check the release policy against",
            ));
        };
        let violations = policy.evaluate(evidence);
        if violations.is_empty() {
            return Ok(());
        }
        let reasons: Vec<String> = violations.iter().map(PolicyViolation::to_string).collect();
        Err(VerificationError::new(
            ErrorKind::Policy,
            reasons.join("; "),
        ))
    }
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    attestations: Option<&'a RawValue>,
    #[serde(rename = "mediaType")]
    media_type: Option<serde::de::IgnoredAny>,
}

pub(crate) fn malformed(message: impl Into<String>) -> VerificationError {
    VerificationError::new(ErrorKind::Malformed, message)
}

pub(crate) fn subject_error(message: impl Into<String>) -> VerificationError {
    VerificationError::new(ErrorKind::Subject, message)
}

impl ProvenanceVerifier {
    /// Verifies a Sigstore bundle or an npm attestations response, whichever `document` is.
    pub fn verify_document(
        &self,
        document: &[u8],
        expectation: &Expectation<'_>,
    ) -> Result<VerifiedDocument, VerificationError> {
        if document.len() > MAX_DOCUMENT_BYTES {
            return Err(malformed(format!(
                "document is {} bytes, more than the {MAX_DOCUMENT_BYTES} accepted",
                document.len()
            )));
        }
        let text = std::str::from_utf8(document).map_err(|_| malformed("document is not UTF-8"))?;
        let probe: Probe<'_> = serde_json::from_str(text)
            .map_err(|e| malformed(format!("document is not a JSON object: {e}")))?;
        match (probe.attestations, probe.media_type) {
            (Some(attestations), None) => {
                self.verify_npm_attestations(attestations.get(), expectation)
            }
            (None, Some(_)) => self.verify_bundle(text, expectation),
            _ => Err(malformed(
                "document is neither a Sigstore bundle (mediaType) nor an npm attestations response (attestations)",
            )),
        }
    }

    /// Verifies one Sigstore bundle.
    pub fn verify_bundle(
        &self,
        json: &str,
        expectation: &Expectation<'_>,
    ) -> Result<VerifiedDocument, VerificationError> {
        let parsed = ParsedBundle::parse(json)?;
        let statement = parsed.statement.as_ref().and_then(|s| s.as_ref().ok());
        let npm_subject = match (&expectation.package, statement) {
            (Some((name, version)), Some(statement)) => {
                Some(npm_subject(statement, Some(&npm_purl(name, version)))?)
            }
            (Some(_), None) if parsed.statement.is_none() => {
                return Err(subject_error(
                    "a message-signature bundle names no package; --name/--version need an attestation",
                ));
            }
            _ => None,
        };
        let (artifact, checked) =
            artifact_for(&parsed, npm_subject.as_ref(), expectation.artifact)?;
        let outcome = self.verify_parsed(&parsed, artifact, npm_subject.is_some())?;
        let publish = publish_attestation(&outcome, statement, npm_subject.as_ref())?;
        let provenance = provenance_of(outcome.evidence.clone(), statement);
        let subject = statement.and_then(|s| s.subject.first());
        Ok(VerifiedDocument {
            document: "sigstore_bundle",
            provenance,
            publish,
            subject_name: subject.map(|s| s.name.clone()),
            subject_sha512: subject
                .and_then(|s| s.digest.sha512.as_ref())
                .map(|d| d.to_hex()),
            bundles: vec![outcome.summary],
            artifact_checked: checked,
        })
    }
}

/// A digest no subject has: used when the statement cannot name one, so the crate still runs
/// its signature and log checks and reports the forgery first.
pub(crate) fn unmatched_digest() -> Artifact<'static> {
    Artifact::Digest(ArtifactDigest::sha256(
        sigstore_verify::types::Sha256Hash::new([0; 32]),
    ))
}

/// Chooses what the Sigstore crate verifies the signature against, checking the caller's
/// artifact against an npm subject first so the error names the subject.
pub(crate) fn artifact_for<'a>(
    parsed: &ParsedBundle,
    npm: Option<&NpmSubject>,
    input: ArtifactInput<'a>,
) -> Result<(Artifact<'a>, bool), VerificationError> {
    let sha512_artifact = |digest: [u8; 64]| {
        ArtifactDigest::new(HashAlgorithm::Sha2512, digest.to_vec())
            .map(Artifact::Digest)
            .map_err(|e| malformed(e.to_string()))
    };
    if let Some(subject) = npm {
        let given = match input {
            ArtifactInput::Unchecked => None,
            ArtifactInput::Blob(bytes) => Some(*sha512(bytes).as_bytes()),
            ArtifactInput::Sha512(digest) => Some(digest),
        };
        if let Some(given) = given
            && given != subject.sha512
        {
            return Err(subject_error(format!(
                "the artifact's sha512 is not the digest {} signed for {}",
                subject.sha512_hex, subject.name
            )));
        }
        return Ok((sha512_artifact(subject.sha512)?, given.is_some()));
    }
    match input {
        ArtifactInput::Blob(bytes) => Ok((Artifact::Blob(bytes), true)),
        ArtifactInput::Sha512(digest) => Ok((sha512_artifact(digest)?, true)),
        ArtifactInput::Unchecked => {
            let own = match (&parsed.bundle.content, &parsed.statement) {
                (_, Some(Ok(statement))) => statement.subject.first().and_then(|s| {
                    s.digest
                        .sha512
                        .map(|d| ArtifactDigest::new(HashAlgorithm::Sha2512, d.as_bytes().to_vec()))
                        .or_else(|| s.digest.sha256.map(|d| Ok(ArtifactDigest::sha256(d))))
                }),
                (SignatureContent::MessageSignature(signature), None) => signature
                    .message_digest
                    .as_ref()
                    .map(|d| ArtifactDigest::new(d.algorithm, d.digest.as_bytes().to_vec())),
                _ => None,
            };
            match own {
                Some(Ok(digest)) => Ok((Artifact::Digest(digest), false)),
                Some(Err(e)) => Err(malformed(e.to_string())),
                None if parsed.statement.is_none() => Err(subject_error(
                    "the message signature carries no digest: give the signed file (--artifact)",
                )),
                None => Ok((unmatched_digest(), false)),
            }
        }
    }
}

fn provenance_of(evidence: Option<Evidence>, statement: Option<&Statement>) -> Option<Evidence> {
    let statement = statement?;
    matches!(statement.predicate_type.as_str(), SLSA_V02 | SLSA_V1)
        .then_some(evidence)
        .flatten()
}
