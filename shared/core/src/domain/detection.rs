//! Which versions of a freshly read document are to be judged, and the event for each:
//! detection's decision, pure, so every entry point and every registry type applies the
//! same rule.

use super::FileFacts;
use super::{ArtifactRef, EmitReason, VERSION_PUBLISHED_SCHEMA, VersionPublished};
use crate::registry::{ListedVersion, Snapshot};

/// How the document came to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadKind {
    /// The artifact's first read: every version is backfill.
    First,
    /// After a policy change: every version is judged again.
    Rejudge,
    /// A later read: versions the last one did not have are new. `fresh`: past the caches,
    /// where a version without a publish time waits for a full read.
    Update { fresh: bool },
}

/// What a read found to judge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// In publish order.
    pub events: Vec<VersionPublished>,
    /// New versions left for a later full read (a fresh read gave no publish time).
    pub left_out: Vec<String>,
}

/// The versions of `listed` (a document's versions in publish order) to judge after a read
/// of kind `kind`, `known` being the last fully processed read: on a later read, versions
/// it did not have, and versions with a file it did not have (judged again whole).
pub fn versions_to_judge(
    listed: Vec<ListedVersion<'_>>,
    artifact: &ArtifactRef,
    known: Option<&Snapshot>,
    kind: ReadKind,
    policy_rev: u64,
    now: i64,
) -> Found {
    let mut found = Found::default();
    for listed in listed {
        let version = listed.version;
        let reason = match kind {
            ReadKind::First => EmitReason::Backfill,
            ReadKind::Rejudge => EmitReason::Rejudge,
            ReadKind::Update { .. } if known.is_none_or(|k| k.is_new(&listed)) => EmitReason::New,
            ReadKind::Update { .. } => continue,
        };
        if kind == (ReadKind::Update { fresh: true }) && listed.published_at.is_none() {
            found.left_out.push(version.to_owned());
            continue;
        }
        found.events.push(VersionPublished {
            schema_version: VERSION_PUBLISHED_SCHEMA,
            artifact: artifact.clone(),
            version: version.to_owned(),
            integrity: listed.integrity.map(str::to_owned),
            tarball: listed.location.map(str::to_owned),
            git_head: listed.source_commit.map(str::to_owned),
            published_at: listed.published_at,
            publisher: listed.publisher.cloned(),
            has_attestations: listed.has_attestations,
            earlier_had_provenance: listed.context.earlier_had_provenance,
            signals: listed.context.signals,
            recent_attested: listed.context.recent_attested,
            reason,
            backfill: kind == ReadKind::First,
            policy_rev,
            detected_at: now,
            files: listed
                .files
                .into_iter()
                .map(|f| FileFacts {
                    name: f.name.to_owned(),
                    integrity: f.integrity,
                    uploaded_at: f.uploaded_at,
                    has_attestations: f.has_attestations,
                    yanked: f.yanked,
                })
                .collect(),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packument() -> crate::registry::Document {
        crate::registry::RegistryType::Npm.read(
            "p",
            br#"{"name":"p","time":{"1.0.0":"2026-01-01T00:00:00Z","1.1.0":"2026-02-01T00:00:00Z"},
            "versions":{"1.0.0":{"dist":{"integrity":"sha512-a","attestations":{"url":"u","provenance":{}}}},"1.1.0":{},"2.0.0":{}}}"#,
        )
        .unwrap()
    }

    fn artifact() -> ArtifactRef {
        ArtifactRef {
            registry: crate::registry::RegistryType::Npm,
            name: "p".into(),
        }
    }

    fn versions(found: &Found) -> Vec<(&str, EmitReason)> {
        found
            .events
            .iter()
            .map(|e| (e.version.as_str(), e.reason))
            .collect()
    }

    #[test]
    fn the_first_read_is_all_backfill_a_later_one_only_what_is_new() {
        let p = packument();
        let first = versions_to_judge(p.versions(), &artifact(), None, ReadKind::First, 1, 5);
        assert_eq!(
            versions(&first),
            [
                ("1.0.0", EmitReason::Backfill),
                ("1.1.0", EmitReason::Backfill),
                ("2.0.0", EmitReason::Backfill)
            ]
        );
        assert!(
            first
                .events
                .iter()
                .all(|e| e.backfill && e.detected_at == 5)
        );
        assert!(first.events[1].earlier_had_provenance);
        assert!(first.events[0].has_attestations);
        let known = Snapshot {
            versions: ["1.0.0".to_owned()].into(),
            ..Snapshot::default()
        };
        let later = ReadKind::Update { fresh: false };
        let update = versions_to_judge(p.versions(), &artifact(), Some(&known), later, 1, 6);
        assert_eq!(
            versions(&update),
            [("1.1.0", EmitReason::New), ("2.0.0", EmitReason::New)]
        );
        assert!(update.events.iter().all(|e| !e.backfill));
    }

    #[test]
    fn a_fresh_read_leaves_versions_without_a_publish_time_for_later() {
        let known = Snapshot {
            versions: ["1.0.0".to_owned()].into(),
            ..Snapshot::default()
        };
        let fresh = ReadKind::Update { fresh: true };
        let document = packument();
        let found = versions_to_judge(document.versions(), &artifact(), Some(&known), fresh, 1, 6);
        assert_eq!(versions(&found), [("1.1.0", EmitReason::New)]);
        assert_eq!(found.left_out, ["2.0.0"]);
    }

    #[test]
    fn rejudging_takes_every_version_under_the_new_policy() {
        let known = Snapshot {
            versions: ["1.0.0".to_owned(), "1.1.0".to_owned()].into(),
            ..Snapshot::default()
        };
        let document = packument();
        let found = versions_to_judge(
            document.versions(),
            &artifact(),
            Some(&known),
            ReadKind::Rejudge,
            3,
            6,
        );
        assert_eq!(found.events.len(), 3);
        assert!(
            found
                .events
                .iter()
                .all(|e| e.reason == EmitReason::Rejudge && e.policy_rev == 3)
        );
    }
}
