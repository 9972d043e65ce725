//! `VersionPublished`: the one domain event that joins detection to judging.
//!
//! *Detect* reads an artifact's document, finds the versions to judge and emits one event per
//! version with every fact the judgement needs from the document, so *judge* never reads the
//! document again: an event judged twice, late or out of order gives the same verdict.
//! Locally the event is handed to judging in-process; in AWS it is the `detail` of a
//! `Version Published` EventBridge event (schema in `infra/`). The shape is versioned by
//! [`VERSION_PUBLISHED_SCHEMA`]; a reader refuses a version it does not know.

use super::Publisher;
use super::{Compliance, Confidence, JudgedVersion, Reason, Signal};
use crate::registry::RegistryType;
use serde::{Deserialize, Serialize};

/// The schema version of [`VersionPublished`] this code writes and reads.
pub const VERSION_PUBLISHED_SCHEMA: u32 = 1;
/// The schema version of [`VersionVerified`].
pub const VERSION_VERIFIED_SCHEMA: u32 = 1;

/// Why bytes are not a `VersionPublished` this program can judge.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON, a field missing or unknown, a value of the wrong type.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A schema version this program does not write.
    #[error("schema version {0} is not {VERSION_PUBLISHED_SCHEMA}")]
    Schema(u32),
}

/// Which artifact an event, alert or record is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// Registry type.
    #[serde(rename = "type")]
    pub registry: RegistryType,
    pub name: String,
}

impl ArtifactRef {
    /// The storage key, `<type>/<name>`.
    pub fn key(&self) -> String {
        super::artifact_key(self.registry, &self.name)
    }
}

/// Why an event was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmitReason {
    /// A version that appeared after monitoring began.
    New,
    /// A version still due: its earlier judgement was pending, failed, or its event was lost.
    Retry,
    /// The artifact's policy changed: every version is judged again.
    Rejudge,
    /// A version published before monitoring began (reported once, in a summary).
    Backfill,
}

impl EmitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Retry => "retry",
            Self::Rejudge => "rejudge",
            Self::Backfill => "backfill",
        }
    }
}

/// An earlier version of the same artifact, with the integrity its provenance must name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecentVersion {
    pub version: String,
    #[serde(default)]
    pub integrity: Option<String>,
}

/// A version to judge, with the facts of the registry's document the judgement needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionPublished {
    pub schema_version: u32,
    pub artifact: ArtifactRef,
    pub version: String,
    /// The digest of the version's file as Subresource Integrity (npm's `dist.integrity`,
    /// `sha512-…`): the digest the provenance subject must name.
    #[serde(default)]
    pub integrity: Option<String>,
    /// Where the version's file is (npm's tarball URL).
    #[serde(default)]
    pub tarball: Option<String>,
    /// The commit the registry says the version was built from (npm's `gitHead`).
    #[serde(default)]
    pub git_head: Option<String>,
    /// When the registry says it was published, seconds since the epoch.
    #[serde(default)]
    pub published_at: Option<i64>,
    /// Who the registry says published it (npm's `_npmUser`), with `trusted_publisher` when
    /// published through the registry's trusted publishing.
    #[serde(default)]
    pub publisher: Option<Publisher>,
    /// The registry lists attestations for this version (npm's `dist.attestations`).
    pub has_attestations: bool,
    /// An earlier version (by publish time) lists provenance, as the registry shows it.
    pub earlier_had_provenance: bool,
    /// Signals of this version against the one published before it.
    #[serde(default)]
    pub signals: Vec<Signal>,
    /// Earlier versions listing provenance, published within a day before this one,
    /// newest first (at most [`crate::registry::MAX_RECENT_ATTESTED`]): the judge compares the runs
    /// their provenance names with this version's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_attested: Vec<RecentVersion>,
    pub reason: EmitReason,
    /// Part of the artifact's backfill (published before monitoring began).
    #[serde(default)]
    pub backfill: bool,
    /// The revision of the artifact's policy the event was emitted under.
    pub policy_rev: u64,
    /// When the monitor first saw the version (seconds since the epoch).
    pub detected_at: i64,
    /// For a version that is a set of files (a PyPI release): every file, each judged on
    /// its own evidence. Empty for a version that is one file (npm), described by the
    /// fields above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileFacts>,
}

/// One file of a version that is a set of files, as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFacts {
    pub name: String,
    /// The file's digest as Subresource Integrity (`sha256-<base64>`): what its evidence's
    /// subject must name.
    #[serde(default)]
    pub integrity: Option<String>,
    /// When the registry says it was uploaded (seconds since the epoch).
    #[serde(default)]
    pub uploaded_at: Option<i64>,
    /// The registry lists attestations for the file.
    pub has_attestations: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub yanked: bool,
}

impl VersionPublished {
    /// The storage key of the artifact.
    pub fn key(&self) -> String {
        self.artifact.key()
    }

    /// Reads an event from JSON, refusing unknown schema versions and fields.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EventError> {
        let event: Self = serde_json::from_slice(bytes)?;
        if event.schema_version != VERSION_PUBLISHED_SCHEMA {
            return Err(EventError::Schema(event.schema_version));
        }
        Ok(event)
    }

    /// The same event, emitted again for another reason.
    pub fn again(&self, reason: EmitReason) -> Self {
        Self {
            reason,
            ..self.clone()
        }
    }
}

/// A verdict reached: the body of a `Version Verified` event, for machines that act on
/// verdicts (a security hub, a chat channel, another account's bus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionVerified {
    pub schema_version: u32,
    pub artifact: ArtifactRef,
    pub version: String,
    pub compliance: Compliance,
    pub confidence: Confidence,
    pub reasons: Vec<Reason>,
    /// The id of the alert this verdict raised (subscribers deduplicate on it).
    #[serde(default)]
    pub alert_id: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub published_at: Option<String>,
    #[serde(default)]
    pub logs_url: Option<String>,
}

impl VersionVerified {
    /// The event for a verdict of `artifact`.
    pub fn of(artifact: ArtifactRef, judged: &JudgedVersion) -> Self {
        Self {
            schema_version: VERSION_VERIFIED_SCHEMA,
            artifact,
            version: judged.version.clone(),
            compliance: judged.compliance,
            confidence: judged.confidence,
            reasons: judged.reasons.clone(),
            alert_id: judged.alert_id.clone(),
            published_at: judged.published_at.map(super::format_time),
            logs_url: judged.logs_url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> VersionPublished {
        VersionPublished {
            schema_version: VERSION_PUBLISHED_SCHEMA,
            artifact: ArtifactRef {
                registry: RegistryType::Npm,
                name: "@scope/pkg".into(),
            },
            version: "1.0.0".into(),
            integrity: Some("sha512-x".into()),
            tarball: None,
            git_head: Some("abc".into()),
            published_at: Some(10),
            publisher: None,
            has_attestations: true,
            earlier_had_provenance: false,
            signals: vec![Signal::InstallScriptsAdded(vec!["postinstall".into()])],
            recent_attested: Vec::new(),
            reason: EmitReason::New,
            backfill: false,
            policy_rev: 1,
            detected_at: 11,
            files: Vec::new(),
        }
    }

    #[test]
    fn round_trips_and_refuses_other_schemas_and_fields() {
        let e = event();
        let json = serde_json::to_vec(&e).unwrap();
        assert_eq!(VersionPublished::from_json(&json).unwrap(), e);
        let mut other = serde_json::to_value(&e).unwrap();
        other["schema_version"] = 2.into();
        assert!(VersionPublished::from_json(other.to_string().as_bytes()).is_err());
        let mut extra = serde_json::to_value(&e).unwrap();
        extra["policy"] = "anything".into();
        assert!(VersionPublished::from_json(extra.to_string().as_bytes()).is_err());
        assert_eq!(e.key(), "npm/@scope/pkg");
    }
}
