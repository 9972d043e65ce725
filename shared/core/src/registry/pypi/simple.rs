//! A project's page of the simple repository API in JSON (PEP 691, `Accept:
//! application/vnd.pypi.simple.v1+json`), read from hostile bytes, and its files grouped
//! into releases by the version their filename states.
//!
//! Fields read: `meta.api-version` (major version 1), `name`, `versions` (PEP 700), and per
//! file `filename`, `url`, `hashes.sha256`, `upload-time` (PEP 700), `yanked` (a flag or a
//! reason), `provenance` (PEP 740: where the Integrity API serves the file's attestations,
//! or null). Everything else is skipped.

use super::filename::DistFilename;
use super::name::normalise;
use crate::domain::parse_time;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A parsed simple page.
#[derive(Debug, Clone, Deserialize)]
pub struct SimplePage {
    meta: Meta,
    /// The project's name as the index gives it (normalised on PyPI).
    pub name: String,
    /// Every release version the index knows, including ones without files (PEP 700).
    #[serde(default)]
    pub versions: Vec<String>,
    pub files: Vec<SimpleFile>,
}

#[derive(Debug, Clone, Deserialize)]
struct Meta {
    #[serde(rename = "api-version")]
    api_version: String,
}

/// One file of the page.
#[derive(Debug, Clone, Deserialize)]
pub struct SimpleFile {
    pub filename: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub hashes: BTreeMap<String, String>,
    /// RFC 3339, as PEP 700 gives it.
    #[serde(rename = "upload-time", default)]
    pub upload_time: Option<String>,
    #[serde(default)]
    pub yanked: Yanked,
    /// The Integrity API URL of the file's provenance, when it has any.
    #[serde(default)]
    pub provenance: Option<String>,
    /// The release the filename states (PEP 440 normal form), read when the page is
    /// parsed; `None` when no grammar reads the filename as the page's project's.
    #[serde(skip)]
    pub release: Option<String>,
}

/// PEP 592's `yanked`: `false`, `true`, or the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Yanked {
    #[default]
    No,
    Flag(bool),
    Reason(String),
}

impl Yanked {
    /// Whether the file is yanked.
    pub fn is_yanked(&self) -> bool {
        matches!(self, Self::Flag(true) | Self::Reason(_))
    }
}

/// Why a simple page could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("simple page is not valid: {0}")]
pub struct SimplePageError(pub String);

/// A file of a release, with what a verdict needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile<'a> {
    pub filename: &'a str,
    /// The file's sha256 when the index gives a well-formed one (64 hex digits), lower case.
    pub sha256: Option<String>,
    pub uploaded_at: Option<i64>,
    pub yanked: bool,
    /// The index lists provenance for the file.
    pub has_provenance: bool,
    pub url: Option<&'a str>,
}

/// A release: the files whose filename states its version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release<'a> {
    /// Upload order (the index's order among equal times).
    pub files: Vec<ReleaseFile<'a>>,
}

impl Release<'_> {
    /// When its first file was uploaded.
    pub fn published_at(&self) -> Option<i64> {
        self.files.iter().filter_map(|f| f.uploaded_at).min()
    }
}

impl SimplePage {
    /// Parses a page (a JSON object whose `meta.api-version` is 1.x).
    pub fn parse(bytes: &[u8]) -> Result<Self, SimplePageError> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(SimplePageError("not a JSON object".to_owned()));
        }
        let page: Self =
            serde_json::from_slice(bytes).map_err(|e| SimplePageError(e.to_string()))?;
        if page.meta.api_version.split('.').next() != Some("1") {
            return Err(SimplePageError(format!(
                "api-version {:?} is not 1.x",
                crate::domain::printable(&page.meta.api_version)
            )));
        }
        let mut page = page;
        let project = normalise(&page.name);
        for file in &mut page.files {
            file.release = DistFilename::parse(&file.filename, &project)
                .ok()
                .map(|d| d.version);
        }
        Ok(page)
    }

    /// The files grouped by the release their filename states (keys in PEP 440 normal
    /// form), and the filenames no grammar reads as the project's (legacy formats, another
    /// project's).
    pub fn releases(&self) -> (BTreeMap<&str, Release<'_>>, Vec<&str>) {
        let mut releases: BTreeMap<&str, Release<'_>> = BTreeMap::new();
        let mut unread = Vec::new();
        for file in &self.files {
            let Some(release) = file.release.as_deref() else {
                unread.push(file.filename.as_str());
                continue;
            };
            let sha256 = file
                .hashes
                .get("sha256")
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(|h| h.to_ascii_lowercase());
            releases
                .entry(release)
                .or_default()
                .files
                .push(ReleaseFile {
                    filename: &file.filename,
                    sha256,
                    uploaded_at: file.upload_time.as_deref().and_then(parse_time),
                    yanked: file.yanked.is_yanked(),
                    has_provenance: file.provenance.is_some(),
                    url: file.url.as_deref(),
                });
        }
        for release in releases.values_mut() {
            // Stable: files uploaded at the same time keep the index's order.
            release
                .files
                .sort_by_key(|f| (f.uploaded_at.is_none(), f.uploaded_at));
        }
        (releases, unread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"{
      "meta": {"api-version": "1.1", "_last-serial": 26048432},
      "name": "sampleproject",
      "versions": ["3.0.0", "4.0.0", "5.0.0"],
      "files": [
        {"filename": "sampleproject-3.0.0.tar.gz", "url": "https://files.example/s3.tgz",
         "hashes": {"sha256": "117ED88E5DB073BB92969A7545745FD977EE85B7019706DD256A64058F70963D"},
         "upload-time": "2022-12-01T18:51:01.420127Z", "yanked": false, "provenance": null},
        {"filename": "sampleproject-4.0.0-py3-none-any.whl", "hashes": {"sha256": "nothex"},
         "upload-time": "2024-11-06T22:37:12.000000Z", "yanked": "broken wheel",
         "provenance": "https://index.example/integrity/sampleproject/4.0.0/sampleproject-4.0.0-py3-none-any.whl/provenance"},
        {"filename": "sampleproject-4.0.0.tar.gz",
         "hashes": {"sha256": "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b"},
         "upload-time": "2024-11-06T22:37:10.868088Z",
         "provenance": "https://index.example/integrity/sampleproject/4.0.0/sampleproject-4.0.0.tar.gz/provenance",
         "core-metadata": {"sha256": "x"}, "requires-python": ">=3.8"},
        {"filename": "sampleproject-1.2.0.win32.exe", "hashes": {}}
      ]
    }"#;

    #[test]
    fn files_are_grouped_into_releases_by_their_filenames_version() {
        let page = SimplePage::parse(PAGE.as_bytes()).unwrap();
        let (releases, unread) = page.releases();
        assert_eq!(unread, ["sampleproject-1.2.0.win32.exe"]);
        // 5.0.0 is listed in `versions` without a file: nothing to judge.
        assert_eq!(
            releases.keys().copied().collect::<Vec<_>>(),
            ["3.0.0", "4.0.0"]
        );
        assert_eq!(page.versions.len(), 3);
        let four = &releases["4.0.0"];
        let names: Vec<&str> = four.files.iter().map(|f| f.filename).collect();
        assert_eq!(
            names,
            [
                "sampleproject-4.0.0.tar.gz",
                "sampleproject-4.0.0-py3-none-any.whl"
            ]
        );
        assert_eq!(four.published_at(), parse_time("2024-11-06T22:37:10Z"));
        assert!(four.files.iter().all(|f| f.has_provenance));
        assert!(four.files[1].yanked && four.files[1].sha256.is_none());
        let three = &releases["3.0.0"].files[0];
        assert_eq!(
            three.sha256.as_deref(),
            Some("117ed88e5db073bb92969a7545745fd977ee85b7019706dd256a64058f70963d")
        );
        assert!(!three.has_provenance && !three.yanked);
    }

    #[test]
    fn pages_that_are_not_v1_json_objects_are_refused() {
        for bad in [
            "[]",
            "{}",
            r#"{"meta":{"api-version":"2.0"},"name":"x","files":[]}"#,
            r#"{"meta":{"api-version":"1.0"},"name":"x"}"#,
            r#"{"meta":{"api-version":"1.0"},"name":"x","files":[{"filename":1}]}"#,
        ] {
            assert!(SimplePage::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
