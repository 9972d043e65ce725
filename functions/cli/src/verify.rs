//! `artifact-monitor verify`: exit 0 verified (and policy satisfied when given), 1 rejected,
//! 2 usage error or unreadable input.

use crate::input::{self, MAX_ARTIFACT_BYTES, MAX_TRUST_FILE_BYTES};
use crate::policy_args::PolicyArgs;
use artifact_monitor_core::domain::ReleasePolicy;
use artifact_monitor_core::registry::npm::{PackageName, sri_sha512};
use artifact_monitor_verify::{
    ArtifactInput, EMBEDDED_NPM_KEYS, EMBEDDED_TRUSTED_ROOT, Expectation, MAX_DOCUMENT_BYTES,
    ProvenanceVerifier, VerificationError, VerifiedDocument,
};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct VerifyArgs {
    /// A Sigstore bundle or an npm attestations response ({"attestations":[...]}).
    file: PathBuf,
    /// Sigstore trusted_root.json to use instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// npm registry keys (the /-/npm/v1/keys document) to use instead of the embedded ones.
    #[arg(long, value_name = "FILE")]
    npm_keys: Option<PathBuf>,
    /// The signed file: an npm tarball, or the blob a message-signature bundle covers.
    #[arg(long, value_name = "FILE", conflicts_with = "sha512")]
    artifact: Option<PathBuf>,
    /// The tarball's SHA-512, as 128 hex digits or as npm's `sha512-<base64>` integrity.
    #[arg(long, value_name = "HEX")]
    sha512: Option<String>,
    /// The npm package the attestation must name.
    #[arg(long, value_name = "N", requires = "version")]
    name: Option<String>,
    /// The version the attestation must name.
    #[arg(long, value_name = "V", requires = "name")]
    version: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

/// A problem with the command line or an input file: exit code 2.
struct UsageError(String);

pub fn run(args: &VerifyArgs) -> ExitCode {
    match prepare(args) {
        Ok(prepared) => report(args, &prepared),
        Err(UsageError(message)) => {
            eprintln!("artifact-monitor verify: {message}");
            ExitCode::from(2)
        }
    }
}

struct Prepared {
    verifier: ProvenanceVerifier,
    document: Vec<u8>,
    artifact: Option<Vec<u8>>,
    sha512: Option<[u8; 64]>,
    package: Option<(PackageName, String)>,
    policy: Option<ReleasePolicy>,
}

fn prepare(args: &VerifyArgs) -> Result<Prepared, UsageError> {
    let trusted_root = match &args.trusted_root {
        Some(path) => read_text(path, MAX_TRUST_FILE_BYTES)?,
        None => EMBEDDED_TRUSTED_ROOT.to_owned(),
    };
    let npm_keys = match &args.npm_keys {
        Some(path) => read_text(path, MAX_TRUST_FILE_BYTES)?,
        None => EMBEDDED_NPM_KEYS.to_owned(),
    };
    let verifier = ProvenanceVerifier::new(&trusted_root, &npm_keys)
        .map_err(|e| UsageError(format!("cannot use the trust material: {}", e.message)))?;
    let document = read_bounded(&args.file, MAX_DOCUMENT_BYTES as u64)?;
    let artifact = args
        .artifact
        .as_deref()
        .map(|path| read_bounded(path, MAX_ARTIFACT_BYTES))
        .transpose()?;
    let sha512 = args.sha512.as_deref().map(parse_sha512).transpose()?;
    let package = match (&args.name, &args.version) {
        (Some(name), Some(version)) => {
            let name = PackageName::parse(name).map_err(|e| UsageError(e.to_string()))?;
            if version.is_empty()
                || version.len() > 256
                || !version.chars().all(|c| c.is_ascii_graphic())
            {
                return Err(UsageError(format!("{version:?} is not a package version")));
            }
            Some((name, version.clone()))
        }
        _ => None,
    };
    Ok(Prepared {
        verifier,
        document,
        artifact,
        sha512,
        package,
        policy: policy(args)?,
    })
}

fn policy(args: &VerifyArgs) -> Result<Option<ReleasePolicy>, UsageError> {
    let Some(spec) = args.policy.spec() else {
        if !args.policy.workflow.is_empty() {
            return Err(UsageError("--workflow needs --repository".to_owned()));
        }
        return Ok(None);
    };
    spec.to_policy()
        .map(Some)
        .map_err(|e| UsageError(e.to_string()))
}

fn report(args: &VerifyArgs, prepared: &Prepared) -> ExitCode {
    let artifact = match (&prepared.artifact, prepared.sha512) {
        (Some(bytes), _) => ArtifactInput::Blob(bytes),
        (None, Some(digest)) => ArtifactInput::Sha512(digest),
        (None, None) => ArtifactInput::Unchecked,
    };
    let expectation = Expectation {
        package: prepared.package.clone(),
        artifact,
    };
    let (document, error) = match prepared
        .verifier
        .verify_document(&prepared.document, &expectation)
    {
        Err(error) => (None, Some(error)),
        Ok(document) => {
            let policy_error = prepared
                .policy
                .as_ref()
                .and_then(|policy| document.check_policy(policy).err());
            (Some(document), policy_error)
        }
    };
    if args.json {
        print_json(document.as_ref(), error.as_ref(), prepared.policy.is_some());
    } else {
        print_text(document.as_ref(), error.as_ref(), prepared.policy.is_some());
    }
    if error.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_json(
    document: Option<&VerifiedDocument>,
    error: Option<&VerificationError>,
    policy_checked: bool,
) {
    let evidence = document.and_then(|d| d.provenance.as_ref());
    let output = json!({
        "verified": error.is_none(),
        "error": error.map(|e| json!({"kind": e.kind, "message": e.message})),
        "evidence": evidence,
        "policy_checked": policy_checked && document.is_some(),
        "document": document,
    });
    println!("{output}");
}

fn print_text(
    document: Option<&VerifiedDocument>,
    error: Option<&VerificationError>,
    policy_checked: bool,
) {
    if let Some(error) = error {
        eprintln!("rejected: {error}");
        return;
    }
    let Some(document) = document else { return };
    let subject = document.subject_name.as_deref().unwrap_or("the artifact");
    println!("verified: {subject} ({} bundle(s))", document.bundles.len());
    if let Some(evidence) = &document.provenance {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        println!("  repository:  {}", show(&evidence.repository));
        println!("  workflow:    {}", show(&evidence.workflow_ref));
        println!("  event:       {}", show(&evidence.event));
        // Certificates from before mid-2023 carry no runner claim: not attested, which a
        // policy does not count against the release (npm refuses self-hosted provenance).
        println!(
            "  runner:      {}",
            evidence
                .runner_environment
                .clone()
                .unwrap_or_else(|| "not attested (a certificate from before the claim)".into())
        );
        println!("  run:         {}", show(&evidence.run_url));
        if let Some(signer) = &evidence.build_signer {
            println!("  signed by:   {signer}");
        }
    }
    if let Some(publish) = &document.publish {
        println!(
            "  published:   {}@{} (registry key {})",
            publish.name, publish.version, publish.keyid
        );
    }
    if !document.artifact_checked {
        println!(
            "  note: no --artifact or --sha512 given; the signed digest was not compared with a file"
        );
    }
    if policy_checked {
        println!("  policy:      satisfied");
    }
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, UsageError> {
    input::read_bounded(path, limit).map_err(UsageError)
}

fn read_text(path: &Path, limit: u64) -> Result<String, UsageError> {
    input::read_text(path, limit).map_err(UsageError)
}

/// 128 hex digits, or npm's subresource-integrity form `sha512-<base64>`.
fn parse_sha512(text: &str) -> Result<[u8; 64], UsageError> {
    let digest = if text.starts_with("sha512-") {
        sri_sha512(text)
    } else {
        input::hex_digest::<64>(text)
    };
    digest.ok_or_else(|| {
        UsageError(format!(
            "--sha512 {text:?} is neither 128 hex digits nor sha512-<base64>"
        ))
    })
}
