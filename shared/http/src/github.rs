//! `GithubRuns`: the [`Runs`] port over the GitHub REST API (Actions runs and jobs, git
//! refs, deployments and commits).
//!
//! - The token is optional; it is sent only to the configured API base and never logged
//!   (it is not part of any error or `Debug` output).
//! - Responses are cached with their ETag and revalidated with `If-None-Match`: a 304 does
//!   not spend rate limit. `X-RateLimit-Remaining/Reset`, secondary limits and `Retry-After`
//!   are honoured by the shared HTTP client.
//! - Lists are paginated up to a bound; bodies are capped.

use super::http::{HttpClient, HttpConfig, HttpResponse};
use artifact_monitor_core::domain::{
    RepositoryName, RunFacts, WorkflowPath, format_time as rfc3339, parse_time, run_id_in_url,
};
use artifact_monitor_core::ports::{DeploymentFacts, JobFacts, RemoteError, Runs};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The public GitHub API.
pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";
const MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;
const PER_PAGE: usize = 100;
/// At most this many pages of runs per search (500 runs around one publish is plenty).
const MAX_PAGES: usize = 5;
/// Cached responses kept for revalidation.
const MAX_CACHE_ENTRIES: usize = 2048;
/// Bytes of cached bodies kept at most (the cache is memory outside the byte budget).
const MAX_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// A larger body is not cached.
const MAX_CACHED_BODY: usize = 1024 * 1024;
/// Pages of jobs read per run (300 jobs); a run with more is not judged by guesswork.
const MAX_JOB_PAGES: usize = 3;
/// Deployments whose statuses are read per lookup.
const MAX_DEPLOYMENTS: usize = 5;

/// What stays unescaped in a path segment or query value: `/` is kept for ref and file
/// paths, which GitHub reads as several segments.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'/');
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// URL → (ETag, body) of responses kept for revalidation, with the bytes they hold.
#[derive(Default)]
struct EtagCache {
    entries: HashMap<String, (String, Vec<u8>)>,
    bytes: usize,
}

impl EtagCache {
    fn insert(&mut self, url: &str, etag: &str, body: &[u8]) {
        if body.len() > MAX_CACHED_BODY {
            return;
        }
        if self.entries.len() >= MAX_CACHE_ENTRIES || self.bytes + body.len() > MAX_CACHE_BYTES {
            self.entries.clear();
            self.bytes = 0;
        }
        let entry = (etag.to_owned(), body.to_vec());
        self.bytes += body.len();
        if let Some((_, old)) = self.entries.insert(url.to_owned(), entry) {
            self.bytes -= old.len();
        }
    }
}

/// The GitHub Actions adapter.
#[derive(Clone)]
pub struct GithubRuns {
    base: String,
    token: Option<String>,
    http: HttpClient,
    cache: Arc<Mutex<EtagCache>>,
}

impl std::fmt::Debug for GithubRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubRuns")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Deserialize)]
struct RawRun {
    id: u64,
    #[serde(default)]
    head_sha: String,
    #[serde(default)]
    head_branch: Option<String>,
    #[serde(default)]
    event: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    path: String,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    repository: Option<RawRepository>,
    #[serde(default)]
    head_repository: Option<RawRepository>,
    #[serde(default)]
    run_attempt: Option<u32>,
}

#[derive(Deserialize)]
struct RawRepository {
    full_name: String,
    #[serde(default)]
    id: Option<u64>,
}

#[derive(Deserialize)]
struct RawRunList {
    #[serde(default)]
    total_count: usize,
    workflow_runs: Vec<RawRun>,
}

#[derive(Deserialize)]
struct RawJob {
    id: u64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    completed_at: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    runner_id: Option<u64>,
    #[serde(default)]
    runner_name: Option<String>,
    #[serde(default)]
    runner_group_id: Option<u64>,
    #[serde(default)]
    runner_group_name: Option<String>,
}

#[derive(Deserialize)]
struct RawJobList {
    #[serde(default)]
    total_count: usize,
    jobs: Vec<RawJob>,
}

#[derive(Deserialize)]
struct RawRef {
    #[serde(rename = "ref")]
    full_ref: String,
}

#[derive(Deserialize)]
struct RawDeployment {
    id: u64,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    sha: String,
    created_at: String,
}

#[derive(Deserialize)]
struct RawDeploymentStatus {
    #[serde(default)]
    log_url: Option<String>,
    #[serde(default)]
    target_url: Option<String>,
}

#[derive(Deserialize)]
struct RawCommit {
    sha: String,
}

fn invalid(e: impl std::fmt::Display) -> RemoteError {
    RemoteError::Invalid("GitHub", e.to_string())
}

impl RawRun {
    fn into_facts(self, repository: &RepositoryName) -> Result<RunFacts, RemoteError> {
        let time = |t: &str| parse_time(t).ok_or_else(|| invalid(format!("run time {t:?}")));
        // The API gives `path` as `.github/workflows/x.yml@<ref>` for some runs.
        let workflow_path = self.path.split('@').next().unwrap_or_default().to_owned();
        let (full_name, repository_id) = match self.repository {
            Some(r) => (r.full_name, r.id),
            None => (repository.to_string(), None),
        };
        Ok(RunFacts {
            id: self.id,
            repository: full_name,
            repository_id,
            head_repository: self.head_repository.as_ref().map(|r| r.full_name.clone()),
            head_repository_id: self.head_repository.and_then(|r| r.id),
            run_attempt: self.run_attempt,
            workflow_path,
            head_sha: self.head_sha,
            head_branch: self.head_branch,
            event: self.event,
            status: self.status.unwrap_or_default(),
            conclusion: self.conclusion,
            created_at: time(&self.created_at)?,
            updated_at: time(&self.updated_at)?,
            html_url: self.html_url,
            runner: None,
        })
    }
}

impl GithubRuns {
    pub fn new(base: &str, token: Option<String>, config: HttpConfig) -> Result<Self, RemoteError> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(invalid(format!("GitHub API URL {base:?} must be http(s)")));
        }
        Ok(Self {
            base: base.to_owned(),
            token: token.filter(|t| !t.trim().is_empty()),
            http: HttpClient::new("GitHub", config)?,
            cache: Arc::new(Mutex::new(EtagCache::default())),
        })
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.http.requests_sent()
    }

    fn repo_url(&self, repository: &RepositoryName) -> String {
        format!(
            "{}/repos/{}/{}",
            self.base,
            repository.owner(),
            repository.repo()
        )
    }

    /// GET with revalidation of a cached copy; returns the status and the (cached) body.
    async fn get(&self, url: &str) -> Result<HttpResponse, RemoteError> {
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.entries.get(url).cloned());
        let authorization = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![
            ("accept", "application/vnd.github+json"),
            ("x-github-api-version", "2022-11-28"),
        ];
        if let Some(value) = &authorization {
            headers.push(("authorization", value));
        }
        if let Some((etag, _)) = &cached {
            headers.push(("if-none-match", etag));
        }
        let mut response = self.http.get(url, &headers, MAX_BODY_BYTES).await?;
        if response.status == 304
            && let Some((_, body)) = cached
        {
            response.status = 200;
            response.body = body.into();
        } else if response.status == 200
            && let Some(etag) = &response.etag
            && let Ok(mut cache) = self.cache.lock()
        {
            cache.insert(url, etag, &response.body);
        }
        Ok(response)
    }
}

impl Runs for GithubRuns {
    async fn run(
        &self,
        repository: &RepositoryName,
        id: u64,
    ) -> Result<Option<RunFacts>, RemoteError> {
        let url = format!("{}/actions/runs/{id}", self.repo_url(repository));
        let response = self.get(&url).await?;
        match response.status {
            200 => {
                let run = parse_run(&response.body, repository)?;
                if run.id != id {
                    return Err(invalid(format!("asked for run {id}, got run {}", run.id)));
                }
                Ok(Some(run))
            }
            404 | 410 => Ok(None),
            status => Err(RemoteError::Status("GitHub", status)),
        }
    }

    async fn runs_between(
        &self,
        repository: &RepositoryName,
        workflow: &WorkflowPath,
        from: i64,
        to: i64,
    ) -> Result<Vec<RunFacts>, RemoteError> {
        let file = workflow.as_str().rsplit('/').next().unwrap_or_default();
        let mut runs = Vec::new();
        for page in 1..=MAX_PAGES {
            let url = format!(
                "{}/actions/workflows/{file}/runs?created={}..{}&per_page={PER_PAGE}&page={page}",
                self.repo_url(repository),
                rfc3339(from),
                rfc3339(to)
            );
            let response = self.get(&url).await?;
            match response.status {
                200 => {}
                // The workflow file does not exist (any more): no runs of it.
                404 => return Ok(runs),
                status => return Err(RemoteError::Status("GitHub", status)),
            }
            let page = parse_run_page(&response.body, repository)?;
            let count = page.runs.len();
            // Only runs of the asked workflow count, whatever the server sent.
            runs.extend(
                page.runs
                    .into_iter()
                    .filter(|run| run.workflow_path == workflow.as_str()),
            );
            if count < PER_PAGE || runs.len() >= page.total_count {
                break;
            }
        }
        Ok(runs)
    }

    async fn jobs(
        &self,
        repository: &RepositoryName,
        run_id: u64,
    ) -> Result<Vec<JobFacts>, RemoteError> {
        let mut jobs = Vec::new();
        for page in 1..=MAX_JOB_PAGES {
            let url = format!(
                "{}/actions/runs/{run_id}/jobs?per_page={PER_PAGE}&page={page}",
                self.repo_url(repository)
            );
            let response = self.get(&url).await?;
            match response.status {
                200 => {}
                404 | 410 => return Ok(Vec::new()),
                status => return Err(RemoteError::Status("GitHub", status)),
            }
            let (list, total) = parse_job_page(&response.body)?;
            let count = list.len();
            jobs.extend(list);
            if jobs.len() >= total || count < PER_PAGE {
                return Ok(jobs);
            }
        }
        Err(invalid(format!(
            "run {run_id} has more than {} jobs, more than are read",
            MAX_JOB_PAGES * PER_PAGE
        )))
    }

    async fn ref_exists(
        &self,
        repository: &RepositoryName,
        full_ref: &str,
    ) -> Result<bool, RemoteError> {
        let Some(short) = full_ref.strip_prefix("refs/") else {
            return Ok(false);
        };
        let url = format!(
            "{}/git/ref/{}",
            self.repo_url(repository),
            utf8_percent_encode(short, PATH)
        );
        let response = self.get(&url).await?;
        match response.status {
            200 => Ok(parse_ref(&response.body).is_some_and(|r| r == full_ref)),
            404 | 409 => Ok(false),
            status => Err(RemoteError::Status("GitHub", status)),
        }
    }

    async fn deployments(
        &self,
        repository: &RepositoryName,
        sha: &str,
        environment: &str,
    ) -> Result<Vec<DeploymentFacts>, RemoteError> {
        let url = format!(
            "{}/deployments?sha={}&environment={}&per_page={MAX_DEPLOYMENTS}",
            self.repo_url(repository),
            utf8_percent_encode(sha, VALUE),
            utf8_percent_encode(environment, VALUE)
        );
        let response = self.get(&url).await?;
        match response.status {
            200 => {}
            404 => return Ok(Vec::new()),
            status => return Err(RemoteError::Status("GitHub", status)),
        }
        let mut found = Vec::new();
        for deployment in parse_deployments(&response.body)?
            .into_iter()
            .take(MAX_DEPLOYMENTS)
        {
            let url = format!(
                "{}/deployments/{}/statuses?per_page={PER_PAGE}",
                self.repo_url(repository),
                deployment.id
            );
            let response = self.get(&url).await?;
            let run_ids = match response.status {
                200 => parse_deployment_runs(&response.body, &repository.to_string())?,
                404 => Vec::new(),
                status => return Err(RemoteError::Status("GitHub", status)),
            };
            found.push(DeploymentFacts {
                run_ids,
                ..deployment
            });
        }
        Ok(found)
    }

    async fn last_change(
        &self,
        repository: &RepositoryName,
        commit: &str,
        path: &str,
    ) -> Result<Option<String>, RemoteError> {
        let url = format!(
            "{}/commits?sha={}&path={}&per_page=1",
            self.repo_url(repository),
            utf8_percent_encode(commit, VALUE),
            utf8_percent_encode(path, VALUE)
        );
        let response = self.get(&url).await?;
        match response.status {
            200 => Ok(parse_commits(&response.body)?.into_iter().next()),
            // An unknown commit (422) or repository: nothing to compare.
            404 | 409 | 422 => Ok(None),
            status => Err(RemoteError::Status("GitHub", status)),
        }
    }
}

/// One run as GitHub's API answers it (hostile bytes), for a run of `repository`.
pub fn parse_run(body: &[u8], repository: &RepositoryName) -> Result<RunFacts, RemoteError> {
    let raw: RawRun = serde_json::from_slice(body).map_err(invalid)?;
    raw.into_facts(repository)
}

/// One page of a workflow's runs.
#[derive(Debug)]
pub struct RunPage {
    pub runs: Vec<RunFacts>,
    /// How many runs the search matched in all (GitHub's `total_count`).
    pub total_count: usize,
}

/// One page of a workflow's runs as GitHub's API answers it (hostile bytes).
pub fn parse_run_page(body: &[u8], repository: &RepositoryName) -> Result<RunPage, RemoteError> {
    let list: RawRunList = serde_json::from_slice(body).map_err(invalid)?;
    Ok(RunPage {
        total_count: list.total_count,
        runs: list
            .workflow_runs
            .into_iter()
            .map(|raw| raw.into_facts(repository))
            .collect::<Result<_, _>>()?,
    })
}

/// A run's jobs as GitHub's API answers them (hostile bytes).
pub fn parse_jobs(body: &[u8]) -> Result<Vec<JobFacts>, RemoteError> {
    parse_job_page(body).map(|(jobs, _)| jobs)
}

/// One page of a run's jobs, with GitHub's `total_count`.
fn parse_job_page(body: &[u8]) -> Result<(Vec<JobFacts>, usize), RemoteError> {
    let list: RawJobList = serde_json::from_slice(body).map_err(invalid)?;
    let time = |t: Option<String>| -> Result<Option<i64>, RemoteError> {
        match t {
            None => Ok(None),
            Some(t) => parse_time(&t)
                .map(Some)
                .ok_or_else(|| invalid(format!("job time {t:?}"))),
        }
    };
    let total = list.total_count;
    let jobs = list
        .jobs
        .into_iter()
        .map(|j| {
            Ok(JobFacts {
                id: j.id,
                name: j.name,
                status: j.status.unwrap_or_default(),
                conclusion: j.conclusion,
                started_at: time(j.started_at)?,
                completed_at: time(j.completed_at)?,
                labels: j.labels,
                runner_id: j.runner_id,
                runner_name: j.runner_name,
                runner_group_id: j.runner_group_id,
                runner_group_name: j.runner_group_name,
            })
        })
        .collect::<Result<_, RemoteError>>()?;
    Ok((jobs, total))
}

/// The full ref of a git ref answer; `None` when GitHub answered a list of refs that only
/// start with the name asked (no exact match).
pub fn parse_ref(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<RawRef>(body)
        .ok()
        .map(|r| r.full_ref)
}

/// A list of deployments as GitHub's API answers it (hostile bytes); their runs are read
/// from their statuses separately.
pub fn parse_deployments(body: &[u8]) -> Result<Vec<DeploymentFacts>, RemoteError> {
    let list: Vec<RawDeployment> = serde_json::from_slice(body).map_err(invalid)?;
    list.into_iter()
        .map(|d| {
            Ok(DeploymentFacts {
                id: d.id,
                environment: d.environment,
                sha: d.sha,
                created_at: parse_time(&d.created_at)
                    .ok_or_else(|| invalid(format!("deployment time {:?}", d.created_at)))?,
                run_ids: Vec::new(),
            })
        })
        .collect()
}

/// The runs of `repository` a deployment's statuses link to.
pub fn parse_deployment_runs(body: &[u8], repository: &str) -> Result<Vec<u64>, RemoteError> {
    let list: Vec<RawDeploymentStatus> = serde_json::from_slice(body).map_err(invalid)?;
    let mut ids: Vec<u64> = list
        .iter()
        .flat_map(|s| [s.log_url.as_deref(), s.target_url.as_deref()])
        .flatten()
        .filter_map(|url| run_id_in_url(url, repository))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The shas of a commit list as GitHub's API answers it (hostile bytes).
pub fn parse_commits(body: &[u8]) -> Result<Vec<String>, RemoteError> {
    let list: Vec<RawCommit> = serde_json::from_slice(body).map_err(invalid)?;
    list.into_iter()
        .map(|c| {
            if c.sha.len() == 40 && c.sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(c.sha.to_ascii_lowercase())
            } else {
                Err(invalid(format!("commit sha {:?}", c.sha)))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_never_in_debug_output() {
        let runs = GithubRuns::new(
            "http://127.0.0.1:1",
            Some("ghp_secret".into()),
            HttpConfig::default(),
        )
        .unwrap();
        let shown = format!("{runs:?}");
        assert!(!shown.contains("ghp_secret"));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn run_times_and_paths_are_read() {
        let raw: RawRun = serde_json::from_str(
            r#"{"id":1,"head_sha":"a","path":".github/workflows/build.yml@main","event":"push",
               "created_at":"2020-01-22T19:33:08Z","updated_at":"2020-01-22T19:40:00Z"}"#,
        )
        .unwrap();
        let repo = RepositoryName::parse("octo-org/octo-repo").unwrap();
        let facts = raw.into_facts(&repo).unwrap();
        assert_eq!(facts.workflow_path, ".github/workflows/build.yml");
        assert_eq!(facts.repository, "octo-org/octo-repo");
        assert_eq!(facts.updated_at - facts.created_at, 412);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
