//! The registry types, one folder each, registered in one table ([`RegistryType`]).
//!
//! A registry type brings what differs between registries: its names (parsing,
//! normalisation), what a version is and what identifies it, where new versions are found
//! (a feed, a conditional sweep), where the evidence is, and what binds evidence to a
//! version (the subject rule). Everything else (the policy, the decision table, run
//! correlation, signals, the store, the API, the dashboard, the functions) is shared.
//!
//! Today: [`npm`]. ARCHITECTURE.md ("Adding a registry") lists what a new type must
//! implement and where.

pub mod npm;

use serde::{Deserialize, Serialize};

/// A registry type: the first segment of every artifact key (`npm/<name>`), of the API's
/// routes (`/artifacts/{type}/{name}`), of alert ids and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryType {
    Npm,
}

impl RegistryType {
    /// Every registry type, in the order they are documented.
    pub const ALL: [RegistryType; 1] = [RegistryType::Npm];

    /// How keys, routes and events spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryType::Npm => "npm",
        }
    }

    /// The type a key, a route or a declaration names; `None` for one not supported.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
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
        assert_eq!(RegistryType::parse("pypi"), None);
    }
}
