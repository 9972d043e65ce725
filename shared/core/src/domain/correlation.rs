//! Run correlation: whether a workflow run vouches for a version published without
//! provenance. Weaker evidence never earns a better verdict than provenance would, so the run
//! must satisfy the whole policy as a certificate would: its head commit comes from the
//! policy's repository, it succeeded (or is still running with a job that could have
//! published), its event, ref and environment are allowed, and every job that could have
//! published ran on a runner shown to be GitHub-hosted when the policy requires one.
//!
//! Pure: the use-case asks GitHub what [`lookups`] names and hands the answers back in a
//! [`RunContext`].

use super::run::{DeploymentFacts, JobFacts, RunFacts, RunRef, publishing_runners};
use super::{Reason, ReleasePolicy};
use std::fmt;

/// Everything learned about one run of an authorised workflow near a publish time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    pub run: RunFacts,
    /// The run's jobs; `None` when they were not looked up.
    pub jobs: Option<Vec<JobFacts>>,
    /// Of the refs [`lookups`] named, those GitHub says exist; `None` when not asked.
    pub existing_refs: Option<Vec<String>>,
    /// Deployments of the policy's environment at the run's commit; `None` when not asked.
    pub deployments: Option<Vec<DeploymentFacts>>,
}

impl RunContext {
    /// A run and nothing more.
    pub fn bare(run: RunFacts) -> Self {
        Self {
            run,
            jobs: None,
            existing_refs: None,
            deployments: None,
        }
    }
}

/// What to ask GitHub about a run before it can be judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookups {
    /// The run's jobs (always, for a run that could vouch).
    pub jobs: bool,
    /// Full refs whose existence decides which ref the run was for.
    pub refs: Vec<String>,
    /// The environment whose deployments at the run's commit are to be listed.
    pub environment: Option<String>,
}

/// One way a run falls short of vouching for a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// The run built another commit (or, without a `gitHead`, another tag).
    OtherBuild {
        built: String,
    },
    /// Not under way at the publish time.
    NotUnderWay,
    NotSuccessful {
        outcome: String,
    },
    /// The head commit comes from another repository (a fork).
    HeadRepository {
        head: Option<String>,
    },
    RepositoryId {
        expected: String,
        actual: Option<u64>,
    },
    Event {
        event: String,
        allowed: Vec<String>,
    },
    Ref {
        actual: String,
        allowed: Vec<String>,
    },
    Environment {
        expected: String,
        seen: String,
    },
    Runner {
        detail: String,
    },
    /// No job of the run was running (or succeeded) at the publish time.
    NoPublishingJob,
    /// The jobs could not be listed, so nothing shows which one published or where.
    JobsNotChecked,
}

impl Miss {
    /// The reason code a verdict carries for it.
    pub fn code(&self) -> Reason {
        match self {
            Self::OtherBuild { .. } | Self::NotUnderWay | Self::JobsNotChecked => {
                Reason::RunMismatch
            }
            Self::NotSuccessful { .. } => Reason::RunNotSuccessful,
            Self::HeadRepository { .. } => Reason::HeadRepositoryMismatch,
            Self::RepositoryId { .. } => Reason::RepositoryIdMismatch,
            Self::Event { .. } => Reason::EventNotAllowed,
            Self::Ref { .. } => Reason::RefNotAllowed,
            Self::Environment { .. } => Reason::EnvironmentMismatch,
            Self::Runner { .. } => Reason::RunnerNotGithubHosted,
            Self::NoPublishingJob => Reason::NoPublishingJob,
        }
    }

    /// Whether the miss says the build was not an authorised one (rather than that the run
    /// did not get far enough to vouch for anything).
    pub fn identity(&self) -> bool {
        matches!(
            self,
            Self::HeadRepository { .. }
                | Self::RepositoryId { .. }
                | Self::Event { .. }
                | Self::Ref { .. }
                | Self::Environment { .. }
                | Self::Runner { .. }
        )
    }
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OtherBuild { built } => write!(f, "it built {built}, not this version"),
            Self::NotUnderWay => write!(f, "it was not under way at the publish time"),
            Self::NotSuccessful { outcome } => {
                write!(
                    f,
                    "it is {outcome}: only a run that succeeded, or one still in progress, counts"
                )
            }
            Self::HeadRepository { head } => write!(
                f,
                "its head commit comes from {}, not the policy's repository (a fork's commit is not an authorised build)",
                head.as_deref().unwrap_or("an unknown repository")
            ),
            Self::RepositoryId { expected, actual } => write!(
                f,
                "its repository id is {}, the policy pins {expected}",
                actual.map_or_else(|| "not given".to_owned(), |a| a.to_string())
            ),
            Self::Event { event, allowed } => write!(
                f,
                "it was triggered by {event}, the policy allows {}",
                allowed.join(", ")
            ),
            Self::Ref { actual, allowed } => write!(
                f,
                "it ran for {actual}, the policy allows {}",
                allowed.join(", ")
            ),
            Self::Environment { expected, seen } => {
                write!(f, "the policy requires environment {expected}: {seen}")
            }
            Self::Runner { detail } => write!(
                f,
                "{detail}: not shown to be a GitHub-hosted runner, which the policy requires"
            ),
            Self::NoPublishingJob => write!(
                f,
                "none of its jobs was running or had succeeded at the publish time"
            ),
            Self::JobsNotChecked => write!(f, "its jobs were not looked up"),
        }
    }
}

/// The run was under way at `published_at` for this version's commit (or, without a
/// `gitHead`, for its tag `v<version>` / `<version>`).
pub fn builds_version(
    run: &RunFacts,
    version: &str,
    git_head: Option<&str>,
    published_at: i64,
    slack_secs: i64,
) -> bool {
    run.spans(published_at, slack_secs) && built(run, version, git_head)
}

fn built(run: &RunFacts, version: &str, git_head: Option<&str>) -> bool {
    match git_head {
        Some(head) => run.head_sha.eq_ignore_ascii_case(head),
        None => run
            .head_branch
            .as_deref()
            .is_some_and(|b| b == version || b.strip_prefix('v') == Some(version)),
    }
}

/// The checks the run object alone answers (no further request).
pub fn run_misses(policy: &ReleasePolicy, run: &RunFacts) -> Vec<Miss> {
    let mut misses = Vec::new();
    if !run.succeeded_or_running() {
        misses.push(Miss::NotSuccessful {
            outcome: run.outcome(),
        });
    }
    let expected = policy.repository.to_string();
    let same_head = run
        .head_repository
        .as_deref()
        .is_some_and(|h| h.eq_ignore_ascii_case(&expected))
        && match (&policy.repository_id, run.head_repository_id) {
            (Some(pinned), Some(id)) => pinned == &id.to_string(),
            (Some(_), None) => false,
            (None, _) => true,
        };
    if !same_head {
        misses.push(Miss::HeadRepository {
            head: run.head_repository.clone(),
        });
    }
    if let Some(pinned) = &policy.repository_id
        && run.repository_id.map(|id| id.to_string()).as_ref() != Some(pinned)
    {
        misses.push(Miss::RepositoryId {
            expected: pinned.clone(),
            actual: run.repository_id,
        });
    }
    if let Some(events) = &policy.allowed_events
        && !events.iter().any(|e| e == &run.event)
    {
        misses.push(Miss::Event {
            event: run.event.clone(),
            allowed: events.clone(),
        });
    }
    misses
}

/// What to ask GitHub before judging a run that passed [`run_misses`].
pub fn lookups(policy: &ReleasePolicy, run: &RunFacts) -> Lookups {
    let refs = match (&policy.allowed_refs, run.git_ref()) {
        (Some(patterns), RunRef::BranchOrTag { branch, tag }) => {
            let allowed = |r: &str| patterns.iter().any(|p| p.matches(r));
            if allowed(&branch) == allowed(&tag) {
                Vec::new()
            } else {
                vec![branch, tag]
            }
        }
        _ => Vec::new(),
    };
    Lookups {
        jobs: true,
        refs,
        environment: policy.environment.clone(),
    }
}

/// Every way the run falls short of vouching for a version published at `published_at`;
/// empty when it vouches. Fills in what the jobs showed about the runners.
pub fn check_run(
    policy: &ReleasePolicy,
    context: &mut RunContext,
    published_at: i64,
    slack_secs: i64,
) -> Vec<Miss> {
    let mut misses = run_misses(policy, &context.run);
    let looked_into = misses.is_empty();
    if let Some(miss) = ref_miss(policy, context) {
        misses.push(miss);
    }
    // A run the run object already rules out is not looked into further (its jobs,
    // deployments): what it failed is the whole story.
    if !looked_into {
        return misses;
    }
    if let Some(expected) = &policy.environment {
        let run = &context.run;
        let confirmed = context.deployments.as_ref().map(|list| {
            list.iter().any(|d| {
                &d.environment == expected
                    && d.sha.eq_ignore_ascii_case(&run.head_sha)
                    && d.run_ids.contains(&run.id)
            })
        });
        let seen = match confirmed {
            Some(true) => None,
            Some(false) => Some(format!(
                "GitHub records no deployment to {expected} at commit {} linked to run {}",
                run.head_sha, run.id
            )),
            None => Some("its deployments were not looked up".to_owned()),
        };
        if let Some(seen) = seen {
            misses.push(Miss::Environment {
                expected: expected.clone(),
                seen,
            });
        }
    }
    match &context.jobs {
        None => misses.push(Miss::JobsNotChecked),
        Some(jobs) => match publishing_runners(jobs, published_at, slack_secs) {
            None => misses.push(Miss::NoPublishingJob),
            Some(seen) => {
                if policy.require_github_hosted_runner && !seen.github_hosted {
                    misses.push(Miss::Runner {
                        detail: seen.detail.clone(),
                    });
                }
                context.run.runner = Some(seen);
            }
        },
    }
    misses
}

fn ref_miss(policy: &ReleasePolicy, context: &RunContext) -> Option<Miss> {
    let patterns = policy.allowed_refs.as_ref()?;
    let allowed_text: Vec<String> = patterns.iter().map(ToString::to_string).collect();
    let allowed = |r: &str| patterns.iter().any(|p| p.matches(r));
    let miss = |actual: String| {
        Some(Miss::Ref {
            actual,
            allowed: allowed_text.clone(),
        })
    };
    match context.run.git_ref() {
        RunRef::Known(r) if allowed(&r) => None,
        RunRef::Known(r) => miss(r),
        RunRef::BranchOrTag { branch, tag } => match (allowed(&branch), allowed(&tag)) {
            (true, true) => None,
            (false, false) => miss(format!("{branch} or {tag}")),
            (branch_allowed, _) => {
                let (good, other) = if branch_allowed {
                    (branch, tag)
                } else {
                    (tag, branch)
                };
                match &context.existing_refs {
                    Some(existing) if existing.contains(&good) && !existing.contains(&other) => {
                        None
                    }
                    Some(existing) if existing.contains(&good) => miss(format!(
                        "{good} or {other} (both exist, so which one is not known)"
                    )),
                    Some(_) => miss(format!("{other} ({good} does not exist)")),
                    None => miss(format!("{good} or {other} (not looked up)")),
                }
            }
        },
        RunRef::Unknown => miss(format!(
            "a ref the run does not state (a {} run)",
            context.run.event
        )),
    }
}
