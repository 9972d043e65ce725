//! Reason codes: why a verdict is what it is, machine-readable, stable, and serialised as
//! the snake_case strings users filter on (`provenance_dropped`, `no_run`, …).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! reasons {
    ($($variant:ident => $code:literal,)*) => {
        /// One reason code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Reason {
            $($variant,)*
        }

        impl Reason {
            /// Every reason code.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The code as serialised.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $code,)*
                }
            }
        }

        impl std::str::FromStr for Reason {
            type Err = UnknownReason;
            fn from_str(code: &str) -> Result<Self, UnknownReason> {
                match code {
                    $($code => Ok(Reason::$variant),)*
                    other => Err(UnknownReason(other.to_owned())),
                }
            }
        }
    };
}

/// A reason code this program does not know (a newer version's, or a corrupt record).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a reason code")]
pub struct UnknownReason(pub String);

reasons! {
    ProvenanceVerified => "provenance_verified",
    RunVerified => "run_verified",
    RunNotChecked => "run_not_checked",
    RunExpired => "run_expired",
    RunNotFound => "run_not_found",
    RunMismatch => "run_mismatch",
    RunMatches => "run_matches",
    NoRun => "no_run",
    NoProvenance => "no_provenance",
    ProvenanceDropped => "provenance_dropped",
    ProvenanceInvalid => "provenance_invalid",
    PublishTimeUnknown => "publish_time_unknown",
    GithubUnavailable => "github_unavailable",
    RegistryUnavailable => "registry_unavailable",
    RepositoryMismatch => "repository_mismatch",
    RepositoryIdMismatch => "repository_id_mismatch",
    OwnerIdMismatch => "owner_id_mismatch",
    WorkflowMismatch => "workflow_mismatch",
    RefNotAllowed => "ref_not_allowed",
    EventNotAllowed => "event_not_allowed",
    RunnerNotGithubHosted => "runner_not_github_hosted",
    EnvironmentMismatch => "environment_mismatch",
    ReusableWorkflowNotAllowed => "reusable_workflow_not_allowed",
    PublisherChanged => "publisher_changed",
    NewMaintainer => "new_maintainer",
    InstallScriptsAdded => "install_scripts_added",
    LatestMovedBackwards => "latest_moved_backwards",
    VersionUnpublished => "version_unpublished",
    VersionBurst => "version_burst",
    PackageMissing => "package_missing",
    RunNotSuccessful => "run_not_successful",
    HeadRepositoryMismatch => "head_repository_mismatch",
    NoPublishingJob => "no_publishing_job",
    RunnerNotAttested => "runner_not_attested",
    SameRunAsEarlier => "same_run_as_earlier",
    NonRegistryDependency => "non_registry_dependency",
    WorkflowChanged => "workflow_changed",
    WorkflowChangeNotChecked => "workflow_change_not_checked",
    FileAddedLater => "file_added_later",
    SignerNotGithubActions => "signer_not_github_actions",
    TooManyFiles => "too_many_files",
}

impl Reason {
    /// The plain-word sentence the dashboard shows next to the code (the README's reason
    /// table lists the same sentences; a test keeps them equal).
    pub fn plain(self) -> &'static str {
        match self {
            Self::ProvenanceVerified => {
                "Signed provenance proves where and how this version was built, and it matches the policy."
            }
            Self::RunVerified => {
                "GitHub confirms the build run exists and used an authorised workflow."
            }
            Self::RunNotChecked => {
                "GitHub was not asked about the build run (no GitHub access configured)."
            }
            Self::RunExpired => {
                "The build run is gone because GitHub deletes runs after 90 days; the provenance alone vouches."
            }
            Self::RunNotFound => {
                "GitHub does not know the build run the provenance names, although the release is recent."
            }
            Self::RunMismatch => {
                "The workflow runs around the publish time do not vouch for this version."
            }
            Self::RunMatches => {
                "An authorised workflow run built this commit at the publish time and satisfies the policy."
            }
            Self::NoRun => {
                "No run of the authorised workflow was under way when this version was published."
            }
            Self::NoProvenance => "This version was published without provenance.",
            Self::ProvenanceDropped => "Earlier versions had provenance; this one has none.",
            Self::ProvenanceInvalid => {
                "The provenance does not verify: it may have been tampered with."
            }
            Self::PublishTimeUnknown => {
                "The registry gives no publish time, so no build run can be matched."
            }
            Self::GithubUnavailable => {
                "GitHub could not be asked yet; the version is judged again shortly."
            }
            Self::RegistryUnavailable => "The registry could not be read for this version yet.",
            Self::RepositoryMismatch => "It was built from a repository other than the policy's.",
            Self::RepositoryIdMismatch => {
                "The repository's immutable id differs from the pinned one (renamed, recreated or taken over)."
            }
            Self::OwnerIdMismatch => {
                "The repository owner's immutable id differs from the pinned one."
            }
            Self::WorkflowMismatch => "It was built by a workflow file the policy does not allow.",
            Self::RefNotAllowed => "It was built from a branch or tag the policy does not allow.",
            Self::EventNotAllowed => {
                "The build was triggered by an event the policy does not allow."
            }
            Self::RunnerNotGithubHosted => {
                "The build ran on a machine not shown to be GitHub-hosted, which the policy requires."
            }
            Self::EnvironmentMismatch => {
                "The build did not run in the deployment environment the policy requires."
            }
            Self::ReusableWorkflowNotAllowed => {
                "A reusable workflow the policy does not list signed the build."
            }
            Self::PublisherChanged => {
                "A person published this version; earlier versions came from the trusted publisher."
            }
            Self::NewMaintainer => "Someone new became a maintainer of the package.",
            Self::InstallScriptsAdded => "This version adds scripts that run when it is installed.",
            Self::LatestMovedBackwards => "The latest tag was moved back to an older version.",
            Self::VersionUnpublished => "A version was unpublished.",
            Self::VersionBurst => "Many versions were published within minutes.",
            Self::PackageMissing => "The package is gone from the registry.",
            Self::RunNotSuccessful => {
                "The build run did not succeed (skipped, failed, cancelled, or waiting for approval)."
            }
            Self::HeadRepositoryMismatch => {
                "The build run built a commit from another repository, such as a fork's pull request."
            }
            Self::NoPublishingJob => {
                "No job of the build run was running when this version was published."
            }
            Self::RunnerNotAttested => {
                "The certificate predates the runner claim, so the runner type is not attested."
            }
            Self::SameRunAsEarlier => {
                "The same build run already published another version; a release run publishes once."
            }
            Self::NonRegistryDependency => {
                "This version adds a dependency from outside the registry (git, URL or file)."
            }
            Self::WorkflowChanged => {
                "The release workflow file changed since the last compliant release."
            }
            Self::WorkflowChangeNotChecked => {
                "Whether the release workflow changed since the last compliant release could not be checked."
            }
            Self::FileAddedLater => {
                "A file was added to this release long after its first files were uploaded."
            }
            Self::SignerNotGithubActions => {
                "It was signed by another CI system or a person, not a GitHub Actions workflow."
            }
            Self::TooManyFiles => {
                "This release has more files than are judged one by one; only its newest were judged."
            }
        }
    }

    /// Codes joined with `separator`, for human-readable lines.
    pub fn join(reasons: &[Reason], separator: &str) -> String {
        reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(separator)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Reason {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Reason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Reason {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// How urgent an alert is (a filter key for SNS subscribers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A non-compliant version: an unauthorised release.
    Critical,
    /// A signal worth a look, or a version that could not be verified.
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_string_and_serde() {
        for reason in Reason::ALL {
            assert_eq!(reason.as_str().parse::<Reason>(), Ok(*reason));
            let json = serde_json::to_string(reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
            assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), *reason);
        }
        assert!("no_such_reason".parse::<Reason>().is_err());
    }

    #[test]
    fn the_readme_lists_every_code_with_the_dashboard_sentence() {
        let readme = include_str!("../../../../README.md");
        for reason in Reason::ALL {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", reason.as_str())))
                .unwrap_or_else(|| panic!("README's reason table lacks {reason}"));
            assert!(
                row.trim_end().ends_with(&format!("| {} |", reason.plain())),
                "README's row for {reason} does not end with the dashboard's sentence: {row}"
            );
        }
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
    }
}
