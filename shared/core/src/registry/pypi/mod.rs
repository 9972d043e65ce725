//! PyPI: the second registry type. What the monitor knows of the index that is not a
//! network call:
//! - names ([`ProjectName`]: the core-metadata rule, PEP 503 normalisation for keys);
//! - distribution filenames ([`DistFilename`]: the sdist and wheel grammars, versions in
//!   PEP 440 normal form, wheel tag sets compared in any order): which release a file
//!   belongs to, and whether an attestation's subject names the file;
//! - a project's simple page ([`SimplePage`], PEP 691 JSON with PEP 700 upload times and
//!   PEP 740 provenance links) and its files grouped into releases.
//!
//! - the page in the shared terms ([`listing`], [`snapshot`], [`package_signals`]): each
//!   release with files is a version whose files are judged one by one, `file_added_later`
//!   when a file arrives more than an hour after the release's first.

mod filename;
mod listing;
mod name;
mod simple;

pub use listing::{
    FILE_ADDED_LATER_SECS, MAX_FILES_PER_RELEASE, MAX_LATE_FILE_SIGNALS, listing, package_signals,
    sha256_hex, snapshot, sri_sha256,
};

pub use filename::{DistFilename, DistKind, FilenameError, MAX_FILENAME_LEN, normal_version};
pub use name::{MAX_NAME_LEN, ProjectName, ProjectNameError, normalise};
pub use simple::{Release, ReleaseFile, SimpleFile, SimplePage, SimplePageError, Yanked};
