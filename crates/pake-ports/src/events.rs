//! Identity events that other replicas must hear about at once.

use async_trait::async_trait;
use pake_domain::{SessionId, TenantId};

/// A change that every replica's in-memory identity state must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityEvent {
    /// These sessions ended: their access tokens must stop working everywhere.
    SessionsRevoked(Vec<SessionId>),
    /// This tenant changed (status, plan, limits) or was deleted: re-read it.
    TenantChanged(TenantId),
}

/// Broadcasts identity events to the other replicas. The publishing replica has already applied
/// the event itself; the store stays the source of truth (replicas also re-sync periodically).
#[async_trait]
pub trait IdentityEvents: Send + Sync {
    /// Sends `event` to every other replica, best effort.
    ///
    /// # Errors
    /// [`crate::CacheError::Unavailable`] when the bus cannot be reached.
    async fn publish(&self, event: &IdentityEvent) -> Result<(), crate::CacheError>;
}

/// The bus of a single replica: there is nobody else to tell.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalEvents;

#[async_trait]
impl IdentityEvents for LocalEvents {
    async fn publish(&self, _event: &IdentityEvent) -> Result<(), crate::CacheError> {
        Ok(())
    }
}

/// A dependency that can be asked whether it answers (readiness).
#[async_trait]
pub trait Probe: Send + Sync {
    /// A cheap round trip.
    ///
    /// # Errors
    /// A description of why it does not answer.
    async fn probe(&self) -> Result<(), String>;
}
