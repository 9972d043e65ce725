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
            type Err = String;
            fn from_str(code: &str) -> Result<Self, String> {
                match code {
                    $($code => Ok(Reason::$variant),)*
                    other => Err(format!("{other:?} is not a reason code")),
                }
            }
        }
    };
}

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
}

impl Reason {
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
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
    }
}
