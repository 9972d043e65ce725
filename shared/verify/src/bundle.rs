//! One Sigstore bundle: parse it, hand the generic checks to `sigstore-verify` with the
//! right key policy, and classify what went wrong.

use super::{ErrorKind, ProvenanceVerifier, VerificationError, claims};
use artifact_monitor_core::domain::Evidence;
use serde::Serialize;
use sigstore_verify::crypto::{SigningScheme, parse_certificate_info, verify_signature};
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Artifact, Bundle, SignatureContent, Statement};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy};

pub(crate) const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Who signed a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Signer {
    /// A short-lived Fulcio certificate (keyless signing).
    Certificate {
        identity: Option<String>,
        issuer: Option<String>,
    },
    /// An npm registry key, named by its keyid.
    NpmRegistryKey { keyid: String },
}

/// What was verified about one bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BundleSummary {
    pub media_type: String,
    /// `dsse` or `message_signature`.
    pub content: &'static str,
    pub predicate_type: Option<String>,
    pub signer: Signer,
    /// Verified signing time, seconds since the epoch.
    pub integrated_time: Option<i64>,
    pub log_index: Option<u64>,
}

/// A bundle read from JSON, with its in-toto statement when it carries one.
pub(crate) struct ParsedBundle {
    pub bundle: Bundle,
    /// `None` for message signatures; `Some(Err)` when the DSSE payload is not a statement.
    pub statement: Option<Result<Statement, String>>,
}

impl ParsedBundle {
    pub fn parse(json: &str) -> Result<Self, VerificationError> {
        let bundle = Bundle::from_json(json).map_err(|e| {
            VerificationError::new(ErrorKind::Malformed, format!("not a Sigstore bundle: {e}"))
        })?;
        let statement = match &bundle.content {
            SignatureContent::DsseEnvelope(envelope) => Some(
                serde_json::from_slice::<Statement>(envelope.payload.as_bytes())
                    .map_err(|e| format!("the DSSE payload is not an in-toto statement: {e}")),
            ),
            _ => None,
        };
        Ok(Self { bundle, statement })
    }
}

/// The result of verifying one bundle.
pub(crate) struct BundleOutcome {
    pub summary: BundleSummary,
    /// Certificate claims reconciled with the SLSA predicate, for keyless bundles.
    pub evidence: Option<Evidence>,
}

impl ProvenanceVerifier {
    /// Runs every cryptographic check on one bundle against `artifact`.
    ///
    /// With `npm_provenance`, the statement is npm's SLSA provenance and its predicate is
    /// read into the evidence and must agree with the certificate. Without it, a bare
    /// bundle's predicate is arbitrary signed content and the evidence comes from the
    /// certificate alone.
    pub(crate) fn verify_parsed(
        &self,
        parsed: &ParsedBundle,
        artifact: Artifact<'_>,
        npm_provenance: bool,
    ) -> Result<BundleOutcome, VerificationError> {
        let bundle = &parsed.bundle;
        let statement = match &parsed.statement {
            Some(Ok(statement)) => Some(statement),
            Some(Err(reason)) => return Err(self.classify_unreadable_payload(bundle, reason)),
            None => None,
        };
        if let SignatureContent::DsseEnvelope(envelope) = &bundle.content
            && envelope.payload_type != IN_TOTO_PAYLOAD_TYPE
        {
            let reason = format!(
                "DSSE payload type {:?} is not {IN_TOTO_PAYLOAD_TYPE}",
                envelope.payload_type
            );
            return Err(self.classify_unreadable_payload(bundle, &reason));
        }
        let (result, signer) = match &bundle.verification_material.content {
            VerificationMaterialContent::PublicKey(identifier) => {
                let key = self.npm_keys.get(&identifier.hint)?;
                let policy = PublicKeyVerificationPolicy::new(key.spki().clone());
                let result = self.run_sigstore(bundle, artifact, &policy)?;
                let time = signing_time(&result).ok_or_else(|| {
                    VerificationError::new(
                        ErrorKind::Time,
                        "no verified signing time for the keyed bundle",
                    )
                })?;
                key.check_valid_at(time)?;
                let signer = Signer::NpmRegistryKey {
                    keyid: key.keyid.clone(),
                };
                (result, signer)
            }
            _ => {
                let result =
                    self.run_sigstore(bundle, artifact, &VerificationPolicy::any_identity())?;
                let signer = Signer::Certificate {
                    identity: result.identity().map(|i| i.as_str().to_owned()),
                    issuer: result.issuer().map(str::to_owned),
                };
                (result, signer)
            }
        };
        let integrated_time = signing_time(&result);
        let log_index = bundle
            .verification_material
            .tlog_entries
            .first()
            .map(|entry| entry.log_index.get());
        let evidence = match (result.certificate(), statement) {
            (Some(certificate), statement) => {
                let mut evidence = claims::certificate_evidence(certificate);
                if let Some(statement) = statement {
                    if npm_provenance {
                        evidence = claims::reconcile(
                            evidence,
                            &statement.predicate_type,
                            &statement.predicate,
                        )?;
                    }
                    evidence.predicate_type = statement.predicate_type.clone();
                    if let Some(subject) = statement.subject.first() {
                        evidence.subject_name = subject.name.clone();
                        evidence.subject_sha512 =
                            subject.digest.sha512.as_ref().map(|d| d.to_hex());
                    }
                }
                evidence.integrated_time = integrated_time;
                evidence.log_index = log_index;
                Some(evidence)
            }
            (None, _) => None,
        };
        let summary = BundleSummary {
            media_type: bundle.media_type.as_str().to_owned(),
            content: match bundle.content {
                SignatureContent::MessageSignature(_) => "message_signature",
                _ => "dsse",
            },
            predicate_type: statement.map(|s| s.predicate_type.clone()),
            signer,
            integrated_time,
            log_index,
        };
        Ok(BundleOutcome { summary, evidence })
    }

    pub(super) fn run_sigstore(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        policy: &(impl sigstore_verify::Policy + ?Sized),
    ) -> Result<sigstore_verify::VerificationResult, VerificationError> {
        self.sigstore
            .verify(artifact, bundle, policy)
            .map_err(|error| {
                let error = VerificationError::from(error);
                // The crate reads the statement before it checks the envelope's signature, so a
                // tampered payload surfaces as "malformed"; say "signature" when it is forged.
                if error.kind == ErrorKind::Malformed
                    && self.dsse_signature_valid(bundle) == Some(false)
                {
                    VerificationError::new(
                        ErrorKind::Signature,
                        format!(
                            "the DSSE signature does not verify over the envelope ({})",
                            error.message
                        ),
                    )
                } else {
                    error
                }
            })
    }

    /// A DSSE payload we cannot use: forged if its signature fails, else signed but not a
    /// statement we accept.
    fn classify_unreadable_payload(&self, bundle: &Bundle, reason: &str) -> VerificationError {
        match self.dsse_signature_valid(bundle) {
            Some(false) => VerificationError::new(
                ErrorKind::Signature,
                format!("the DSSE signature does not verify over the envelope ({reason})"),
            ),
            Some(true) => VerificationError::new(ErrorKind::Predicate, reason),
            None => VerificationError::new(ErrorKind::Malformed, reason),
        }
    }

    /// Checks the DSSE envelope's signature over PAE with the bundle's key, on its own.
    /// Used only to classify failures; `None` when there is no usable key.
    fn dsse_signature_valid(&self, bundle: &Bundle) -> Option<bool> {
        let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
            return None;
        };
        let (key, scheme) = match &bundle.verification_material.content {
            VerificationMaterialContent::PublicKey(identifier) => (
                self.npm_keys.get(&identifier.hint).ok()?.spki().clone(),
                SigningScheme::EcdsaP256Sha256,
            ),
            _ => {
                let info = parse_certificate_info(bundle.signing_certificate()?).ok()?;
                let scheme = info.key_algorithm.default_signing_scheme();
                (info.public_key, scheme)
            }
        };
        Some(verify_signature(&key, &envelope.pae(), &envelope.signature.sig, scheme).is_ok())
    }
}

/// The verified signing time: the log's integrated time, else the earliest verified RFC 3161
/// timestamp.
fn signing_time(result: &sigstore_verify::VerificationResult) -> Option<i64> {
    result
        .integrated_time()
        .or_else(|| result.verified_timestamps().iter().min().copied())
        .map(|t| t.as_second())
}
