//! The watched set as use-cases: add an artifact (its backfill is due at once), change its
//! policy (every stored version is judged again), remove it, and sync a config file into
//! the store. The API and the IaC custom resource call the same functions, and the same
//! ownership rule ([`check_owner`]) decides who may change or remove what.
//!
//! An artifact removed (from the API, or from the config file that declared it) stops being
//! watched, and its versions, verdicts, poll state and due work are deleted with it. The
//! ids of alerts already sent stay known, so adding it again never repeats an alert.

use super::error::MonitorError;
use crate::domain::{Artifact, ArtifactSource, DueItem, DueWork, WatchedArtifact};
use crate::ports::{ArtifactStore, WatchStore};

/// What [`watch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchChange {
    /// A new artifact: its first read (the backfill) is due now.
    Added,
    /// Its policy changed: every version is due to be judged again.
    PolicyChanged,
    /// Already watched under this policy.
    Unchanged,
}

/// Refuses `requester` a change to `watched` unless its declarer yields
/// ([`ArtifactSource::yields_to`]): the one ownership rule of the watched set.
pub fn check_owner(
    watched: &WatchedArtifact,
    requester: &ArtifactSource,
) -> Result<(), MonitorError> {
    if watched.source.yields_to(requester) {
        Ok(())
    } else {
        Err(MonitorError::Owned {
            key: watched.key(),
            owner: watched.source.clone(),
        })
    }
}

/// Adds a new artifact to the watched set; one already watched is refused
/// ([`MonitorError::Exists`]), whoever declared it (`POST /artifacts`).
pub async fn add<S: ArtifactStore + WatchStore>(
    store: &S,
    artifact: Artifact,
    source: ArtifactSource,
    now: i64,
) -> Result<WatchChange, MonitorError> {
    let key = artifact.key();
    if store.artifact(&key).await?.is_some() {
        return Err(MonitorError::Exists(key));
    }
    watch(store, artifact, source, now).await
}

/// Adds `artifact` to the watched set, or changes its policy, as `source` declares it; an
/// artifact declared elsewhere is changed only when its declarer yields to `source`
/// ([`check_owner`]), and is `source`'s from then on.
pub async fn watch<S: ArtifactStore + WatchStore>(
    store: &S,
    artifact: Artifact,
    source: ArtifactSource,
    now: i64,
) -> Result<WatchChange, MonitorError> {
    artifact
        .policy
        .to_policy()
        .map_err(|e| MonitorError::BadArtifact {
            key: artifact.key(),
            source: e.into(),
        })?;
    let key = artifact.key();
    let existing = store.artifact(&key).await?;
    if let Some(existing) = &existing {
        check_owner(existing, &source)?;
    }
    let (watched, change) = match existing {
        None => (
            WatchedArtifact::new(artifact, source, now),
            WatchChange::Added,
        ),
        Some(existing) if existing.artifact.policy == artifact.policy => {
            if existing.source == source {
                return Ok(WatchChange::Unchanged);
            }
            let moved = WatchedArtifact { source, ..existing };
            store.put_artifact(&moved).await?;
            return Ok(WatchChange::Unchanged);
        }
        Some(existing) => (
            WatchedArtifact {
                artifact,
                policy_rev: existing.policy_rev + 1,
                source,
                ..existing
            },
            WatchChange::PolicyChanged,
        ),
    };
    store.put_artifact(&watched).await?;
    // Written after the artifact: a crash in between leaves an artifact without its read,
    // which the sweep's first read of it makes up for (a read of an artifact never read is
    // its backfill).
    store
        .schedule(&[DueItem {
            artifact: key,
            work: DueWork::Read {
                rejudge: change == WatchChange::PolicyChanged,
            },
            due_at: now,
        }])
        .await?;
    Ok(change)
}

/// Judges every stored version of an artifact again (a scan): the policy revision is raised,
/// so each version's verdict is reached anew, and its re-judging read is due now, through
/// the same detection and bus as any other judgement. `false` when it is not watched.
pub async fn rescan<S: ArtifactStore + WatchStore>(
    store: &S,
    key: &str,
    now: i64,
) -> Result<bool, MonitorError> {
    let Some(existing) = store.artifact(key).await? else {
        return Ok(false);
    };
    let raised = WatchedArtifact {
        policy_rev: existing.policy_rev + 1,
        ..existing
    };
    store.put_artifact(&raised).await?;
    store
        .schedule(&[DueItem {
            artifact: key.to_owned(),
            work: DueWork::Read { rejudge: true },
            due_at: now,
        }])
        .await?;
    Ok(true)
}

/// Removes an artifact from the watched set for `requester`; `false` when it was not
/// watched, [`MonitorError::Owned`] when it is declared elsewhere ([`check_owner`]).
pub async fn unwatch<S: ArtifactStore>(
    store: &S,
    key: &str,
    requester: &ArtifactSource,
) -> Result<bool, MonitorError> {
    let Some(existing) = store.artifact(key).await? else {
        return Ok(false);
    };
    check_owner(&existing, requester)?;
    Ok(store.delete_artifact(key).await?)
}

/// What [`sync_config`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
    /// Declared by a config file before, not any more: no longer watched.
    pub removed: Vec<String>,
}

/// Artifacts listed from the store at a time.
const PAGE: usize = 1000;

/// Makes the store's config-declared artifacts exactly those of `file`: new ones are added,
/// changed policies applied, artifacts a config file declared before and `artifacts` no
/// longer lists are removed. Artifacts added through the API are left alone.
pub async fn sync_config<S: ArtifactStore + WatchStore>(
    store: &S,
    artifacts: Vec<Artifact>,
    file: &str,
    now: i64,
) -> Result<SyncReport, MonitorError> {
    let mut report = SyncReport::default();
    let listed: std::collections::HashSet<String> = artifacts.iter().map(Artifact::key).collect();
    for artifact in artifacts {
        let key = artifact.key();
        let source = ArtifactSource::Config {
            file: file.to_owned(),
        };
        match watch(store, artifact, source, now).await? {
            WatchChange::Added => report.added.push(key),
            WatchChange::PolicyChanged => report.changed.push(key),
            WatchChange::Unchanged => report.unchanged += 1,
        }
    }
    let mut after: Option<String> = None;
    let mut stale = Vec::new();
    loop {
        let page = store.artifacts_after(after.as_deref(), PAGE).await?;
        let Some(last) = page.last().map(WatchedArtifact::key) else {
            break;
        };
        stale.extend(
            page.iter()
                .filter(|a| matches!(a.source, ArtifactSource::Config { .. }))
                .map(WatchedArtifact::key)
                .filter(|key| !listed.contains(key)),
        );
        after = Some(last);
    }
    let file = ArtifactSource::Config {
        file: file.to_owned(),
    };
    for key in stale {
        if unwatch(store, &key, &file).await? {
            report.removed.push(key);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PolicySpec;
    use crate::store::MemoryStore;

    fn lib(workflow: &str) -> Artifact {
        Artifact::npm("lib", PolicySpec::new("acme/lib", &[workflow])).unwrap()
    }

    fn stack(name: &str) -> ArtifactSource {
        ArtifactSource::Stack {
            stack: name.to_owned(),
        }
    }

    #[tokio::test]
    async fn who_declared_an_artifact_decides_who_may_change_it() {
        let store = MemoryStore::new();
        let release = ".github/workflows/release.yml";
        let other = ".github/workflows/other.yml";
        assert_eq!(
            watch(&store, lib(release), stack("a"), 1).await.unwrap(),
            WatchChange::Added
        );
        // Another stack and the API may neither change nor remove it; the refusal says
        // where it is declared.
        for requester in [stack("b"), ArtifactSource::Api] {
            let refused = watch(&store, lib(other), requester.clone(), 2).await;
            assert!(
                matches!(&refused, Err(MonitorError::Owned { owner, .. }) if *owner == stack("a")),
                "{refused:?}"
            );
            let refused = unwatch(&store, "npm/lib", &requester).await.unwrap_err();
            assert_eq!(
                refused.to_string(),
                "npm/lib is declared in the CloudFormation stack a: change it there"
            );
        }
        assert_eq!(
            store.artifact("npm/lib").await.unwrap().unwrap().artifact,
            lib(release)
        );
        // Adding it again is refused whoever asks.
        let again = add(&store, lib(release), ArtifactSource::Api, 3).await;
        assert!(matches!(again, Err(MonitorError::Exists(_))), "{again:?}");
        // Its stack may change it; a config file takes it over; then only the file (or
        // another file) may remove it.
        assert_eq!(
            watch(&store, lib(other), stack("a"), 4).await.unwrap(),
            WatchChange::PolicyChanged
        );
        let file = ArtifactSource::Config {
            file: "monitor.toml".into(),
        };
        watch(&store, lib(other), file.clone(), 5).await.unwrap();
        assert!(unwatch(&store, "npm/lib", &stack("a")).await.is_err());
        assert!(unwatch(&store, "npm/lib", &file).await.unwrap());
        assert!(!unwatch(&store, "npm/lib", &file).await.unwrap());
    }
}
