//! `artifact-monitor verify-bundle`: the Sigstore client conformance suite's verification
//! protocol. Exit 0 verified, 1 rejected (reason on stderr; an unusable trusted root is a
//! rejection too), 2 usage error or unreadable input. No network.

use crate::input::{self, MAX_ARTIFACT_BYTES, MAX_TRUST_FILE_BYTES, read_bounded, read_text};
use artifact_monitor_verify::{
    EMBEDDED_NPM_KEYS, EMBEDDED_TRUSTED_ROOT, ExpectedSigner, MAX_DOCUMENT_BYTES,
    ProvenanceVerifier, SignedArtifact,
};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct VerifyBundleArgs {
    /// The file that was signed, or its digest as sha256:<64 hex digits>.
    file_or_digest: String,
    /// The Sigstore bundle.
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    /// The certificate's identity (URI or e-mail SAN), matched exactly.
    #[arg(
        long,
        value_name = "ID",
        requires = "certificate_oidc_issuer",
        conflicts_with = "key"
    )]
    certificate_identity: Option<String>,
    /// The OIDC issuer of the certificate, matched exactly.
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    certificate_oidc_issuer: Option<String>,
    /// A PEM public key that must have signed (instead of a certificate identity).
    #[arg(long, value_name = "PUBKEY.pem")]
    key: Option<PathBuf>,
    /// Sigstore trusted_root.json to use instead of the embedded production one.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// Use the staging instance's trust material (requires --trusted-root: none is embedded).
    #[arg(long)]
    staging: bool,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("artifact-monitor verify-bundle: {message}");
    ExitCode::from(2)
}

/// `sha256:<64 hex digits>` as a digest; `None` when the text is not in that form at all.
fn sha256_digest(text: &str) -> Option<Result<[u8; 32], String>> {
    let hex = text.strip_prefix("sha256:")?;
    Some(
        input::hex_digest::<32>(hex)
            .ok_or_else(|| format!("{text:?} is not sha256:<64 hex digits>")),
    )
}

pub fn run(args: &VerifyBundleArgs) -> ExitCode {
    let signer = match (
        &args.certificate_identity,
        &args.certificate_oidc_issuer,
        &args.key,
    ) {
        (Some(identity), Some(issuer), None) => ExpectedSigner::Identity {
            identity: identity.clone(),
            issuer: issuer.clone(),
        },
        (None, None, Some(key)) => match read_text(key, MAX_TRUST_FILE_BYTES) {
            Ok(pem) => ExpectedSigner::Key(pem),
            Err(e) => return usage(e),
        },
        _ => return usage("give --certificate-identity with --certificate-oidc-issuer, or --key"),
    };
    let trusted_root = match (&args.trusted_root, args.staging) {
        (Some(path), _) => match read_text(path, MAX_TRUST_FILE_BYTES) {
            Ok(text) => text,
            Err(e) => return usage(e),
        },
        (None, true) => return usage("no staging trusted root is embedded; pass --trusted-root"),
        (None, false) => EMBEDDED_TRUSTED_ROOT.to_owned(),
    };
    // A trusted root that was read but does not hold up (a log without the start of its
    // validity, a malformed key) cannot vouch for anything: the bundle is rejected.
    let verifier = match ProvenanceVerifier::new(&trusted_root, EMBEDDED_NPM_KEYS) {
        Ok(verifier) => verifier,
        Err(e) => {
            eprintln!("rejected: {e}");
            return ExitCode::from(1);
        }
    };
    let bundle = match read_text(&args.bundle, MAX_DOCUMENT_BYTES as u64) {
        Ok(bundle) => bundle,
        Err(e) => return usage(e),
    };
    let blob;
    let artifact = match sha256_digest(&args.file_or_digest) {
        Some(Ok(digest)) => SignedArtifact::Sha256(digest),
        Some(Err(e)) => return usage(e),
        None => match read_bounded(Path::new(&args.file_or_digest), MAX_ARTIFACT_BYTES) {
            Ok(bytes) => {
                blob = bytes;
                SignedArtifact::Blob(&blob)
            }
            Err(e) => return usage(e),
        },
    };
    match verifier.verify_signed_bundle(&bundle, artifact, &signer) {
        Ok(()) => {
            println!("verified");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rejected: {e}");
            ExitCode::from(1)
        }
    }
}
