//! Adapters: the ports implemented over real technologies. Only this module (and
//! `provenance`, `store`) imports HTTP, crypto or database crates.

#[cfg(feature = "http")]
pub mod bytes;
#[cfg(feature = "http")]
pub mod changes;
#[cfg(feature = "signin")]
pub mod cognito;
#[cfg(feature = "http")]
pub mod github;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod npm;
#[cfg(feature = "http")]
pub mod webhook;

#[cfg(feature = "http")]
pub use bytes::{ByteBudget, DEFAULT_BYTES_IN_FLIGHT};
#[cfg(feature = "http")]
pub use changes::{DEFAULT_CHANGES_FEED, NpmChanges};
#[cfg(feature = "signin")]
pub use cognito::{CognitoConfig, CognitoSignIn};
#[cfg(feature = "http")]
pub use github::{DEFAULT_GITHUB_API, GithubRuns};
#[cfg(feature = "http")]
pub use http::{HttpClient, HttpConfig, RequestBudget};
#[cfg(feature = "http")]
pub use npm::{DEFAULT_MAX_PACKUMENT_BYTES, DEFAULT_REGISTRY, NpmRegistry};
#[cfg(feature = "http")]
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
