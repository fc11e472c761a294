//! Access tokens: issuing and verifying.

use pake_domain::{Role, SessionId, TenantId, UserId};
use time::OffsetDateTime;

/// The verified claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user (`sub`).
    pub user_id: UserId,
    /// The user's tenant (`tid`).
    pub tenant_id: TenantId,
    /// The role at issue time (`role`).
    pub role: Role,
    /// The session (`sid`).
    pub session_id: SessionId,
    /// Unique token id (`jti`).
    pub token_id: String,
    /// Issued at (`iat`).
    pub issued_at: OffsetDateTime,
    /// Expiry (`exp`).
    pub expires_at: OffsetDateTime,
    /// Set while a one-time password must be changed: the token serves only `/auth/me` and
    /// `/auth/password`.
    pub password_change_required: bool,
}

/// A freshly signed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Its claims.
    pub claims: AccessClaims,
}

/// Why a token was refused. Every variant becomes the same 401 for the client; the variants exist
/// for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a well-formed token.
    #[error("malformed token")]
    Malformed,
    /// Algorithm other than the one pinned, or `none`.
    #[error("algorithm not allowed")]
    Algorithm,
    /// Unknown `kid`.
    #[error("unknown key")]
    UnknownKey,
    /// Signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `exp` passed.
    #[error("expired")]
    Expired,
    /// `nbf` in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// Wrong `iss`, `aud` or `typ`, or a claim missing.
    #[error("invalid claims")]
    Claims,
    /// Signing failed.
    #[error("signing failed")]
    Signing,
}

/// Signs access tokens and publishes the verification keys.
pub trait TokenIssuer: Send + Sync {
    /// Signs a token for `claims` (their `issued_at`/`expires_at` are used as given).
    ///
    /// # Errors
    /// [`TokenError::Signing`] when the key cannot sign.
    fn issue(&self, claims: AccessClaims) -> Result<IssuedToken, TokenError>;

    /// The public keys as a JWK set (`{"keys":[…]}`).
    fn jwks(&self) -> serde_json::Value;
}

/// Verifies access tokens: signature, pinned algorithm, `kid`, `iss`, `aud`, `typ`, `exp`, `nbf`.
pub trait TokenVerifier: Send + Sync {
    /// The claims of a valid token.
    ///
    /// # Errors
    /// A [`TokenError`] naming the first check that failed.
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError>;
}
