//! npm: the first registry type. Everything the monitor knows of npm that is not a network
//! call lives here (the HTTP side is `artifact-monitor-http`'s `npm` folder, the attestation
//! rules `artifact-monitor-verify`'s):
//! - names ([`PackageName`], checked against the registry's rules) and what binds evidence
//!   to a version: the subject `pkg:npm/<name>@<version>` ([`npm_purl`]) with the sha512 of
//!   `dist.integrity` ([`sri_sha512`]);
//! - a version and its facts: the packument ([`Packument`]: `versions`, `time`, `dist`,
//!   `_npmUser`, scripts, dependencies), read leniently where the registry varies;
//! - the packument in the shared terms ([`listing`], [`snapshot`]), what changed between two
//!   reads ([`diff`]) and each version's signals and provenance history
//!   ([`version_contexts`]);
//! - which dependency specs resolve outside the registry ([`added_outside_registry`]).

mod changes;
mod dependency;
mod name;
mod packument;

pub use changes::{
    BURST_COUNT, BURST_WINDOW_SECS, Changes, TagMove, diff, listing, lists_provenance, snapshot,
    version_contexts, version_signals,
};
pub use dependency::{INSTALLED_KINDS, OutsideRegistry, added_outside_registry, is_registry_spec};
pub use name::{PackageName, PackageNameError, npm_purl, sri_sha512};
pub use packument::{
    Dist, DistAttestations, InstallScripts, Packument, PackumentError, VersionManifest,
};
