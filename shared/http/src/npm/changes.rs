//! `NpmChanges`: the [`Changes`] port over the npm registry's replication changes feed
//! (CouchDB `_changes`; since 2025 its results carry only `seq`, `id` and `deleted`).
//!
//! One request returns up to `limit` changed package names after a sequence; the current end
//! of the feed comes from the database document's `update_seq`. Sequences are kept opaque
//! (numbers or strings both read).

use crate::http::{HttpClient, HttpConfig};
use artifact_monitor_core::domain::usable_sequence;
use artifact_monitor_core::ports::{Changes, ChangesPage, RemoteError};
use artifact_monitor_core::registry::RegistryType;
use serde::Deserialize;

/// The public npm replication feed.
pub const DEFAULT_CHANGES_FEED: &str = "https://replicate.npmjs.com/registry";
/// A page of 10,000 results is about 1 MB; anything far larger is not a feed page.
const MAX_PAGE_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct NpmChanges {
    base: String,
    http: HttpClient,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Seq {
    Number(u64),
    Text(String),
}

impl Seq {
    fn into_string(self) -> String {
        match self {
            Seq::Number(n) => n.to_string(),
            Seq::Text(s) => s,
        }
    }
}

#[derive(Deserialize)]
struct RawChange {
    id: String,
}

#[derive(Deserialize)]
struct RawPage {
    results: Vec<RawChange>,
    last_seq: Seq,
}

#[derive(Deserialize)]
struct RawInfo {
    update_seq: Seq,
}

fn invalid(e: impl std::fmt::Display) -> RemoteError {
    RemoteError::Invalid("changes feed", e.to_string())
}

impl NpmChanges {
    pub fn new(base: &str, config: HttpConfig) -> Result<Self, RemoteError> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(invalid(format!("feed URL {base:?} must be http(s)")));
        }
        Ok(Self {
            base: base.to_owned(),
            http: HttpClient::new("changes feed", config)?,
        })
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.http.requests_sent()
    }
}

/// A sequence the feed answered with, if it can be stored and sent back.
fn usable(sequence: String) -> Result<String, RemoteError> {
    if usable_sequence(&sequence) {
        return Ok(sequence);
    }
    let preview: String = sequence
        .chars()
        .take(40)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    Err(invalid(format!(
        "the feed answered with an unusable sequence ({} bytes, starting {preview:?})",
        sequence.len()
    )))
}

impl Changes for NpmChanges {
    fn registry(&self) -> RegistryType {
        RegistryType::Npm
    }

    async fn current_seq(&self) -> Result<String, RemoteError> {
        let url = format!("{}/", self.base);
        let response = self
            .http
            .get(&url, &[("accept", "application/json")], 1 << 20)
            .await?;
        if response.status != 200 {
            return Err(RemoteError::Status("changes feed", response.status));
        }
        parse_info(&response.body)
    }

    async fn changes_since(&self, since: &str, limit: usize) -> Result<ChangesPage, RemoteError> {
        if !usable_sequence(since) {
            return Err(invalid(format!(
                "sequence {since:?} is not one the feed issued"
            )));
        }
        let url = format!("{}/_changes?since={since}&limit={limit}", self.base);
        let response = self
            .http
            .get(&url, &[("accept", "application/json")], MAX_PAGE_BYTES)
            .await?;
        if response.status != 200 {
            return Err(RemoteError::Status("changes feed", response.status));
        }
        parse_page(&response.body)
    }
}

/// The feed's database document: its current end (`update_seq`), checked to be usable.
pub fn parse_info(body: &[u8]) -> Result<String, RemoteError> {
    let info: RawInfo = serde_json::from_slice(body).map_err(invalid)?;
    usable(info.update_seq.into_string())
}

/// One `_changes` page as the feed sent it (hostile bytes): names and a usable sequence.
pub fn parse_page(body: &[u8]) -> Result<ChangesPage, RemoteError> {
    let page: RawPage = serde_json::from_slice(body).map_err(invalid)?;
    Ok(ChangesPage {
        results: page.results.len(),
        names: page.results.into_iter().map(|c| c.id).collect(),
        last_seq: usable(page.last_seq.into_string())?,
        missed: false,
    })
}
