//! A simple page in the shared terms: each release with files is a version whose files are
//! judged one by one; what is remembered between reads; the signals a release carries.

use super::simple::{Release, SimplePage};
use crate::domain::Signal;
use crate::registry::{ListedFile, ListedVersion, Snapshot, VersionContext};

/// A file uploaded to a release more than this long after the release's first file raises
/// `file_added_later`: a release's files come from one CI run, minutes apart.
pub const FILE_ADDED_LATER_SECS: i64 = 3600;

/// Files of one release judged at most (the largest real releases have a few hundred
/// wheels): the newest, since a file added to a release is the one to judge; more raise
/// `too_many_files`, so a release cannot be made too large to watch quietly. The bound also
/// keeps a release's event within EventBridge's 256 KB.
pub const MAX_FILES_PER_RELEASE: usize = 500;
/// `file_added_later` signals at most per release (each file's verdict names the rest).
pub const MAX_LATE_FILE_SIGNALS: usize = 10;

/// The releases of `page` that have files, oldest first (releases without an upload time
/// last, by version), each with its files in upload order.
pub fn listing(page: &SimplePage) -> Vec<ListedVersion<'_>> {
    let (releases, _) = page.releases();
    let mut ordered: Vec<(&str, Release<'_>)> = releases.into_iter().collect();
    ordered.sort_by(
        |(va, a), (vb, b)| match (a.published_at(), b.published_at()) {
            (Some(x), Some(y)) => x.cmp(&y).then(va.cmp(vb)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => va.cmp(vb),
        },
    );
    let mut earlier_had_provenance = false;
    let mut out = Vec::with_capacity(ordered.len());
    for (version, release) in ordered {
        let first = release.published_at();
        let mut signals = Vec::new();
        let judged = &release.files[release.files.len().saturating_sub(MAX_FILES_PER_RELEASE)..];
        if judged.len() < release.files.len() {
            signals.push(Signal::TooManyFiles {
                files: release.files.len(),
                judged: judged.len(),
            });
        }
        for file in judged {
            if let (Some(first), Some(at)) = (first, file.uploaded_at)
                && at - first > FILE_ADDED_LATER_SECS
                && signals.len() < MAX_LATE_FILE_SIGNALS
            {
                signals.push(Signal::FileAddedLater {
                    file: file.filename.to_owned(),
                    hours: (at - first) / 3600,
                });
            }
        }
        let has_provenance = release.files.iter().any(|f| f.has_provenance);
        let files = judged
            .iter()
            .map(|f| ListedFile {
                name: f.filename,
                integrity: f.sha256.as_deref().and_then(sri_sha256),
                uploaded_at: f.uploaded_at,
                has_attestations: f.has_provenance,
                yanked: f.yanked,
            })
            .collect();
        out.push(ListedVersion {
            version,
            published_at: first,
            integrity: None,
            location: None,
            source_commit: None,
            publisher: None,
            has_attestations: has_provenance,
            context: VersionContext {
                signals,
                earlier_had_provenance,
                recent_attested: Vec::new(),
            },
            files,
        });
        earlier_had_provenance |= has_provenance;
    }
    out
}

/// What to remember of the page: the releases with files, and each one's files (all of
/// them, judged or not, so a release over the bound is not new again at every read).
pub fn snapshot(page: &SimplePage) -> Snapshot {
    let mut snapshot = Snapshot::default();
    let (releases, _) = page.releases();
    for (version, release) in releases {
        if release.files.is_empty() {
            continue;
        }
        snapshot.versions.insert(version.to_owned());
        snapshot.files.insert(
            version.to_owned(),
            release
                .files
                .iter()
                .map(|f| f.filename.to_owned())
                .collect(),
        );
    }
    snapshot
}

/// Releases that had files and no longer do, as signals.
pub fn package_signals(previous: &Snapshot, page: &SimplePage) -> Vec<Signal> {
    let now = snapshot(page);
    previous
        .versions
        .iter()
        .filter(|v| !now.versions.contains(*v))
        .map(|v| Signal::VersionUnpublished(v.clone()))
        .collect()
}

/// The 64 hex digits of a `sha256-<base64>` integrity value.
pub fn sha256_hex(integrity: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(integrity.strip_prefix("sha256-")?)
        .ok()?;
    (bytes.len() == 32).then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `sha256-<base64>` of a sha256 given as 64 hex digits.
pub fn sri_sha256(hex: &str) -> Option<String> {
    use base64::Engine as _;
    if hex.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..32)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    Some(format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(bytes?)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Document, RegistryType};

    fn page(files: &str) -> Document {
        let json = format!(
            r#"{{"meta":{{"api-version":"1.1"}},"name":"sampleproject","versions":["1.0","2.0","3.0"],"files":[{files}]}}"#
        );
        RegistryType::Pypi
            .read("sampleproject", json.as_bytes())
            .unwrap()
    }

    const SHA: &str = "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b";

    fn file(name: &str, at: &str, provenance: bool) -> String {
        let provenance = if provenance {
            r#""https://index.example/p""#
        } else {
            "null"
        };
        format!(
            r#"{{"filename":"{name}","hashes":{{"sha256":"{SHA}"}},"upload-time":"{at}","provenance":{provenance}}}"#
        )
    }

    #[test]
    fn a_release_over_the_bound_is_judged_on_its_newest_files_and_says_so() {
        // 600 wheels the same minute, then one more two days later.
        let mut files: Vec<String> = (0..600)
            .map(|i| {
                file(
                    &format!("sampleproject-1.0-cp3{i}-none-any.whl"),
                    "2024-01-01T00:00:00Z",
                    true,
                )
            })
            .collect();
        files.push(file(
            "sampleproject-1.0-py2-none-any.whl",
            "2024-01-03T00:00:00Z",
            false,
        ));
        let document = page(&files.join(","));
        let versions = document.versions();
        let release = &versions[0];
        assert_eq!(release.files.len(), MAX_FILES_PER_RELEASE);
        assert_eq!(
            release.files.last().unwrap().name,
            "sampleproject-1.0-py2-none-any.whl",
            "the newest file is judged"
        );
        assert_eq!(
            release.context.signals[0],
            Signal::TooManyFiles {
                files: 601,
                judged: MAX_FILES_PER_RELEASE
            }
        );
        assert!(matches!(
            release.context.signals[1],
            Signal::FileAddedLater { hours: 48, .. }
        ));
        // Remembered whole: the same page read again has nothing new.
        let snapshot = document.snapshot();
        assert_eq!(snapshot.files["1.0"].len(), 601);
        assert!(!snapshot.is_new(release));
    }

    #[test]
    fn releases_with_files_are_versions_whose_files_are_listed() {
        let document = page(
            &[
                file("sampleproject-1.0.tar.gz", "2024-01-01T00:00:00Z", false),
                file("sampleproject-2.0.tar.gz", "2024-02-01T00:00:00Z", true),
                file(
                    "sampleproject-2.0-py3-none-any.whl",
                    "2024-02-01T00:01:00Z",
                    true,
                ),
                // Three days later, and without provenance: a stolen token's addition.
                file(
                    "sampleproject-2.0-py2-none-any.whl",
                    "2024-02-04T00:01:00Z",
                    false,
                ),
            ]
            .join(","),
        );
        let versions = document.versions();
        let names: Vec<&str> = versions.iter().map(|v| v.version).collect();
        assert_eq!(names, ["1.0", "2.0"], "3.0 has no file: nothing to judge");
        assert_eq!(document.version_count(), 2);
        let two = &versions[1];
        assert_eq!(two.files.len(), 3);
        assert!(!two.context.earlier_had_provenance, "1.0 had none");
        assert_eq!(
            two.context.signals,
            [Signal::FileAddedLater {
                file: "sampleproject-2.0-py2-none-any.whl".into(),
                hours: 72
            }]
        );
        assert_eq!(
            two.files[0].integrity.as_deref(),
            Some("sha256-Cs55gPgsWBXt5M17+fZpNoTOwq5Hubet6a3VM7hifGs=")
        );
        assert_eq!(
            sha256_hex(two.files[0].integrity.as_deref().unwrap()).as_deref(),
            Some(SHA)
        );
        assert!(two.files[0].has_attestations && !two.files[2].has_attestations);
        assert_eq!(
            two.published_at,
            crate::domain::parse_time("2024-02-01T00:00:00Z")
        );
    }

    #[test]
    fn a_file_added_to_a_known_release_makes_it_new_again() {
        let before = page(&file(
            "sampleproject-2.0.tar.gz",
            "2024-02-01T00:00:00Z",
            true,
        ));
        let snapshot = before.snapshot();
        assert_eq!(snapshot.files["2.0"].len(), 1);
        let after = page(
            &[
                file("sampleproject-2.0.tar.gz", "2024-02-01T00:00:00Z", true),
                file(
                    "sampleproject-2.0-py3-none-any.whl",
                    "2024-03-01T00:00:00Z",
                    false,
                ),
                file("sampleproject-3.0.tar.gz", "2024-03-02T00:00:00Z", false),
            ]
            .join(","),
        );
        let new: Vec<&str> = after
            .versions()
            .into_iter()
            .filter(|v| snapshot.is_new(v))
            .map(|v| v.version)
            .collect();
        assert_eq!(new, ["2.0", "3.0"]);
        let three = after.versions().pop().unwrap();
        assert!(three.context.earlier_had_provenance, "2.0 had provenance");
        assert!(after.package_signals(&snapshot).is_empty());
        // A release whose files are all gone reads as unpublished.
        let gone = page(&file(
            "sampleproject-3.0.tar.gz",
            "2024-03-02T00:00:00Z",
            false,
        ));
        assert_eq!(
            gone.package_signals(&after.snapshot()),
            [Signal::VersionUnpublished("2.0".into())]
        );
    }

    #[test]
    fn another_projects_page_is_refused() {
        let json = r#"{"meta":{"api-version":"1.0"},"name":"Other_Project","files":[]}"#;
        assert!(
            RegistryType::Pypi
                .read("sampleproject", json.as_bytes())
                .is_err()
        );
        assert!(
            RegistryType::Pypi
                .read("other-project", json.as_bytes())
                .is_ok()
        );
        assert_eq!(
            RegistryType::Pypi.check_name("Sample_Project").unwrap(),
            "sample-project"
        );
        assert!(RegistryType::Pypi.check_name("@scope/x").is_err());
    }
}
