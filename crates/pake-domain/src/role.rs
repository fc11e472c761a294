//! Roles and the one permission table. Every authorization decision in PAKE goes through
//! [`Role::can`]; handlers never compare role names by hand.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::plan::Feature;
use crate::{Reason, ValidationError};

/// A user's role. `SuperAdmin` exists only in the platform tenant; the others live inside a tenant.
/// Roles are ordered: `Viewer < User < Manager < Admin < SuperAdmin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads search data; cannot search.
    Viewer,
    /// Searches; manages their own history and saved searches.
    User,
    /// A user who also reads the tenant, its users and its analytics.
    Manager,
    /// Manages the tenant and its users (roles up to admin).
    Admin,
    /// The platform operator: tenants, plans, system.
    SuperAdmin,
}

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create, list and delete tenants; change plans, status and limits.
    ManageTenants,
    /// Platform system status and metrics.
    ViewSystemStatus,
    /// Read one's own tenant.
    ReadTenant,
    /// Update one's own tenant's display name and settings.
    UpdateTenant,
    /// Read one's own tenant's analytics.
    ViewTenantAnalytics,
    /// Create, update, disable, unlock, reset and delete users.
    ManageUsers,
    /// List and read every user of the tenant (everyone may read themself).
    ListUsers,
    /// Run searches.
    Search,
    /// Read one's own search history and saved searches.
    ReadOwnSearches,
    /// Create, update, delete and run one's own saved searches.
    WriteOwnSearches,
    /// Read other users' public saved searches.
    ReadPublicSearches,
    /// Read every user's history and saved searches in the tenant.
    ReadAllSearches,
    /// Read the tenant's audit trail.
    ReadAuditLog,
    /// Export results (a search's, a saved search's last run, a collection's).
    ExportResults,
    /// Create collections and change one's own (managers and admins: any of the tenant's).
    WriteCollections,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Self; 15] = [
        Self::ManageTenants,
        Self::ViewSystemStatus,
        Self::ReadTenant,
        Self::UpdateTenant,
        Self::ViewTenantAnalytics,
        Self::ManageUsers,
        Self::ListUsers,
        Self::Search,
        Self::ReadOwnSearches,
        Self::WriteOwnSearches,
        Self::ReadPublicSearches,
        Self::ReadAllSearches,
        Self::ReadAuditLog,
        Self::ExportResults,
        Self::WriteCollections,
    ];

    /// The roles holding this permission: the permission table of the product brief.
    pub const fn roles(self) -> &'static [Role] {
        use Role::{Admin, Manager, SuperAdmin, User, Viewer};
        match self {
            Self::ManageTenants | Self::ViewSystemStatus => &[SuperAdmin],
            Self::ReadTenant | Self::ViewTenantAnalytics | Self::ListUsers => {
                &[SuperAdmin, Admin, Manager]
            }
            Self::UpdateTenant | Self::ManageUsers | Self::ReadAuditLog => &[SuperAdmin, Admin],
            Self::Search | Self::WriteOwnSearches | Self::WriteCollections => {
                &[Admin, Manager, User]
            }
            Self::ReadOwnSearches | Self::ReadPublicSearches | Self::ExportResults => {
                &[Admin, Manager, User, Viewer]
            }
            Self::ReadAllSearches => &[Admin, Manager],
        }
    }

    /// The plan feature a tenant needs before its users may use this permission. The super admin
    /// is not bound by tenant plans.
    pub const fn required_feature(self) -> Option<Feature> {
        match self {
            Self::ReadAuditLog => Some(Feature::AuditLogs),
            Self::Search => Some(Feature::Search),
            Self::ExportResults => Some(Feature::Export),
            _ => None,
        }
    }
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Self; 5] = [
        Self::Viewer,
        Self::User,
        Self::Manager,
        Self::Admin,
        Self::SuperAdmin,
    ];

    /// Whether this role holds `permission`.
    pub fn can(self, permission: Permission) -> bool {
        permission.roles().contains(&self)
    }

    /// Every permission this role holds (returned at login so clients can shape their UI).
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.can(*p))
            .collect()
    }

    /// Whether a caller with this role may give `target` to a user: they must manage users, and
    /// nobody grants a role above their own.
    pub fn can_assign(self, target: Self) -> bool {
        self.can(Permission::ManageUsers) && target <= self
    }

    /// Whether the role belongs inside a customer tenant (every role but `SuperAdmin`).
    pub const fn is_tenant_role(self) -> bool {
        !matches!(self, Self::SuperAdmin)
    }

    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::User => "user",
            Self::Manager => "manager",
            Self::Admin => "admin",
            Self::SuperAdmin => "super_admin",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`Reason::UnknownValue`] for any other text.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or(ValidationError::new("role", Reason::UnknownValue))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Permission::*;
    use super::Role::*;
    use super::*;

    /// The product brief's table, written out row by row, so a change to the code that does not
    /// match the contract fails here.
    #[test]
    fn permission_table_matches_the_product_brief() {
        let expect = |p: Permission, roles: &[Role]| {
            for role in Role::ALL {
                assert_eq!(role.can(p), roles.contains(&role), "{role:?} {p:?}");
            }
        };
        expect(ManageTenants, &[SuperAdmin]);
        expect(ViewSystemStatus, &[SuperAdmin]);
        expect(ReadTenant, &[SuperAdmin, Admin, Manager]);
        expect(UpdateTenant, &[SuperAdmin, Admin]);
        expect(ViewTenantAnalytics, &[SuperAdmin, Admin, Manager]);
        expect(ManageUsers, &[SuperAdmin, Admin]);
        expect(ListUsers, &[SuperAdmin, Admin, Manager]);
        expect(Search, &[Admin, Manager, User]);
        expect(ReadOwnSearches, &[Admin, Manager, User, Viewer]);
        expect(WriteOwnSearches, &[Admin, Manager, User]);
        expect(ReadPublicSearches, &[Admin, Manager, User, Viewer]);
        expect(ReadAllSearches, &[Admin, Manager]);
        expect(ReadAuditLog, &[SuperAdmin, Admin]);
        expect(ExportResults, &[Admin, Manager, User, Viewer]);
        expect(WriteCollections, &[Admin, Manager, User]);
    }

    #[test]
    fn nobody_grants_above_their_own_role() {
        for granter in Role::ALL {
            for target in Role::ALL {
                let allowed = granter.can_assign(target);
                if target > granter {
                    assert!(!allowed, "{granter:?} must not grant {target:?}");
                }
                if allowed {
                    assert!(granter.can(ManageUsers));
                }
            }
        }
        assert!(Admin.can_assign(Admin));
        assert!(!Admin.can_assign(SuperAdmin));
        assert!(!Manager.can_assign(Viewer), "managers do not manage users");
    }

    #[test]
    fn features_gate_permissions() {
        assert_eq!(ReadAuditLog.required_feature(), Some(Feature::AuditLogs));
        assert_eq!(ListUsers.required_feature(), None);
        assert_eq!(ExportResults.required_feature(), Some(Feature::Export));
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("root").is_err());
        assert!(!SuperAdmin.is_tenant_role() && Admin.is_tenant_role());
    }
}
