//! PyPI over HTTP: `PypiIndex`, the [`Registry`] port over a package index's simple
//! repository API in JSON (PEP 691) and its Integrity API (PEP 740).
//!
//! - A project's page is read conditionally (`If-None-Match`), so an unchanged project costs
//!   one request answered 304; the page names its files, their sha256 and upload times.
//! - A file's provenance is read from `<base>/integrity/<project>/<version>/<file>/provenance`,
//!   built from the configured base, never from the page's `provenance` link: a hostile page
//!   must not be able to point the monitor at another host.
//! - New releases index-wide are read from the index's RSS ([`PypiUpdates`]).
//! - Every body is capped; project, version and filename are percent-encoded into paths.

mod updates;

pub use updates::{PypiUpdates, Update, not_ahead, page_since, parse_updates};

use crate::http::{HttpClient, HttpConfig, segment};
use artifact_monitor_core::domain::{ArtifactRef, Validators};
use artifact_monitor_core::ports::{
    Body, DocumentFetch, MAX_ATTESTATIONS_BYTES, Registry, RemoteError, Subject,
};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_core::registry::pypi::ProjectName;

/// The public Python Package Index.
pub const DEFAULT_INDEX: &str = "https://pypi.org";
/// Default cap on a project's simple page: the largest real ones (projects with thousands
/// of wheels) are a few megabytes.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 64 * 1024 * 1024;
/// The simple API's JSON form (PEP 691).
pub const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";
/// The Integrity API's provenance form (PEP 740).
pub const INTEGRITY_JSON: &str = "application/vnd.pypi.integrity.v1+json";

/// The package index adapter.
#[derive(Debug, Clone)]
pub struct PypiIndex {
    base: String,
    http: HttpClient,
    max_page_bytes: u64,
}

impl PypiIndex {
    pub fn new(base: &str, config: HttpConfig, max_page_bytes: u64) -> Result<Self, RemoteError> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(RemoteError::Invalid(
                "index",
                format!("index URL {base:?} must be http(s)"),
            ));
        }
        Ok(Self {
            base: base.to_owned(),
            http: HttpClient::new("index", config)?,
            max_page_bytes,
        })
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.http.requests_sent()
    }

    /// `<base>/simple/<normalised>/`.
    pub fn simple_url(&self, project: &ProjectName) -> String {
        format!("{}/simple/{}/", self.base, segment(project.normalised()))
    }

    /// `<base>/integrity/<normalised>/<version>/<file>/provenance`.
    pub fn provenance_url(&self, project: &ProjectName, version: &str, file: &str) -> String {
        format!(
            "{}/integrity/{}/{}/{}/provenance",
            self.base,
            segment(project.normalised()),
            segment(version),
            segment(file)
        )
    }

    async fn page(
        &self,
        artifact: &ArtifactRef,
        headers: &[(&str, &str)],
    ) -> Result<DocumentFetch, RemoteError> {
        let url = self.simple_url(&project(artifact)?);
        let response = self.http.get(&url, headers, self.max_page_bytes).await?;
        match response.status {
            304 => Ok(DocumentFetch::NotModified),
            404 => Ok(DocumentFetch::Missing),
            200 => Ok(DocumentFetch::Modified {
                body: response.body,
                validators: Validators {
                    etag: response.etag,
                    last_modified: response.last_modified,
                },
            }),
            status => Err(RemoteError::Status("index", status)),
        }
    }
}

/// The project an artifact names; an artifact of another registry type is not the index's
/// to read.
fn project(artifact: &ArtifactRef) -> Result<ProjectName, RemoteError> {
    match artifact.registry {
        RegistryType::Pypi => ProjectName::parse(&artifact.name)
            .map_err(|e| RemoteError::Invalid("index", e.to_string())),
        other => Err(RemoteError::Invalid(
            "index",
            format!("the package index does not serve {other} artifacts"),
        )),
    }
}

impl Registry for PypiIndex {
    async fn document(
        &self,
        artifact: &ArtifactRef,
        validators: &Validators,
    ) -> Result<DocumentFetch, RemoteError> {
        let mut headers = vec![("accept", SIMPLE_JSON)];
        if let Some(etag) = &validators.etag {
            headers.push(("if-none-match", etag));
        }
        self.page(artifact, &headers).await
    }

    async fn document_fresh(&self, artifact: &ArtifactRef) -> Result<DocumentFetch, RemoteError> {
        let headers = [("accept", SIMPLE_JSON), ("cache-control", "no-cache")];
        match self.page(artifact, &headers).await? {
            // A fresh read's validators are not the cache's: the sweep keeps its own.
            DocumentFetch::Modified { body, .. } => Ok(DocumentFetch::Modified {
                body,
                validators: Validators::default(),
            }),
            other => Ok(other),
        }
    }

    async fn attestations(&self, subject: &Subject<'_>) -> Result<Option<Body>, RemoteError> {
        let Some(file) = subject.file else {
            return Err(RemoteError::Invalid(
                "index",
                "a PyPI release is a set of files: provenance is read per file".to_owned(),
            ));
        };
        let url = self.provenance_url(&project(subject.artifact)?, subject.version, file);
        self.http
            .get_if_found(
                &url,
                &[("accept", INTEGRITY_JSON)],
                MAX_ATTESTATIONS_BYTES as u64,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_versions_and_files_are_encoded_into_paths() {
        let index = PypiIndex::new("http://127.0.0.1:1/", HttpConfig::default(), 1).unwrap();
        let project = ProjectName::parse("Sample_Project").unwrap();
        assert_eq!(
            index.simple_url(&project),
            "http://127.0.0.1:1/simple/sample-project/"
        );
        assert_eq!(
            index.provenance_url(&project, "1.0+local", "sample_project-1.0.tar.gz"),
            "http://127.0.0.1:1/integrity/sample-project/1.0%2Blocal/sample_project-1.0.tar.gz/provenance"
        );
        assert_eq!(
            index.provenance_url(&project, "../../x", "a?b#c"),
            "http://127.0.0.1:1/integrity/sample-project/..%2F..%2Fx/a%3Fb%23c/provenance"
        );
        assert!(PypiIndex::new("file:///etc", HttpConfig::default(), 1).is_err());
    }
}
