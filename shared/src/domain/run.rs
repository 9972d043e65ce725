//! What the GitHub Actions API says about a workflow run, reduced to the facts a verdict uses.

use serde::{Deserialize, Serialize};

/// A workflow run as the monitor records it in evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFacts {
    pub id: u64,
    /// `owner/repo` the run belongs to.
    pub repository: String,
    /// The workflow file, without the `@ref` suffix the API adds.
    pub workflow_path: String,
    pub head_sha: String,
    pub head_branch: Option<String>,
    pub event: String,
    pub status: String,
    pub conclusion: Option<String>,
    /// Seconds since the epoch.
    pub created_at: i64,
    pub updated_at: i64,
    /// The run's page (links to its logs).
    pub html_url: String,
    /// Whether a job of the run ran on a self-hosted runner, when the jobs were looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_hosted_runner: Option<bool>,
}

impl RunFacts {
    /// Whether the run was under way (created, not yet last updated) at `time`, allowing
    /// `slack_secs` after its last update for the registry to record the publish.
    pub fn spans(&self, time: i64, slack_secs: i64) -> bool {
        self.created_at <= time && time <= self.updated_at.saturating_add(slack_secs)
    }

    /// Whether the run failed or was cancelled (a run still going has no conclusion).
    pub fn unsuccessful(&self) -> bool {
        matches!(
            self.conclusion.as_deref(),
            Some("failure" | "cancelled" | "timed_out" | "action_required" | "startup_failure")
        )
    }
}
