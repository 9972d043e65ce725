//! Who a registry says published a version: unsigned, shown and compared between versions,
//! never evidence of where a version was built.

use serde::{Deserialize, Serialize};

/// The publishing account as the registry states it (npm's `_npmUser`). A trusted publisher
/// (a registry's OIDC publishing from CI) carries the provider's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The trusted publisher's provider id (e.g. `github`) when the version was published
    /// through the registry's trusted publishing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_publisher: Option<String>,
}
