//! The single-table layout (ARCHITECTURE.md, "The DynamoDB layout") and the conversion of domain records to items.
//!
//! | item | pk | sk | GSI1 | GSI2 (sparse) |
//! | --- | --- | --- | --- | --- |
//! | artifact | `A#npm/<name>` | `META` | `ARTIFACTS` / `npm/<name>` | – |
//! | poll state | `A#…` | `POLL` | – | – |
//! | version | `A#…` | `V#<version>` | `A#…` / `T#<published:013>#<version>` (newest first) | – |
//! | due work | `A#…` | `D#R`, `D#S`, `D#J#<version>` | – | `DUE#<priority>` / `<due_at:020>#<id>` |
//! | feed state | `FEED#npm` | `STATE` | – | – |
//! | alert | `ALERT#<id>` | `ALERT` | – | `OUTBOX` / `<enqueued_at:020>#<id>` until delivered |
//! | due counters | `COUNTS` | `DUE` | – | – |
//! | summary | `SUMMARY` | `SUMMARY` | – | – |
//!
//! Documents are JSON in `doc`; one larger than [`COMPRESS_ABOVE`] is stored gzip'd in
//! `docz`, and one still larger than [`MAX_DOC_BYTES`] compressed is refused loudly
//! (DynamoDB's item limit is 400 KB, names and values included). `rev` is the revision
//! conditions are written against.

use artifact_monitor_core::domain::{DueItem, DueWork};
use artifact_monitor_core::ports::StoreError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::io::{Read as _, Write as _};

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
pub const ARTIFACTS: &str = "ARTIFACTS";
pub const OUTBOX: &str = "OUTBOX";
pub const META: &str = "META";
pub const POLL: &str = "POLL";

/// Documents above this size are stored compressed.
pub const COMPRESS_ABOVE: usize = 64 * 1024;
/// The largest (compressed) document an item may carry: room below DynamoDB's 400 KB for
/// the keys and the other attributes.
pub const MAX_DOC_BYTES: usize = 350 * 1024;
/// A decompressed document larger than this is refused (a bomb, or not ours).
const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

pub fn artifact_pk(key: &str) -> String {
    format!("A#{key}")
}

pub fn version_sk(version: &str) -> String {
    format!("V#{version}")
}

pub fn alert_pk(id: &str) -> String {
    format!("ALERT#{id}")
}

pub const FEED_PK: &str = "FEED#npm";
pub const FEED_SK: &str = "STATE";
pub const COUNTS_PK: &str = "COUNTS";
/// The summary of artifact counts (pk and sk alike).
pub const SUMMARY_PK: &str = "SUMMARY";
pub const COUNTS_SK: &str = "DUE";

/// The sort key of a due item within its artifact's partition.
pub fn due_sk(item: &DueItem) -> String {
    match &item.work {
        DueWork::Read { .. } => "D#R".to_owned(),
        DueWork::Summarise => "D#S".to_owned(),
        DueWork::Judge { event } => format!("D#J#{}", event.version),
    }
}

/// The item key of a due item from its id (`R\0<key>`, `S\0<key>`, `J\0<key>\0<version>`).
pub fn due_key_of_id(id: &str) -> Option<(String, String)> {
    let mut parts = id.splitn(3, '\0');
    let kind = parts.next()?;
    let key = parts.next()?;
    let sk = match (kind, parts.next()) {
        ("R", None) => "D#R".to_owned(),
        ("S", None) => "D#S".to_owned(),
        ("J", Some(version)) => format!("D#J#{version}"),
        _ => return None,
    };
    Some((artifact_pk(key), sk))
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// The document attribute(s) of `value`: `doc`, or `docz` compressed.
pub fn doc_attr<T: Serialize>(value: &T) -> Result<(String, AttributeValue), StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if json.len() <= COMPRESS_ABOVE {
        let text = String::from_utf8(json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        return Ok(("doc".to_owned(), s(text)));
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(&json)
        .and_then(|()| encoder.finish())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
        .and_then(|packed| {
            if packed.len() > MAX_DOC_BYTES {
                Err(StoreError::TooLarge(format!(
                    "a document of {} bytes is {} bytes compressed, over the {MAX_DOC_BYTES}-byte limit of an item",
                    json.len(),
                    packed.len()
                )))
            } else {
                Ok(("docz".to_owned(), AttributeValue::B(Blob::new(packed))))
            }
        })
}

/// Reads the document of an item.
pub fn read_doc<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("item document: {e}"));
    if let Some(AttributeValue::S(text)) = item.get("doc") {
        return serde_json::from_str(text).map_err(|e| corrupt(e.to_string()));
    }
    if let Some(AttributeValue::B(blob)) = item.get("docz") {
        let mut json = Vec::new();
        GzDecoder::new(blob.as_ref())
            .take(MAX_INFLATED_BYTES)
            .read_to_end(&mut json)
            .map_err(|e| corrupt(e.to_string()))?;
        return serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()));
    }
    Err(corrupt("no doc attribute".to_owned()))
}

pub fn rev_of(item: &Item) -> u64 {
    num(item, "rev").unwrap_or(0)
}

pub fn num<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

/// The item of a due work unit, indexed in GSI2 by priority and time.
pub fn due_item(item: &DueItem) -> Result<Item, StoreError> {
    let mut out = key(artifact_pk(&item.artifact), due_sk(item));
    let (name, doc) = doc_attr(item)?;
    out.insert(name, doc);
    out.insert(
        "gsi2pk".to_owned(),
        s(format!("DUE#{}", item.priority().digit())),
    );
    out.insert(
        "gsi2sk".to_owned(),
        s(format!("{:020}#{}", item.due_at.max(0), item.id())),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_compressed_when_large_and_refused_when_too_large() {
        let small = vec!["1.0.0".to_owned(); 10];
        let (name, _) = doc_attr(&small).unwrap();
        assert_eq!(name, "doc");
        // 30,000 version strings: hundreds of KB of JSON, compressed under the limit.
        let large: Vec<String> = (0..30_000).map(|i| format!("1.{i}.0")).collect();
        let (name, value) = doc_attr(&large).unwrap();
        assert_eq!(name, "docz");
        let item = HashMap::from([(name, value)]);
        assert_eq!(read_doc::<Vec<String>>(&item).unwrap(), large);
        // Incompressible content over the limit is refused, not cut.
        let mut noise = Vec::new();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..60_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            noise.push(format!("{state:016x}"));
        }
        assert!(matches!(doc_attr(&noise), Err(StoreError::TooLarge(_))));
    }

    #[test]
    fn due_ids_map_back_to_their_items() {
        assert_eq!(
            due_key_of_id(&artifact_monitor_core::domain::judge_id(
                "npm/@s/p", "1.0.0"
            )),
            Some(("A#npm/@s/p".to_owned(), "D#J#1.0.0".to_owned()))
        );
        assert_eq!(
            due_key_of_id("R\0npm/p"),
            Some(("A#npm/p".to_owned(), "D#R".to_owned()))
        );
        assert_eq!(due_key_of_id("X\0npm/p"), None);
    }
}
