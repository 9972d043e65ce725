//! What changed in a package between two reads of its packument, and the signals that
//! follow: new versions, unpublished versions, dist-tag moves, maintainer changes, publisher
//! changes, install scripts added, bursts of versions.

use super::Packument;
use crate::domain::Signal;
use crate::registry::{
    ListedVersion, MAX_RECENT_ATTESTED, RECENT_ATTESTED_SECS, Snapshot, VersionContext,
};
use std::collections::BTreeSet;

/// A burst: this many versions ...
pub const BURST_COUNT: usize = 5;
/// ... within this many seconds.
pub const BURST_WINDOW_SECS: i64 = 10 * 60;

/// What to remember of a packument until the next read.
pub fn snapshot(packument: &Packument) -> Snapshot {
    Snapshot {
        versions: packument.versions.keys().cloned().collect(),
        tags: packument.dist_tags.clone(),
        maintainers: packument.maintainers.iter().cloned().collect(),
        modified: packument.modified(),
        files: Default::default(),
    }
}

/// Every version of the packument in publish order, in the shared terms detection reads.
pub fn listing(packument: &Packument) -> Vec<ListedVersion<'_>> {
    version_contexts(packument)
        .into_iter()
        .map(|(version, context)| {
            let manifest = &packument.versions[version];
            ListedVersion {
                version,
                published_at: packument.published_at(version),
                integrity: manifest.dist.integrity.as_deref(),
                location: manifest.dist.tarball.as_deref(),
                source_commit: manifest.git_head.as_deref(),
                publisher: manifest.publisher.as_ref(),
                has_attestations: manifest.dist.attestations.is_some(),
                context,
                files: Vec::new(),
            }
        })
        .collect()
}

/// A dist-tag that now points elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMove {
    pub tag: String,
    pub from: String,
    pub to: String,
    /// The new target was published before the old one.
    pub backwards: bool,
}

/// The difference between the stored snapshot and a fresh packument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// In publish order.
    pub new_versions: Vec<String>,
    pub unpublished: Vec<String>,
    pub tag_moves: Vec<TagMove>,
    pub maintainers_added: Vec<String>,
    pub maintainers_removed: Vec<String>,
}

impl Changes {
    /// Package-level signals (not tied to one new version).
    pub fn package_signals(&self) -> Vec<Signal> {
        let mut signals = Vec::new();
        for version in &self.unpublished {
            signals.push(Signal::VersionUnpublished(version.clone()));
        }
        for tag_move in &self.tag_moves {
            if tag_move.tag == "latest" && tag_move.backwards {
                signals.push(Signal::LatestMovedBackwards {
                    from: tag_move.from.clone(),
                    to: tag_move.to.clone(),
                });
            }
        }
        if !self.maintainers_added.is_empty() {
            signals.push(Signal::NewMaintainer(self.maintainers_added.clone()));
        }
        signals
    }
}

/// Compares a fresh packument with what was stored.
pub fn diff(previous: &Snapshot, current: &Packument) -> Changes {
    let new_versions = current
        .versions_by_publish_time()
        .into_iter()
        .filter(|v| !previous.versions.contains(*v))
        .map(str::to_owned)
        .collect();
    let unpublished = previous
        .versions
        .iter()
        .filter(|v| !current.versions.contains_key(*v))
        .cloned()
        .collect();
    let tag_moves = current
        .dist_tags
        .iter()
        .filter_map(|(tag, to)| {
            let from = previous.tags.get(tag)?;
            (from != to).then(|| TagMove {
                tag: tag.clone(),
                from: from.clone(),
                to: to.clone(),
                backwards: match (current.published_at(from), current.published_at(to)) {
                    (Some(old), Some(new)) => new < old,
                    _ => false,
                },
            })
        })
        .collect();
    let now: BTreeSet<&String> = current.maintainers.iter().collect();
    let maintainers_added = now
        .iter()
        .filter(|m| !previous.maintainers.contains(**m))
        .map(|m| (*m).clone())
        .collect();
    let maintainers_removed = previous
        .maintainers
        .iter()
        .filter(|m| !now.contains(m))
        .cloned()
        .collect();
    Changes {
        new_versions,
        unpublished,
        tag_moves,
        maintainers_added,
        maintainers_removed,
    }
}

/// The context of every version, in publish order, in O(n log n) for n versions: one sort,
/// then one pass with a sliding window for bursts.
pub fn version_contexts(packument: &Packument) -> Vec<(&str, VersionContext)> {
    let order = packument.versions_by_publish_time();
    let times: Vec<Option<i64>> = order.iter().map(|v| packument.published_at(v)).collect();
    // Publish times in ascending order, for the burst window (versions without a time are
    // last in `order` and never part of a burst).
    let timed: Vec<i64> = times.iter().flatten().copied().collect();
    let mut out = Vec::with_capacity(order.len());
    let mut earlier_had_provenance = false;
    let mut window_start = 0;
    // Attested versions with their times, in publish order, for `recent_attested`.
    let mut attested: std::collections::VecDeque<(i64, &str)> = Default::default();
    for (i, version) in order.iter().enumerate() {
        let manifest = &packument.versions[*version];
        let previous = i.checked_sub(1).map(|p| &packument.versions[order[p]]);
        let mut signals = previous
            .map(|previous| against_previous(previous, manifest))
            .unwrap_or_default();
        if let Some(at) = times[i] {
            // `timed[i]` is this version's time: timed versions come first in `order`.
            while timed[window_start] < at - BURST_WINDOW_SECS {
                window_start += 1;
            }
            // Versions published at the same second after this one count too, as the
            // per-version rule counts every version at or before `at`.
            let end = timed.partition_point(|t| *t <= at);
            let count = end - window_start;
            if count >= BURST_COUNT {
                signals.push(Signal::VersionBurst {
                    count,
                    minutes: BURST_WINDOW_SECS / 60,
                });
            }
        }
        let mut recent_attested = Vec::new();
        if let Some(at) = times[i] {
            while attested
                .front()
                .is_some_and(|(t, _)| *t < at - RECENT_ATTESTED_SECS)
            {
                attested.pop_front();
            }
            recent_attested = attested
                .iter()
                .rev()
                .take(MAX_RECENT_ATTESTED)
                .map(|(_, v)| crate::domain::RecentVersion {
                    version: (*v).to_owned(),
                    integrity: packument.versions[*v].dist.integrity.clone(),
                })
                .collect();
        }
        out.push((
            *version,
            VersionContext {
                signals,
                earlier_had_provenance,
                recent_attested,
            },
        ));
        earlier_had_provenance |= lists_provenance(manifest);
        if let Some(at) = times[i]
            && lists_provenance(manifest)
        {
            attested.push_back((at, version));
            if attested.len() > MAX_RECENT_ATTESTED {
                attested.pop_front();
            }
        }
    }
    out
}

/// The packument lists a provenance attestation for the version.
pub fn lists_provenance(manifest: &super::VersionManifest) -> bool {
    manifest
        .dist
        .attestations
        .as_ref()
        .is_some_and(|a| a.provenance.is_some())
}

fn against_previous(
    previous: &super::VersionManifest,
    manifest: &super::VersionManifest,
) -> Vec<Signal> {
    let mut signals = Vec::new();
    let was_trusted = previous
        .publisher
        .as_ref()
        .is_some_and(|p| p.trusted_publisher.is_some());
    let now_human = manifest
        .publisher
        .as_ref()
        .is_none_or(|p| p.trusted_publisher.is_none());
    if was_trusted && now_human {
        signals.push(Signal::PublisherChanged {
            from: previous
                .publisher
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            to: manifest
                .publisher
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "an unknown account".to_owned()),
        });
    }
    let before: BTreeSet<&str> = previous.scripts.names().into_iter().collect();
    let added: Vec<String> = manifest
        .scripts
        .names()
        .into_iter()
        .filter(|n| !before.contains(n))
        .map(str::to_owned)
        .collect();
    if !added.is_empty() {
        signals.push(Signal::InstallScriptsAdded(added));
    }
    let outside =
        super::added_outside_registry(&previous.outside_registry(), &manifest.outside_registry());
    if !outside.is_empty() {
        signals.push(Signal::NonRegistryDependency(outside));
    }
    signals
}

/// Signals about one version compared with the version published just before it.
pub fn version_signals(packument: &Packument, version: &str) -> Vec<Signal> {
    version_contexts(packument)
        .into_iter()
        .find(|(v, _)| *v == version)
        .map(|(_, context)| context.signals)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packument(json: &str) -> Packument {
        Packument::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn finds_new_unpublished_and_moved() {
        let before = packument(
            r#"{"name":"p","dist-tags":{"latest":"1.1.0"},"maintainers":[{"name":"a"}],
            "time":{"1.0.0":"2026-01-01T00:00:00Z","1.1.0":"2026-02-01T00:00:00Z"},
            "versions":{"1.0.0":{},"1.1.0":{}}}"#,
        );
        let after = packument(
            r#"{"name":"p","dist-tags":{"latest":"1.0.0","next":"2.0.0"},"maintainers":[{"name":"a"},{"name":"mallory"}],
            "time":{"1.0.0":"2026-01-01T00:00:00Z","1.1.0":"2026-02-01T00:00:00Z","2.0.0":"2026-03-01T00:00:00Z","1.2.0":"2026-02-15T00:00:00Z"},
            "versions":{"1.0.0":{},"2.0.0":{},"1.2.0":{}}}"#,
        );
        let changes = diff(&snapshot(&before), &after);
        assert_eq!(changes.new_versions, ["1.2.0", "2.0.0"]);
        assert_eq!(changes.unpublished, ["1.1.0"]);
        assert_eq!(changes.maintainers_added, ["mallory"]);
        assert_eq!(
            changes.tag_moves,
            [TagMove {
                tag: "latest".into(),
                from: "1.1.0".into(),
                to: "1.0.0".into(),
                backwards: true
            }]
        );
        let codes: Vec<_> = changes.package_signals().iter().map(|s| s.code()).collect();
        assert_eq!(
            codes,
            [
                "version_unpublished",
                "latest_moved_backwards",
                "new_maintainer"
            ]
        );
        assert_eq!(diff(&snapshot(&after), &after), Changes::default());
    }

    #[test]
    fn latest_moving_forward_is_not_a_signal() {
        let before = packument(
            r#"{"name":"p","dist-tags":{"latest":"1.0.0"},"time":{"1.0.0":"2026-01-01T00:00:00Z","1.1.0":"2026-02-01T00:00:00Z"},"versions":{"1.0.0":{}}}"#,
        );
        let after = packument(
            r#"{"name":"p","dist-tags":{"latest":"1.1.0"},"time":{"1.0.0":"2026-01-01T00:00:00Z","1.1.0":"2026-02-01T00:00:00Z"},"versions":{"1.0.0":{},"1.1.0":{}}}"#,
        );
        assert!(
            diff(&snapshot(&before), &after)
                .package_signals()
                .is_empty()
        );
    }

    #[test]
    fn version_signals_compare_with_the_previous_version() {
        let p = packument(
            r#"{"name":"p","time":{"1.0.0":"2026-01-01T00:00:00Z","1.1.0":"2026-02-01T00:00:00Z"},
            "versions":{
              "1.0.0":{"_npmUser":{"name":"GitHub Actions","trustedPublisher":{"id":"github"}},"scripts":{"test":"t"}},
              "1.1.0":{"_npmUser":{"name":"mallory"},"scripts":{"postinstall":"node x.js","preinstall":"y"}}}}"#,
        );
        let codes: Vec<_> = version_signals(&p, "1.1.0")
            .iter()
            .map(|s| s.code())
            .collect();
        assert_eq!(codes, ["publisher_changed", "install_scripts_added"]);
        assert!(version_signals(&p, "1.0.0").is_empty());
    }

    #[test]
    fn a_burst_of_versions_is_a_signal() {
        let mut time = String::new();
        let mut versions = String::new();
        for i in 0..6 {
            time.push_str(&format!("\"1.0.{i}\":\"2026-01-01T00:0{i}:00Z\","));
            versions.push_str(&format!("\"1.0.{i}\":{{}},"));
        }
        let p = packument(&format!(
            "{{\"name\":\"p\",\"time\":{{{}}},\"versions\":{{{}}}}}",
            time.trim_end_matches(','),
            versions.trim_end_matches(',')
        ));
        assert!(version_signals(&p, "1.0.3").is_empty());
        assert_eq!(
            version_signals(&p, "1.0.5"),
            [Signal::VersionBurst {
                count: 6,
                minutes: 10
            }]
        );
    }

    #[test]
    fn contexts_are_in_publish_order_and_say_where_provenance_began() {
        let p = packument(
            r#"{"name":"p","time":{"1.0.0":"2026-01-01T00:00:00Z","1.1.0":"2026-02-01T00:00:00Z","1.2.0":"2026-03-01T00:00:00Z"},
            "versions":{
              "1.2.0":{},
              "1.0.0":{},
              "1.1.0":{"dist":{"attestations":{"url":"u","provenance":{"predicateType":"https://slsa.dev/provenance/v1"}}}}}}"#,
        );
        let contexts = version_contexts(&p);
        let order: Vec<_> = contexts
            .iter()
            .map(|(v, c)| (*v, c.earlier_had_provenance))
            .collect();
        assert_eq!(order, [("1.0.0", false), ("1.1.0", false), ("1.2.0", true)]);
    }

    #[test]
    fn bursts_over_many_versions_are_counted_in_one_pass() {
        let mut time = String::new();
        let mut versions = String::new();
        // 20,000 versions one minute apart: a ten-minute window ending at a version holds
        // 11 of them once there are that many before it.
        for i in 0..20_000i64 {
            let at = jiff::Timestamp::from_second(1_700_000_000 + i * 60).unwrap();
            time.push_str(&format!("\"1.0.{i}\":\"{at}\","));
            versions.push_str(&format!("\"1.0.{i}\":{{}},"));
        }
        let p = packument(&format!(
            "{{\"name\":\"p\",\"time\":{{{}}},\"versions\":{{{}}}}}",
            time.trim_end_matches(','),
            versions.trim_end_matches(',')
        ));
        let contexts = version_contexts(&p);
        assert_eq!(contexts.len(), 20_000);
        assert!(contexts[3].1.signals.is_empty());
        assert_eq!(
            contexts[19_999].1.signals,
            [Signal::VersionBurst {
                count: 11,
                minutes: 10
            }]
        );
    }

    #[test]
    fn a_dependency_from_outside_the_registry_is_a_signal_against_the_previous_version() {
        let p = packument(
            r#"{"name":"@tanstack/router","time":{"1.0.0":"2026-05-01T00:00:00Z","1.0.1":"2026-05-11T00:00:00Z","1.0.2":"2026-05-11T00:05:00Z","1.0.3":"2026-05-12T00:00:00Z"},
            "versions":{
              "1.0.0":{"dependencies":{"a":"^1.0.0","local":"file:../local"},"devDependencies":{"t":"github:o/t"}},
              "1.0.1":{"dependencies":{"a":"^1.0.0","local":"file:../local"},"optionalDependencies":{"@tanstack/setup":"github:tanstack/router#79ac49eedf774dd4b0cfa308722bc463cfe5885c"}},
              "1.0.2":{"dependencies":{"a":"^1.0.0","local":"file:../local"},"optionalDependencies":{"@tanstack/setup":"github:tanstack/router#79ac49eedf774dd4b0cfa308722bc463cfe5885c"}},
              "1.0.3":{"dependencies":{"a":"npm:b@^2","local":"file:../local"},"peerDependencies":["odd"],"optionalDependencies":null}
            }}"#,
        );
        let contexts = version_contexts(&p);
        let signals: Vec<&Vec<Signal>> = contexts.iter().map(|(_, c)| &c.signals).collect();
        assert!(
            signals[0].is_empty(),
            "nothing to compare the first version with"
        );
        assert_eq!(
            signals[1],
            &[Signal::NonRegistryDependency(vec![
                "@tanstack/setup (github:tanstack/router#79ac49eedf774dd4b0cfa308722bc463cfe5885c) in optionalDependencies".into()
            ])]
        );
        assert!(
            signals[2].is_empty(),
            "already there in the previous version"
        );
        assert!(
            signals[3].is_empty(),
            "an alias resolves through the registry"
        );
    }

    #[test]
    fn earlier_attested_versions_of_the_last_day_are_listed_newest_first() {
        let mut time = Vec::new();
        let mut versions = Vec::new();
        // Twelve attested versions a minute apart, an unattested one among them, and one
        // attested two days before.
        for i in 0..12 {
            time.push(format!("\"1.0.{i}\":\"2026-05-11T00:{i:02}:00Z\""));
            let attested = i != 5;
            versions.push(format!(
                "\"1.0.{i}\":{{\"dist\":{{\"integrity\":\"sha512-{i}\"{}}}}}",
                if attested {
                    r#","attestations":{"url":"u","provenance":{}}"#
                } else {
                    ""
                }
            ));
        }
        time.push("\"0.9.0\":\"2026-05-09T00:00:00Z\"".into());
        versions.push(r#""0.9.0":{"dist":{"attestations":{"url":"u","provenance":{}}}}"#.into());
        let p = packument(&format!(
            "{{\"name\":\"p\",\"time\":{{{}}},\"versions\":{{{}}}}}",
            time.join(","),
            versions.join(",")
        ));
        let contexts = version_contexts(&p);
        let recent = |v: &str| -> Vec<String> {
            contexts
                .iter()
                .find(|(name, _)| *name == v)
                .unwrap()
                .1
                .recent_attested
                .iter()
                .map(|r| r.version.clone())
                .collect()
        };
        assert!(recent("0.9.0").is_empty());
        assert!(recent("1.0.0").is_empty(), "0.9.0 is two days older");
        assert_eq!(recent("1.0.2"), ["1.0.1", "1.0.0"]);
        assert_eq!(
            recent("1.0.6"),
            ["1.0.4", "1.0.3", "1.0.2", "1.0.1", "1.0.0"]
        );
        let last = recent("1.0.11");
        assert_eq!(last.len(), MAX_RECENT_ATTESTED);
        assert_eq!(last[0], "1.0.10");
        assert!(!last.contains(&"1.0.5".to_owned()), "not attested");
        let integrity = &contexts.last().unwrap().1.recent_attested[0].integrity;
        assert!(integrity.is_some());
    }
}
