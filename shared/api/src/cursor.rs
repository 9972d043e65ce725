//! Opaque pagination cursors, bound to the list they came from: a cursor names its list,
//! and one presented to another list (another artifact's versions, the artifact list) or
//! tampered with is refused (400). Within its own list a cursor is only a position, which
//! the store checks again.

use super::error::ApiError;
use base64::Engine as _;

/// The longest cursor accepted.
const MAX_CURSOR_CHARS: usize = 2048;

const VERSION: &str = "c1";

/// The cursor for `position` in `list`.
pub fn encode(list: &str, position: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{VERSION}\n{list}\n{position}"))
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
    let text = String::from_utf8(bytes).map_err(|_| refused())?;
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
    }
}
