//! The audit trail: who did what, where and when.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AuditEventId, Reason, TenantId, UserId, ValidationError};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A successful login.
    LoginSucceeded,
    /// A failed login.
    LoginFailed,
    /// An account locked after too many failures.
    AccountLocked,
    /// An account unlocked by an admin.
    AccountUnlocked,
    /// A logout (one session).
    Logout,
    /// A session ended by its user, an admin or a security event.
    SessionRevoked,
    /// A refresh token presented twice: its family was revoked.
    RefreshReuseDetected,
    /// A password changed by its owner.
    PasswordChanged,
    /// A password reset by an admin.
    PasswordReset,
    /// A user created.
    UserCreated,
    /// A user changed.
    UserUpdated,
    /// A user's role changed.
    RoleChanged,
    /// A user disabled.
    UserDisabled,
    /// A user deleted.
    UserDeleted,
    /// A tenant created.
    TenantCreated,
    /// A tenant changed.
    TenantUpdated,
    /// A tenant's status changed.
    TenantStatusChanged,
    /// A tenant deleted and purged.
    TenantDeleted,
    /// A super admin acting on a tenant through `X-Tenant-ID`.
    TenantImpersonated,
    /// A refused attempt to reach another tenant.
    CrossTenantDenied,
    /// A refused action (permission or plan).
    AccessDenied,
    /// The platform bootstrapped (first start).
    PlatformBootstrapped,
    /// The super admin listed tenants (a platform-wide read).
    TenantsListed,
    /// Results exported (a history entry, a saved search's last run or a collection).
    ResultsExported,
    /// A collection created.
    CollectionCreated,
    /// A collection changed (name, description, visibility).
    CollectionUpdated,
    /// A collection deleted with its items.
    CollectionDeleted,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [Self; 27] = [
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::AccountLocked,
        Self::AccountUnlocked,
        Self::Logout,
        Self::SessionRevoked,
        Self::RefreshReuseDetected,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::UserCreated,
        Self::UserUpdated,
        Self::RoleChanged,
        Self::UserDisabled,
        Self::UserDeleted,
        Self::TenantCreated,
        Self::TenantUpdated,
        Self::TenantStatusChanged,
        Self::TenantDeleted,
        Self::TenantImpersonated,
        Self::CrossTenantDenied,
        Self::AccessDenied,
        Self::PlatformBootstrapped,
        Self::TenantsListed,
        Self::ResultsExported,
        Self::CollectionCreated,
        Self::CollectionUpdated,
        Self::CollectionDeleted,
    ];

    /// The snake_case name, as stored and filtered on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::AccountLocked => "account_locked",
            Self::AccountUnlocked => "account_unlocked",
            Self::Logout => "logout",
            Self::SessionRevoked => "session_revoked",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::UserCreated => "user_created",
            Self::UserUpdated => "user_updated",
            Self::RoleChanged => "role_changed",
            Self::UserDisabled => "user_disabled",
            Self::UserDeleted => "user_deleted",
            Self::TenantCreated => "tenant_created",
            Self::TenantUpdated => "tenant_updated",
            Self::TenantStatusChanged => "tenant_status_changed",
            Self::TenantDeleted => "tenant_deleted",
            Self::TenantImpersonated => "tenant_impersonated",
            Self::CrossTenantDenied => "cross_tenant_denied",
            Self::AccessDenied => "access_denied",
            Self::PlatformBootstrapped => "platform_bootstrapped",
            Self::TenantsListed => "tenants_listed",
            Self::ResultsExported => "results_exported",
            Self::CollectionCreated => "collection_created",
            Self::CollectionUpdated => "collection_updated",
            Self::CollectionDeleted => "collection_deleted",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`Reason::UnknownValue`] for any other text.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or(ValidationError::new("type", Reason::UnknownValue))
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// The tenant it belongs to (the acted-on tenant).
    pub tenant_id: TenantId,
    /// Its id.
    pub id: AuditEventId,
    /// When it happened.
    pub at: OffsetDateTime,
    /// What happened.
    pub kind: AuditKind,
    /// Who did it, when known.
    pub actor_id: Option<UserId>,
    /// The actor's tenant when it differs (a super admin acting on a tenant).
    pub actor_tenant_id: Option<TenantId>,
    /// What it was done to (a user id, a session id, a tenant slug…).
    pub target: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
    /// Further facts (a JSON object; never secrets).
    pub details: serde_json::Value,
}

/// Which audit events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this kind.
    pub kind: Option<AuditKind>,
    /// Only events whose actor is this user.
    pub actor_id: Option<UserId>,
    /// Only events at or after this instant.
    pub since: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in AuditKind::ALL {
            assert_eq!(AuditKind::parse(k.as_str()), Ok(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert!(AuditKind::parse("nope").is_err());
    }
}
