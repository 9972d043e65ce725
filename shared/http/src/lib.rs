//! The HTTP adapters: the core's ports implemented over one bounded `reqwest` client
//! ([`HttpClient`]: timeouts, retries, `Retry-After`, same-origin redirects, body caps, one
//! request budget and one byte budget per process). The npm registry ([`NpmRegistry`]), its
//! changes feed ([`NpmChanges`]), a Python package index ([`PypiIndex`]), GitHub's Actions
//! API ([`GithubRuns`]), the webhook ([`Webhook`]) and the dashboard's sign-in at a Cognito
//! user pool ([`CognitoSignIn`]).
//!
//! Every answer is hostile until parsed: nothing here trusts a length, a redirect or a URL
//! the remote side chose.

pub mod bytes;
pub mod cognito;
pub mod github;
pub mod http;
pub mod npm;
pub mod pypi;
pub mod registries;
pub mod webhook;

pub use bytes::{ByteBudget, DEFAULT_BYTES_IN_FLIGHT};
pub use cognito::{CognitoConfig, CognitoSignIn};
pub use github::{DEFAULT_GITHUB_API, GithubRuns};
pub use http::{HttpClient, HttpConfig, RequestBudget};
pub use npm::{
    DEFAULT_CHANGES_FEED, DEFAULT_MAX_PACKUMENT_BYTES, DEFAULT_REGISTRY, NpmChanges, NpmRegistry,
};
pub use pypi::{DEFAULT_INDEX, DEFAULT_MAX_PAGE_BYTES, PypiIndex, PypiUpdates};
pub use registries::{Feed, Registries};
pub use webhook::Webhook;
