//! The npm registry and the GitHub API played by local servers, serving real-format
//! documents: packuments shaped like the registry's (with `dist.attestations`, `_npmUser`,
//! `time`), the real attestation responses in `tests/fixtures/npm/attestations`, and
//! GitHub run and job payloads derived from the REST examples in `tests/fixtures/github`.

#![allow(clippy::unwrap_used)]

use super::fake_http::{FakeServer, Reply, Request};
use artifact_monitor_core::ports::Clock;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// A clock the test sets.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<AtomicI64>);

impl FixedClock {
    pub fn at(rfc3339: &str) -> Self {
        Self(Arc::new(AtomicI64::new(secs(rfc3339))))
    }
    pub fn set(&self, rfc3339: &str) {
        self.0.store(secs(rfc3339), Ordering::SeqCst);
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub fn secs(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_second()
}

/// A scripted misbehaviour: the next request whose target contains `matching` gets `reply`.
type Faults = Arc<Mutex<VecDeque<(String, Reply)>>>;

fn take_fault(faults: &Faults, request: &Request) -> Option<Reply> {
    let mut faults = faults.lock().unwrap();
    let index = faults
        .iter()
        .position(|(matching, _)| request.target.contains(matching.as_str()))?;
    faults.remove(index).map(|(_, reply)| reply)
}

/// A fake service: a server answering from shared state `S`, scripted faults first.
#[allow(missing_debug_implementations)]
pub struct Fake<S> {
    pub server: FakeServer,
    state: Arc<Mutex<S>>,
    faults: Faults,
}

/// The fake npm registry.
pub type FakeNpm = Fake<NpmState>;
/// The fake GitHub API.
pub type FakeGithub = Fake<GithubState>;

impl<S: Default + Send + 'static> Fake<S> {
    pub(crate) async fn serve(reply: fn(&S, &Request) -> Reply) -> Self {
        let state: Arc<Mutex<S>> = Arc::default();
        let faults: Faults = Arc::default();
        let (s, f) = (Arc::clone(&state), Arc::clone(&faults));
        let server = FakeServer::start(move |request| {
            if let Some(reply) = take_fault(&f, request) {
                return reply;
            }
            reply(&s.lock().unwrap(), request)
        })
        .await;
        Self {
            server,
            state,
            faults,
        }
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// What the fake serves.
    pub(crate) fn state(&self) -> &Mutex<S> {
        &self.state
    }

    /// The next request whose target contains `matching` gets `reply` instead.
    pub fn fail_next(&self, matching: &str, reply: Reply) {
        self.faults
            .lock()
            .unwrap()
            .push_back((matching.to_owned(), reply));
    }
}

fn decode(segment: &str) -> String {
    segment
        .replace("%2f", "/")
        .replace("%2F", "/")
        .replace("%40", "@")
        .replace("%2B", "+")
}

/// What the fake serves.
#[derive(Default)]
#[allow(missing_debug_implementations)]
pub struct NpmState {
    packuments: BTreeMap<String, (Value, u64)>,
    attestations: HashMap<String, Vec<u8>>,
    files: HashMap<String, Vec<u8>>,
    /// The replication feed: (sequence, package name), in order.
    feed: Vec<(u64, String)>,
    /// The last sequence issued.
    feed_seq: u64,
    /// Serve stale packuments (the document as it was this many revisions ago) to plain
    /// reads, as a CDN does; `?write=true` reads are always fresh.
    stale_by: u64,
    history: HashMap<String, Vec<Value>>,
}

impl NpmState {
    fn record_change(&mut self, name: &str) {
        self.feed_seq += 1;
        self.feed.push((self.feed_seq, name.to_owned()));
    }
}

impl Fake<NpmState> {
    pub async fn start() -> Self {
        Self::serve(npm_reply).await
    }

    /// Creates (or replaces) a package with no versions.
    pub fn create(&self, name: &str, maintainers: &[&str]) {
        let doc = json!({
            "_id": name,
            "name": name,
            "dist-tags": {},
            "versions": {},
            "time": {"created": "2023-01-01T00:00:00.000Z"},
            "maintainers": maintainers.iter().map(|m| json!({"name": m, "email": format!("{m}@example.com")})).collect::<Vec<_>>(),
            "readme": "A package for tests.",
        });
        let mut state = self.state.lock().unwrap();
        let revision = state.packuments.get(name).map_or(0, |(_, r)| r + 1);
        state
            .history
            .entry(name.to_owned())
            .or_default()
            .push(doc.clone());
        state.packuments.insert(name.to_owned(), (doc, revision));
        state.record_change(name);
    }

    /// Changes a package's document; the ETag changes with it.
    pub fn edit(&self, name: &str, change: impl FnOnce(&mut Value)) {
        let mut state = self.state.lock().unwrap();
        let (doc, revision) = state.packuments.get_mut(name).unwrap();
        let modified_before = doc["time"]["modified"].clone();
        change(doc);
        *revision += 1;
        // The registry stamps every change; a change that did not stamp itself is a second
        // after the previous one.
        if doc["time"]["modified"] == modified_before {
            let previous = modified_before
                .as_str()
                .or(doc["time"]["created"].as_str())
                .map_or(0, secs);
            let next = jiff::Timestamp::from_second(previous + 1).unwrap();
            doc["time"]["modified"] = json!(next.to_string());
        }
        let doc = doc.clone();
        state.history.entry(name.to_owned()).or_default().push(doc);
        state.record_change(name);
    }

    /// `count` changes of packages nobody watches.
    pub fn unrelated_changes(&self, count: usize) {
        let mut state = self.state.lock().unwrap();
        for i in 0..count {
            state.record_change(&format!("unrelated-package-{i}"));
        }
    }

    /// The feed starts over: its history is gone and sequences restart from 1.
    pub fn reset_feed(&self) {
        let mut state = self.state.lock().unwrap();
        state.feed.clear();
        state.feed_seq = 0;
    }

    /// Plain reads get the document as it was `revisions` changes ago (a stale CDN).
    pub fn serve_stale(&self, revisions: u64) {
        self.state.lock().unwrap().stale_by = revisions;
    }

    /// The feed's current end.
    pub fn feed_seq(&self) -> u64 {
        self.state.lock().unwrap().feed_seq
    }

    /// The feed's base URL (what `changes_feed_url` should be).
    pub fn feed_url(&self) -> String {
        format!("{}/registry", self.url())
    }

    /// Publishes a version: adds the manifest, its time, and moves `latest` to it.
    pub fn publish(&self, name: &str, manifest: Value, at: &str) {
        let version = manifest["version"].as_str().unwrap().to_owned();
        self.edit(name, |doc| {
            doc["versions"][&version] = manifest;
            doc["time"][&version] = json!(at);
            doc["time"]["modified"] = json!(at);
            doc["dist-tags"]["latest"] = json!(version);
        });
    }

    /// Serves `document` as the attestations of `name@version`.
    pub fn attest(&self, name: &str, version: &str, document: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .attestations
            .insert(format!("{name}@{version}"), document);
    }

    /// Serves `bytes` at `path` (a tarball); returns its URL.
    pub fn serve_file(&self, path: &str, bytes: Vec<u8>) -> String {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_owned(), bytes);
        format!("{}{path}", self.url())
    }

    pub fn packument_requests(&self, name: &str) -> Vec<u16> {
        let path = format!("/{}", name.replace('/', "%2f"));
        self.server
            .requests()
            .into_iter()
            .filter(|(r, _)| r.path() == path)
            .map(|(_, status)| status)
            .collect()
    }
}

fn feed_reply(state: &NpmState, request: &Request) -> Option<Reply> {
    match request.path() {
        "/registry/" | "/registry" => Some(Reply::json(
            200,
            serde_json::to_vec(&json!({"db_name": "registry", "update_seq": state.feed_seq}))
                .unwrap(),
        )),
        "/registry/_changes" => {
            let since: u64 = request
                .query("since")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let limit: usize = request
                .query("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(1000);
            let results: Vec<Value> = state
                .feed
                .iter()
                .filter(|(seq, _)| *seq > since)
                .take(limit)
                .map(|(seq, id)| json!({"seq": seq, "id": id, "changes": [{"rev": format!("{seq}-0")}]}))
                .collect();
            let last_seq = results
                .last()
                .and_then(|r| r["seq"].as_u64())
                .unwrap_or(state.feed_seq);
            let body = json!({"results": results, "last_seq": last_seq});
            Some(Reply::json(200, serde_json::to_vec(&body).unwrap()))
        }
        _ => None,
    }
}

fn npm_reply(state: &NpmState, request: &Request) -> Reply {
    if let Some(reply) = feed_reply(state, request) {
        return reply;
    }
    let path = request.path();
    if let Some(bytes) = state.files.get(path) {
        return Reply::Full {
            status: 200,
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: bytes.clone(),
        };
    }
    if let Some(spec) = path.strip_prefix("/-/npm/v1/attestations/") {
        let spec = decode(spec);
        return match state.attestations.get(&spec) {
            Some(document) => Reply::json(200, document.clone()),
            None => Reply::json(404, r#"{"error":"Not found"}"#),
        };
    }
    let name = decode(path.trim_start_matches('/'));
    let Some((doc, revision)) = state.packuments.get(&name) else {
        return Reply::json(404, r#"{"error":"Not found"}"#);
    };
    let fresh = request.query("write").as_deref() == Some("true");
    let (doc, revision) = if fresh || state.stale_by == 0 {
        (doc, *revision)
    } else {
        let history = &state.history[&name];
        let index = history.len().saturating_sub(1 + state.stale_by as usize);
        (
            &history[index],
            *revision - (history.len() - 1 - index) as u64,
        )
    };
    let etag = format!("\"{}-{revision}\"", name.replace('/', "-"));
    if request.header("if-none-match") == Some(etag.as_str()) {
        return Reply::status(304).with_header("etag", &etag);
    }
    Reply::json(200, serde_json::to_vec(doc).unwrap())
        .with_header("etag", &etag)
        .with_header("cache-control", "public, max-age=300")
}

/// A version manifest as the registry serves it.
pub fn manifest(name: &str, version: &str, integrity: &str, attested: bool) -> Value {
    let bare = name.rsplit('/').next().unwrap();
    let mut dist = json!({
        "integrity": integrity,
        "shasum": "0000000000000000000000000000000000000000",
        "tarball": format!("https://registry.npm.example/{name}/-/{bare}-{version}.tgz"),
        "fileCount": 12,
        "unpackedSize": 4096,
    });
    if attested {
        dist["attestations"] = json!({
            "url": format!("https://registry.npm.example/-/npm/v1/attestations/{name}@{version}"),
            "provenance": {"predicateType": "https://slsa.dev/provenance/v1"},
        });
    }
    json!({
        "name": name,
        "version": version,
        "scripts": {"test": "node test.js"},
        "_id": format!("{name}@{version}"),
        "_npmUser": {"name": "GitHub Actions", "email": "npm-oidc-no-reply@github.com",
                     "trustedPublisher": {"id": "github", "oidcConfigId": "oidc:00000000-0000-0000-0000-000000000000"}},
        "dist": dist,
    })
}

/// What the fake serves.
#[derive(Default)]
#[allow(missing_debug_implementations)]
pub struct GithubState {
    runs: BTreeMap<u64, Value>,
    jobs: HashMap<u64, Value>,
    repository_ids: HashMap<String, u64>,
    /// `owner/repo` → full refs that exist.
    refs: HashMap<String, Vec<String>>,
    /// `owner/repo` → deployments, each with its statuses.
    deployments: HashMap<String, Vec<(Value, Vec<Value>)>>,
    /// (`owner/repo`, path, commit) → the newest commit reachable from it that changed path.
    last_changes: HashMap<(String, String, String), String>,
}

impl GithubState {
    fn repository_id(&self, repository: &str) -> u64 {
        self.repository_ids
            .get(repository)
            .copied()
            .unwrap_or_else(|| fnv(repository.as_bytes()) % 1_000_000_000)
    }
}

impl Fake<GithubState> {
    pub async fn start() -> Self {
        Self::serve(github_reply).await
    }

    /// Adds a completed, successful `push` run (from the REST example payload, with these
    /// facts) and one job that ran through it: on a standard GitHub-hosted runner, or, when
    /// the labels include `self-hosted`, on a self-hosted runner of group "Default".
    #[allow(clippy::too_many_arguments)]
    pub fn add_run(
        &self,
        id: u64,
        repository: &str,
        workflow: &str,
        head_sha: &str,
        head_branch: &str,
        created: &str,
        updated: &str,
        runner_labels: &[&str],
    ) {
        let fixture = super::read("github/actions/get-workflow-run.json");
        let mut run: Value = serde_json::from_slice(&fixture).unwrap();
        let mut state = self.state.lock().unwrap();
        let repository_id = state.repository_id(repository);
        run["id"] = json!(id);
        run["path"] = json!(format!("{workflow}@{head_branch}"));
        run["head_sha"] = json!(head_sha);
        run["head_branch"] = json!(head_branch);
        run["event"] = json!("push");
        run["status"] = json!("completed");
        run["conclusion"] = json!("success");
        run["created_at"] = json!(created);
        run["updated_at"] = json!(updated);
        run["run_started_at"] = json!(created);
        run["html_url"] = json!(format!("https://github.com/{repository}/actions/runs/{id}"));
        run["repository"]["full_name"] = json!(repository);
        run["repository"]["id"] = json!(repository_id);
        run["head_repository"]["full_name"] = json!(repository);
        run["head_repository"]["id"] = json!(repository_id);
        let fixture = super::read("github/actions/list-jobs-for-workflow-run.json");
        let mut jobs: Value = serde_json::from_slice(&fixture).unwrap();
        let job = &mut jobs["jobs"][0];
        job["run_id"] = json!(id);
        job["head_sha"] = json!(head_sha);
        job["labels"] = json!(runner_labels);
        job["started_at"] = json!(created);
        job["completed_at"] = json!(updated);
        if runner_labels.contains(&"self-hosted") {
            job["runner_name"] = json!("build-box-1");
            job["runner_group_id"] = json!(1);
            job["runner_group_name"] = json!("Default");
        } else {
            job["runner_id"] = json!(id % 1000 + 1);
            job["runner_name"] = json!(format!("GitHub Actions {}", id % 1000 + 1));
            job["runner_group_id"] = json!(0);
            job["runner_group_name"] = json!("GitHub Actions");
        }
        state.runs.insert(id, run);
        state.jobs.insert(id, jobs);
    }

    /// Changes a run as GitHub would report it (event, status, head repository, …).
    pub fn edit_run(&self, id: u64, change: impl FnOnce(&mut Value)) {
        change(self.state.lock().unwrap().runs.get_mut(&id).unwrap());
    }

    /// Changes the first job of a run (its runner, status, times).
    pub fn edit_job(&self, run_id: u64, change: impl FnOnce(&mut Value)) {
        change(&mut self.state.lock().unwrap().jobs.get_mut(&run_id).unwrap()["jobs"][0]);
    }

    /// GitHub's immutable id of a repository (a stable made-up one otherwise).
    pub fn set_repository_id(&self, repository: &str, id: u64) {
        let mut state = self.state.lock().unwrap();
        state.repository_ids.insert(repository.to_owned(), id);
    }

    /// A ref that exists in the repository.
    pub fn add_ref(&self, repository: &str, full_ref: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .refs
            .entry(repository.to_owned())
            .or_default()
            .push(full_ref.to_owned());
    }

    /// The deployment a job referencing `environment` makes, with the status linking to
    /// its run.
    pub fn add_deployment(&self, repository: &str, environment: &str, sha: &str, run_id: u64) {
        let mut state = self.state.lock().unwrap();
        let created = state.runs.get(&run_id).map_or_else(
            || "2020-01-01T00:00:00Z".to_owned(),
            |run| run["created_at"].as_str().unwrap().to_owned(),
        );
        let list = state.deployments.entry(repository.to_owned()).or_default();
        let id = 1000 + list.len() as u64;
        let log = format!("https://github.com/{repository}/actions/runs/{run_id}/job/{id}");
        let deployment = json!({
            "id": id, "sha": sha, "ref": "main", "task": "deploy", "environment": environment,
            "created_at": created, "updated_at": created, "payload": {}, "description": null,
            "creator": {"login": "octocat", "id": 1}, "transient_environment": false,
            "production_environment": false,
        });
        let statuses = vec![json!({
            "id": id * 10, "state": "success", "environment": environment,
            "log_url": log, "target_url": log, "created_at": created,
        })];
        list.push((deployment, statuses));
    }

    /// Records that, as of `commit`, the newest commit changing `path` is `changed_by`.
    pub fn set_last_change(&self, repository: &str, path: &str, commit: &str, changed_by: &str) {
        let mut state = self.state.lock().unwrap();
        state.last_changes.insert(
            (repository.to_owned(), path.to_owned(), commit.to_owned()),
            changed_by.to_owned(),
        );
    }
}

/// GitHub's `created` filter: `a..b`, `>=a`, `<=b`, `>a`, `<b` or one date-time.
fn created_matches(filter: &str, at: i64) -> bool {
    if filter.is_empty() {
        return true;
    }
    if let Some((from, to)) = filter.split_once("..") {
        let bound = |t: &str| (t != "*").then(|| secs(t));
        return bound(from).is_none_or(|f| f <= at) && bound(to).is_none_or(|t| at <= t);
    }
    for (prefix, test) in [
        (">=", (|a, b| a >= b) as fn(i64, i64) -> bool),
        ("<=", |a, b| a <= b),
        (">", |a, b| a > b),
        ("<", |a, b| a < b),
    ] {
        if let Some(t) = filter.strip_prefix(prefix) {
            return test(at, secs(t));
        }
    }
    at == secs(filter)
}

fn github_reply(state: &GithubState, request: &Request) -> Reply {
    let path = request.path();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = || Reply::json(404, r#"{"message":"Not Found"}"#);
    let reply = match parts.as_slice() {
        ["repos", owner, repo, "actions", "runs", id] => {
            let run = id
                .parse::<u64>()
                .ok()
                .and_then(|id| state.runs.get(&id))
                .filter(|run| run["repository"]["full_name"] == format!("{owner}/{repo}"));
            match run {
                Some(run) => Reply::json(200, serde_json::to_vec(run).unwrap()),
                None => not_found(),
            }
        }
        ["repos", owner, repo, "actions", "runs", id, "jobs"] => {
            let run = id.parse::<u64>().ok().and_then(|id| state.runs.get(&id));
            let jobs = id.parse::<u64>().ok().and_then(|id| state.jobs.get(&id));
            let ours =
                run.is_some_and(|r| r["repository"]["full_name"] == format!("{owner}/{repo}"));
            match jobs {
                Some(jobs) if ours => Reply::json(200, serde_json::to_vec(jobs).unwrap()),
                _ if ours => Reply::json(200, r#"{"total_count":0,"jobs":[]}"#),
                _ => not_found(),
            }
        }
        ["repos", owner, repo, "actions", "workflows", file, "runs"] => {
            let created = request.query("created").unwrap_or_default();
            let filter = |name: &str| request.query(name).filter(|v| !v.is_empty());
            let (event, branch, head_sha, status) = (
                filter("event"),
                filter("branch"),
                filter("head_sha"),
                filter("status"),
            );
            let runs: Vec<&Value> = state
                .runs
                .values()
                .filter(|run| run["repository"]["full_name"] == format!("{owner}/{repo}"))
                .filter(|run| {
                    run["path"]
                        .as_str()
                        .is_some_and(|p| p.starts_with(&format!(".github/workflows/{file}@")))
                })
                .filter(|run| created_matches(&created, secs(run["created_at"].as_str().unwrap())))
                .filter(|run| event.as_ref().is_none_or(|e| run["event"] == e.as_str()))
                .filter(|run| {
                    branch
                        .as_ref()
                        .is_none_or(|b| run["head_branch"] == b.as_str())
                })
                .filter(|run| {
                    head_sha
                        .as_ref()
                        .is_none_or(|h| run["head_sha"] == h.as_str())
                })
                // GitHub's `status` filter takes a status or a conclusion.
                .filter(|run| {
                    status.as_ref().is_none_or(|s| {
                        run["status"] == s.as_str() || run["conclusion"] == s.as_str()
                    })
                })
                .collect();
            let body = json!({"total_count": runs.len(), "workflow_runs": runs});
            Reply::json(200, serde_json::to_vec(&body).unwrap())
        }
        ["repos", owner, repo, "git", "ref", rest @ ..] => {
            let full_ref = format!("refs/{}", rest.join("/"));
            let exists = state
                .refs
                .get(&format!("{owner}/{repo}"))
                .is_some_and(|refs| refs.contains(&full_ref));
            if exists {
                let body = json!({"ref": full_ref, "node_id": "x", "url": "",
                    "object": {"type": "commit", "sha": "0".repeat(40), "url": ""}});
                Reply::json(200, serde_json::to_vec(&body).unwrap())
            } else {
                not_found()
            }
        }
        ["repos", owner, repo, "deployments"] => {
            let sha = request.query("sha");
            let environment = request.query("environment");
            let list: Vec<&Value> = state
                .deployments
                .get(&format!("{owner}/{repo}"))
                .map(|list| {
                    list.iter()
                        .rev()
                        .map(|(d, _)| d)
                        .filter(|d| sha.as_ref().is_none_or(|s| d["sha"] == s.as_str()))
                        .filter(|d| {
                            environment
                                .as_ref()
                                .is_none_or(|e| d["environment"] == e.as_str())
                        })
                        .collect()
                })
                .unwrap_or_default();
            Reply::json(200, serde_json::to_vec(&list).unwrap())
        }
        ["repos", owner, repo, "deployments", id, "statuses"] => {
            let statuses = state
                .deployments
                .get(&format!("{owner}/{repo}"))
                .and_then(|list| {
                    list.iter()
                        .find(|(d, _)| id.parse::<u64>().is_ok_and(|id| d["id"] == id))
                })
                .map(|(_, statuses)| statuses);
            match statuses {
                Some(statuses) => Reply::json(200, serde_json::to_vec(statuses).unwrap()),
                None => not_found(),
            }
        }
        ["repos", owner, repo, "commits"] => {
            let key = (
                format!("{owner}/{repo}"),
                request.query("path").unwrap_or_default(),
                request.query("sha").unwrap_or_default(),
            );
            match state.last_changes.get(&key) {
                Some(sha) => {
                    let body = json!([{"sha": sha, "commit": {"message": "change"}}]);
                    Reply::json(200, serde_json::to_vec(&body).unwrap())
                }
                None => Reply::json(
                    422,
                    r#"{"message":"No commit found for SHA","status":"422"}"#,
                ),
            }
        }
        _ => not_found(),
    };
    // Conditional requests: a 304 for an unchanged body does not count against the limit.
    if let Reply::Full {
        status: 200, body, ..
    } = &reply
    {
        let etag = format!("\"{:x}\"", fnv(body));
        if request.header("if-none-match") == Some(etag.as_str()) {
            return Reply::status(304).with_header("etag", &etag);
        }
        return reply
            .with_header("etag", &etag)
            .with_header("x-ratelimit-remaining", "4999")
            .with_header("x-ratelimit-reset", "0");
    }
    reply
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
