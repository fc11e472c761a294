//! Login sessions and their refresh tokens.
//!
//! Each login opens a session; the session is the refresh-token family: every refresh rotates the
//! token inside it, and presenting a token that was already used revokes the whole session.

use std::fmt;

use time::OffsetDateTime;

use crate::{SessionId, TenantId, UserId};

/// A login session (one refresh-token family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its id (the `sid` claim of its access tokens).
    pub id: SessionId,
    /// Whose session.
    pub user_id: UserId,
    /// When the login happened.
    pub created_at: OffsetDateTime,
    /// Last refresh (or the login).
    pub last_used_at: OffsetDateTime,
    /// Absolute expiry: no refresh after this, however active the session.
    pub expires_at: OffsetDateTime,
    /// When it was ended, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Client address at login.
    pub ip: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
}

impl Session {
    /// Whether the session can still be used at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// The SHA-256 digest of a refresh token. Only digests are stored, never the tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(pub [u8; 32]);

impl fmt::Debug for RefreshTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshTokenHash(..)")
    }
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: it is now used, and the new token is current. Carries the session.
    Rotated(Session),
    /// The token had already been used: the session (the whole family) is now revoked.
    ReuseDetected(Session),
    /// Unknown token, or its session is revoked or expired.
    Invalid,
}
