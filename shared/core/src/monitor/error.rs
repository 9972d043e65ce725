//! What the use-cases return when they could not decide.

use crate::ports::{RemoteError, StoreError};

/// Why the monitor could not do something. Every variant means "could not decide": the
/// work stays due, never recorded as a verdict.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad input (an artifact or document that cannot be used): retrying does not help.
    #[error("{0}")]
    Invalid(String),
}

impl MonitorError {
    /// Whether the same work can succeed later (a Lambda reports it as a retryable
    /// failure, the API as 503); `false` for bad input and corrupt data.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Remote(_) => true,
            Self::Store(e) => e.retryable(),
            Self::Invalid(_) => false,
        }
    }
}
