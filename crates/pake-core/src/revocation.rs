//! Ended sessions, in memory, so a revoked access token stops working at once without a database
//! round trip per request. An entry is kept for as long as an access token of that session could
//! still be valid (access-token lifetime plus leeway); after that the token has expired anyway.
//!
//! The store remains the source of truth (`sessions.revoked_at`): at start-up and on every sync
//! the list re-reads the sessions revoked within that horizon, which is also how revocations made
//! by other replicas arrive.

use std::collections::HashMap;
use std::sync::RwLock;

use pake_domain::SessionId;
use pake_ports::{RepoError, SessionRepository};
use time::{Duration, OffsetDateTime};

/// The list.
pub struct RevocationList {
    horizon: Duration,
    revoked: RwLock<HashMap<SessionId, OffsetDateTime>>,
}

impl RevocationList {
    /// A list that remembers a revocation for `horizon` (the longest an access token lives).
    pub fn new(horizon: Duration) -> Self {
        Self {
            horizon,
            revoked: RwLock::new(HashMap::new()),
        }
    }

    /// Whether the session was ended.
    pub fn is_revoked(&self, session: SessionId) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&session)
    }

    /// Records ended sessions.
    pub fn revoke(&self, sessions: impl IntoIterator<Item = SessionId>, now: OffsetDateTime) {
        let mut map = self
            .revoked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for s in sessions {
            map.insert(s, now + self.horizon);
        }
    }

    /// Adds the sessions the store says were revoked within the horizon, and forgets entries whose
    /// tokens have all expired.
    ///
    /// # Errors
    /// Store errors.
    pub async fn sync(
        &self,
        store: &dyn SessionRepository,
        now: OffsetDateTime,
    ) -> Result<(), RepoError> {
        let recent = store.list_revoked_since(now - self.horizon).await?;
        let mut map = self
            .revoked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, forget_at| *forget_at > now);
        for (_, s) in recent {
            map.entry(s).or_insert(now + self.horizon);
        }
        Ok(())
    }
}
