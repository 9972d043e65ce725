//! A Python package index played by a local server, as the real index answers: the simple
//! repository API in JSON (PEP 691, with PEP 700 upload times and PEP 740 provenance
//! links; only for its media type; an ETag per project page, 304 to a matching
//! `If-None-Match`), the Integrity API (the real provenance objects in
//! `tests/fixtures/pypi/provenance`, served by filename) and the RSS of the newest
//! releases (`/rss/updates.xml`: the newest 40, or up to 200 with `?limit=`, as the index
//! answers; a file added to an existing release does not appear in it).

#![allow(clippy::unwrap_used)]

use super::fake_http::{Reply, Request};
use super::fakes::Fake;
use serde_json::json;
use std::collections::BTreeMap;

/// The fake index.
pub type FakePypi = Fake<PypiState>;

/// How many releases the index's RSS holds by default, and at most with `?limit=`.
pub const RSS_ITEMS: usize = 40;
pub const RSS_MAX_ITEMS: usize = 200;

/// One file of a project.
#[derive(Debug, Clone)]
struct IndexFile {
    filename: String,
    version: String,
    sha256: String,
    upload_time: String,
    provenance: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
struct Project {
    /// As the index shows it.
    name: String,
    files: Vec<IndexFile>,
    revision: u64,
}

/// What the fake index serves.
#[derive(Default)]
#[allow(missing_debug_implementations)]
pub struct PypiState {
    /// By normalised name.
    projects: BTreeMap<String, Project>,
    /// Every release ever made: (project as shown, version, seconds since the epoch).
    releases: Vec<(String, String, i64)>,
}

/// PEP 503's normal form.
fn normalise(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

impl Fake<PypiState> {
    pub async fn start() -> Self {
        Self::serve(pypi_reply).await
    }

    /// Creates a project with no files.
    pub fn create(&self, name: &str) {
        let mut state = self.state().lock().unwrap();
        state.projects.insert(
            normalise(name),
            Project {
                name: name.to_owned(),
                ..Project::default()
            },
        );
    }

    /// Uploads `filename` (of `version`) with its sha256 at `at` (RFC 3339), with its
    /// provenance object when one is given. The project's page changes; a release's first
    /// file puts the release in the RSS.
    pub fn upload(
        &self,
        project: &str,
        version: &str,
        filename: &str,
        sha256: &str,
        at: &str,
        provenance: Option<Vec<u8>>,
    ) {
        let mut state = self.state().lock().unwrap();
        let entry = state.projects.get_mut(&normalise(project)).unwrap();
        let first = !entry.files.iter().any(|f| f.version == version);
        entry.files.push(IndexFile {
            filename: filename.to_owned(),
            version: version.to_owned(),
            sha256: sha256.to_owned(),
            upload_time: at.to_owned(),
            provenance,
        });
        entry.revision += 1;
        let shown = entry.name.clone();
        if first {
            let secs = at.parse::<jiff::Timestamp>().unwrap().as_second();
            state.releases.push((shown, version.to_owned(), secs));
        }
    }

    /// Requests for the RSS so far.
    pub fn feed_requests(&self) -> usize {
        self.server.count(|r| r.path() == "/rss/updates.xml")
    }

    /// Requests for `project`'s simple page so far, with their statuses.
    pub fn page_requests(&self, project: &str) -> Vec<u16> {
        let path = format!("/simple/{}/", normalise(project));
        self.server
            .requests()
            .into_iter()
            .filter(|(r, _)| r.path() == path)
            .map(|(_, status)| status)
            .collect()
    }
}

fn rss(state: &PypiState, limit: usize) -> Vec<u8> {
    let mut newest: Vec<&(String, String, i64)> = state.releases.iter().collect();
    newest.sort_by_key(|(_, _, at)| std::cmp::Reverse(*at));
    let printer = jiff::fmt::rfc2822::DateTimePrinter::new();
    let items: String = newest
        .into_iter()
        .take(limit)
        .map(|(name, version, at)| {
            let date = printer
                .timestamp_to_rfc9110_string(&jiff::Timestamp::from_second(*at).unwrap())
                .unwrap();
            format!(
                "    <item>\n      <title>{name} {version}</title>\n      <link>https://pypi.org/project/{name}/{version}/</link>\n      <description>A project for tests &amp; examples</description>\n      <pubDate>{date}</pubDate>\n    </item>\n"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n  <channel>\n    <title>PyPI recent updates</title>\n    <link>https://pypi.org/</link>\n    <description>Recent updates to the Python Package Index</description>\n    <language>en</language>\n{items}  </channel>\n</rss>\n"
    )
    .into_bytes()
}

fn pypi_reply(state: &PypiState, request: &Request) -> Reply {
    let path = request.path();
    if path == "/rss/updates.xml" {
        return Reply::Full {
            status: 200,
            headers: vec![("content-type".into(), "text/xml; charset=utf-8".into())],
            body: rss(
                state,
                request
                    .query("limit")
                    .and_then(|l| l.parse().ok())
                    .map_or(RSS_ITEMS, |l: usize| l.min(RSS_MAX_ITEMS)),
            ),
        };
    }
    if let Some(project) = path
        .strip_prefix("/simple/")
        .and_then(|p| p.strip_suffix('/'))
    {
        if request.header("accept") != Some("application/vnd.pypi.simple.v1+json") {
            return Reply::status(406);
        }
        let Some(entry) = state.projects.get(project) else {
            return Reply::json(404, r#"{"message":"Not Found"}"#);
        };
        let etag = format!("\"{project}-{}\"", entry.revision);
        if request.header("if-none-match") == Some(etag.as_str()) {
            return Reply::status(304).with_header("etag", &etag);
        }
        let mut versions: Vec<&str> = entry.files.iter().map(|f| f.version.as_str()).collect();
        versions.dedup();
        let files: Vec<_> = entry
            .files
            .iter()
            .map(|f| {
                let provenance = f.provenance.as_ref().map(|_| {
                    format!(
                        "https://pypi.org/integrity/{project}/{}/{}/provenance",
                        f.version, f.filename
                    )
                });
                json!({
                    "filename": f.filename,
                    "url": format!("https://files.pythonhosted.org/packages/{}", f.filename),
                    "hashes": {"sha256": f.sha256},
                    "requires-python": ">=3.9",
                    "size": 5760,
                    "upload-time": f.upload_time,
                    "yanked": false,
                    "provenance": provenance,
                })
            })
            .collect();
        let page = json!({
            "meta": {"api-version": "1.4", "_last-serial": entry.revision},
            "name": project,
            "versions": versions,
            "files": files,
        });
        return Reply::Full {
            status: 200,
            headers: vec![
                (
                    "content-type".into(),
                    "application/vnd.pypi.simple.v1+json".into(),
                ),
                ("etag".into(), etag),
            ],
            body: serde_json::to_vec(&page).unwrap(),
        };
    }
    if let Some(rest) = path.strip_prefix("/integrity/") {
        if request.header("accept") != Some("application/vnd.pypi.integrity.v1+json") {
            return Reply::status(406);
        }
        let parts: Vec<&str> = rest.split('/').collect();
        if let [project, version, filename, "provenance"] = parts.as_slice()
            && let Some(entry) = state.projects.get(*project)
            && let Some(file) = entry
                .files
                .iter()
                .find(|f| f.version == *version && f.filename == *filename)
            && let Some(document) = &file.provenance
        {
            return Reply::json(200, document.clone());
        }
        return Reply::json(404, r#"{"message":"No provenance available"}"#);
    }
    Reply::json(404, r#"{"message":"Not Found"}"#)
}
