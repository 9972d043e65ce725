//! npm package names and their package-URL form.

use std::fmt;

/// The longest name the npm registry accepts.
const MAX_NAME_LEN: usize = 214;

/// An npm package name, plain (`chalk`) or scoped (`@scope/name`), checked against the
/// registry's naming rules. Upper-case letters are accepted because packages published before
/// the rule changed still carry them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageName {
    full: String,
    scope_len: Option<usize>,
}

/// Why a string is not an npm package name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageNameError {
    #[error("package name is empty")]
    Empty,
    #[error("package name is longer than {MAX_NAME_LEN} characters")]
    TooLong,
    #[error("package name {0:?} starts with '.' or '_'")]
    LeadingDotOrUnderscore(String),
    #[error("package name {0:?} contains a character npm does not allow in names")]
    BadCharacter(String),
    #[error("scoped package name {0:?} must look like @scope/name")]
    BadScope(String),
}

impl PackageName {
    /// Parses and validates a package name as a user or the registry wrote it.
    pub fn parse(input: &str) -> Result<Self, PackageNameError> {
        if input.is_empty() {
            return Err(PackageNameError::Empty);
        }
        if input.len() > MAX_NAME_LEN {
            return Err(PackageNameError::TooLong);
        }
        let (scope, name) = match input.strip_prefix('@') {
            Some(rest) => {
                let (scope, name) = rest
                    .split_once('/')
                    .ok_or_else(|| PackageNameError::BadScope(input.to_owned()))?;
                if scope.is_empty() || name.is_empty() || name.contains('/') {
                    return Err(PackageNameError::BadScope(input.to_owned()));
                }
                (Some(scope), name)
            }
            None => (None, input),
        };
        for part in scope.into_iter().chain([name]) {
            if part.starts_with('.') || part.starts_with('_') {
                return Err(PackageNameError::LeadingDotOrUnderscore(input.to_owned()));
            }
            if !part.chars().all(is_name_char) {
                return Err(PackageNameError::BadCharacter(input.to_owned()));
            }
        }
        Ok(Self {
            full: input.to_owned(),
            scope_len: scope.map(str::len),
        })
    }

    /// The name as the registry spells it, e.g. `@scope/name`.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The scope without its `@`, for scoped packages.
    pub fn scope(&self) -> Option<&str> {
        self.scope_len.map(|len| &self.full[1..=len])
    }

    /// The name without its scope.
    pub fn bare_name(&self) -> &str {
        match self.scope_len {
            Some(len) => &self.full[len + 2..],
            None => &self.full,
        }
    }
}

/// URL-safe characters: what `encodeURIComponent` leaves alone, minus the few legacy
/// punctuation marks npm no longer accepts in new names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// The package URL npm writes as the attestation subject name:
/// `pkg:npm/<name>@<version>`, with a scope's `@` written `%40` and the version
/// percent-encoded the way the purl specification asks (`+` becomes `%2B`).
pub fn npm_purl(name: &PackageName, version: &str) -> String {
    let mut purl = String::from("pkg:npm/");
    if let Some(scope) = name.scope() {
        purl.push_str("%40");
        purl.push_str(scope);
        purl.push('/');
    }
    purl.push_str(name.bare_name());
    purl.push('@');
    for byte in version.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b':') {
            purl.push(char::from(byte));
        } else {
            purl.push_str(&format!("%{byte:02X}"));
        }
    }
    purl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_scoped_names() {
        let plain = PackageName::parse("chalk").unwrap();
        assert_eq!(plain.scope(), None);
        assert_eq!(plain.bare_name(), "chalk");
        let scoped = PackageName::parse("@playwright/cli").unwrap();
        assert_eq!(scoped.scope(), Some("playwright"));
        assert_eq!(scoped.bare_name(), "cli");
        assert!(
            PackageName::parse("JSONStream").is_ok(),
            "legacy upper case"
        );
    }

    #[test]
    fn rejects_hostile_names() {
        for bad in [
            "",
            ".hidden",
            "_private",
            "@/x",
            "@scope/",
            "@scope",
            "a/b",
            "@a/b/c",
            "has space",
            "../etc",
            "naïve",
            "a\u{0}b",
            "@scope/.x",
            "name%2f",
        ] {
            assert!(PackageName::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        assert_eq!(
            PackageName::parse(&"a".repeat(215)),
            Err(PackageNameError::TooLong)
        );
    }

    #[test]
    fn purl_matches_what_npm_writes() {
        let scoped = PackageName::parse("@laurentsimon/provenance-npm-test").unwrap();
        assert_eq!(
            npm_purl(&scoped, "1.0.0"),
            "pkg:npm/%40laurentsimon/provenance-npm-test@1.0.0"
        );
        let plain = PackageName::parse("sigstore").unwrap();
        assert_eq!(npm_purl(&plain, "2.3.1"), "pkg:npm/sigstore@2.3.1");
        assert_eq!(
            npm_purl(&plain, "1.0.0-rc.1+build.5"),
            "pkg:npm/sigstore@1.0.0-rc.1%2Bbuild.5"
        );
    }
}

/// Reads npm's `dist.integrity` when it is a sha512 Subresource Integrity value
/// (`sha512-<base64>`), the only form provenance subjects are checked against. A value
/// listing several hashes is read for its sha512 entry.
pub fn sri_sha512(integrity: &str) -> Option<[u8; 64]> {
    use base64::Engine as _;
    let b64 = integrity
        .split_ascii_whitespace()
        .find_map(|part| part.strip_prefix("sha512-"))?;
    let b64 = b64.split('?').next().unwrap_or(b64);
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()?
        .try_into()
        .ok()
}

#[cfg(test)]
mod sri_tests {
    use super::sri_sha512;

    #[test]
    fn reads_sha512_integrity_only() {
        let digest = sri_sha512("sha512-8G+/XDU8wNsJOQS5ysDVO0Etg9/2uA5gR9l4ZwijjlwxBcrU6RPfwi2+jJmbP+Ap1Hlp/nVAaEO4Fj22/SL2gQ==").unwrap();
        assert_eq!(digest[0], 0xf0);
        assert!(sri_sha512("sha1-abc").is_none());
        assert!(sri_sha512("sha512-AAAA").is_none());
        assert!(sri_sha512("sha512-!!").is_none());
        assert!(sri_sha512("sha1-x sha512-8G+/XDU8wNsJOQS5ysDVO0Etg9/2uA5gR9l4ZwijjlwxBcrU6RPfwi2+jJmbP+Ap1Hlp/nVAaEO4Fj22/SL2gQ==").is_some());
    }
}
