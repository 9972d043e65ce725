//! What the GitHub Actions API says about a workflow run, its jobs and its deployments,
//! reduced to the facts a verdict uses, and what those facts show on their own (which ref a
//! run was for, whether a job's runner is GitHub-hosted, which jobs could have published).

use serde::{Deserialize, Serialize};

/// The runner group every standard GitHub-hosted runner reports (`runner_group_id` 0,
/// `runner_group_name` "GitHub Actions"). Self-hosted runners, Actions Runner Controller scale
/// sets and larger GitHub-hosted runners report groups of their own.
pub const HOSTED_RUNNER_GROUP_ID: u64 = 0;
pub const HOSTED_RUNNER_GROUP_NAME: &str = "GitHub Actions";

/// A workflow run as the monitor records it in evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFacts {
    pub id: u64,
    /// `owner/repo` the run belongs to.
    pub repository: String,
    /// GitHub's immutable id of that repository, when the API gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_id: Option<u64>,
    /// The repository the head commit comes from: a fork's for a fork pull request (also
    /// under `pull_request_target`, which runs with the base repository's secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_repository_id: Option<u64>,
    /// The workflow file, without the `@ref` suffix the API adds.
    pub workflow_path: String,
    pub head_sha: String,
    /// The branch or tag name the run was for (GitHub's `head_branch`, a short name).
    pub head_branch: Option<String>,
    pub event: String,
    pub status: String,
    pub conclusion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_attempt: Option<u32>,
    /// Seconds since the epoch.
    pub created_at: i64,
    pub updated_at: i64,
    /// The run's page (links to its logs).
    pub html_url: String,
    /// What the run's jobs showed about the runners that could have published, when the
    /// jobs were looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerSeen>,
}

/// The verdict-relevant reading of a run's runners, kept in the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerSeen {
    /// Every job that could have published ran on a runner shown to be GitHub-hosted.
    pub github_hosted: bool,
    /// What GitHub reported, in words (job, runner name, group, labels).
    pub detail: String,
}

/// Which ref a run was for, as far as the run object tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRef {
    /// The event fixes the kind: `release` runs for a tag, `schedule` on a branch.
    Known(String),
    /// `head_branch` names a branch or a tag of that name (`push`, `workflow_dispatch`).
    BranchOrTag { branch: String, tag: String },
    /// The run object does not say (pull request events run on merge or base refs).
    Unknown,
}

impl RunFacts {
    /// Whether the run was under way (created, not yet last updated) at `time`, allowing
    /// `slack_secs` after its last update for the registry to record the publish.
    pub fn spans(&self, time: i64, slack_secs: i64) -> bool {
        self.created_at <= time && time <= self.updated_at.saturating_add(slack_secs)
    }

    /// Whether the run can vouch for a release: it concluded `success`, or it is still in
    /// progress (its jobs then decide). Skipped, neutral, stale, failed, cancelled runs and
    /// runs queued or waiting for an approval cannot.
    pub fn succeeded_or_running(&self) -> bool {
        match self.status.as_str() {
            "completed" => self.conclusion.as_deref() == Some("success"),
            "in_progress" => true,
            _ => false,
        }
    }

    /// What the run's status and conclusion are, in words.
    pub fn outcome(&self) -> String {
        match &self.conclusion {
            Some(conclusion) => format!("{} ({conclusion})", self.status),
            None => self.status.clone(),
        }
    }

    /// The full ref the run was for, from its event and `head_branch`.
    pub fn git_ref(&self) -> RunRef {
        let Some(name) = self.head_branch.as_deref().filter(|n| !n.is_empty()) else {
            return RunRef::Unknown;
        };
        match self.event.as_str() {
            // GITHUB_REF of a release is the release's tag.
            "release" => RunRef::Known(format!("refs/tags/{name}")),
            // These run on the default branch, which `head_branch` names.
            "schedule" | "repository_dispatch" => RunRef::Known(format!("refs/heads/{name}")),
            // A pushed, created or dispatched ref may be a branch or a tag.
            "push" | "workflow_dispatch" | "create" => RunRef::BranchOrTag {
                branch: format!("refs/heads/{name}"),
                tag: format!("refs/tags/{name}"),
            },
            // Pull request events run on `refs/pull/N/merge` or the base branch,
            // `workflow_run` on the default branch: `head_branch` is not their ref.
            _ => RunRef::Unknown,
        }
    }
}

/// One job of a run, as GitHub's jobs API reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFacts {
    pub id: u64,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub labels: Vec<String>,
    pub runner_id: Option<u64>,
    pub runner_name: Option<String>,
    pub runner_group_id: Option<u64>,
    pub runner_group_name: Option<String>,
}

/// What the jobs API shows about the machine a job ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerKind {
    /// The standard GitHub-hosted runner group.
    GithubHosted,
    /// Anything else: a self-hosted runner (with or without the `self-hosted` label), an
    /// Actions Runner Controller scale set, or a larger GitHub-hosted runner, which the jobs
    /// API does not tell apart from self-hosted ones. A policy that requires GitHub-hosted
    /// runners is not satisfied by it.
    NotShownHosted,
}

impl JobFacts {
    /// Whether the job ever got a runner (a job skipped, queued or waiting for an
    /// environment approval did not).
    pub fn had_runner(&self) -> bool {
        self.runner_id.is_some_and(|id| id != 0)
            || self.runner_name.as_deref().is_some_and(|n| !n.is_empty())
    }

    /// The runner's kind, from everything the API reports about it; `None` without a runner.
    /// The absence of a `self-hosted` label proves nothing (scale-set runners carry none):
    /// only the hosted runner group counts as GitHub-hosted.
    pub fn runner_kind(&self) -> Option<RunnerKind> {
        if !self.had_runner() {
            return None;
        }
        let hosted_group = self.runner_group_id == Some(HOSTED_RUNNER_GROUP_ID)
            && self.runner_group_name.as_deref() == Some(HOSTED_RUNNER_GROUP_NAME);
        let self_hosted_label = self
            .labels
            .iter()
            .any(|l| l.eq_ignore_ascii_case("self-hosted"));
        Some(if hosted_group && !self_hosted_label {
            RunnerKind::GithubHosted
        } else {
            RunnerKind::NotShownHosted
        })
    }

    /// Whether the job could have published at `at`: it had started by then and was still
    /// running (or finished at most `slack_secs` before), and it is running now or
    /// succeeded.
    pub fn could_have_published(&self, at: i64, slack_secs: i64) -> bool {
        let started = self.started_at.is_some_and(|s| s <= at) && self.had_runner();
        let not_over = self
            .completed_at
            .is_none_or(|c| c.saturating_add(slack_secs) >= at);
        let fine = match self.status.as_str() {
            "in_progress" => true,
            "completed" => self.conclusion.as_deref() == Some("success"),
            _ => false,
        };
        started && not_over && fine
    }

    /// The runner in words: what a reason shows of it.
    pub fn describe_runner(&self) -> String {
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_owned());
        format!(
            "job {:?} ran on runner {:?} of group {:?} (id {}), labels [{}]",
            self.name,
            text(&self.runner_name),
            text(&self.runner_group_name),
            self.runner_group_id
                .map_or_else(|| "none".to_owned(), |id| id.to_string()),
            self.labels.join(", ")
        )
    }
}

/// The runners of the jobs that could have published at `at`, read together: GitHub-hosted
/// only when there is at least one such job and every one of them is. `None` when no job
/// could have published then.
pub fn publishing_runners(jobs: &[JobFacts], at: i64, slack_secs: i64) -> Option<RunnerSeen> {
    let publishing: Vec<&JobFacts> = jobs
        .iter()
        .filter(|j| j.could_have_published(at, slack_secs))
        .collect();
    if publishing.is_empty() {
        return None;
    }
    let not_hosted: Vec<&JobFacts> = publishing
        .iter()
        .copied()
        .filter(|j| j.runner_kind() != Some(RunnerKind::GithubHosted))
        .collect();
    let shown = if not_hosted.is_empty() {
        &publishing
    } else {
        &not_hosted
    };
    let mut detail = shown
        .iter()
        .take(3)
        .map(|j| j.describe_runner())
        .collect::<Vec<_>>()
        .join("; ");
    if shown.len() > 3 {
        detail.push_str(&format!("; and {} more", shown.len() - 3));
    }
    Some(RunnerSeen {
        github_hosted: not_hosted.is_empty(),
        detail,
    })
}

/// A deployment GitHub recorded for a job that referenced an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentFacts {
    pub id: u64,
    pub environment: String,
    pub sha: String,
    pub created_at: i64,
    /// The runs its statuses link to (`…/actions/runs/<id>…` in `log_url` or `target_url`).
    pub run_ids: Vec<u64>,
}

/// The run id a GitHub Actions log link of `repository` names:
/// `https://<host>/<owner>/<repo>/actions/runs/<id>[/…]` (a link into another repository's
/// runs names none).
pub fn run_id_in_url(url: &str, repository: &str) -> Option<u64> {
    let (before, rest) = url.split_once("/actions/runs/")?;
    let suffix = format!("/{repository}");
    let tail = before.get(before.len().checked_sub(suffix.len())?..)?;
    if !tail.eq_ignore_ascii_case(&suffix) {
        return None;
    }
    let digits = rest.split(['/', '?', '#']).next()?;
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosted_job() -> JobFacts {
        JobFacts {
            id: 1,
            name: "publish".into(),
            status: "completed".into(),
            conclusion: Some("success".into()),
            started_at: Some(100),
            completed_at: Some(200),
            labels: vec!["ubuntu-latest".into()],
            runner_id: Some(7),
            runner_name: Some("GitHub Actions 7".into()),
            runner_group_id: Some(0),
            runner_group_name: Some("GitHub Actions".into()),
        }
    }

    #[test]
    fn only_the_hosted_runner_group_shows_a_github_hosted_runner() {
        type Change = fn(&mut JobFacts);
        let table: &[(&str, Change, Option<RunnerKind>)] = &[
            (
                "standard hosted runner",
                |_| {},
                Some(RunnerKind::GithubHosted),
            ),
            (
                "self-hosted with its label",
                |j| {
                    j.labels = vec!["self-hosted".into(), "linux".into()];
                    j.runner_group_id = Some(1);
                    j.runner_group_name = Some("Default".into());
                },
                Some(RunnerKind::NotShownHosted),
            ),
            (
                "ARC scale set: no self-hosted label, own group",
                |j| {
                    j.labels = vec!["arc-runner-set".into()];
                    j.runner_name = Some("arc-runner-set-abcde-runner-xyz".into());
                    j.runner_group_id = Some(1);
                    j.runner_group_name = Some("Default".into());
                },
                Some(RunnerKind::NotShownHosted),
            ),
            (
                "self-hosted runner named like a hosted one",
                |j| {
                    j.runner_group_id = Some(3);
                    j.runner_group_name = Some("GitHub Actions".into());
                },
                Some(RunnerKind::NotShownHosted),
            ),
            (
                "group 0 under another name",
                |j| j.runner_group_name = Some("github actions ".into()),
                Some(RunnerKind::NotShownHosted),
            ),
            (
                "larger runner in its own group",
                |j| {
                    j.labels = vec!["ubuntu-24.04-16core".into()];
                    j.runner_group_id = Some(5);
                    j.runner_group_name = Some("Larger runners".into());
                },
                Some(RunnerKind::NotShownHosted),
            ),
            (
                "hosted group but a self-hosted label",
                |j| j.labels.push("Self-Hosted".into()),
                Some(RunnerKind::NotShownHosted),
            ),
            (
                "group not reported",
                |j| {
                    j.runner_group_id = None;
                    j.runner_group_name = None;
                },
                Some(RunnerKind::NotShownHosted),
            ),
            (
                "never got a runner",
                |j| {
                    j.runner_id = None;
                    j.runner_name = None;
                    j.runner_group_id = None;
                    j.runner_group_name = None;
                },
                None,
            ),
        ];
        for (name, change, expected) in table {
            let mut job = hosted_job();
            change(&mut job);
            assert_eq!(job.runner_kind(), *expected, "{name}");
        }
    }

    #[test]
    fn jobs_that_could_have_published() {
        let job = hosted_job();
        assert!(job.could_have_published(150, 0));
        assert!(job.could_have_published(250, 60), "within the slack");
        assert!(!job.could_have_published(50, 600), "not started yet");
        assert!(!job.could_have_published(300, 60), "long over");
        let mut waiting = job.clone();
        waiting.status = "waiting".into();
        waiting.runner_id = None;
        waiting.runner_name = None;
        waiting.started_at = None;
        assert!(!waiting.could_have_published(150, 0));
        let mut failed = job.clone();
        failed.conclusion = Some("failure".into());
        assert!(!failed.could_have_published(150, 0));
        let mut running = job;
        running.status = "in_progress".into();
        running.conclusion = None;
        running.completed_at = None;
        assert!(running.could_have_published(10_000, 0));
    }

    #[test]
    fn every_publishing_job_must_be_hosted() {
        let hosted = hosted_job();
        let mut arc = hosted_job();
        arc.name = "build".into();
        arc.labels = vec!["arc-set".into()];
        arc.runner_group_id = Some(1);
        arc.runner_group_name = Some("Default".into());
        let seen = publishing_runners(&[hosted.clone(), arc.clone()], 150, 0).unwrap();
        assert!(!seen.github_hosted);
        assert!(seen.detail.contains("arc-set") && seen.detail.contains("Default"));
        assert!(
            publishing_runners(std::slice::from_ref(&hosted), 150, 0)
                .unwrap()
                .github_hosted
        );
        // A self-hosted job long finished before the publish does not count.
        arc.completed_at = Some(120);
        assert!(
            publishing_runners(&[hosted, arc], 1050, 900)
                .unwrap()
                .github_hosted
        );
        assert_eq!(publishing_runners(&[], 150, 0), None);
    }

    #[test]
    fn the_ref_of_a_run_follows_its_event() {
        let mut run = RunFacts {
            id: 1,
            repository: "o/r".into(),
            repository_id: None,
            head_repository: None,
            head_repository_id: None,
            workflow_path: ".github/workflows/release.yml".into(),
            head_sha: "a".repeat(40),
            head_branch: Some("v1.0.0".into()),
            event: "release".into(),
            status: "completed".into(),
            conclusion: Some("success".into()),
            run_attempt: None,
            created_at: 0,
            updated_at: 0,
            html_url: String::new(),
            runner: None,
        };
        assert_eq!(run.git_ref(), RunRef::Known("refs/tags/v1.0.0".into()));
        run.event = "push".into();
        assert!(matches!(run.git_ref(), RunRef::BranchOrTag { .. }));
        run.event = "pull_request_target".into();
        assert_eq!(run.git_ref(), RunRef::Unknown);
        run.event = "schedule".into();
        run.head_branch = Some("main".into());
        assert_eq!(run.git_ref(), RunRef::Known("refs/heads/main".into()));
        for (status, conclusion, counts) in [
            ("completed", Some("success"), true),
            ("in_progress", None, true),
            ("completed", Some("skipped"), false),
            ("completed", Some("neutral"), false),
            ("completed", Some("stale"), false),
            ("completed", Some("failure"), false),
            ("waiting", None, false),
            ("queued", None, false),
        ] {
            run.status = status.into();
            run.conclusion = conclusion.map(Into::into);
            assert_eq!(
                run.succeeded_or_running(),
                counts,
                "{status} {conclusion:?}"
            );
        }
    }

    #[test]
    fn run_ids_are_read_from_log_links_only_when_exact() {
        let id = |url| run_id_in_url(url, "o/r");
        assert_eq!(
            id("https://github.com/o/r/actions/runs/123/job/456"),
            Some(123)
        );
        assert_eq!(id("https://github.com/O/R/actions/runs/9"), Some(9));
        assert_eq!(id("https://github.com/o/r/actions/runs/12x"), None);
        assert_eq!(id("https://example.com/deploy"), None);
        assert_eq!(id("https://github.com/o/r/actions/runs/"), None);
        assert_eq!(id("https://github.com/evil/o/r2/actions/runs/5"), None);
        assert_eq!(id("https://github.com/xo/r/actions/runs/5"), None);
    }
}
