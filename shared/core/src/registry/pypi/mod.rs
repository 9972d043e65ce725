//! PyPI: the second registry type. What the monitor knows of the index that is not a
//! network call:
//! - names ([`ProjectName`]: the core-metadata rule, PEP 503 normalisation for keys);
//! - distribution filenames ([`DistFilename`]: the sdist and wheel grammars, versions in
//!   PEP 440 normal form, wheel tag sets compared in any order): which release a file
//!   belongs to, and whether an attestation's subject names the file;
//! - a project's simple page ([`SimplePage`], PEP 691 JSON with PEP 700 upload times and
//!   PEP 740 provenance links) and its files grouped into releases.
//!
//! Not registered as a [`super::RegistryType`] yet: the index reader, the evidence rules
//! and the per-file verdicts come first.

mod filename;
mod name;
mod simple;

pub use filename::{DistFilename, DistKind, FilenameError, MAX_FILENAME_LEN, normal_version};
pub use name::{MAX_NAME_LEN, ProjectName, ProjectNameError, normalise};
pub use simple::{Release, ReleaseFile, SimpleFile, SimplePage, SimplePageError, Yanked};
