//! What the use-cases return when they could not decide.

use crate::domain::{ArtifactError, ArtifactSource};
use crate::ports::{RemoteError, StoreError};

/// Why the monitor could not do something. Every variant means "could not decide": the
/// work stays due, never recorded as a verdict.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A watched artifact whose stored name or policy no longer checks out (data written
    /// by hand, or by an older version with looser checks): retrying does not help.
    #[error("{key}: {source}")]
    BadArtifact {
        key: String,
        #[source]
        source: ArtifactError,
    },
    /// The registry answered with something that is not the artifact's document (not a
    /// document, another artifact's, a 304 to an unconditional read).
    #[error("{key}: {reason}")]
    BadDocument { key: String, reason: String },
    /// The artifact is not (or no longer) watched.
    #[error("{0} is not watched")]
    NotWatched(String),
    /// The artifact is declared elsewhere, and the requester may not change or remove it
    /// ([`crate::domain::ArtifactSource::yields_to`]).
    #[error("{key} is declared {}: change it there", owner.describe())]
    Owned { key: String, owner: ArtifactSource },
    /// The artifact is watched already (adding it again is refused).
    #[error("{0} is already watched")]
    Exists(String),
}

impl MonitorError {
    /// Whether the same work can succeed later (a Lambda reports it as a retryable
    /// failure, the API as 503); `false` for bad input and corrupt data.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Remote(_) => true,
            Self::Store(e) => e.retryable(),
            Self::BadArtifact { .. }
            | Self::BadDocument { .. }
            | Self::NotWatched(_)
            | Self::Owned { .. }
            | Self::Exists(_) => false,
        }
    }
}
