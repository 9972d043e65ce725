//! PyPI project names: checked against the core-metadata rule, normalised as PEP 503 says
//! (lower case, every run of `-`, `_` and `.` one `-`), so `Foo.Bar`, `foo_bar` and
//! `FOO--bar` are one project.

use std::fmt;

/// The longest name accepted. The index documents no limit; real names are far shorter, and
/// a bound keeps keys and URLs small.
pub const MAX_NAME_LEN: usize = 214;

/// A project name as written, with its normalised form (what keys hold and URLs use).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectName {
    normalised: String,
    written: String,
}

/// Why a string is not a PyPI project name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectNameError {
    #[error("project name is empty")]
    Empty,
    #[error("project name is longer than {MAX_NAME_LEN} characters")]
    TooLong,
    #[error(
        "project name {0:?} must be ASCII letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    )]
    Invalid(String),
}

impl ProjectName {
    /// Parses a project name as a user, a filename or the index wrote it.
    pub fn parse(input: &str) -> Result<Self, ProjectNameError> {
        if input.is_empty() {
            return Err(ProjectNameError::Empty);
        }
        if input.len() > MAX_NAME_LEN {
            return Err(ProjectNameError::TooLong);
        }
        let bytes = input.as_bytes();
        let edge_ok = |b: u8| b.is_ascii_alphanumeric();
        let inner_ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        if !edge_ok(bytes[0])
            || !edge_ok(bytes[bytes.len() - 1])
            || !bytes.iter().all(|b| inner_ok(*b))
        {
            return Err(ProjectNameError::Invalid(
                crate::domain::printable(input).into_owned(),
            ));
        }
        Ok(Self {
            normalised: normalise(input),
            written: input.to_owned(),
        })
    }

    /// The PEP 503 form: `foo-bar`.
    pub fn normalised(&self) -> &str {
        &self.normalised
    }

    /// As it was written.
    pub fn written(&self) -> &str {
        &self.written
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// PEP 503 normalisation of a name already known to be ASCII.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_as_pep_503_says() {
        for (written, normalised) in [
            ("sampleproject", "sampleproject"),
            ("Friendly-Bard", "friendly-bard"),
            ("FRIENDLY-BARD", "friendly-bard"),
            ("friendly.bard", "friendly-bard"),
            ("friendly_bard", "friendly-bard"),
            ("friendly--bard", "friendly-bard"),
            ("FrIeNdLy-._.-bArD", "friendly-bard"),
            ("pypi_attestations", "pypi-attestations"),
            ("a", "a"),
        ] {
            let name = ProjectName::parse(written).unwrap();
            assert_eq!(name.normalised(), normalised, "{written}");
            assert_eq!(name.written(), written);
        }
    }

    #[test]
    fn names_outside_the_rule_are_refused() {
        for bad in [
            "",
            "-a",
            "a-",
            ".a",
            "a_",
            "a b",
            "a/b",
            "ä",
            "a\u{1b}[2J",
            "@scope/x",
            "a+b",
        ] {
            assert!(ProjectName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            ProjectName::parse(&"a".repeat(MAX_NAME_LEN + 1)),
            Err(ProjectNameError::TooLong)
        );
        assert!(ProjectName::parse(&"a".repeat(MAX_NAME_LEN)).is_ok());
    }
}
