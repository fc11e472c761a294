//! Request-rate limits of the plans: per tenant (the plan's requests per minute), per user within
//! it, and per client address on the unauthenticated endpoints (login, refresh) in front of the
//! account lockout. Checked before any database or upstream work.

use std::time::Duration;

use pake_ports::{CacheKey, Quota, RateDecision};

use crate::caller::Caller;
use crate::{CoreError, Deps};

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// The tenant's requests per minute.
    TenantRate,
    /// One user's share of it.
    UserRate,
    /// Logins and refreshes per client address.
    AddressRate,
}

/// Limit settings (plans give the tenant rate).
#[derive(Debug, Clone, Copy)]
pub struct LimitPolicy {
    /// A user may use this fraction of the tenant's requests per minute (at least 1).
    pub user_fraction: f64,
    /// Login and refresh attempts per client address per minute.
    pub address_per_minute: u32,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        Self {
            user_fraction: 0.5,
            address_per_minute: 30,
        }
    }
}

/// Admits or refuses requests by the limits.
#[derive(Clone)]
pub struct LimitService {
    deps: Deps,
}

/// The per-minute quota of `limit`.
fn per_minute(limit: u32) -> Quota {
    Quota {
        limit: limit.max(1),
        period: Duration::from_secs(60),
    }
}

impl LimitService {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    async fn check(
        &self,
        key: &CacheKey,
        quota: Quota,
        kind: LimitKind,
    ) -> Result<RateDecision, CoreError> {
        let decision = self
            .deps
            .limiter
            .check(key, quota, 1)
            .await
            .map_err(|e| CoreError::Unavailable(Box::new(e)))?;
        if decision.allowed {
            Ok(decision)
        } else {
            Err(CoreError::RateLimited(kind, decision))
        }
    }

    /// Counts one request of `caller` against its tenant's and its own rate; returns the tighter
    /// decision (for the `RateLimit-*` headers).
    ///
    /// # Errors
    /// [`CoreError::RateLimited`] naming the limit that refused.
    pub async fn admit(&self, caller: &Caller) -> Result<RateDecision, CoreError> {
        let entry = self
            .deps
            .directory
            .get(caller.tenant_id)
            .ok_or(CoreError::Unauthorized)?;
        let rpm = self
            .deps
            .plans
            .effective(entry.plan, &entry.limits)
            .limits
            .requests_per_minute;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let user_rpm =
            ((f64::from(rpm) * self.deps.limit_policy.user_fraction).ceil() as u32).max(1);
        let tenant_key = CacheKey::tenant(caller.tenant_id, "rl", "tenant");
        let user_key = CacheKey::tenant(caller.tenant_id, "rl", format!("user:{}", caller.user_id));
        let user = self
            .check(&user_key, per_minute(user_rpm), LimitKind::UserRate)
            .await?;
        let tenant = self
            .check(&tenant_key, per_minute(rpm), LimitKind::TenantRate)
            .await?;
        Ok(if user.remaining < tenant.remaining {
            user
        } else {
            tenant
        })
    }

    /// Counts one login or refresh attempt from `address`.
    ///
    /// # Errors
    /// [`CoreError::RateLimited`] with [`LimitKind::AddressRate`].
    pub async fn admit_address(&self, address: &str) -> Result<RateDecision, CoreError> {
        let key = CacheKey::global("ratelimit", format!("auth:{address}"));
        self.check(
            &key,
            per_minute(self.deps.limit_policy.address_per_minute),
            LimitKind::AddressRate,
        )
        .await
    }
}
