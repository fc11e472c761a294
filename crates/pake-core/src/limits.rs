//! The plans' limits: request rates per tenant (the plan's requests per minute), per user within
//! it, and per client address on the unauthenticated endpoints (login, refresh) in front of the
//! account lockout; the tenant's daily API-call quota; and its concurrent searches. Checked before
//! any database or upstream work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pake_domain::usage::UsageMetric;
use pake_domain::{PlanId, TenantId};
use pake_ports::{CacheKey, ConcurrencyLimiter, Quota, RateDecision, UsageRepository};
use time::{Date, OffsetDateTime};

use crate::caller::Caller;
use crate::util::{hex, lock};
use crate::{Access, CoreError, Counters, Environment};

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// The tenant's requests per minute.
    TenantRate,
    /// One user's share of it.
    UserRate,
    /// Logins and refreshes per client address.
    AddressRate,
    /// The tenant's API calls per UTC day.
    DailyQuota,
    /// The tenant's searches running at once.
    ConcurrentSearches,
}

impl LimitKind {
    /// The snake_case name (for metrics).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TenantRate => "tenant_rate",
            Self::UserRate => "user_rate",
            Self::AddressRate => "address_rate",
            Self::DailyQuota => "daily_quota",
            Self::ConcurrentSearches => "concurrent_searches",
        }
    }
}

/// Limit settings (plans give the tenant rate).
#[derive(Debug, Clone, Copy)]
pub struct LimitPolicy {
    /// A user may use this fraction of the tenant's requests per minute (at least 1).
    pub user_fraction: f64,
    /// Login and refresh attempts per client address per minute.
    pub address_per_minute: u32,
    /// How long a search's concurrency slot lives unless renewed (the running search renews it
    /// every third of this), so a replica that dies mid-search frees its slots within this.
    pub search_lease: Duration,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        Self {
            user_fraction: 0.5,
            address_per_minute: 30,
            search_lease: Duration::from_secs(30),
        }
    }
}

/// How many requests a limit refused, by the acting tenant's plan (`None`: no tenant, as for the
/// address limit) and the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusals {
    /// The plan.
    pub plan: Option<PlanId>,
    /// The limit.
    pub kind: LimitKind,
    /// Refused requests since the process started.
    pub count: u64,
}

/// A tenant's API calls today against its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyUsage {
    /// Calls counted today (UTC).
    pub used: u64,
    /// The plan's calls per day.
    pub limit: u64,
}

/// Admits or refuses requests by the limits.
#[derive(Clone)]
pub struct LimitService {
    usage: Arc<dyn UsageRepository>,
    env: Environment,
    access: Access,
    counters: Counters,
    /// Calls counted in this process and not yet written to the store, by tenant and day.
    pending: Arc<Mutex<HashMap<(TenantId, Date), u64>>>,
    /// What the store held for a tenant's day when this process first counted it (where a
    /// shared counter that does not exist yet starts: after a restart or a Redis flush).
    recorded: moka::sync::Cache<(TenantId, Date), u64>,
    refusals: Arc<Mutex<RefusalCounts>>,
}

type RefusalCounts = HashMap<(Option<PlanId>, LimitKind), u64>;

/// The quota key of a tenant's day.
fn quota_key(tenant: TenantId, day: Date) -> CacheKey {
    CacheKey::tenant(tenant, "quota", format!("api:{day}"))
}

/// Time from `now` to the next UTC midnight.
fn until_midnight(now: OffsetDateTime) -> Duration {
    let next = now
        .date()
        .next_day()
        .map_or(now, |d| d.midnight().assume_utc());
    Duration::try_from(next - now).unwrap_or(Duration::ZERO)
}

/// The per-minute quota of `limit`.
fn per_minute(limit: u32) -> Quota {
    Quota {
        limit: limit.max(1),
        period: Duration::from_secs(60),
    }
}

impl LimitService {
    pub(crate) fn new(
        usage: Arc<dyn UsageRepository>,
        env: Environment,
        access: Access,
        counters: Counters,
    ) -> Self {
        Self {
            usage,
            env,
            access,
            counters,
            pending: Arc::default(),
            recorded: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(25 * 3600))
                .build(),
            refusals: Arc::default(),
        }
    }

    fn refused(&self, plan: Option<PlanId>, kind: LimitKind) {
        *lock(&self.refusals).entry((plan, kind)).or_default() += 1;
        tracing::debug!(kind = kind.as_str(), "request refused by a limit");
    }

    /// Refused requests by plan and limit since the process started (for metrics).
    pub fn refusals(&self) -> Vec<Refusals> {
        let mut all: Vec<Refusals> = lock(&self.refusals)
            .iter()
            .map(|(&(plan, kind), &count)| Refusals { plan, kind, count })
            .collect();
        all.sort_by_key(|r| (r.plan.map(PlanId::as_str), r.kind.as_str()));
        all
    }

    async fn check(
        &self,
        key: &CacheKey,
        quota: Quota,
        kind: LimitKind,
        plan: Option<PlanId>,
    ) -> Result<RateDecision, CoreError> {
        let decision = self
            .counters
            .limiter
            .check(key, quota, 1)
            .await
            .map_err(|e| CoreError::Unavailable(Box::new(e)))?;
        if decision.allowed {
            Ok(decision)
        } else {
            self.refused(plan, kind);
            Err(CoreError::RateLimited(kind, decision))
        }
    }

    /// Counts one request of `caller` against its own rate, its tenant's rate and its tenant's
    /// daily quota (a request one of them refuses is not counted by the quota); returns the
    /// tightest decision (for the `RateLimit-*` headers).
    ///
    /// # Errors
    /// [`CoreError::RateLimited`] naming the limit that refused.
    pub async fn admit(&self, caller: &Caller) -> Result<RateDecision, CoreError> {
        let entry = self
            .access
            .directory
            .get(caller.tenant_id)
            .ok_or(CoreError::Unauthorized)?;
        let plan = Some(entry.plan);
        let limits = self
            .access
            .plans
            .effective(entry.plan, &entry.limits)
            .limits;
        let rpm = limits.requests_per_minute;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive per-minute rate times a fraction in (0, 1], rounded up: fits u32"
        )]
        let user_rpm = ((f64::from(rpm) * self.counters.policy.user_fraction).ceil() as u32).max(1);
        let tenant_key = CacheKey::tenant(caller.tenant_id, "rl", "tenant");
        let user_key = CacheKey::tenant(caller.tenant_id, "rl", format!("user:{}", caller.user_id));
        let user = self
            .check(&user_key, per_minute(user_rpm), LimitKind::UserRate, plan)
            .await?;
        let tenant = self
            .check(&tenant_key, per_minute(rpm), LimitKind::TenantRate, plan)
            .await?;
        let daily = self
            .count_call(caller.tenant_id, limits.max_api_calls_per_day, plan)
            .await?;
        Ok([user, tenant, daily]
            .into_iter()
            .min_by_key(|d| d.remaining)
            .unwrap_or(tenant))
    }

    /// Counts one API call against the tenant's quota of the day.
    async fn count_call(
        &self,
        tenant: TenantId,
        limit: u64,
        plan: Option<PlanId>,
    ) -> Result<RateDecision, CoreError> {
        let now = self.env.clock.now();
        let day = now.date();
        let start = self.recorded_calls(tenant, day).await?;
        let left = until_midnight(now);
        let taken = self
            .counters
            .quotas
            .take(
                &quota_key(tenant, day),
                limit,
                1,
                start,
                left + Duration::from_secs(3600),
            )
            .await
            .map_err(|e| CoreError::Unavailable(Box::new(e)))?;
        let decision = RateDecision {
            allowed: taken.granted == 1,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            remaining: u32::try_from(limit.saturating_sub(taken.used)).unwrap_or(u32::MAX),
            reset_after: left,
            retry_after: (taken.granted == 0).then_some(left),
        };
        if !decision.allowed {
            self.refused(plan, LimitKind::DailyQuota);
            return Err(CoreError::RateLimited(LimitKind::DailyQuota, decision));
        }
        *lock(&self.pending).entry((tenant, day)).or_default() += 1;
        Ok(decision)
    }

    /// What the store recorded for the tenant's day when this process first needed it.
    async fn recorded_calls(&self, tenant: TenantId, day: Date) -> Result<u64, CoreError> {
        if let Some(n) = self.recorded.get(&(tenant, day)) {
            return Ok(n);
        }
        let n = self.usage.get(tenant, day, UsageMetric::ApiCalls).await?;
        self.recorded.insert((tenant, day), n);
        Ok(n)
    }

    /// Writes the calls counted in this process to the store (run periodically and at shutdown:
    /// one write per tenant and day, not one per request). Counts that cannot be written are
    /// kept for the next flush.
    ///
    /// # Errors
    /// Store errors (what was not written stays pending).
    pub async fn flush_usage(&self) -> Result<(), CoreError> {
        let pending: Vec<((TenantId, Date), u64)> = lock(&self.pending).drain().collect();
        let mut failed = None;
        for ((tenant, day), n) in pending {
            if failed.is_some() {
                *lock(&self.pending).entry((tenant, day)).or_default() += n;
                continue;
            }
            match self
                .usage
                .increment(tenant, day, UsageMetric::ApiCalls, n)
                .await
            {
                Ok(_) | Err(pake_ports::RepoError::NotFound) => {}
                Err(e) => {
                    *lock(&self.pending).entry((tenant, day)).or_default() += n;
                    failed = Some(e);
                }
            }
        }
        failed.map_or(Ok(()), |e| Err(e.into()))
    }

    /// The tenant's API calls today (UTC) and its plan's limit: the shared counter when it
    /// exists, else what the store recorded plus what this process has not written yet.
    ///
    /// # Errors
    /// Store errors.
    pub async fn calls_today(&self, tenant: TenantId) -> Result<DailyUsage, CoreError> {
        let day = self.env.clock.now().date();
        let limit = self.access.directory.get(tenant).map_or(0, |e| {
            self.access
                .plans
                .effective(e.plan, &e.limits)
                .limits
                .max_api_calls_per_day
        });
        let shared = self
            .counters
            .quotas
            .current(&quota_key(tenant, day))
            .await
            .ok()
            .flatten();
        let used = if let Some(n) = shared {
            n
        } else {
            let stored = self.usage.get(tenant, day, UsageMetric::ApiCalls).await?;
            stored
                + lock(&self.pending)
                    .get(&(tenant, day))
                    .copied()
                    .unwrap_or(0)
        };
        Ok(DailyUsage { used, limit })
    }

    /// Takes one of the tenant's concurrent-search slots for the duration of a search. The slot
    /// is a lease renewed while the returned guard lives and released when it drops; if this
    /// process dies, the lease expires by itself.
    ///
    /// # Errors
    /// [`CoreError::RateLimited`] with [`LimitKind::ConcurrentSearches`] when every slot is held.
    pub async fn search_slot(&self, caller: &Caller) -> Result<SearchSlot, CoreError> {
        let entry = self
            .access
            .directory
            .get(caller.tenant_id)
            .ok_or(CoreError::Unauthorized)?;
        let limit = self
            .access
            .plans
            .effective(entry.plan, &entry.limits)
            .limits
            .max_concurrent_searches;
        let key = CacheKey::tenant(caller.tenant_id, "slots", "search");
        let holder = hex(&self.env.secrets.token_bytes()[..12]);
        let ttl = self.counters.policy.search_lease;
        let taken = self
            .counters
            .slots
            .acquire(&key, &holder, limit, ttl)
            .await
            .map_err(|e| CoreError::Unavailable(Box::new(e)))?;
        if !taken {
            self.refused(Some(entry.plan), LimitKind::ConcurrentSearches);
            let second = Duration::from_secs(1);
            return Err(CoreError::RateLimited(
                LimitKind::ConcurrentSearches,
                RateDecision {
                    allowed: false,
                    limit,
                    remaining: 0,
                    reset_after: second,
                    retry_after: Some(second),
                },
            ));
        }
        Ok(SearchSlot::hold(
            Arc::clone(&self.counters.slots),
            key,
            holder,
            ttl,
        ))
    }

    /// Counts one login or refresh attempt from `address`.
    ///
    /// # Errors
    /// [`CoreError::RateLimited`] with [`LimitKind::AddressRate`].
    pub async fn admit_address(&self, address: &str) -> Result<RateDecision, CoreError> {
        let key = CacheKey::global("ratelimit", format!("auth:{address}"));
        self.check(
            &key,
            per_minute(self.counters.policy.address_per_minute),
            LimitKind::AddressRate,
            None,
        )
        .await
    }
}

/// A held concurrent-search slot: renewed in the background while it lives, released on drop.
pub struct SearchSlot {
    slots: Arc<dyn ConcurrencyLimiter>,
    key: CacheKey,
    holder: String,
    renewal: tokio::task::JoinHandle<()>,
}

impl SearchSlot {
    fn hold(
        slots: Arc<dyn ConcurrencyLimiter>,
        key: CacheKey,
        holder: String,
        ttl: Duration,
    ) -> Self {
        let renewal = {
            let (slots, key, holder) = (Arc::clone(&slots), key.clone(), holder.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    if let Err(e) = slots.renew(&key, &holder, ttl).await {
                        tracing::warn!(error = %e, "search slot not renewed");
                    }
                }
            })
        };
        Self {
            slots,
            key,
            holder,
            renewal,
        }
    }
}

impl Drop for SearchSlot {
    fn drop(&mut self) {
        self.renewal.abort();
        let (slots, key, holder) = (
            Arc::clone(&self.slots),
            self.key.clone(),
            std::mem::take(&mut self.holder),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = slots.release(&key, &holder).await {
                    tracing::warn!(error = %e, "search slot not released; its lease will expire");
                }
            });
        }
    }
}
