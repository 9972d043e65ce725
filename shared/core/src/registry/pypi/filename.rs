//! Distribution filenames: which project and version a file belongs to, read by the sdist
//! and wheel grammars (never by string prefix), and when two filenames name the same
//! distribution (an attestation's subject against the index's file: a wheel's compressed
//! tag sets may be written in any order).
//!
//! - sdist (PEP 625): `{name}-{version}.tar.gz`; older uploads also `.zip`, and a name that
//!   itself contains `-`.
//! - wheel: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, each tag a
//!   `.`-separated set.
//!
//! Versions are compared in their PEP 440 normal form (`pep440_rs`), so `1.0_post1` and
//! `1.0.post1` are one version; a version PEP 440 cannot read is compared as written.

use super::name::normalise;
use std::collections::BTreeSet;
use std::str::FromStr;

/// The most entries one compressed tag set may hold, and the most tag triples a wheel may
/// expand to: real wheels carry a handful; a hostile name must not cost more.
const MAX_TAGS: usize = 32;
const MAX_TAG_TRIPLES: usize = 1024;
/// The longest filename read.
pub const MAX_FILENAME_LEN: usize = 512;

/// What kind of distribution a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistKind {
    Sdist,
    Wheel {
        /// The optional build tag (starts with a digit).
        build: Option<String>,
        /// Every (python, abi, platform) triple the compressed tags expand to.
        tags: BTreeSet<(String, String, String)>,
    },
}

/// A distribution filename, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFilename {
    /// The project, PEP 503-normalised.
    pub project: String,
    /// The version in PEP 440 normal form (as written when PEP 440 cannot read it).
    pub version: String,
    pub kind: DistKind,
}

/// Why a filename is not one of a distribution of the project.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    #[error("{0:?} is not a wheel or sdist filename")]
    NotADistribution(String),
    #[error("{0:?} is not a file of project {1:?}")]
    OtherProject(String, String),
    #[error("wheel filename {0:?} has malformed tags")]
    BadTags(String),
}

/// The sdist suffixes read (PEP 625's `.tar.gz`, and `.zip` of older uploads).
const SDIST_SUFFIXES: [&str; 2] = [".tar.gz", ".zip"];

impl DistFilename {
    /// Reads `filename` as a distribution of `project` (normalised): an sdist whose name
    /// part, normalised, is the project's, or a wheel of it.
    pub fn parse(filename: &str, project: &str) -> Result<Self, FilenameError> {
        let shown = || crate::domain::printable(filename).into_owned();
        if filename.len() > MAX_FILENAME_LEN
            || filename.contains(['/', '\\'])
            || !filename.is_ascii()
        {
            return Err(FilenameError::NotADistribution(shown()));
        }
        if let Some(stem) = filename.strip_suffix(".whl") {
            return wheel(stem, project).map_err(|e| match e {
                Wheel::Parts => FilenameError::NotADistribution(shown()),
                Wheel::Tags => FilenameError::BadTags(shown()),
                Wheel::Project => FilenameError::OtherProject(shown(), project.to_owned()),
            });
        }
        let Some(stem) = SDIST_SUFFIXES
            .iter()
            .find_map(|suffix| filename.strip_suffix(suffix))
        else {
            return Err(FilenameError::NotADistribution(shown()));
        };
        // The name may itself contain `-`: the split is where the name part is the
        // project's.
        let split = stem
            .match_indices('-')
            .map(|(i, _)| i)
            .find(|i| normalise(&stem[..*i]) == project)
            .ok_or_else(|| FilenameError::OtherProject(shown(), project.to_owned()))?;
        let version = &stem[split + 1..];
        if version.is_empty() {
            return Err(FilenameError::NotADistribution(shown()));
        }
        Ok(Self {
            project: project.to_owned(),
            version: normal_version(version),
            kind: DistKind::Sdist,
        })
    }

    /// Whether `other` names the same distribution: project, version, kind, and for a
    /// wheel its build tag and tag triples (however the sets were ordered).
    pub fn same_distribution(&self, other: &Self) -> bool {
        self == other
    }
}

enum Wheel {
    Parts,
    Tags,
    Project,
}

fn wheel(stem: &str, project: &str) -> Result<DistFilename, Wheel> {
    let parts: Vec<&str> = stem.split('-').collect();
    let (name, version, build, python, abi, platform) = match parts.as_slice() {
        [name, version, python, abi, platform] => (*name, *version, None, *python, *abi, *platform),
        [name, version, build, python, abi, platform] => {
            if !build.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(Wheel::Parts);
            }
            (
                *name,
                *version,
                Some((*build).to_owned()),
                *python,
                *abi,
                *platform,
            )
        }
        _ => return Err(Wheel::Parts),
    };
    if name.is_empty() || version.is_empty() {
        return Err(Wheel::Parts);
    }
    if normalise(name) != project {
        return Err(Wheel::Project);
    }
    let set = |tags: &str| -> Result<Vec<String>, Wheel> {
        let set: BTreeSet<&str> = tags.split('.').collect();
        if set.is_empty() || set.len() > MAX_TAGS || set.iter().any(|t| t.is_empty()) {
            return Err(Wheel::Tags);
        }
        Ok(set.into_iter().map(str::to_owned).collect())
    };
    let (python, abi, platform) = (set(python)?, set(abi)?, set(platform)?);
    if python.len() * abi.len() * platform.len() > MAX_TAG_TRIPLES {
        return Err(Wheel::Tags);
    }
    let mut tags = BTreeSet::new();
    for p in &python {
        for a in &abi {
            for x in &platform {
                tags.insert((p.clone(), a.clone(), x.clone()));
            }
        }
    }
    Ok(DistFilename {
        project: project.to_owned(),
        version: normal_version(version),
        kind: DistKind::Wheel { build, tags },
    })
}

/// The PEP 440 normal form of a version as a filename writes it (a wheel writes `-` as
/// `_`); the text as written when PEP 440 cannot read it.
pub fn normal_version(version: &str) -> String {
    pep440_rs::Version::from_str(version)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(filename: &str, project: &str) -> DistFilename {
        DistFilename::parse(filename, project).unwrap()
    }

    #[test]
    fn sdists_are_read_by_the_projects_name_not_by_the_last_dash() {
        let sdist = parse("sampleproject-4.0.0.tar.gz", "sampleproject");
        assert_eq!(sdist.version, "4.0.0");
        assert_eq!(sdist.kind, DistKind::Sdist);
        assert_eq!(
            parse("pypi_attestations-0.0.19.tar.gz", "pypi-attestations").version,
            "0.0.19"
        );
        // An older upload: the name keeps its dashes.
        assert_eq!(parse("my-project-1.0.zip", "my-project").version, "1.0");
        assert_eq!(
            parse("Django-1.0_post1.tar.gz", "django").version,
            "1.0.post1"
        );
        assert!(matches!(
            DistFilename::parse("other-1.0.tar.gz", "sampleproject"),
            Err(FilenameError::OtherProject(..))
        ));
        for bad in [
            "sampleproject-4.0.0.tar.bz2",
            "sampleproject-.tar.gz",
            "sampleproject-4.0.0.egg",
            "../sampleproject-4.0.0.tar.gz",
            "sampleproject",
        ] {
            assert!(DistFilename::parse(bad, "sampleproject").is_err(), "{bad}");
        }
    }

    #[test]
    fn wheels_compare_by_their_tag_triples_in_any_order() {
        let one = parse(
            "spt3g-1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "spt3g",
        );
        let other = parse(
            "spt3g-1.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
            "spt3g",
        );
        assert!(one.same_distribution(&other));
        let DistKind::Wheel { tags, build } = &one.kind else {
            panic!("a wheel")
        };
        assert_eq!(tags.len(), 2);
        assert!(build.is_none());
        let fewer = parse("spt3g-1.0-cp310-cp310-manylinux2014_x86_64.whl", "spt3g");
        assert!(!one.same_distribution(&fewer));
        let built = parse("rfc8785-0.1.2-1-py3-none-any.whl", "rfc8785");
        assert!(!built.same_distribution(&parse("rfc8785-0.1.2-py3-none-any.whl", "rfc8785")));
        assert!(
            parse("rfc8785-0.1.2-py3-none-any.whl", "rfc8785")
                .same_distribution(&parse("rfc8785-0.1.2-py3-none-any.whl", "rfc8785"))
        );
        assert!(
            !parse("rfc8785-0.1.2-py3-none-any.whl", "rfc8785")
                .same_distribution(&parse("rfc8785-0.1.2.tar.gz", "rfc8785"))
        );
    }

    #[test]
    fn malformed_wheels_are_refused() {
        for bad in [
            "x-1.0-py3-none.whl",
            "x-1.0-b1-py3-none-any.whl",
            "x-1.0-py3--any.whl",
            "x--py3-none-any.whl",
            "y-1.0-py3-none-any.whl",
        ] {
            assert!(DistFilename::parse(bad, "x").is_err(), "{bad}");
        }
        let many: Vec<String> = (0..40).map(|i| format!("p{i}")).collect();
        let hostile = format!("x-1.0-{}-none-any.whl", many.join("."));
        assert!(matches!(
            DistFilename::parse(&hostile, "x"),
            Err(FilenameError::BadTags(_))
        ));
    }
}
