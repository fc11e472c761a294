//! The error every service returns. Only the HTTP crate turns it into status codes.

use pake_domain::{Feature, ValidationError};
use pake_ports::{Conflict, HashError, RepoError, TokenError};

/// A use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Input failed validation.
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationError),
    /// No valid credentials (missing, expired or revoked token).
    #[error("unauthorized")]
    Unauthorized,
    /// A login failed. Every cause (unknown tenant or user, wrong password, disabled, locked) gives
    /// this same error.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Authenticated, but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The token belongs to a one-time password that must be changed first.
    #[error("password change required")]
    PasswordChangeRequired,
    /// A plan limit is reached (for example `max_users`).
    #[error("plan limit reached: {0}")]
    PlanLimitReached(&'static str),
    /// A rate limit refused the request.
    #[error("rate limited: {0:?}")]
    RateLimited(crate::limits::LimitKind, pake_ports::RateDecision),
    /// The tenant's plan lacks a feature.
    #[error("feature not in plan: {0:?}")]
    FeatureNotInPlan(Feature),
    /// The object does not exist in the caller's tenant.
    #[error("not found")]
    NotFound,
    /// A unique value is taken.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The object is not in a state that allows this (for example a forbidden status change).
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
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
            RepoError::LimitReached => Self::PlanLimitReached("limit reached"),
            RepoError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<HashError> for CoreError {
    fn from(err: HashError) -> Self {
        Self::Internal(Box::new(err))
    }
}

impl From<TokenError> for CoreError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Signing => Self::Internal(Box::new(err)),
            _ => Self::Unauthorized,
        }
    }
}
