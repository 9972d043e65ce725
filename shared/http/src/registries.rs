//! `Registries`: every registry type's adapter behind one [`Registry`] port, each artifact
//! sent to its type's adapter; [`Feed`]: each registry type's feed of changes behind one
//! [`Changes`] port, so an entry point follows a list of them. The `match`es are
//! exhaustive: a new registry type does not compile until it has its adapters here.

use crate::npm::{NpmChanges, NpmRegistry};
use crate::pypi::{PypiIndex, PypiUpdates};
use artifact_monitor_core::domain::{ArtifactRef, Validators};
use artifact_monitor_core::ports::{
    Body, Changes, ChangesPage, DocumentFetch, Registry, RemoteError, Subject,
};
use artifact_monitor_core::registry::RegistryType;

/// The adapters of every registry type an entry point reads.
#[derive(Debug, Clone)]
pub struct Registries {
    pub npm: NpmRegistry,
    /// The package index; `None` where PyPI is not configured (its artifacts are refused).
    pub pypi: Option<PypiIndex>,
}

enum Adapter<'a> {
    Npm(&'a NpmRegistry),
    Pypi(&'a PypiIndex),
}

impl Registries {
    fn adapter(&self, registry: RegistryType) -> Result<Adapter<'_>, RemoteError> {
        match registry {
            RegistryType::Npm => Ok(Adapter::Npm(&self.npm)),
            RegistryType::Pypi => self.pypi.as_ref().map(Adapter::Pypi).ok_or_else(|| {
                RemoteError::Invalid("index", "no package index is configured".to_owned())
            }),
        }
    }

    /// Requests sent so far, over every adapter.
    pub fn requests_sent(&self) -> u64 {
        self.npm.requests_sent() + self.pypi.as_ref().map_or(0, PypiIndex::requests_sent)
    }
}

impl Registry for Registries {
    async fn document(
        &self,
        artifact: &ArtifactRef,
        validators: &Validators,
    ) -> Result<DocumentFetch, RemoteError> {
        match self.adapter(artifact.registry)? {
            Adapter::Npm(npm) => npm.document(artifact, validators).await,
            Adapter::Pypi(index) => index.document(artifact, validators).await,
        }
    }

    async fn document_fresh(&self, artifact: &ArtifactRef) -> Result<DocumentFetch, RemoteError> {
        match self.adapter(artifact.registry)? {
            Adapter::Npm(npm) => npm.document_fresh(artifact).await,
            Adapter::Pypi(index) => index.document_fresh(artifact).await,
        }
    }

    async fn attestations(&self, subject: &Subject<'_>) -> Result<Option<Body>, RemoteError> {
        match self.adapter(subject.artifact.registry)? {
            Adapter::Npm(npm) => npm.attestations(subject).await,
            Adapter::Pypi(index) => index.attestations(subject).await,
        }
    }
}

/// One registry type's feed of changes: what an entry point follows each tick, one per
/// type it watches.
#[derive(Debug, Clone)]
pub enum Feed {
    /// npm's replication changes feed.
    Npm(NpmChanges),
    /// The package index's RSS of its newest releases.
    Pypi(PypiUpdates),
}

impl Feed {
    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        match self {
            Feed::Npm(feed) => feed.requests_sent(),
            Feed::Pypi(feed) => feed.requests_sent(),
        }
    }
}

impl Changes for Feed {
    fn registry(&self) -> RegistryType {
        match self {
            Feed::Npm(feed) => feed.registry(),
            Feed::Pypi(feed) => feed.registry(),
        }
    }

    async fn current_seq(&self) -> Result<String, RemoteError> {
        match self {
            Feed::Npm(feed) => feed.current_seq().await,
            Feed::Pypi(feed) => feed.current_seq().await,
        }
    }

    async fn changes_since(&self, since: &str, limit: usize) -> Result<ChangesPage, RemoteError> {
        match self {
            Feed::Npm(feed) => feed.changes_since(since, limit).await,
            Feed::Pypi(feed) => feed.changes_since(since, limit).await,
        }
    }
}
