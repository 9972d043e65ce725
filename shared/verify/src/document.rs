//! Whole documents: a single Sigstore bundle, or an npm attestations response
//! (`{"attestations":[{"predicateType","bundle"}, ...]}`) whose every bundle must verify.

use super::bundle::{BundleOutcome, ParsedBundle};
use super::claims::{SLSA_V1, SLSA_V02};
use super::{
    BundleSummary, ErrorKind, MAX_ATTESTATIONS, MAX_DOCUMENT_BYTES, ProvenanceVerifier, Signer,
    VerificationError,
};
use artifact_monitor_core::domain::{Evidence, PolicyViolation, ReleasePolicy};
use artifact_monitor_core::registry::npm::{PackageName, npm_purl};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sigstore_verify::crypto::sha512;
use sigstore_verify::types::{
    Artifact, ArtifactDigest, HashAlgorithm, SignatureContent, Statement,
};

/// The predicate type of npm's publish attestation.
pub const NPM_PUBLISH_V01: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";

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

#[derive(Deserialize)]
struct AttestationEntry<'a> {
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(borrow)]
    bundle: &'a RawValue,
}

fn malformed(message: impl Into<String>) -> VerificationError {
    VerificationError::new(ErrorKind::Malformed, message)
}

fn subject_error(message: impl Into<String>) -> VerificationError {
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

    /// Verifies an npm attestations response: every bundle, the same single subject in each,
    /// at most one SLSA provenance (keyless) and one publish attestation (registry key).
    pub fn verify_npm_attestations(
        &self,
        attestations_json: &str,
        expectation: &Expectation<'_>,
    ) -> Result<VerifiedDocument, VerificationError> {
        let entries: Vec<AttestationEntry<'_>> =
            serde_json::from_str(attestations_json).map_err(|e| {
                malformed(format!(
                    "attestations is not a list of {{predicateType, bundle}}: {e}"
                ))
            })?;
        if entries.is_empty() || entries.len() > MAX_ATTESTATIONS {
            return Err(malformed(format!(
                "an attestations response must hold 1 to {MAX_ATTESTATIONS} attestations, it holds {}",
                entries.len()
            )));
        }
        let expected_purl = expectation.package.as_ref().map(|(n, v)| npm_purl(n, v));
        let mut verified = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let context = format!("attestation {index} ({})", entry.predicate_type);
            let outcome = self
                .verify_attestation(entry, expected_purl.as_deref(), expectation.artifact)
                .map_err(|e| e.context(&context))?;
            verified.push(outcome);
        }
        let (first_subject, ..) = &verified[0];
        if let Some((other, ..)) = verified.iter().find(|(s, ..)| s != first_subject) {
            return Err(subject_error(format!(
                "the attestations name different subjects: {} and {}",
                first_subject.name, other.name
            )));
        }
        let subject = first_subject.clone();
        let mut provenance = None;
        let mut publish = None;
        let mut bundles = Vec::with_capacity(verified.len());
        for (_, outcome, predicate_type, statement) in verified {
            match predicate_type.as_str() {
                SLSA_V02 | SLSA_V1 => {
                    let Some(evidence) = outcome.evidence.clone() else {
                        return Err(VerificationError::new(
                            ErrorKind::Predicate,
                            "the SLSA provenance is not signed by a Fulcio certificate",
                        ));
                    };
                    if provenance.replace(evidence).is_some() {
                        return Err(malformed(
                            "the response carries more than one SLSA provenance",
                        ));
                    }
                }
                NPM_PUBLISH_V01 => {
                    let attestation =
                        publish_attestation(&outcome, Some(&statement), Some(&subject))?
                            .ok_or_else(|| {
                                VerificationError::new(
                                    ErrorKind::Trust,
                                    "the publish attestation is not signed by an npm registry key",
                                )
                            })?;
                    if publish.replace(attestation).is_some() {
                        return Err(malformed(
                            "the response carries more than one publish attestation",
                        ));
                    }
                }
                _ => {}
            }
            bundles.push(outcome.summary);
        }
        Ok(VerifiedDocument {
            document: "npm_attestations",
            bundles,
            provenance,
            publish,
            subject_name: Some(subject.name),
            subject_sha512: Some(subject.sha512_hex),
            artifact_checked: !matches!(expectation.artifact, ArtifactInput::Unchecked),
        })
    }

    fn verify_attestation(
        &self,
        entry: &AttestationEntry<'_>,
        expected_purl: Option<&str>,
        artifact: ArtifactInput<'_>,
    ) -> Result<(NpmSubject, BundleOutcome, String, Statement), VerificationError> {
        let parsed = ParsedBundle::parse(entry.bundle.get())?;
        let Some(statement) = &parsed.statement else {
            return Err(malformed(
                "an npm attestation must be a DSSE envelope, not a message signature",
            ));
        };
        // The subject and digest are only trusted after the signature verifies; until then
        // they only choose what to verify against.
        let subject = statement
            .as_ref()
            .ok()
            .map(|s| npm_subject(s, expected_purl));
        let (crate_artifact, _) = match &subject {
            Some(Ok(subject)) => artifact_for(&parsed, Some(subject), artifact)?,
            _ => (unmatched_digest(), false),
        };
        let outcome = self.verify_parsed(&parsed, crate_artifact, true)?;
        let statement = statement.as_ref().map_err(|e| malformed(e.clone()))?;
        let subject = subject.unwrap_or_else(|| Err(subject_error("no subject")))?;
        if statement.predicate_type != entry.predicate_type {
            return Err(VerificationError::new(
                ErrorKind::Predicate,
                format!(
                    "the response says predicate type {:?} but the signed statement says {:?}",
                    entry.predicate_type, statement.predicate_type
                ),
            ));
        }
        Ok((
            subject,
            outcome,
            statement.predicate_type.clone(),
            statement.clone(),
        ))
    }
}

/// The one subject of an npm attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NpmSubject {
    name: String,
    package: PackageName,
    version: String,
    sha512: [u8; 64],
    sha512_hex: String,
}

/// Exactly one subject, named `pkg:npm/<name>@<version>` (the expected one when given), with a
/// SHA-512 digest.
fn npm_subject(
    statement: &Statement,
    expected_purl: Option<&str>,
) -> Result<NpmSubject, VerificationError> {
    if statement.type_ != "https://in-toto.io/Statement/v0.1"
        && statement.type_ != "https://in-toto.io/Statement/v1"
    {
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
            "an npm attestation must have exactly one subject, this one has {}",
            statement.subject.len()
        )));
    };
    if let Some(expected) = expected_purl
        && subject.name != expected
    {
        return Err(subject_error(format!(
            "the attestation is for {:?}, not {expected:?}",
            subject.name
        )));
    }
    let (package, version) = parse_npm_purl(&subject.name).ok_or_else(|| {
        subject_error(format!(
            "subject {:?} is not an npm package URL",
            subject.name
        ))
    })?;
    let digest =
        subject.digest.sha512.as_ref().ok_or_else(|| {
            subject_error(format!("subject {:?} has no sha512 digest", subject.name))
        })?;
    let mut sha512 = [0u8; 64];
    sha512.copy_from_slice(digest.as_bytes());
    Ok(NpmSubject {
        name: subject.name.clone(),
        package,
        version,
        sha512,
        sha512_hex: digest.to_hex(),
    })
}

/// Reads `pkg:npm/[%40scope/]name@version` back into a package and version, requiring the
/// canonical encoding (so two spellings of one package cannot both pass).
fn parse_npm_purl(purl: &str) -> Option<(PackageName, String)> {
    let rest = purl.strip_prefix("pkg:npm/")?;
    let (name, encoded_version) = rest.rsplit_once('@')?;
    let name = match name.strip_prefix("%40") {
        Some(scoped) => format!("@{scoped}"),
        None => name.to_owned(),
    };
    let package = PackageName::parse(&name).ok()?;
    let version = percent_decode(encoded_version)?;
    (npm_purl(&package, &version) == purl).then_some((package, version))
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
        .filter(|decoded| !decoded.is_empty())
}

/// A digest no subject has: used when the statement cannot name one, so the crate still runs
/// its signature and log checks and reports the forgery first.
fn unmatched_digest() -> Artifact<'static> {
    Artifact::Digest(ArtifactDigest::sha256(
        sigstore_verify::types::Sha256Hash::new([0; 32]),
    ))
}

/// Chooses what the Sigstore crate verifies the signature against, checking the caller's
/// artifact against an npm subject first so the error names the subject.
fn artifact_for<'a>(
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

/// The publish attestation a keyed bundle makes, checked against the subject.
fn publish_attestation(
    outcome: &BundleOutcome,
    statement: Option<&Statement>,
    subject: Option<&NpmSubject>,
) -> Result<Option<PublishAttestation>, VerificationError> {
    let (Signer::NpmRegistryKey { keyid }, Some(statement)) = (&outcome.summary.signer, statement)
    else {
        return Ok(None);
    };
    if statement.predicate_type != NPM_PUBLISH_V01 {
        return Err(VerificationError::new(
            ErrorKind::Predicate,
            format!(
                "a registry key signed a {:?} statement, not a publish attestation",
                statement.predicate_type
            ),
        ));
    }
    let text = |field: &str| {
        statement
            .predicate
            .get(field)
            .and_then(serde_json::Value::as_str)
    };
    let (Some(name), Some(version)) = (text("name"), text("version")) else {
        return Err(VerificationError::new(
            ErrorKind::Predicate,
            "the publish attestation names no package",
        ));
    };
    if let Some(subject) = subject
        && (name != subject.package.as_str() || version != subject.version)
    {
        return Err(VerificationError::new(
            ErrorKind::Predicate,
            format!(
                "the publish attestation is for {name}@{version} but its subject is {}",
                subject.name
            ),
        ));
    }
    Ok(Some(PublishAttestation {
        keyid: keyid.clone(),
        name: name.to_owned(),
        version: version.to_owned(),
        integrated_time: outcome.summary.integrated_time,
        log_index: outcome.summary.log_index,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_purls_round_trip_only_in_canonical_form() {
        let (name, version) = parse_npm_purl("pkg:npm/%40playwright/cli@0.1.1").unwrap();
        assert_eq!(name.as_str(), "@playwright/cli");
        assert_eq!(version, "0.1.1");
        let (_, version) = parse_npm_purl("pkg:npm/a@1.0.0%2Bbuild").unwrap();
        assert_eq!(version, "1.0.0+build");
        for bad in [
            "pkg:npm/@playwright/cli@0.1.1",
            "pkg:npm/a@1.0.0+build",
            "pkg:npm/a@",
            "pkg:pypi/a@1",
            "pkg:npm/%2540x/y@1",
            "pkg:npm/a@1%2",
        ] {
            assert!(parse_npm_purl(bad).is_none(), "{bad}");
        }
    }
}
