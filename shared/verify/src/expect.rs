//! What a caller expects a document to attest, what a verified document reports, and the
//! small rules every registry folder and the whole-document reader share (which digest a
//! signature is checked against, the error constructors). Nothing here knows a registry.

use super::bundle::ParsedBundle;
use super::{BundleSummary, ErrorKind, VerificationError};
use artifact_monitor_core::domain::{Evidence, PolicyViolation, ReleasePolicy};
use artifact_monitor_core::registry::npm::PackageName;
use serde::Serialize;
use sigstore_verify::crypto::sha512;
use sigstore_verify::types::{
    Artifact, ArtifactDigest, HashAlgorithm, SignatureContent, Statement, Subject,
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

pub(crate) fn malformed(message: impl Into<String>) -> VerificationError {
    VerificationError::new(ErrorKind::Malformed, message)
}

pub(crate) fn subject_error(message: impl Into<String>) -> VerificationError {
    VerificationError::new(ErrorKind::Subject, message)
}

/// A digest no subject has: used when the statement cannot name one, so the crate still runs
/// its signature and log checks and reports the forgery first.
pub(crate) fn unmatched_digest() -> Artifact<'static> {
    Artifact::Digest(ArtifactDigest::sha256(
        sigstore_verify::types::Sha256Hash::new([0; 32]),
    ))
}

/// A subject a registry's rule read from a statement: its name and SHA-512 digest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedDigest<'s> {
    pub name: &'s str,
    pub sha512: [u8; 64],
    pub hex: &'s str,
}

/// Chooses what the Sigstore crate verifies the signature against, checking the caller's
/// artifact against a registry's subject first so the error names the subject.
pub(crate) fn artifact_for<'a>(
    parsed: &ParsedBundle,
    npm: Option<SignedDigest<'_>>,
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
                subject.hex, subject.name
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

/// The in-toto statement types read.
const IN_TOTO_STATEMENTS: [&str; 2] = [
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];

/// The one subject of an in-toto statement: the rule every registry's attestations share
/// (`kind` names them in the error: "an npm attestation", "a PyPI attestation").
pub(crate) fn single_subject<'s>(
    statement: &'s Statement,
    kind: &str,
) -> Result<&'s Subject, VerificationError> {
    if !IN_TOTO_STATEMENTS.contains(&statement.type_.as_str()) {
        return Err(VerificationError::new(
            ErrorKind::Predicate,
            format!(
                "statement type {:?} is not an in-toto statement",
                statement.type_
            ),
        ));
    }
    let [subject] = statement.subject.as_slice() else {
        return Err(subject_error(format!(
            "{kind} must have exactly one subject, this one has {}",
            statement.subject.len()
        )));
    };
    Ok(subject)
}
