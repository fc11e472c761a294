//! Upstream etiquette shared by every tenant: one pacer per upstream (spacing kept across
//! replicas through the shared limiter, one connection at a time where the upstream asks for
//! it), turns handed out fairly between tenants (weighted round robin by plan), refusals at once
//! when a turn would come after the caller's budget, and a circuit breaker per source that
//! counts only failures of the upstream itself.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pake_domain::TenantId;
use pake_domain::search::SourceId;
use pake_ports::{
    CacheKey, ConcurrencyLimiter, Quota, RateLimiter, SourceError, Turn, UpstreamGate,
};
use tokio::sync::oneshot;

use crate::util::lock;

/// How one upstream is paced.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// At least this long between two requests (across every replica).
    pub interval: Duration,
    /// One request in flight at a time (across every replica).
    pub one_at_a_time: bool,
}

struct Waiter {
    go: oneshot::Sender<Turn>,
}

#[derive(Default)]
struct Queues {
    /// Waiting callers per tenant.
    waiting: HashMap<TenantId, VecDeque<Waiter>>,
    /// Tenants with waiters, in arrival order, with their weight and smooth-weighted-round-robin
    /// credit.
    active: Vec<(TenantId, i64, i64)>,
    /// When the next request may go out (this replica's view).
    next_free: Option<Instant>,
    dispatching: bool,
}

/// Hands out turns at one upstream.
pub struct Pacer {
    source: SourceId,
    pacing: Pacing,
    limiter: Arc<dyn RateLimiter>,
    slots: Arc<dyn ConcurrencyLimiter>,
    queues: Mutex<Queues>,
}

impl Pacer {
    /// A pacer for `source`, sharing spacing and connection slots with other replicas through
    /// `limiter` and `slots`.
    pub fn new(
        source: SourceId,
        pacing: Pacing,
        limiter: Arc<dyn RateLimiter>,
        slots: Arc<dyn ConcurrencyLimiter>,
    ) -> Arc<Self> {
        Arc::new(Self {
            source,
            pacing,
            limiter,
            slots,
            queues: Mutex::default(),
        })
    }

    /// How long a new waiter of `tenant` would wait: the requests ahead of it under weighted
    /// round robin (its own queue, and the others' shares of the rounds until its turn), each an
    /// interval apart.
    fn estimate(&self, q: &Queues, tenant: TenantId, weight: u32) -> Duration {
        let weight = u64::from(weight.max(1));
        let mine = q.waiting.get(&tenant).map_or(0, VecDeque::len) as u64 + 1;
        let others: u64 = q
            .active
            .iter()
            .filter(|(t, _, _)| *t != tenant)
            .map(|(t, w, _)| {
                let queued = q.waiting.get(t).map_or(0, VecDeque::len) as u64;
                let share = (mine * u64::try_from(*w).unwrap_or(1)).div_ceil(weight);
                queued.min(share)
            })
            .sum();
        let ahead = u32::try_from(mine - 1 + others).unwrap_or(u32::MAX);
        let until_free = q.next_free.map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(Instant::now())
        });
        until_free + self.pacing.interval * ahead
    }

    /// Waits for a turn of `tenant` (weight = turns per round), or refuses at once when it would
    /// come after `deadline`.
    async fn wait(
        self: &Arc<Self>,
        tenant: TenantId,
        weight: u32,
        deadline: Instant,
    ) -> Result<Turn, SourceError> {
        let (go, turn) = oneshot::channel();
        {
            let mut q = lock(&self.queues);
            let wait = self.estimate(&q, tenant, weight);
            if Instant::now() + wait > deadline {
                return Err(SourceError::RateLimited {
                    retry_after: Some(wait),
                });
            }
            let queue = q.waiting.entry(tenant).or_default();
            queue.push_back(Waiter { go });
            if queue.len() == 1 {
                q.active.push((tenant, i64::from(weight.max(1)), 0));
            }
            if !q.dispatching {
                q.dispatching = true;
                let me = Arc::clone(self);
                tokio::spawn(async move { me.dispatch().await });
            }
        }
        match tokio::time::timeout_at(deadline.into(), turn).await {
            Ok(Ok(turn)) => Ok(turn),
            _ => Err(SourceError::Timeout),
        }
    }

    /// The next waiter by smooth weighted round robin: every waiting tenant gains its weight,
    /// the richest goes (ties: the earliest to arrive) and pays the total. Equal weights
    /// alternate; a newcomer goes within two turns whatever the others' backlog.
    fn next_waiter(q: &mut Queues) -> Option<Waiter> {
        loop {
            if q.active.is_empty() {
                return None;
            }
            let total: i64 = q.active.iter().map(|(_, w, _)| *w).sum();
            for entry in &mut q.active {
                entry.2 += entry.1;
            }
            let mut best = 0;
            for (i, entry) in q.active.iter().enumerate() {
                if entry.2 > q.active[best].2 {
                    best = i;
                }
            }
            q.active[best].2 -= total;
            let tenant = q.active[best].0;
            let waiter = q.waiting.get_mut(&tenant).and_then(VecDeque::pop_front);
            if q.waiting.get(&tenant).is_none_or(VecDeque::is_empty) {
                q.waiting.remove(&tenant);
                q.active.remove(best);
            }
            if waiter.is_some() {
                return waiter;
            }
        }
    }

    /// Hands out turns while anyone waits, an interval apart (and, one at a time, after the
    /// previous request ended), taking each slot from the shared limiter first.
    async fn dispatch(self: Arc<Self>) {
        let pace_key = CacheKey::global("upstream", format!("pace:{}", self.source.as_str()));
        let conn_key = CacheKey::global("upstream", format!("conn:{}", self.source.as_str()));
        let quota = Quota {
            limit: 1,
            period: self.pacing.interval.max(Duration::from_millis(1)),
        };
        loop {
            let next_free = {
                let mut q = lock(&self.queues);
                if q.waiting.is_empty() {
                    q.dispatching = false;
                    return;
                }
                q.next_free
            };
            if let Some(t) = next_free {
                tokio::time::sleep_until(t.into()).await;
            }
            // the spacing every replica shares
            match self.limiter.check(&pace_key, quota, 1).await {
                Ok(d) if !d.allowed => {
                    let wait = d.retry_after.unwrap_or(self.pacing.interval);
                    lock(&self.queues).next_free = Some(Instant::now() + wait);
                    continue;
                }
                Ok(_) | Err(_) => {}
            }
            let holder = format!("{:p}-{}", Arc::as_ptr(&self), rand_suffix());
            if self.pacing.one_at_a_time {
                let lease = Duration::from_secs(60);
                if let Ok(false) = self.slots.acquire(&conn_key, &holder, 1, lease).await {
                    lock(&self.queues).next_free = Some(Instant::now() + self.pacing.interval);
                    continue;
                }
            }
            let waiter = {
                let mut q = lock(&self.queues);
                q.next_free = Some(Instant::now() + self.pacing.interval);
                Self::next_waiter(&mut q)
            };
            let Some(waiter) = waiter else { continue };
            let turn = if self.pacing.one_at_a_time {
                let (ended_tx, ended) = oneshot::channel::<()>();
                let turn = Turn::holding(EndOnDrop(Some(ended_tx)));
                if waiter.go.send(turn).is_ok() {
                    // wait for the request to end (or its lease to run out)
                    let _ = tokio::time::timeout(Duration::from_secs(60), ended).await;
                }
                let _ = self.slots.release(&conn_key, &holder).await;
                continue;
            } else {
                Turn::free()
            };
            // a waiter that gave up meanwhile does not use its slot; the next one may
            if waiter.go.send(turn).is_err() {
                lock(&self.queues).next_free = None;
            }
        }
    }
}

/// Signals the dispatcher when a one-at-a-time request ends.
struct EndOnDrop(Option<oneshot::Sender<()>>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

/// What one search's gate saw of its latest turn: whether the pacer refused it or let it time
/// out (the upstream was never asked), and since when its request has been at the upstream.
#[derive(Default)]
pub(crate) struct Flight(Mutex<FlightState>);

#[derive(Default)]
struct FlightState {
    refused: bool,
    since: Option<Instant>,
}

impl Flight {
    /// Forgets the previous attempt.
    pub fn reset(&self) {
        *lock(&self.0) = FlightState::default();
    }

    /// Whether the latest turn was refused or timed out at the pacer (so the error that followed
    /// is this replica's own, not the upstream's).
    pub fn refused(&self) -> bool {
        lock(&self.0).refused
    }

    /// How long the request in flight has been at the upstream, if one is.
    pub fn in_flight(&self) -> Option<Duration> {
        lock(&self.0).since.map(|t| t.elapsed())
    }
}

/// Clears the flight when the adapter drops its turn (the response was read).
struct Landed(Arc<Flight>);

impl Drop for Landed {
    fn drop(&mut self) {
        lock(&self.0.0).since = None;
    }
}

/// One search's gate at one upstream: its tenant, weight and deadline, and what it saw.
pub(crate) struct PacedGate {
    pub pacer: Arc<Pacer>,
    pub tenant: TenantId,
    pub weight: u32,
    pub deadline: Instant,
    pub flight: Arc<Flight>,
}

#[async_trait]
impl UpstreamGate for PacedGate {
    async fn turn(&self) -> Result<Turn, SourceError> {
        let turn = self
            .pacer
            .wait(self.tenant, self.weight, self.deadline)
            .await;
        let mut f = lock(&self.flight.0);
        match turn {
            Ok(turn) => {
                *f = FlightState {
                    refused: false,
                    since: Some(Instant::now()),
                };
                Ok(Turn::holding((turn, Landed(Arc::clone(&self.flight)))))
            }
            Err(e) => {
                *f = FlightState {
                    refused: true,
                    since: None,
                };
                Err(e)
            }
        }
    }
}

/// How a circuit breaker trips.
#[derive(Debug, Clone, Copy)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the circuit.
    pub failures: u32,
    /// How long it stays open before one trial call.
    pub cooldown: Duration,
}

/// What one call told the breaker about its upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It answered with records: healthy.
    Healthy,
    /// It answered, refusing the query (a 4xx, an error document, an unreadable answer): up,
    /// but the answer says nothing about its health. Closes a trial; the count stays.
    Answered,
    /// The upstream itself failed: 5xx, throttling, a timeout, no connection.
    Failed,
    /// The upstream was never asked (the pacer refused the turn, or the budget ran out before
    /// it): no opinion. Frees a trial for the next call.
    NotAsked,
}

#[derive(Default)]
struct BreakerState {
    failures: u32,
    open_until: Option<Instant>,
    trial: bool,
}

/// A circuit breaker for one source: after `failures` consecutive failures of the upstream
/// itself the source is not called for `cooldown`; then one trial call decides.
pub(crate) struct Breaker {
    policy: BreakerPolicy,
    state: Mutex<BreakerState>,
}

impl Breaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy,
            state: Mutex::default(),
        }
    }

    /// Whether a call may go out now.
    pub fn allow(&self) -> bool {
        let mut s = lock(&self.state);
        match s.open_until {
            None => true,
            Some(until) if Instant::now() >= until && !s.trial => {
                s.trial = true;
                true
            }
            Some(_) => false,
        }
    }

    /// Records what a call that [`Breaker::allow`] let out found.
    pub fn record(&self, verdict: Verdict) {
        let mut s = lock(&self.state);
        match verdict {
            Verdict::Healthy => *s = BreakerState::default(),
            Verdict::Answered if s.trial => *s = BreakerState::default(),
            Verdict::Answered => {}
            Verdict::NotAsked => s.trial = false,
            Verdict::Failed => {
                s.failures += 1;
                if s.trial || s.failures >= self.policy.failures {
                    s.open_until = Some(Instant::now() + self.policy.cooldown);
                    s.trial = false;
                }
            }
        }
    }

    /// `closed`, `open` or `half_open`.
    pub fn state(&self) -> &'static str {
        let s = lock(&self.state);
        match s.open_until {
            None => "closed",
            Some(until) if Instant::now() >= until => "half_open",
            Some(_) => "open",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_then_tries_once() {
        let b = Breaker::new(BreakerPolicy {
            failures: 2,
            cooldown: Duration::from_millis(30),
        });
        assert!(b.allow());
        b.record(Verdict::Failed);
        assert_eq!(b.state(), "closed");
        b.record(Verdict::Failed);
        assert_eq!(b.state(), "open");
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "one trial");
        assert!(!b.allow(), "only one");
        b.record(Verdict::Failed);
        assert_eq!(b.state(), "open", "a failed trial opens again");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow());
        b.record(Verdict::Healthy);
        assert_eq!(b.state(), "closed");
    }

    #[test]
    fn answers_to_the_query_and_calls_never_made_do_not_count() {
        let b = Breaker::new(BreakerPolicy {
            failures: 2,
            cooldown: Duration::from_millis(30),
        });
        for _ in 0..10 {
            b.record(Verdict::Answered);
            b.record(Verdict::NotAsked);
        }
        assert_eq!(b.state(), "closed");
        b.record(Verdict::Failed);
        b.record(Verdict::Answered);
        b.record(Verdict::Failed);
        assert_eq!(
            b.state(),
            "open",
            "consecutive upstream failures, a 4xx between them"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "the trial");
        b.record(Verdict::NotAsked);
        assert!(
            b.allow(),
            "a trial that never reached the upstream frees the next"
        );
        b.record(Verdict::Answered);
        assert_eq!(b.state(), "closed", "the upstream answered");
    }
}
