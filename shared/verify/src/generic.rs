//! Generic Sigstore bundles checked against a signer the caller names: an exact certificate
//! identity and OIDC issuer, or a managed public key. This is what the Sigstore client
//! conformance suite asks of a verifier (`verify-bundle`); npm documents go through
//! `document.rs` instead.

use super::bundle::ParsedBundle;
use super::{ErrorKind, ProvenanceVerifier, VerificationError};
use sigstore_verify::types::{Artifact, ArtifactDigest, DerPublicKey, Sha256Hash};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy};

/// What the bundle must have signed.
#[derive(Debug, Clone, Copy)]
pub enum SignedArtifact<'a> {
    /// The file itself.
    Blob(&'a [u8]),
    /// Its SHA-256.
    Sha256([u8; 32]),
}

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum ExpectedSigner {
    /// A Fulcio certificate whose SAN (URI or e-mail) equals `identity` and whose OIDC issuer
    /// equals `issuer`, exactly.
    Identity { identity: String, issuer: String },
    /// The holder of this public key (PEM `PUBLIC KEY`).
    Key(String),
}

impl ProvenanceVerifier {
    /// Verifies one bundle over `artifact`, signed by `signer`, with every check of the
    /// trusted root (certificate chain, SCT, transparency log, timestamps).
    pub fn verify_signed_bundle(
        &self,
        json: &str,
        artifact: SignedArtifact<'_>,
        signer: &ExpectedSigner,
    ) -> Result<(), VerificationError> {
        let parsed = ParsedBundle::parse(json)?;
        let digest;
        let artifact = match artifact {
            SignedArtifact::Blob(bytes) => Artifact::from_blob(bytes),
            SignedArtifact::Sha256(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let hash = Sha256Hash::from_hex(&hex).map_err(|e| {
                    VerificationError::new(ErrorKind::Malformed, format!("digest: {e}"))
                })?;
                digest = ArtifactDigest::sha256(hash);
                Artifact::from_digest(digest)
            }
        };
        match signer {
            ExpectedSigner::Identity { identity, issuer } => {
                let policy = VerificationPolicy::new(identity.as_str(), issuer.as_str());
                self.run_sigstore(&parsed.bundle, artifact, &policy)?;
            }
            ExpectedSigner::Key(pem) => {
                let key = DerPublicKey::from_pem(pem).map_err(|e| {
                    VerificationError::new(ErrorKind::Malformed, format!("public key: {e}"))
                })?;
                let policy = PublicKeyVerificationPolicy::new(key);
                self.run_sigstore(&parsed.bundle, artifact, &policy)?;
            }
        }
        Ok(())
    }
}
