//! Offline provenance verification: Sigstore bundles and npm attestation responses in, typed
//! [`Evidence`] or a staged [`VerificationError`] out.
//!
//! The generic Sigstore checks (trusted root, signing time from the signed entry timestamp
//! or an RFC 3161 timestamp, certificate chain to Fulcio at that time, SCT, transparency-log
//! body consistency, inclusion proof against a signed checkpoint, DSSE signature over PAE)
//! are done by the `sigstore-verify` crate. This crate adds what is npm's or ours: the
//! statement's subject, the npm publish attestation and registry keys, the certificate and
//! predicate read into evidence and checked against each other, and the release policy.
//!
//! This crate never performs network I/O: every input is bytes the caller fetched, and the
//! trust material is embedded or handed in.

mod bundle;
mod claims;
mod document;
mod error;
mod expect;
mod generic;
mod npm;
pub mod pypi;

pub use bundle::{BundleSummary, Signer};
pub use error::{ErrorKind, VerificationError};
pub use expect::{ArtifactInput, Expectation, PublishAttestation, VerifiedDocument};
pub use generic::{ExpectedSigner, SignedArtifact};
pub use npm::NPM_PUBLISH_V01;
pub use npm::keys::{KeyFormatError, NpmKey, NpmKeys, ssh_fingerprint, verify_registry_signature};

use sigstore_verify::trust_root::TrustedRoot;

/// The Sigstore public-good `trusted_root.json` the program ships with.
pub const EMBEDDED_TRUSTED_ROOT: &str = include_str!("../trust/trusted_root.json");
/// The npm registry's `/-/npm/v1/keys` document the program ships with.
pub const EMBEDDED_NPM_KEYS: &str = include_str!("../trust/npm-keys.json");
/// The largest bundle or attestations response accepted (real ones are 5-30 KB): the
/// core's bound, which the registry adapters read up to.
pub const MAX_DOCUMENT_BYTES: usize = artifact_monitor_core::ports::MAX_ATTESTATIONS_BYTES;
/// The most attestations one npm response may carry (npm serves two).
pub const MAX_ATTESTATIONS: usize = 8;

/// Verifies bundles and npm attestation responses against one set of trust material. Build
/// it once and share it: construction parses and checks every key and certificate.
pub struct ProvenanceVerifier {
    sigstore: sigstore_verify::Verifier,
    npm_keys: NpmKeys,
}

impl std::fmt::Debug for ProvenanceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvenanceVerifier")
            .field("npm_keys", &self.npm_keys)
            .finish_non_exhaustive()
    }
}

impl ProvenanceVerifier {
    /// A verifier over the embedded Sigstore trusted root and npm registry keys.
    pub fn embedded() -> Result<Self, VerificationError> {
        Self::new(EMBEDDED_TRUSTED_ROOT, EMBEDDED_NPM_KEYS)
    }

    /// A verifier over the given `trusted_root.json` and npm keys document.
    pub fn new(trusted_root_json: &str, npm_keys_json: &str) -> Result<Self, VerificationError> {
        let root = TrustedRoot::from_json(trusted_root_json).map_err(|e| {
            VerificationError::new(ErrorKind::Trust, format!("trusted root is not usable: {e}"))
        })?;
        let sigstore = sigstore_verify::Verifier::new(&root).map_err(|e| {
            VerificationError::new(ErrorKind::Trust, format!("trusted root is not usable: {e}"))
        })?;
        Ok(Self {
            sigstore,
            npm_keys: NpmKeys::from_json(npm_keys_json)?,
        })
    }

    /// The npm registry keys in use.
    pub fn npm_keys(&self) -> &NpmKeys {
        &self.npm_keys
    }
}

/// SHA-512 of `bytes` (a tarball), with the same implementation the verifier uses.
pub fn sha512_digest(bytes: &[u8]) -> [u8; 64] {
    let digest = sigstore_verify::crypto::sha512(bytes);
    let mut out = [0u8; 64];
    out.copy_from_slice(digest.as_bytes());
    out
}

/// SHA-256 of `bytes`, with the same implementation the verifier uses.
pub fn sha256_digest(bytes: &[u8]) -> [u8; 32] {
    *sigstore_verify::crypto::sha256(bytes).as_bytes()
}

/// The core's verification port: a registry's attestations checked for one version by its
/// registry type's subject rule, provenance turned into evidence.
impl artifact_monitor_core::ports::AttestationVerifier for ProvenanceVerifier {
    fn verify(
        &self,
        subject: &artifact_monitor_core::ports::Subject<'_>,
        document: &[u8],
    ) -> Result<
        Option<artifact_monitor_core::domain::Evidence>,
        artifact_monitor_core::ports::Rejection,
    > {
        use artifact_monitor_core::registry::RegistryType;
        let verified = match subject.artifact.registry {
            RegistryType::Npm => self.verify_npm_version(subject, document),
            RegistryType::Pypi => self.verify_pypi_subject(subject, document),
        };
        verified.map_err(|error| artifact_monitor_core::ports::Rejection {
            kind: error.kind.as_str().to_owned(),
            message: error.message,
        })
    }
}
