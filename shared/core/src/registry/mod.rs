//! The registry types, one folder each, registered in one table ([`RegistryType`]).
//!
//! A registry type brings what differs between registries: its names (parsing,
//! normalisation), what a version is and what identifies it, where new versions are found
//! (a feed, a conditional sweep), where the evidence is, and what binds evidence to a
//! version (the subject rule). Everything else (the policy, the decision table, run
//! correlation, signals, the store, the API, the dashboard, the functions) is shared.
//!
//! The shared code sees a registry type through this module only: [`RegistryType`] names
//! it and checks its names, [`Document`] reads its document into [`ListedVersion`]s, a
//! [`Snapshot`] and package-level signals. Each `match` below is exhaustive, so a new type
//! is not done until every one of them has its arm.
//!
//! Today: [`npm`] and [`pypi`]. ARCHITECTURE.md ("Adding a registry") lists what a new type must
//! implement and where.

mod listing;
pub mod npm;
pub mod pypi;

pub use listing::{
    DocumentError, ListedFile, ListedVersion, MAX_RECENT_ATTESTED, NameError, RECENT_ATTESTED_SECS,
    Snapshot, VersionContext,
};

use crate::domain::Signal;
use serde::{Deserialize, Serialize};

/// A registry type: the first segment of every artifact key (`npm/<name>`), of the API's
/// routes (`/artifacts/{type}/{name}`), of alert ids and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryType {
    Npm,
    Pypi,
}

impl RegistryType {
    /// The registry types a declaration may name, in the order they are documented: each
    /// is detected (its feed, the sweep), read, judged and verified by every entry point.
    pub const ALL: [RegistryType; 2] = [RegistryType::Npm, RegistryType::Pypi];

    /// How keys, routes and events spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryType::Npm => "npm",
            RegistryType::Pypi => "pypi",
        }
    }

    /// Every registry type the core reads, judges and verifies: what a one-shot `check`
    /// accepts.
    pub const KNOWN: [RegistryType; 2] = [RegistryType::Npm, RegistryType::Pypi];

    /// The type a key, a route or a declaration names; `None` for one not supported.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// Any type of [`Self::KNOWN`] by its spelling.
    pub fn parse_known(value: &str) -> Option<Self> {
        Self::KNOWN.into_iter().find(|t| t.as_str() == value)
    }

    /// Checks `name` against the registry's naming rules; returns the name as keys hold it
    /// (PyPI: PEP 503-normalised).
    pub fn check_name(self, name: &str) -> Result<String, NameError> {
        match self {
            RegistryType::Npm => Ok(npm::PackageName::parse(name)?.as_str().to_owned()),
            RegistryType::Pypi => Ok(pypi::ProjectName::parse(name)?.normalised().to_owned()),
        }
    }

    /// Reads the registry's document for the artifact `name` (as [`Self::check_name`]
    /// returned it) from hostile bytes: it must parse and be that artifact's.
    pub fn read(self, name: &str, bytes: &[u8]) -> Result<Document, DocumentError> {
        let document = match self {
            RegistryType::Npm => Document::Npm(npm::Packument::parse(bytes)?),
            RegistryType::Pypi => Document::Pypi(pypi::SimplePage::parse(bytes)?),
        };
        if document.name() != name {
            let other = crate::domain::printable(&document.name()).into_owned();
            return Err(DocumentError::OtherArtifact(other));
        }
        Ok(document)
    }
}

/// A registry's document for one artifact, parsed (npm: the packument; PyPI: the project's
/// simple page).
#[derive(Debug, Clone)]
pub enum Document {
    Npm(npm::Packument),
    Pypi(pypi::SimplePage),
}

impl Document {
    /// The artifact the document says it is about, as keys hold it.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Document::Npm(p) => std::borrow::Cow::Borrowed(&p.name),
            Document::Pypi(p) => std::borrow::Cow::Owned(pypi::normalise(&p.name)),
        }
    }

    /// Every version, oldest publish first (versions without a publish time last), with
    /// its facts and context.
    pub fn versions(&self) -> Vec<ListedVersion<'_>> {
        match self {
            Document::Npm(p) => npm::listing(p),
            Document::Pypi(p) => pypi::listing(p),
        }
    }

    /// How many versions the document lists.
    pub fn version_count(&self) -> usize {
        match self {
            Document::Npm(p) => p.versions.len(),
            Document::Pypi(p) => p.releases().0.len(),
        }
    }

    /// When the document says it last changed.
    pub fn modified(&self) -> Option<i64> {
        match self {
            Document::Npm(p) => p.modified(),
            // The simple page states no time; its ETag is what the sweep compares.
            Document::Pypi(_) => None,
        }
    }

    /// What to remember of it until the next read.
    pub fn snapshot(&self) -> Snapshot {
        match self {
            Document::Npm(p) => npm::snapshot(p),
            Document::Pypi(p) => pypi::snapshot(p),
        }
    }

    /// Signals about the artifact as a whole (not one new version) since `previous`: a
    /// version removed, a tag moved backwards, a maintainer added.
    pub fn package_signals(&self, previous: &Snapshot) -> Vec<Signal> {
        match self {
            Document::Npm(p) => npm::diff(previous, p).package_signals(),
            Document::Pypi(p) => pypi::package_signals(previous, p),
        }
    }
}

impl std::fmt::Display for RegistryType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_as_it_is_spelled() {
        for t in RegistryType::ALL {
            assert_eq!(RegistryType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        assert_eq!(RegistryType::parse("NPM"), None);
        assert_eq!(RegistryType::parse("pypi"), Some(RegistryType::Pypi));
    }
}
