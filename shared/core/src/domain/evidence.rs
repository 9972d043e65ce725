//! What a verified provenance attests about the build that produced a version.

use serde::{Deserialize, Serialize};

/// The facts a verified SLSA provenance bundle establishes, read from the Fulcio certificate
/// (authoritative) and checked against the in-toto SLSA predicate. Only the provenance
/// verifier builds one, after every cryptographic check has passed; the policy is then
/// evaluated against it.
///
/// Every field is optional because older certificates carry fewer claims; a policy that
/// needs a claim that is absent fails closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The certificate's subject alternative name (workflow URI or e-mail).
    pub certificate_identity: Option<String>,
    /// The OIDC issuer that vouched for the identity.
    pub issuer: Option<String>,
    /// `owner/repo` the artifact was built from.
    pub repository: Option<String>,
    /// GitHub's immutable repository id.
    pub repository_id: Option<String>,
    /// GitHub's immutable id of the repository owner.
    pub owner_id: Option<String>,
    /// The git ref that was built, e.g. `refs/tags/v1.2.3`.
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// The commit that was built.
    pub commit: Option<String>,
    /// The top-level workflow file that ran, e.g. `.github/workflows/release.yml`.
    pub workflow_path: Option<String>,
    /// The full workflow reference `owner/repo/path@ref` of the top-level workflow.
    pub workflow_ref: Option<String>,
    /// The event that triggered the run (`push`, `release`, `workflow_dispatch`, ...).
    pub event: Option<String>,
    /// `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
    /// The deployment environment the job ran in, when it declared one.
    pub environment: Option<String>,
    pub run_id: Option<u64>,
    pub run_attempt: Option<u32>,
    /// Link to the run (its logs), e.g. `https://github.com/o/r/actions/runs/1/attempts/1`.
    pub run_url: Option<String>,
    /// The workflow that requested the signature: differs from `workflow_ref` when a
    /// reusable workflow signed on the caller's behalf.
    pub build_signer: Option<String>,
    /// `public`, `private` or `internal` at signing time.
    pub repository_visibility: Option<String>,
    /// The SLSA builder id from the predicate.
    pub builder_id: Option<String>,
    pub predicate_type: String,
    /// The in-toto subject name (`pkg:npm/...@version` for npm).
    pub subject_name: String,
    /// The subject's sha512 in hex, when it has one.
    pub subject_sha512: Option<String>,
    /// Seconds since the Unix epoch at which the transparency log (or a timestamp authority)
    /// saw the signature; verified, not a hint.
    pub integrated_time: Option<i64>,
    /// Index of the entry in the transparency log.
    pub log_index: Option<u64>,
}

/// The kind of machine a GitHub Actions job ran on, as the certificate states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunnerEnvironment {
    GithubHosted,
    SelfHosted,
}

impl RunnerEnvironment {
    /// Reads the claim; any other value is unknown and treated as not github-hosted.
    pub fn from_claim(claim: &str) -> Option<Self> {
        match claim {
            "github-hosted" => Some(Self::GithubHosted),
            "self-hosted" => Some(Self::SelfHosted),
            _ => None,
        }
    }
}

impl Evidence {
    /// The runner claim, interpreted.
    pub fn runner(&self) -> Option<RunnerEnvironment> {
        self.runner_environment
            .as_deref()
            .and_then(RunnerEnvironment::from_claim)
    }
}
