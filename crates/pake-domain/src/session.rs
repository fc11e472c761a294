//! Login sessions and their refresh tokens.
//!
//! Each login opens a session; the session is the refresh-token family: every refresh rotates the
//! token inside it, and presenting a token that was already used revokes the whole session.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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

/// The opaque refresh token a client holds: its tenant's id and 32 random bytes, base64url. The
/// tenant prefix lets a refresh be routed to its tenant's rows; the random part is the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    tenant_id: TenantId,
    raw: Vec<u8>,
}

impl RefreshToken {
    /// A token of `tenant` with `secret` (from a secure random source).
    pub fn new(tenant: TenantId, secret: [u8; 32]) -> Self {
        let mut raw = tenant.as_uuid().as_bytes().to_vec();
        raw.extend_from_slice(&secret);
        Self {
            tenant_id: tenant,
            raw,
        }
    }

    /// Parses a client's token; `None` for anything malformed.
    pub fn parse(text: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        if raw.len() != 48 {
            return None;
        }
        let uuid = uuid::Uuid::from_slice(&raw[..16]).ok()?;
        Some(Self {
            tenant_id: TenantId::from_uuid(uuid),
            raw,
        })
    }

    /// The tenant it belongs to.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// The bytes to digest for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The text the client receives.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.raw)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefreshToken({}, <redacted>)", self.tenant_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_round_trip_and_reject_garbage() {
        let t = TenantId::new();
        let token = RefreshToken::new(t, [7; 32]);
        let text = token.encode();
        assert_eq!(text.len(), 64);
        let parsed = RefreshToken::parse(&text).unwrap();
        assert_eq!(parsed.tenant_id(), t);
        assert_eq!(parsed, token);
        assert!(RefreshToken::parse("short").is_none());
        assert!(RefreshToken::parse(&"A".repeat(64)).is_some_and(|p| p.tenant_id() != t));
        assert!(!format!("{token:?}").contains(&text));
    }
}
