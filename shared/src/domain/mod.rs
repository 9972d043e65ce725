//! The domain: types that carry their invariants, and pure decisions over them.
//!
//! Nothing here performs I/O, reads the clock or imports a crypto, HTTP or AWS crate.

mod evidence;
mod github;
mod package;
mod policy;

pub use evidence::{Evidence, RunnerEnvironment};
pub use github::{RefPattern, RepositoryName, WorkflowPath, WorkflowRef};
pub use package::{PackageName, PackageNameError, npm_purl};
pub use policy::{PolicyError, PolicyViolation, ReleasePolicy, ReusableWorkflowPattern};
