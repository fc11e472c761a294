//! Local leases: a replica takes a batch of units from the shared limiter in one Redis round trip
//! and spends them in process, so a busy key costs one round trip per batch instead of one per
//! request.
//!
//! Batches follow demand: a key starts at one unit per round trip, doubles while its batches run
//! out before they expire, falls back to what was actually used when they do not, and never
//! takes more than an eighth of what the shared bucket has left (so near a limit every replica
//! goes back to one unit per round trip, and the limit stays exact). Units a replica leased but
//! did not use within the lease's lifetime are given back (at the key's next refill, or by the
//! periodic sweep), so until then a lease can only make a shared limit stricter, never looser.
//! One refill per key is in flight per replica; requests of that key wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pake_ports::{CacheKey, LimitError, Quota, QuotaCounter, QuotaTake, RateDecision, RateLimiter};

/// How large and how long-lived leases may be.
#[derive(Debug, Clone, Copy)]
pub struct LeasePolicy {
    /// The largest batch (1 = no leasing: every request asks the shared limiter).
    pub max: u32,
    /// How long leased units may be spent.
    pub ttl: Duration,
}

/// The next batch after a lease of `size` units with `leftover` unused, `early` when it ran out
/// before it expired.
fn next_size(size: u64, leftover: u64, early: bool, remaining: u64, max: u64) -> u64 {
    let demand = if early {
        size.saturating_mul(2)
    } else {
        size - leftover.min(size)
    };
    demand.min(remaining / 8).min(max).max(1)
}

/// One key's lease.
struct Lease<S> {
    /// Its key (once refilled).
    key: Option<CacheKey>,
    /// Units left to spend.
    tokens: u64,
    /// The batch last taken.
    size: u64,
    expires: Option<Instant>,
    /// What the shared limiter said at the last refill, and when.
    state: Option<(S, Instant)>,
}

impl<S> Lease<S> {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_some_and(|e| now < e)
    }
}

/// A key's lease behind a plain mutex (spending never waits on I/O), and the async lock that lets
/// one refill per key be in flight.
struct Entry<S> {
    lease: Mutex<Lease<S>>,
    refill: tokio::sync::Mutex<()>,
}

impl<S> Default for Entry<S> {
    fn default() -> Self {
        Self {
            lease: Mutex::new(Lease {
                key: None,
                tokens: 0,
                size: 0,
                expires: None,
                state: None,
            }),
            refill: tokio::sync::Mutex::new(()),
        }
    }
}

impl<S> Entry<S> {
    fn lease(&self) -> std::sync::MutexGuard<'_, Lease<S>> {
        crate::lock(&self.lease)
    }

    /// Takes the tokens of an expired lease out, with its key and state, for giving back.
    fn expired_leftover(&self, now: Instant) -> Option<(CacheKey, u64, S)>
    where
        S: Copy,
    {
        let mut lease = self.lease();
        if lease.tokens == 0 || lease.live(now) {
            return None;
        }
        let key = lease.key.clone()?;
        let (state, _) = lease.state?;
        let tokens = std::mem::take(&mut lease.tokens);
        Some((key, tokens, state))
    }
}

type Slots<S> = Mutex<HashMap<String, Arc<Entry<S>>>>;

fn slot<S>(slots: &Slots<S>, key: &CacheKey) -> Arc<Entry<S>> {
    let mut map = crate::lock(slots);
    if map.len() > 10_000 {
        let now = Instant::now();
        map.retain(|_, e| {
            let lease = e.lease();
            Arc::strong_count(e) > 1 || lease.live(now) || lease.tokens > 0
        });
    }
    Arc::clone(map.entry(key.to_string()).or_default())
}

fn all<S>(slots: &Slots<S>) -> Vec<Arc<Entry<S>>> {
    crate::lock(slots).values().map(Arc::clone).collect()
}

/// A rate limiter spending leased tokens of an inner (shared) one.
pub struct LeasedRateLimiter<L> {
    inner: L,
    policy: LeasePolicy,
    leases: Slots<(Quota, RateDecision)>,
}

impl<L: RateLimiter> LeasedRateLimiter<L> {
    /// Leases on `inner` by `policy`.
    pub fn new(inner: L, policy: LeasePolicy) -> Self {
        Self {
            inner,
            policy,
            leases: Mutex::default(),
        }
    }

    /// Refunds the tokens of every expired lease (run periodically, so a key that went quiet
    /// does not keep tokens taken that were never used).
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the shared limiter cannot be reached.
    pub async fn sweep(&self) -> Result<(), LimitError> {
        let now = Instant::now();
        for entry in all(&self.leases) {
            let Ok(_refill) = entry.refill.try_lock() else {
                continue;
            };
            if let Some((key, tokens, (quota, _))) = entry.expired_leftover(now) {
                let units = u32::try_from(tokens).unwrap_or(u32::MAX);
                self.inner.refund(&key, quota, units).await?;
            }
        }
        Ok(())
    }
}

/// What a request spent from a lease is told: the shared state at the last refill, with the
/// lease's unspent tokens counted as remaining.
fn local_decision(last: RateDecision, at: Instant, tokens: u64, now: Instant) -> RateDecision {
    RateDecision {
        allowed: true,
        limit: last.limit,
        remaining: last
            .remaining
            .saturating_add(u32::try_from(tokens).unwrap_or(u32::MAX)),
        reset_after: last.reset_after.saturating_sub(now - at),
        retry_after: None,
    }
}

/// Spends `cost` from a live lease taken under `quota`, if it has that much.
fn spend_rate(
    entry: &Entry<(Quota, RateDecision)>,
    quota: Quota,
    cost: u64,
) -> Option<RateDecision> {
    let now = Instant::now();
    let mut lease = entry.lease();
    let ((q, last), at) = lease.state?;
    if q != quota || !lease.live(now) || lease.tokens < cost {
        return None;
    }
    lease.tokens -= cost;
    Some(local_decision(last, at, lease.tokens, now))
}

#[async_trait]
impl<L: RateLimiter> RateLimiter for LeasedRateLimiter<L> {
    async fn check(
        &self,
        key: &CacheKey,
        quota: Quota,
        cost: u32,
    ) -> Result<RateDecision, LimitError> {
        if self.policy.max <= 1 {
            return self.inner.check(key, quota, cost).await;
        }
        let cost64 = u64::from(cost);
        let entry = slot(&self.leases, key);
        if let Some(decision) = spend_rate(&entry, quota, cost64) {
            return Ok(decision);
        }
        let _refill = entry.refill.lock().await;
        // another request may have refilled while this one waited
        if let Some(decision) = spend_rate(&entry, quota, cost64) {
            return Ok(decision);
        }
        let now = Instant::now();
        let (leftover, size) = {
            let mut lease = entry.lease();
            let leftover = std::mem::take(&mut lease.tokens);
            let size = match lease.state {
                Some(((q, d), _)) if q == quota => next_size(
                    lease.size,
                    leftover,
                    lease.live(now),
                    u64::from(d.remaining),
                    u64::from(self.policy.max),
                ),
                _ => 1,
            };
            let old = lease.state.map(|((q, _), _)| q);
            (old.filter(|_| leftover > 0).map(|q| (q, leftover)), size)
        };
        if let Some((old_quota, units)) = leftover {
            let units = u32::try_from(units).unwrap_or(u32::MAX);
            self.inner.refund(key, old_quota, units).await?;
        }
        let size = size.max(cost64);
        let batch = u32::try_from(size).unwrap_or(u32::MAX);
        let mut decision = self.inner.check(key, quota, batch).await?;
        let mut taken = size;
        if !decision.allowed && size > cost64 {
            decision = self.inner.check(key, quota, cost).await?;
            taken = cost64;
        }
        let mut lease = entry.lease();
        lease.key = Some(key.clone());
        lease.size = taken;
        lease.state = Some(((quota, decision), now));
        if decision.allowed {
            lease.tokens = taken - cost64;
            lease.expires = Some(now + self.policy.ttl);
            return Ok(local_decision(decision, now, lease.tokens, now));
        }
        lease.expires = None;
        Ok(decision)
    }

    async fn refund(&self, key: &CacheKey, quota: Quota, units: u32) -> Result<(), LimitError> {
        self.inner.refund(key, quota, units).await
    }
}

/// The shared count at the last refill, and the limit it was taken under.
#[derive(Debug, Clone, Copy, Default)]
struct Counted {
    used: u64,
    limit: u64,
}

/// A quota counter spending leased units of an inner (shared) one; unused units go back.
pub struct LeasedQuota<Q> {
    inner: Q,
    policy: LeasePolicy,
    leases: Slots<Counted>,
}

impl<Q: QuotaCounter> LeasedQuota<Q> {
    /// Leases on `inner` by `policy`.
    pub fn new(inner: Q, policy: LeasePolicy) -> Self {
        Self {
            inner,
            policy,
            leases: Mutex::default(),
        }
    }

    /// Gives back the units of every expired lease (run periodically, so a key that went quiet
    /// does not keep units counted that were never used).
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the shared counter cannot be reached.
    pub async fn sweep(&self) -> Result<(), LimitError> {
        let now = Instant::now();
        for entry in all(&self.leases) {
            let Ok(_refill) = entry.refill.try_lock() else {
                continue;
            };
            if let Some((key, tokens, _)) = entry.expired_leftover(now) {
                self.inner.give_back(&key, tokens).await?;
            }
        }
        Ok(())
    }
}

/// Spends `want` from a live lease taken under `limit`, if it has that much.
fn spend_quota(entry: &Entry<Counted>, limit: u64, want: u64) -> Option<QuotaTake> {
    let now = Instant::now();
    let mut lease = entry.lease();
    let (counted, _) = lease.state?;
    if counted.limit != limit || !lease.live(now) || lease.tokens < want {
        return None;
    }
    lease.tokens -= want;
    Some(QuotaTake {
        granted: want,
        used: counted.used - lease.tokens,
    })
}

#[async_trait]
impl<Q: QuotaCounter> QuotaCounter for LeasedQuota<Q> {
    async fn take(
        &self,
        key: &CacheKey,
        limit: u64,
        want: u64,
        start: u64,
        ttl: Duration,
    ) -> Result<QuotaTake, LimitError> {
        if self.policy.max <= 1 {
            return self.inner.take(key, limit, want, start, ttl).await;
        }
        let entry = slot(&self.leases, key);
        if let Some(taken) = spend_quota(&entry, limit, want) {
            return Ok(taken);
        }
        let _refill = entry.refill.lock().await;
        if let Some(taken) = spend_quota(&entry, limit, want) {
            return Ok(taken);
        }
        let now = Instant::now();
        let (leftover, size) = {
            let mut lease = entry.lease();
            let leftover = std::mem::take(&mut lease.tokens);
            let size = match lease.state {
                Some((c, _)) if c.limit == limit => next_size(
                    lease.size,
                    leftover,
                    lease.live(now),
                    limit.saturating_sub(c.used),
                    u64::from(self.policy.max),
                ),
                _ => 1,
            };
            (leftover, size.max(want))
        };
        if leftover > 0 {
            self.inner.give_back(key, leftover).await?;
        }
        let got = self.inner.take(key, limit, size, start, ttl).await?;
        let granted = got.granted.min(want);
        let mut lease = entry.lease();
        lease.key = Some(key.clone());
        lease.size = got.granted;
        lease.state = Some((
            Counted {
                used: got.used,
                limit,
            },
            now,
        ));
        lease.tokens = got.granted - granted;
        lease.expires = Some(now + self.policy.ttl);
        Ok(QuotaTake {
            granted,
            used: got.used - lease.tokens,
        })
    }

    async fn give_back(&self, key: &CacheKey, units: u64) -> Result<(), LimitError> {
        self.inner.give_back(key, units).await
    }

    async fn current(&self, key: &CacheKey) -> Result<Option<u64>, LimitError> {
        let unspent = crate::lock(&self.leases)
            .get(&key.to_string())
            .map_or(0, |entry| entry.lease().tokens);
        Ok(self
            .inner
            .current(key)
            .await?
            .map(|n| n.saturating_sub(unspent)))
    }
}

#[cfg(test)]
mod tests {
    use super::next_size;

    #[test]
    fn batches_follow_demand_and_shrink_near_the_limit() {
        assert_eq!(
            next_size(0, 0, false, 1000, 64),
            1,
            "a new key starts at one"
        );
        assert_eq!(next_size(4, 0, true, 1000, 64), 8, "ran out early: double");
        assert_eq!(next_size(64, 0, true, 1_000_000, 64), 64, "capped");
        assert_eq!(
            next_size(8, 5, false, 1000, 64),
            3,
            "expired: what was used"
        );
        assert_eq!(
            next_size(1, 0, false, 1000, 64),
            1,
            "a slow key stays at one"
        );
        assert_eq!(
            next_size(32, 0, true, 40, 64),
            5,
            "an eighth of what is left"
        );
        assert_eq!(
            next_size(32, 0, true, 7, 64),
            1,
            "one at a time near the limit"
        );
    }
}
