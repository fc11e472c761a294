//! The error every service returns. Only the HTTP crate turns it into status codes.

use pake_domain::ValidationError;
use pake_ports::{Conflict, HashError, RepoError};

/// A use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Input failed validation.
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationError),
    /// The object does not exist in the caller's tenant.
    #[error("not found")]
    NotFound,
    /// A unique value is taken.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The store cannot be reached right now.
    #[error("service unavailable")]
    Unavailable(#[source] pake_ports::BoxError),
    /// A bug or corrupt data.
    #[error("internal error")]
    Internal(#[source] pake_ports::BoxError),
}

impl From<RepoError> for CoreError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::NotFound => Self::NotFound,
            RepoError::Conflict(c) => Self::Conflict(c),
            RepoError::Unavailable(e) => Self::Unavailable(e),
            RepoError::LimitReached => Self::Internal("unexpected limit".into()),
            RepoError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<HashError> for CoreError {
    fn from(err: HashError) -> Self {
        Self::Internal(Box::new(err))
    }
}
