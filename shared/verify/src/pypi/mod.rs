//! PyPI's rules for evidence (PEP 740): an attestation object, or the Integrity API's
//! provenance object holding several, each rewrapped as a Sigstore bundle v0.3 and verified
//! offline with the same verifier and trust material as npm's.
//!
//! - The rewrap is lossless: the certificate, every transparency-log entry as served, the
//!   RFC 3161 timestamps (`verification_material.timestamps`, carried into
//!   `timestampVerificationData`), the statement and its signature as a DSSE envelope.
//! - The signature and the log are checked first, over the statement's own subject; only
//!   then is the verified subject bound to the file: exactly one subject, its name read as a
//!   distribution filename of the project (a wheel's tag sets in any order) and equal to
//!   the file's, its sha256 the index's.
//! - The predicate is PyPI's publish attestation or SLSA provenance v1. The evidence comes
//!   from the certificate (and a SLSA predicate must agree with it); the unsigned
//!   `publisher` object the index serves beside the attestations is never read.

use super::bundle::ParsedBundle;
use super::claims::SLSA_V1;
use super::expect::{malformed, single_subject, subject_error};
use super::{BundleSummary, ErrorKind, MAX_DOCUMENT_BYTES, ProvenanceVerifier, VerificationError};
use artifact_monitor_core::domain::Evidence;
use artifact_monitor_core::ports::Subject;
use artifact_monitor_core::registry::pypi::DistFilename;
use serde::Deserialize;
use serde_json::value::RawValue;
use sigstore_verify::types::{Artifact, ArtifactDigest, Sha256Hash, Statement};

/// The predicate type of PyPI's publish attestation.
pub const PYPI_PUBLISH_V1: &str = "https://docs.pypi.org/attestations/publish/v1";
/// The most attestations one provenance object may carry, over all its bundles (PyPI
/// serves one or two per file).
pub const MAX_PYPI_ATTESTATIONS: usize = 16;
/// The most transparency-log entries or timestamps one attestation may carry.
const MAX_ENTRIES: usize = 8;

const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The file an attestation must be about.
#[derive(Debug, Clone, Copy)]
pub struct PypiFile<'a> {
    /// The project, PEP 503-normalised.
    pub project: &'a str,
    pub filename: &'a str,
    /// The sha256 the index lists for the file.
    pub sha256: [u8; 32],
}

/// One attestation that passed every check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedAttestation {
    pub predicate_type: String,
    pub bundle: BundleSummary,
    /// What the certificate (and a SLSA predicate) say about the build.
    pub evidence: Evidence,
}

/// A provenance object whose every attestation verified for the file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedProvenance {
    pub attestations: Vec<VerifiedAttestation>,
    /// The build facts the attestations share (one signer for all of them).
    pub evidence: Evidence,
}

#[derive(Deserialize)]
struct ProvenanceObject<'a> {
    version: u32,
    #[serde(borrow)]
    attestation_bundles: Vec<AttestationBundle<'a>>,
}

#[derive(Deserialize)]
struct AttestationBundle<'a> {
    /// The index's unsigned account of who published: read by no check.
    #[serde(borrow, rename = "publisher")]
    _publisher: Option<&'a RawValue>,
    #[serde(borrow)]
    attestations: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Attestation<'a> {
    version: u32,
    #[serde(borrow)]
    verification_material: Material<'a>,
    envelope: Envelope,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Material<'a> {
    certificate: String,
    #[serde(borrow)]
    transparency_entries: Vec<&'a RawValue>,
    #[serde(default)]
    timestamps: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    statement: String,
    signature: String,
}

/// An attestation object rewrapped as the Sigstore bundle v0.3 it encodes.
fn to_bundle(attestation: &Attestation<'_>) -> Result<String, VerificationError> {
    if attestation.version != 1 {
        return Err(malformed(format!(
            "attestation version {} is not 1",
            attestation.version
        )));
    }
    let material = &attestation.verification_material;
    if material.transparency_entries.is_empty() {
        return Err(VerificationError::new(
            ErrorKind::Tlog,
            "the attestation carries no transparency-log entry: nothing shows it was logged",
        ));
    }
    if material.transparency_entries.len() > MAX_ENTRIES || material.timestamps.len() > MAX_ENTRIES
    {
        return Err(malformed(format!(
            "the attestation carries more than {MAX_ENTRIES} log entries or timestamps"
        )));
    }
    let timestamps: Vec<serde_json::Value> = material
        .timestamps
        .iter()
        .map(|t| serde_json::json!({ "signedTimestamp": t }))
        .collect();
    let bundle = serde_json::json!({
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {
            "certificate": { "rawBytes": material.certificate },
            "tlogEntries": material.transparency_entries,
            "timestampVerificationData": { "rfc3161Timestamps": timestamps },
        },
        "dsseEnvelope": {
            "payload": attestation.envelope.statement,
            "payloadType": super::bundle::IN_TOTO_PAYLOAD_TYPE,
            "signatures": [ { "sig": attestation.envelope.signature } ],
        },
    });
    Ok(bundle.to_string())
}

impl ProvenanceVerifier {
    /// PyPI's rule for one file of a release: the Integrity API's provenance object for
    /// `subject.file`, bound to the sha256 the index lists (`subject.integrity`,
    /// `sha256-<base64>`); its evidence is the build's.
    pub(crate) fn verify_pypi_subject(
        &self,
        subject: &Subject<'_>,
        document: &[u8],
    ) -> Result<Option<Evidence>, VerificationError> {
        let Some(filename) = subject.file else {
            return Err(subject_error(
                "a PyPI release is a set of files: evidence is checked per file",
            ));
        };
        let Some(sha256) = subject.integrity.and_then(sri_sha256) else {
            return Err(subject_error(
                "the index gives no sha256 to check the subject against",
            ));
        };
        let file = PypiFile {
            project: &subject.artifact.name,
            filename,
            sha256,
        };
        self.verify_pypi_provenance(document, &file)
            .map(|verified| Some(verified.evidence))
    }

    /// Verifies one PEP 740 attestation object (as uploaded, or one of a provenance
    /// object's) for `file`.
    pub fn verify_pypi_attestation(
        &self,
        json: &[u8],
        file: &PypiFile<'_>,
    ) -> Result<VerifiedAttestation, VerificationError> {
        bounded(json)?;
        let text = std::str::from_utf8(json).map_err(|_| malformed("attestation is not UTF-8"))?;
        let attestation: Attestation<'_> = serde_json::from_str(text)
            .map_err(|e| malformed(format!("not a PEP 740 attestation object: {e}")))?;
        self.verify_attestation_object(&attestation, file)
    }

    /// Verifies an Integrity API provenance object for `file`: every attestation of every
    /// bundle must verify, and all must be signed by one identity.
    pub fn verify_pypi_provenance(
        &self,
        json: &[u8],
        file: &PypiFile<'_>,
    ) -> Result<VerifiedProvenance, VerificationError> {
        bounded(json)?;
        let text = std::str::from_utf8(json).map_err(|_| malformed("provenance is not UTF-8"))?;
        let provenance: ProvenanceObject<'_> = serde_json::from_str(text)
            .map_err(|e| malformed(format!("not a PEP 740 provenance object: {e}")))?;
        if provenance.version != 1 {
            return Err(malformed(format!(
                "provenance version {} is not 1",
                provenance.version
            )));
        }
        let raw: Vec<&RawValue> = provenance
            .attestation_bundles
            .iter()
            .flat_map(|b| b.attestations.iter().copied())
            .collect();
        if raw.is_empty() || raw.len() > MAX_PYPI_ATTESTATIONS {
            return Err(malformed(format!(
                "a provenance object must hold 1 to {MAX_PYPI_ATTESTATIONS} attestations, it holds {}",
                raw.len()
            )));
        }
        let mut attestations = Vec::with_capacity(raw.len());
        for (index, value) in raw.iter().enumerate() {
            let attestation: Attestation<'_> = serde_json::from_str(value.get())
                .map_err(|e| malformed(format!("attestation {index} is not valid: {e}")))?;
            let verified = self
                .verify_attestation_object(&attestation, file)
                .map_err(|e| e.context(&format!("attestation {index}")))?;
            attestations.push(verified);
        }
        let first = &attestations[0].evidence;
        if let Some(other) = attestations.iter().map(|a| &a.evidence).find(|e| {
            (&e.certificate_identity, &e.issuer) != (&first.certificate_identity, &first.issuer)
        }) {
            return Err(VerificationError::new(
                ErrorKind::Malformed,
                format!(
                    "the attestations are signed by different identities: {} and {}",
                    first.certificate_identity.as_deref().unwrap_or("none"),
                    other.certificate_identity.as_deref().unwrap_or("none")
                ),
            ));
        }
        // The SLSA provenance, when there is one, says the most (its predicate was checked
        // against the certificate).
        let evidence = attestations
            .iter()
            .find(|a| a.predicate_type == SLSA_V1)
            .unwrap_or(&attestations[0])
            .evidence
            .clone();
        Ok(VerifiedProvenance {
            attestations,
            evidence,
        })
    }

    fn verify_attestation_object(
        &self,
        attestation: &Attestation<'_>,
        file: &PypiFile<'_>,
    ) -> Result<VerifiedAttestation, VerificationError> {
        let bundle = to_bundle(attestation)?;
        let parsed = ParsedBundle::parse(&bundle)?;
        // Until the signature verifies, the statement only chooses what to verify against.
        let claimed = match &parsed.statement {
            Some(Ok(statement)) => statement.subject.first().and_then(|s| s.digest.sha256),
            _ => None,
        };
        let digest = claimed.unwrap_or_else(|| Sha256Hash::new([0; 32]));
        let slsa = matches!(&parsed.statement, Some(Ok(s)) if s.predicate_type == SLSA_V1);
        let outcome = self.verify_parsed(
            &parsed,
            Artifact::Digest(ArtifactDigest::sha256(digest)),
            slsa,
        )?;
        let Some(Ok(statement)) = &parsed.statement else {
            return Err(malformed("the attestation carries no in-toto statement"));
        };
        bind(statement, file)?;
        if statement.predicate_type != PYPI_PUBLISH_V1 && statement.predicate_type != SLSA_V1 {
            return Err(VerificationError::new(
                ErrorKind::Predicate,
                format!(
                    "predicate type {:?} is neither PyPI's publish attestation nor SLSA provenance v1",
                    statement.predicate_type
                ),
            ));
        }
        let Some(mut evidence) = outcome.evidence else {
            return Err(VerificationError::new(
                ErrorKind::Trust,
                "the attestation is not signed by a Fulcio certificate",
            ));
        };
        evidence.subject_sha512 = None;
        Ok(VerifiedAttestation {
            predicate_type: statement.predicate_type.clone(),
            bundle: outcome.summary,
            evidence,
        })
    }
}

fn bounded(json: &[u8]) -> Result<(), VerificationError> {
    if json.len() > MAX_DOCUMENT_BYTES {
        return Err(malformed(format!(
            "document is {} bytes, more than the {MAX_DOCUMENT_BYTES} accepted",
            json.len()
        )));
    }
    Ok(())
}

/// The verified statement must be about `file`: one subject, named as the file (read as a
/// distribution of the project), with the file's sha256.
fn bind(statement: &Statement, file: &PypiFile<'_>) -> Result<(), VerificationError> {
    let subject = single_subject(statement, "a PyPI attestation")?;
    let expected = DistFilename::parse(file.filename, file.project)
        .map_err(|e| subject_error(format!("the index's file: {e}")))?;
    let named = DistFilename::parse(&subject.name, file.project).map_err(|e| {
        subject_error(format!(
            "the attestation's subject is not a file of {}: {e}",
            file.project
        ))
    })?;
    if !named.same_distribution(&expected) {
        return Err(subject_error(format!(
            "the attestation is for {:?}, not {:?}",
            subject.name, file.filename
        )));
    }
    match &subject.digest.sha256 {
        Some(digest) if *digest.as_bytes() == file.sha256 => Ok(()),
        Some(digest) => Err(subject_error(format!(
            "the attestation signs sha256 {} for {}, the index lists {}",
            digest.to_hex(),
            subject.name,
            hex(&file.sha256)
        ))),
        None => Err(subject_error(format!(
            "subject {:?} has no sha256 digest",
            subject.name
        ))),
    }
}

/// The 32 bytes of `sha256-<base64>`.
fn sri_sha256(integrity: &str) -> Option<[u8; 32]> {
    use base64::Engine as _;
    let b64 = integrity.strip_prefix("sha256-")?;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()?
        .try_into()
        .ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rewrap_carries_every_timestamp_and_log_entry() {
        let json = r#"{"version":1,"verification_material":{"certificate":"Q0VSVA==",
            "transparency_entries":[{"logIndex":"1","kindVersion":{"kind":"dsse","version":"0.0.2"}}],
            "timestamps":["VFNBMQ==","VFNBMg=="]},
            "envelope":{"statement":"U1RNVA==","signature":"U0lH"}}"#;
        let attestation: Attestation<'_> = serde_json::from_str(json).unwrap();
        let bundle: serde_json::Value =
            serde_json::from_str(&to_bundle(&attestation).unwrap()).unwrap();
        assert_eq!(bundle["mediaType"], BUNDLE_V03);
        let material = &bundle["verificationMaterial"];
        assert_eq!(material["certificate"]["rawBytes"], "Q0VSVA==");
        assert_eq!(
            material["tlogEntries"][0]["kindVersion"]["version"],
            "0.0.2"
        );
        let stamps = &material["timestampVerificationData"]["rfc3161Timestamps"];
        assert_eq!(stamps[0]["signedTimestamp"], "VFNBMQ==");
        assert_eq!(stamps[1]["signedTimestamp"], "VFNBMg==");
        let envelope = &bundle["dsseEnvelope"];
        assert_eq!(envelope["payload"], "U1RNVA==");
        assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
        assert_eq!(envelope["signatures"][0]["sig"], "U0lH");
        // Unknown fields are refused, not dropped: the rewrap must lose nothing.
        let extra = json.replace(r#""version":1,"#, r#""version":1,"extra":true,"#);
        assert!(serde_json::from_str::<Attestation<'_>>(&extra).is_err());
    }
}
