//! npm over HTTP: `NpmRegistry`, the [`Registry`] port over the registry's API, and
//! [`NpmChanges`], the [`Changes`](artifact_monitor_core::ports::Changes) port over its
//! replication changes feed.
//!
//! - Packuments are read conditionally (`If-None-Match` / `If-Modified-Since`), so an
//!   unchanged package costs one request answered 304.
//! - The attestations URL is always built from the configured registry base, never taken
//!   from the packument's `dist.attestations.url`: a hostile document must not be able to
//!   point the monitor at another host.
//! - Every body is capped; names and versions are percent-encoded into paths.

pub mod changes;

pub use changes::{DEFAULT_CHANGES_FEED, NpmChanges};

use crate::http::{HttpClient, HttpConfig, segment};
use artifact_monitor_core::domain::{ArtifactRef, Validators};
use artifact_monitor_core::ports::{
    Body, DocumentFetch, MAX_ATTESTATIONS_BYTES, Registry, RemoteError, Subject,
};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_core::registry::npm::PackageName;

/// The public npm registry.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org";
/// Default cap on a packument: the largest real ones are tens of megabytes.
pub const DEFAULT_MAX_PACKUMENT_BYTES: u64 = 128 * 1024 * 1024;

/// The npm registry adapter.
#[derive(Debug, Clone)]
pub struct NpmRegistry {
    base: String,
    http: HttpClient,
    max_packument_bytes: u64,
}

impl NpmRegistry {
    pub fn new(
        base: &str,
        config: HttpConfig,
        max_packument_bytes: u64,
    ) -> Result<Self, RemoteError> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(RemoteError::Invalid(
                "registry",
                format!("registry URL {base:?} must be http(s)"),
            ));
        }
        Ok(Self {
            base: base.to_owned(),
            http: HttpClient::new("registry", config)?,
            max_packument_bytes,
        })
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.http.requests_sent()
    }

    /// `<base>/<name>`, a scoped name as `@scope%2fname` as the registry expects.
    pub fn packument_url(&self, name: &PackageName) -> String {
        match name.scope() {
            Some(scope) => format!(
                "{}/@{}%2f{}",
                self.base,
                segment(scope),
                segment(name.bare_name())
            ),
            None => format!("{}/{}", self.base, segment(name.as_str())),
        }
    }

    pub fn attestations_url(&self, name: &PackageName, version: &str) -> String {
        let name = match name.scope() {
            Some(scope) => format!("@{}%2f{}", segment(scope), segment(name.bare_name())),
            None => segment(name.as_str()),
        };
        format!(
            "{}/-/npm/v1/attestations/{name}@{}",
            self.base,
            segment(version)
        )
    }
}

/// The package an artifact names; an artifact of another registry type is not npm's to
/// read.
fn package(artifact: &ArtifactRef) -> Result<PackageName, RemoteError> {
    match artifact.registry {
        RegistryType::Npm => PackageName::parse(&artifact.name)
            .map_err(|e| RemoteError::Invalid("registry", e.to_string())),
        other => Err(RemoteError::Invalid(
            "registry",
            format!("the npm registry does not serve {other} artifacts"),
        )),
    }
}

impl Registry for NpmRegistry {
    async fn document(
        &self,
        artifact: &ArtifactRef,
        validators: &Validators,
    ) -> Result<DocumentFetch, RemoteError> {
        let name = &package(artifact)?;
        let mut headers = vec![("accept", "application/json")];
        if let Some(etag) = &validators.etag {
            headers.push(("if-none-match", etag));
        }
        if let Some(modified) = &validators.last_modified {
            headers.push(("if-modified-since", modified));
        }
        let url = self.packument_url(name);
        let response = self
            .http
            .get(&url, &headers, self.max_packument_bytes)
            .await?;
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
            status => Err(RemoteError::Status("registry", status)),
        }
    }

    async fn document_fresh(&self, artifact: &ArtifactRef) -> Result<DocumentFetch, RemoteError> {
        let name = &package(artifact)?;
        // `write=true` reads have been observed to bypass the registry's CDN cache; the
        // header asks any other cache on the way not to answer from a stored copy.
        let url = format!("{}?write=true", self.packument_url(name));
        let headers = [
            ("accept", "application/json"),
            ("cache-control", "no-cache"),
        ];
        let response = self
            .http
            .get(&url, &headers, self.max_packument_bytes)
            .await?;
        match response.status {
            404 => Ok(DocumentFetch::Missing),
            200 => Ok(DocumentFetch::Modified {
                body: response.body,
                // A fresh read's validators are not the cache's: keep the sweep's own.
                validators: Validators::default(),
            }),
            status => Err(RemoteError::Status("registry", status)),
        }
    }

    async fn attestations(&self, subject: &Subject<'_>) -> Result<Option<Body>, RemoteError> {
        if subject.file.is_some() {
            return Err(RemoteError::Invalid(
                "registry",
                "an npm version is one file: its attestations are the version's".to_owned(),
            ));
        }
        let url = self.attestations_url(&package(subject.artifact)?, subject.version);
        self.http
            .get_if_found(
                &url,
                &[("accept", "application/json")],
                MAX_ATTESTATIONS_BYTES as u64,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_are_encoded_into_paths() {
        let registry = NpmRegistry::new("http://127.0.0.1:1/", HttpConfig::default(), 1).unwrap();
        let scoped = PackageName::parse("@sigstore/cli").unwrap();
        assert_eq!(
            registry.packument_url(&scoped),
            "http://127.0.0.1:1/@sigstore%2fcli"
        );
        assert_eq!(
            registry.attestations_url(&scoped, "1.0.0-rc.1+build"),
            "http://127.0.0.1:1/-/npm/v1/attestations/@sigstore%2fcli@1.0.0-rc.1%2Bbuild"
        );
        let plain = PackageName::parse("sigstore").unwrap();
        assert_eq!(
            registry.attestations_url(&plain, "../../x?y#z"),
            "http://127.0.0.1:1/-/npm/v1/attestations/sigstore@..%2F..%2Fx%3Fy%23z"
        );
        assert!(NpmRegistry::new("file:///etc", HttpConfig::default(), 1).is_err());
    }
}
