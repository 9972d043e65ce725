//! `GithubRuns`: the [`Runs`] port over the GitHub REST API (Actions runs and jobs).
//!
//! - The token is optional; it is sent only to the configured API base and never logged
//!   (it is not part of any error or `Debug` output).
//! - Responses are cached with their ETag and revalidated with `If-None-Match`: a 304 does
//!   not spend rate limit. `X-RateLimit-Remaining/Reset`, secondary limits and `Retry-After`
//!   are honoured by the shared HTTP client.
//! - Lists are paginated up to a bound; bodies are capped.

use super::http::{HttpClient, HttpConfig, HttpResponse};
use crate::domain::{RepositoryName, RunFacts, WorkflowPath, format_time as rfc3339, parse_time};
use crate::ports::{JobFacts, RemoteError, Runs};
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
}

#[derive(Deserialize)]
struct RawRepository {
    full_name: String,
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
    labels: Vec<String>,
    #[serde(default)]
    runner_name: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
}

#[derive(Deserialize)]
struct RawJobList {
    jobs: Vec<RawJob>,
}

fn invalid(e: impl std::fmt::Display) -> RemoteError {
    RemoteError::Invalid("GitHub", e.to_string())
}

impl RawRun {
    fn into_facts(self, repository: &RepositoryName) -> Result<RunFacts, RemoteError> {
        let time = |t: &str| parse_time(t).ok_or_else(|| invalid(format!("run time {t:?}")));
        // The API gives `path` as `.github/workflows/x.yml@<ref>` for some runs.
        let workflow_path = self.path.split('@').next().unwrap_or_default().to_owned();
        Ok(RunFacts {
            id: self.id,
            repository: self
                .repository
                .map(|r| r.full_name)
                .unwrap_or_else(|| repository.to_string()),
            workflow_path,
            head_sha: self.head_sha,
            head_branch: self.head_branch,
            event: self.event,
            status: self.status.unwrap_or_default(),
            conclusion: self.conclusion,
            created_at: time(&self.created_at)?,
            updated_at: time(&self.updated_at)?,
            html_url: self.html_url,
            self_hosted_runner: None,
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
        let url = format!(
            "{}/actions/runs/{run_id}/jobs?per_page={PER_PAGE}",
            self.repo_url(repository)
        );
        let response = self.get(&url).await?;
        match response.status {
            200 => {}
            404 | 410 => return Ok(Vec::new()),
            status => return Err(RemoteError::Status("GitHub", status)),
        }
        parse_jobs(&response.body)
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
    let list: RawJobList = serde_json::from_slice(body).map_err(invalid)?;
    Ok(list
        .jobs
        .into_iter()
        .map(|j| JobFacts {
            id: j.id,
            name: j.name,
            labels: j.labels,
            runner_name: j.runner_name,
            conclusion: j.conclusion,
        })
        .collect())
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
