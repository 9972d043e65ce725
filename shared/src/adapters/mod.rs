//! Adapters: the ports implemented over real technologies. Only this module (and
//! `provenance`, `store`) imports HTTP, crypto or database crates.

pub mod changes;
pub mod github;
pub mod http;
pub mod npm;
pub mod webhook;

pub use changes::{DEFAULT_CHANGES_FEED, NpmChanges};
pub use github::{DEFAULT_GITHUB_API, GithubRuns};
pub use http::{HttpClient, HttpConfig, RequestBudget};
pub use npm::{DEFAULT_MAX_PACKUMENT_BYTES, DEFAULT_REGISTRY, NpmRegistry};
pub use webhook::Webhook;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl crate::ports::Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}
