//! Reading the command line's input files and digests, bounded.

use std::io::Read as _;
use std::path::Path;

/// Trust material files are small; anything larger is not one.
pub const MAX_TRUST_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The largest artifact read into memory (npm's own tarball limit is far below this).
pub const MAX_ARTIFACT_BYTES: u64 = 512 * 1024 * 1024;

/// The file's bytes, refusing more than `limit`. Only a regular file is read (a FIFO would
/// block, a device never end), and one whose size already says it is too large is refused
/// before a byte is read.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    // Looked at before it is opened: opening a FIFO with no writer blocks in `open` itself.
    let kind =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !kind.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if metadata.len() > limit {
        return Err(format!(
            "{} is {} bytes, larger than the {limit}-byte limit",
            path.display(),
            metadata.len()
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!("{} is larger than {limit} bytes", path.display()));
    }
    Ok(bytes)
}

/// The file as UTF-8 text, refusing more than `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// Exactly `2 * N` hex digits as `N` bytes.
pub fn hex_digest<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{hex_digest, read_bounded};

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_bounded(&file, 5).unwrap(), b"12345");
        let error = read_bounded(&file, 4).unwrap_err();
        assert!(error.contains("larger than the 4-byte limit"), "{error}");
        // A directory, or a device like /dev/zero, is refused before any read.
        assert!(
            read_bounded(dir.path(), 5)
                .unwrap_err()
                .contains("not a regular file")
        );
        // A FIFO nobody writes to is refused at once (opening it would wait for a writer).
        let fifo = dir.path().join("fifo");
        if std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success())
        {
            let error = read_bounded(&fifo, 5).unwrap_err();
            assert!(error.contains("not a regular file"), "{error}");
        }
        if std::path::Path::new("/dev/zero").exists() {
            let error = read_bounded(std::path::Path::new("/dev/zero"), 5).unwrap_err();
            assert!(error.contains("not a regular file"), "{error}");
        }
    }

    #[test]
    fn hex_digests_have_exactly_their_length() {
        assert_eq!(hex_digest::<2>("0aFf"), Some([0x0a, 0xff]));
        assert_eq!(hex_digest::<2>("0aF"), None);
        assert_eq!(hex_digest::<2>("0aFfe0"), None);
        assert_eq!(hex_digest::<2>("0x12"), None);
        assert_eq!(hex_digest::<1>("é"), None);
    }
}
