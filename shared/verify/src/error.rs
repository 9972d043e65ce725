//! One error kind per verification stage, so a caller can tell a malformed document from a
//! forged one from one honestly signed by someone else.

use serde::Serialize;
use std::fmt;

/// The stage at which verification failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not a bundle or response we can read: bad JSON, unknown media type, missing fields,
    /// over a size bound.
    Malformed,
    /// The trust material is unusable, or the signer's key is not in it (unknown or expired
    /// npm registry key, log not in the trusted root).
    Trust,
    /// No trusted time could be established, or the time is outside what it must fall in.
    Time,
    /// The signing certificate does not chain to Fulcio at the signing time, or is not a
    /// code-signing certificate.
    Certificate,
    /// The certificate's signed certificate timestamp is missing or invalid.
    Sct,
    /// The transparency-log entry is inconsistent with the bundle or its promise is invalid.
    Tlog,
    /// The inclusion proof or its signed checkpoint does not verify.
    Inclusion,
    /// The signature does not verify over the artifact or the DSSE envelope.
    Signature,
    /// The attested subject is not the expected package, version or digest.
    Subject,
    /// The predicate is of the wrong type or disagrees with the certificate.
    Predicate,
    /// Everything verified, but the release policy is not satisfied.
    Policy,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Trust => "trust",
            Self::Time => "time",
            Self::Certificate => "certificate",
            Self::Sct => "sct",
            Self::Tlog => "tlog",
            Self::Inclusion => "inclusion",
            Self::Signature => "signature",
            Self::Subject => "subject",
            Self::Predicate => "predicate",
            Self::Policy => "policy",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a document was rejected: the stage and a one-line human explanation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct VerificationError {
    pub kind: ErrorKind,
    pub message: String,
}

impl VerificationError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Prefixes the message with where in a multi-bundle document the error arose.
    pub(crate) fn context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

/// Maps the Sigstore crate's error onto our stages.
impl From<sigstore_verify::Error> for VerificationError {
    fn from(error: sigstore_verify::Error) -> Self {
        use sigstore_verify::bundle::Error as B;
        use sigstore_verify::{CertificateError as C, Error as E, TransparencyLogError as T};
        let kind = match &error {
            E::IdentityMismatch { .. } | E::IssuerMismatch { .. } => ErrorKind::Policy,
            E::SignatureInvalid(_) | E::Crypto(_) => ErrorKind::Signature,
            E::ArtifactMismatch(_) => ErrorKind::Subject,
            E::Certificate(C::Sct(_)) => ErrorKind::Sct,
            E::Certificate(_) => ErrorKind::Certificate,
            E::TransparencyLog(T::InclusionProof(_) | T::Checkpoint(_)) => ErrorKind::Inclusion,
            E::TransparencyLog(T::IntegratedTime(_)) => ErrorKind::Time,
            E::TransparencyLog(T::UnknownLog { .. }) => ErrorKind::Trust,
            E::TransparencyLog(_) => ErrorKind::Tlog,
            E::Timestamp(_) => ErrorKind::Time,
            E::InvalidTrustRoot(_) | E::TrustRoot(_) | E::TrustedCertificate(_) => ErrorKind::Trust,
            // Structural checks the crate runs before any cryptography, classified by the
            // stage whose evidence is missing or inconsistent.
            E::Bundle(
                B::MissingInclusionProof(_)
                | B::MissingCheckpoint
                | B::LogIndexOutOfRange { .. }
                | B::CheckpointRootMismatch,
            ) => ErrorKind::Inclusion,
            E::Bundle(B::MissingInclusionPromise(_)) => ErrorKind::Tlog,
            E::Bundle(B::MissingSigningTimeEvidence | B::MissingTimestamp) => ErrorKind::Time,
            E::UnsupportedArtifact(_)
            | E::InvalidBundle(_)
            | E::UnsupportedBundle(_)
            | E::Types(_)
            | E::Bundle(_)
            | E::ArtifactRead(_) => ErrorKind::Malformed,
            _ => ErrorKind::Malformed,
        };
        Self::new(kind, error.to_string())
    }
}
