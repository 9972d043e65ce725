//! npm's rules for evidence: an attestations response (`{"attestations":[{"predicateType",
//! "bundle"}, ...]}`) whose every bundle must verify; its one subject
//! `pkg:npm/<name>@<version>` with a sha512 digest; the registry's publish attestation,
//! signed with a registry key ([`keys`]).

pub(crate) mod keys;

use super::bundle::{BundleOutcome, ParsedBundle};
use super::claims::{SLSA_V1, SLSA_V02};
use super::expect::{
    SignedDigest, artifact_for, malformed, single_subject, subject_error, unmatched_digest,
};
use super::{
    ArtifactInput, ErrorKind, Expectation, MAX_ATTESTATIONS, ProvenanceVerifier,
    PublishAttestation, Signer, VerificationError, VerifiedDocument,
};
use artifact_monitor_core::domain::Evidence;
use artifact_monitor_core::ports::Subject;
use artifact_monitor_core::registry::npm::{PackageName, npm_purl, sri_sha512};
use serde::Deserialize;
use serde_json::value::RawValue;
use sigstore_verify::types::Statement;

/// The predicate type of npm's publish attestation.
pub const NPM_PUBLISH_V01: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";

#[derive(Deserialize)]
struct AttestationEntry<'a> {
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(borrow)]
    bundle: &'a RawValue,
}

impl NpmSubject {
    /// The subject's name and digest, for choosing what the signature is checked against.
    pub(crate) fn signed(&self) -> SignedDigest<'_> {
        SignedDigest {
            name: &self.name,
            sha512: self.sha512,
            hex: &self.sha512_hex,
        }
    }
}

impl ProvenanceVerifier {
    /// npm's rule for one version: the response's subject must be `pkg:npm/<name>@<version>`
    /// with the sha512 of the registry's `dist.integrity`; the provenance, if any, is the
    /// evidence.
    pub(crate) fn verify_npm_version(
        &self,
        subject: &Subject<'_>,
        document: &[u8],
    ) -> Result<Option<Evidence>, VerificationError> {
        let Some(digest) = subject.integrity.and_then(sri_sha512) else {
            return Err(subject_error(
                "the registry gives no sha512 integrity to check the subject against",
            ));
        };
        let name =
            PackageName::parse(&subject.artifact.name).map_err(|e| subject_error(e.to_string()))?;
        let expectation = Expectation {
            package: Some((name, subject.version.to_owned())),
            artifact: ArtifactInput::Sha512(digest),
        };
        self.verify_document(document, &expectation)
            .map(|verified| verified.provenance)
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
            Some(Ok(subject)) => artifact_for(&parsed, Some(subject.signed()), artifact)?,
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
pub(crate) struct NpmSubject {
    pub(crate) name: String,
    package: PackageName,
    version: String,
    pub(crate) sha512: [u8; 64],
    pub(crate) sha512_hex: String,
}

/// Exactly one subject, named `pkg:npm/<name>@<version>` (the expected one when given), with a
/// SHA-512 digest.
pub(crate) fn npm_subject(
    statement: &Statement,
    expected_purl: Option<&str>,
) -> Result<NpmSubject, VerificationError> {
    let subject = single_subject(statement, "an npm attestation")?;
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

/// The publish attestation a keyed bundle makes, checked against the subject.
pub(crate) fn publish_attestation(
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
