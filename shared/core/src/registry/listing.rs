//! What every registry type's document becomes for the shared code: the versions it lists
//! with the facts a verdict needs, the snapshot remembered between reads, and the errors of
//! reading a name or a document. Detection, judging, the store and the API see only these;
//! the registry folders produce them.

use crate::domain::{Publisher, RecentVersion, Signal};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What the monitor remembers of an artifact's document between reads: enough to tell what
/// is new, what disappeared and which tags moved. Stored with the poll state; its stored
/// form is the same for every registry type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub versions: BTreeSet<String>,
    /// Named pointers at versions (npm's dist-tags), by name.
    #[serde(rename = "dist_tags")]
    pub tags: BTreeMap<String, String>,
    /// The accounts the registry lists as allowed to publish.
    pub maintainers: BTreeSet<String>,
    /// When the document says it last changed, to recognise an older copy served later by
    /// a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// For versions that are sets of files (PyPI): each version's files by name, so a file
    /// added to a known version is found.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, BTreeSet<String>>,
}

impl Snapshot {
    /// Whether `listed` is new since this snapshot: a version it does not have, or one with
    /// a file it does not have.
    pub fn is_new(&self, listed: &ListedVersion<'_>) -> bool {
        if !self.versions.contains(listed.version) {
            return true;
        }
        let known = self.files.get(listed.version);
        listed
            .files
            .iter()
            .any(|f| known.is_none_or(|k| !k.contains(f.name)))
    }
}

/// How far back versions are compared for provenance naming the same run: longer than a
/// GitHub-hosted job may run (6 hours), with room for a run's later jobs.
pub const RECENT_ATTESTED_SECS: i64 = 24 * 3600;
/// Earlier versions compared at most (each may cost a store read).
pub const MAX_RECENT_ATTESTED: usize = 8;

/// What detection knows of one version from the whole document: its signals and the
/// provenance history before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionContext {
    /// Signals against the version published just before it.
    pub signals: Vec<Signal>,
    /// An earlier version (by publish time) lists provenance in the document.
    pub earlier_had_provenance: bool,
    /// Earlier versions listing provenance published within [`RECENT_ATTESTED_SECS`]
    /// before it, newest first, at most [`MAX_RECENT_ATTESTED`]: their provenance may name
    /// the same run.
    pub recent_attested: Vec<RecentVersion>,
}

/// One version as the registry's document lists it, borrowed from the parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion<'a> {
    /// The version as the registry spells it: what identifies it within the artifact.
    pub version: &'a str,
    /// When the registry says it was published (seconds since the epoch).
    pub published_at: Option<i64>,
    /// The digest of the version's file as Subresource Integrity (`sha512-<base64>`): what
    /// the evidence's subject must name.
    pub integrity: Option<&'a str>,
    /// Where the version's file is (npm's tarball URL); shown, never fetched from.
    pub location: Option<&'a str>,
    /// The source commit the registry states (npm's `gitHead`); unsigned.
    pub source_commit: Option<&'a str>,
    /// Who the registry says published it; unsigned.
    pub publisher: Option<&'a Publisher>,
    /// The registry lists evidence (attestations) for this version.
    pub has_attestations: bool,
    pub context: VersionContext,
    /// For a version that is a set of files (a PyPI release): its files in upload order.
    /// Empty for a version that is one file (npm), described by the fields above.
    pub files: Vec<ListedFile<'a>>,
}

/// One file of a version that is a set of files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile<'a> {
    pub name: &'a str,
    /// The file's digest as Subresource Integrity (`sha256-<base64>`).
    pub integrity: Option<String>,
    pub uploaded_at: Option<i64>,
    pub has_attestations: bool,
    pub yanked: bool,
}

/// Why a name is not a name of the registry type it was given for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(transparent)]
    Npm(#[from] super::npm::PackageNameError),
    #[error(transparent)]
    Pypi(#[from] super::pypi::ProjectNameError),
}

/// Why a registry's answer is not the document asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Npm(#[from] super::npm::PackumentError),
    #[error(transparent)]
    Pypi(#[from] super::pypi::SimplePageError),
    /// The document is another artifact's.
    #[error("the registry answered with the document of {0:?}")]
    OtherArtifact(String),
}
