//! Opaque pagination cursors, bound to the list they came from: a cursor names its list
//! and carries a digest of itself, so one presented to another list (another artifact's
//! versions, the artifact list), or with a character changed or added, is refused (400).
//! Within its own list a cursor is only a position, which the store checks again.
//!
//! The digest is a plain SHA-256, not an HMAC under a key: a cursor carries no authority
//! (it names a position in a list its holder may read anyway), so what it must resist is
//! damage and mix-ups, and a keyless digest keeps cursors valid across API instances (every
//! Lambda of a deployment, a restarted `serve`).

use super::error::ApiError;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// The longest cursor accepted.
const MAX_CURSOR_CHARS: usize = 2048;

const VERSION: &str = "c2";
/// Bytes of the digest a cursor ends with.
const DIGEST_BYTES: usize = 12;

fn digest(payload: &[u8]) -> [u8; DIGEST_BYTES] {
    let full = Sha256::digest(payload);
    let mut out = [0u8; DIGEST_BYTES];
    out.copy_from_slice(&full[..DIGEST_BYTES]);
    out
}

/// The cursor for `position` in `list`.
pub fn encode(list: &str, position: &str) -> String {
    let mut bytes = format!("{VERSION}\n{list}\n{position}").into_bytes();
    let sum = digest(&bytes);
    bytes.extend_from_slice(&sum);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The position a cursor of `list` holds.
pub fn decode(list: &str, cursor: &str) -> Result<String, ApiError> {
    let refused = || ApiError::invalid("cursor: not a cursor of this list");
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(refused());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| refused())?;
    let split = bytes.len().checked_sub(DIGEST_BYTES).ok_or_else(refused)?;
    let (payload, sum) = bytes.split_at(split);
    if digest(payload) != sum {
        return Err(refused());
    }
    let text = String::from_utf8(payload.to_vec()).map_err(|_| refused())?;
    let mut parts = text.splitn(3, '\n');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(named), Some(position)) if named == list && !position.is_empty() => {
            Ok(position.to_owned())
        }
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_works_only_for_its_list() {
        let cursor = encode("versions:npm/a", "npm/a\u{0}000\u{0}1.0.0");
        assert_eq!(
            decode("versions:npm/a", &cursor).unwrap(),
            "npm/a\u{0}000\u{0}1.0.0"
        );
        assert!(decode("versions:npm/b", &cursor).is_err());
        assert!(decode("artifacts", &cursor).is_err());
        assert!(decode("versions:npm/a", "not base64!").is_err());
        assert!(decode("versions:npm/a", &"A".repeat(5000)).is_err());
        // Any character changed, added or removed is refused.
        let list = "artifacts";
        let cursor = encode(list, "npm/alpha");
        assert_eq!(decode(list, &cursor).unwrap(), "npm/alpha");
        for i in 0..cursor.len() {
            let mut changed = cursor.clone().into_bytes();
            changed[i] = if changed[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(changed).unwrap();
            assert!(decode(list, &changed).is_err(), "{changed}");
        }
        for extra in ["A", "x", "AA", "_"] {
            assert!(decode(list, &format!("{cursor}{extra}")).is_err());
        }
        assert!(decode(list, &cursor[..cursor.len() - 1]).is_err());
    }
}
