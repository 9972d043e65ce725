//! Whole documents: a single Sigstore bundle, or a registry's attestations response (npm's,
//! read in [`crate::npm`]).

use super::bundle::ParsedBundle;
use super::claims::{SLSA_V1, SLSA_V02};
use super::expect::{Expectation, VerifiedDocument, artifact_for, malformed, subject_error};
use super::npm::{npm_subject, publish_attestation};
use super::{MAX_DOCUMENT_BYTES, ProvenanceVerifier, VerificationError};
use artifact_monitor_core::domain::Evidence;
use artifact_monitor_core::registry::npm::npm_purl;
use serde::Deserialize;
use serde_json::value::RawValue;
use sigstore_verify::types::Statement;

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    attestations: Option<&'a RawValue>,
    #[serde(rename = "mediaType")]
    media_type: Option<serde::de::IgnoredAny>,
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
        let (artifact, checked) = artifact_for(
            &parsed,
            npm_subject.as_ref().map(|s| s.signed()),
            expectation.artifact,
        )?;
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

fn provenance_of(evidence: Option<Evidence>, statement: Option<&Statement>) -> Option<Evidence> {
    let statement = statement?;
    matches!(statement.predicate_type.as_str(), SLSA_V02 | SLSA_V1)
        .then_some(evidence)
        .flatten()
}
