//! Errors every repository returns.

/// A boxed error from a driver, kept as the source of a port error for logs; never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a unique key collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The object's id already exists.
    Id,
    /// A tenant with this slug exists.
    TenantSlug,
    /// A user with this username exists in the tenant.
    Username,
    /// A user with this e-mail address exists in the tenant.
    Email,
    /// A saved search with this name exists for the owner.
    SavedSearchName,
}

/// A repository failure.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The object does not exist in the caller's tenant (whether or not it exists elsewhere).
    #[error("not found")]
    NotFound,
    /// A unique key is taken.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// A limit the write was bound by (for example a plan's `max_users`) is reached.
    #[error("limit reached")]
    LimitReached,
    /// The store cannot be reached or is overloaded right now (pool timeout, connection refused);
    /// the request may succeed later.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug or corrupt data.
    #[error("store error")]
    Internal(#[source] BoxError),
}

impl RepoError {
    /// Wraps any error as [`RepoError::Internal`].
    pub fn internal(err: impl Into<BoxError>) -> Self {
        Self::Internal(err.into())
    }

    /// A stored value that no longer passes domain validation: corrupt data.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "used as `map_err(RepoError::corrupt)`"
    )]
    pub fn corrupt(err: pake_domain::ValidationError) -> Self {
        Self::internal(format!("stored value fails validation: {err}"))
    }

    /// Wraps any error as [`RepoError::Unavailable`].
    pub fn unavailable(err: impl Into<BoxError>) -> Self {
        Self::Unavailable(err.into())
    }
}
