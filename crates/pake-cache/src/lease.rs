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
struct Lease<S: Shared> {
    /// Its key (once refilled).
    key: Option<CacheKey>,
    /// Units left to spend.
    tokens: u64,
    /// The batch last taken.
    size: u64,
    expires: Option<Instant>,
    /// The terms of the last refill, what the shared limit said then, and when.
    state: Option<(S::Terms, S::State, Instant)>,
}

impl<S: Shared> Lease<S> {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_some_and(|e| now < e)
    }

    /// Spends `want` units if the lease is live, was taken under `terms` and has them left.
    fn spend(&mut self, terms: S::Terms, want: u64) -> Option<S::Answer> {
        let now = Instant::now();
        let (t, state, at) = self.state?;
        if t != terms || !self.live(now) || self.tokens < want {
            return None;
        }
        self.tokens -= want;
        Some(S::answer(state, at, now, want, self.tokens))
    }
}

/// A key's lease behind a plain mutex (spending never waits on I/O), and the async lock that lets
/// one refill per key be in flight.
struct Entry<S: Shared> {
    lease: Mutex<Lease<S>>,
    refill: tokio::sync::Mutex<()>,
}

impl<S: Shared> Default for Entry<S> {
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

impl<S: Shared> Entry<S> {
    fn lease(&self) -> std::sync::MutexGuard<'_, Lease<S>> {
        crate::lock(&self.lease)
    }

    /// Takes the tokens of an expired lease out, with its key and terms, for giving back.
    fn expired_leftover(&self, now: Instant) -> Option<(CacheKey, S::Terms, u64)> {
        let mut lease = self.lease();
        if lease.tokens == 0 || lease.live(now) {
            return None;
        }
        let key = lease.key.clone()?;
        let (terms, _, _) = lease.state?;
        let tokens = std::mem::take(&mut lease.tokens);
        Some((key, terms, tokens))
    }
}

/// What a refill got from the shared limit.
struct Refill<S: Shared> {
    /// What the shared limit said.
    state: S::State,
    /// Units taken from it (the new lease's size).
    taken: u64,
    /// The shared limit's own answer when it refused even the units asked for.
    refused: Option<S::Answer>,
}

/// The shared limit a lease is taken from: a rate limiter or a quota counter, as the two leases
/// see them.
#[async_trait]
trait Shared: Send + Sync {
    /// What a lease is taken under (a rate's quota, a counter's limit): a lease taken under
    /// other terms is not spent.
    type Terms: Copy + PartialEq + Send + Sync;
    /// What the shared limit said at a refill.
    type State: Copy + Send + Sync;
    /// What a caller is told.
    type Answer: Send;
    /// What the caller passes through to a refill beyond the terms.
    type Extra: Copy + Send + Sync;

    /// Units the shared limit had left, as `state` said.
    fn remaining(terms: Self::Terms, state: Self::State) -> u64;
    /// The answer to `granted` units spent from a lease refilled at `at` with `state`, `left`
    /// units being left in it.
    fn answer(
        state: Self::State,
        at: Instant,
        now: Instant,
        granted: u64,
        left: u64,
    ) -> Self::Answer;
    /// Takes `batch` units (at least the `want` the caller asked for) from the shared limit.
    async fn take(
        &self,
        key: &CacheKey,
        terms: Self::Terms,
        batch: u64,
        want: u64,
        extra: Self::Extra,
    ) -> Result<Refill<Self>, LimitError>
    where
        Self: Sized;
    /// Gives back `units` taken under `terms` and not spent.
    async fn give_back(
        &self,
        key: &CacheKey,
        terms: Self::Terms,
        units: u64,
    ) -> Result<(), LimitError>;
}

/// A shared limit spent through local leases: what [`LeasedRateLimiter`] and [`LeasedQuota`]
/// are made of.
struct Leased<S: Shared> {
    shared: S,
    policy: LeasePolicy,
    leases: Mutex<HashMap<String, Arc<Entry<S>>>>,
}

impl<S: Shared> Leased<S> {
    fn with(shared: S, policy: LeasePolicy) -> Self {
        Self {
            shared,
            policy,
            leases: Mutex::default(),
        }
    }

    fn slot(&self, key: &CacheKey) -> Arc<Entry<S>> {
        let mut map = crate::lock(&self.leases);
        if map.len() > 10_000 {
            let now = Instant::now();
            map.retain(|_, e| {
                let lease = e.lease();
                Arc::strong_count(e) > 1 || lease.live(now) || lease.tokens > 0
            });
        }
        Arc::clone(map.entry(key.to_string()).or_default())
    }

    /// Gives back the units of every expired lease.
    async fn sweep(&self) -> Result<(), LimitError> {
        let now = Instant::now();
        let entries: Vec<_> = crate::lock(&self.leases).values().map(Arc::clone).collect();
        for entry in entries {
            let Ok(_refill) = entry.refill.try_lock() else {
                continue;
            };
            if let Some((key, terms, tokens)) = entry.expired_leftover(now) {
                self.shared.give_back(&key, terms, tokens).await?;
            }
        }
        Ok(())
    }

    /// Spends `want` units of `key` under `terms`: from the live lease when it has them, else
    /// from a new batch (one refill per key in flight; the old lease's leftover given back).
    async fn spend(
        &self,
        key: &CacheKey,
        terms: S::Terms,
        want: u64,
        extra: S::Extra,
    ) -> Result<S::Answer, LimitError> {
        let entry = self.slot(key);
        if let Some(answer) = entry.lease().spend(terms, want) {
            return Ok(answer);
        }
        let _refill = entry.refill.lock().await;
        // another request may have refilled while this one waited
        if let Some(answer) = entry.lease().spend(terms, want) {
            return Ok(answer);
        }
        let now = Instant::now();
        let (leftover, size) = {
            let mut lease = entry.lease();
            let leftover = std::mem::take(&mut lease.tokens);
            let size = match lease.state {
                Some((t, state, _)) if t == terms => next_size(
                    lease.size,
                    leftover,
                    lease.live(now),
                    S::remaining(t, state),
                    u64::from(self.policy.max),
                ),
                _ => 1,
            };
            let old = lease.state.map(|(t, _, _)| t);
            (old.filter(|_| leftover > 0).map(|t| (t, leftover)), size)
        };
        if let Some((old_terms, units)) = leftover {
            self.shared.give_back(key, old_terms, units).await?;
        }
        let batch = size.max(want);
        let refill = self.shared.take(key, terms, batch, want, extra).await?;
        let mut lease = entry.lease();
        lease.key = Some(key.clone());
        lease.size = refill.taken;
        lease.state = Some((terms, refill.state, now));
        if let Some(refused) = refill.refused {
            lease.expires = None;
            return Ok(refused);
        }
        let granted = refill.taken.min(want);
        lease.tokens = refill.taken - granted;
        lease.expires = Some(now + self.policy.ttl);
        Ok(S::answer(refill.state, now, now, granted, lease.tokens))
    }
}

/// The rate-limiter side of a lease.
struct Rates<L>(L);

/// A rate limiter spending leased tokens of an inner (shared) one.
pub struct LeasedRateLimiter<L: RateLimiter>(Leased<Rates<L>>);

impl<L: RateLimiter> LeasedRateLimiter<L> {
    /// Leases on `inner` by `policy`.
    pub fn new(inner: L, policy: LeasePolicy) -> Self {
        Self(Leased::with(Rates(inner), policy))
    }

    /// Gives back the units of every expired lease (run periodically, so a key that went quiet
    /// does not keep units taken that were never used).
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the shared limit cannot be reached.
    pub async fn sweep(&self) -> Result<(), LimitError> {
        self.0.sweep().await
    }
}

fn units(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[async_trait]
impl<L: RateLimiter> Shared for Rates<L> {
    type Terms = Quota;
    type State = RateDecision;
    type Answer = RateDecision;
    type Extra = ();

    fn remaining(_: Quota, state: RateDecision) -> u64 {
        u64::from(state.remaining)
    }

    /// The shared state at the last refill, with the lease's unspent tokens counted as
    /// remaining.
    fn answer(last: RateDecision, at: Instant, now: Instant, _: u64, left: u64) -> RateDecision {
        RateDecision {
            allowed: true,
            limit: last.limit,
            remaining: last.remaining.saturating_add(units(left)),
            reset_after: last.reset_after.saturating_sub(now - at),
            retry_after: None,
        }
    }

    /// The whole batch, or else only what the caller asked for.
    async fn take(
        &self,
        key: &CacheKey,
        quota: Quota,
        batch: u64,
        want: u64,
        (): (),
    ) -> Result<Refill<Self>, LimitError> {
        let mut decision = self.0.check(key, quota, units(batch)).await?;
        let mut taken = batch;
        if !decision.allowed && batch > want {
            decision = self.0.check(key, quota, units(want)).await?;
            taken = want;
        }
        Ok(Refill {
            state: decision,
            taken,
            refused: (!decision.allowed).then_some(decision),
        })
    }

    async fn give_back(&self, key: &CacheKey, quota: Quota, n: u64) -> Result<(), LimitError> {
        self.0.refund(key, quota, units(n)).await
    }
}

#[async_trait]
impl<L: RateLimiter> RateLimiter for LeasedRateLimiter<L> {
    async fn check(
        &self,
        key: &CacheKey,
        quota: Quota,
        cost: u32,
    ) -> Result<RateDecision, LimitError> {
        let leased = &self.0;
        if leased.policy.max <= 1 {
            return leased.shared.0.check(key, quota, cost).await;
        }
        leased.spend(key, quota, u64::from(cost), ()).await
    }

    async fn refund(&self, key: &CacheKey, quota: Quota, units: u32) -> Result<(), LimitError> {
        self.0.shared.0.refund(key, quota, units).await
    }
}

/// The quota-counter side of a lease.
struct Counts<Q>(Q);

/// A quota counter spending leased units of an inner (shared) one; unused units go back.
pub struct LeasedQuota<Q: QuotaCounter>(Leased<Counts<Q>>);

impl<Q: QuotaCounter> LeasedQuota<Q> {
    /// Leases on `inner` by `policy`.
    pub fn new(inner: Q, policy: LeasePolicy) -> Self {
        Self(Leased::with(Counts(inner), policy))
    }

    /// Gives back the units of every expired lease (run periodically, so a key that went quiet
    /// does not keep units taken that were never used).
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the shared limit cannot be reached.
    pub async fn sweep(&self) -> Result<(), LimitError> {
        self.0.sweep().await
    }
}

#[async_trait]
impl<Q: QuotaCounter> Shared for Counts<Q> {
    /// The limit.
    type Terms = u64;
    /// The shared count.
    type State = u64;
    type Answer = QuotaTake;
    /// A new counter's start and lifetime.
    type Extra = (u64, Duration);

    fn remaining(limit: u64, used: u64) -> u64 {
        limit.saturating_sub(used)
    }

    fn answer(used: u64, _: Instant, _: Instant, granted: u64, left: u64) -> QuotaTake {
        QuotaTake {
            granted,
            used: used - left,
        }
    }

    /// As much of the batch as the limit has left (never refused: a counter grants less).
    async fn take(
        &self,
        key: &CacheKey,
        limit: u64,
        batch: u64,
        _: u64,
        (start, ttl): (u64, Duration),
    ) -> Result<Refill<Self>, LimitError> {
        let got = self.0.take(key, limit, batch, start, ttl).await?;
        Ok(Refill {
            state: got.used,
            taken: got.granted,
            refused: None,
        })
    }

    async fn give_back(&self, key: &CacheKey, _: u64, units: u64) -> Result<(), LimitError> {
        self.0.give_back(key, units).await
    }
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
        let leased = &self.0;
        if leased.policy.max <= 1 {
            return leased.shared.0.take(key, limit, want, start, ttl).await;
        }
        leased.spend(key, limit, want, (start, ttl)).await
    }

    async fn give_back(&self, key: &CacheKey, units: u64) -> Result<(), LimitError> {
        self.0.shared.0.give_back(key, units).await
    }

    async fn current(&self, key: &CacheKey) -> Result<Option<u64>, LimitError> {
        let unspent = crate::lock(&self.0.leases)
            .get(&key.to_string())
            .map_or(0, |entry| entry.lease().tokens);
        Ok(self
            .0
            .shared
            .0
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
