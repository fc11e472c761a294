//! PAKE's domain: the vocabulary every other crate speaks.
//!
//! Validated value types (ids, slugs, usernames, e-mail addresses, passwords), tenants and their
//! lifecycle, users, roles and the one permission table, plans with their limits and features, and the
//! records the repositories keep. This crate performs no I/O: it knows nothing of databases, HTTP,
//! caches or async runtimes (ARCHITECTURE.md, enforced by `xtask/tests/architecture.rs`).

pub mod audit;
pub mod collection;
pub mod error;
pub mod ids;
pub mod lockout;
pub mod page;
pub mod password;
pub mod plan;
pub mod role;
pub mod search;
pub mod session;
pub mod tenant;
pub mod text;
pub mod usage;
pub mod user;

pub use error::{Reason, ValidationError};
pub use ids::{
    AuditEventId, CollectionId, CollectionItemId, SavedSearchId, SearchId, SessionId, TenantId,
    UserId,
};
pub use lockout::{LockoutRule, LoginAdmission, LoginCounters, LoginSettlement};
pub use page::{Page, PageRequest};
pub use password::{Password, PasswordHash};
pub use plan::{Feature, LimitsOverride, Plan, PlanCatalog, PlanId, PlanLimits, PlanOverride};
pub use role::{Permission, Role};
pub use tenant::{Tenant, TenantDomain, TenantSlug, TenantStatus};
pub use user::{DisplayName, Email, User, UserStatus, Username};
