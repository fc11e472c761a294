//! Upstream etiquette shared by every tenant: one pacer per upstream (spacing kept across
//! replicas through the shared limiter, one connection at a time where the upstream asks for
//! it), turns handed out fairly between tenants (start-time fair queueing weighted by plan),
//! refusals at once when a caller's place in that fair order would come after its budget
//! (the circuit breaker per source is in `breaker.rs`).

use std::collections::{BTreeMap, HashMap};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// At least this long between two requests (across every replica); zero with
    /// `one_at_a_time` off: no pacing at all (a private mirror's choice, see [`Pacing::OFF`]).
    pub interval: Duration,
    /// One request in flight at a time (across every replica).
    pub one_at_a_time: bool,
}

impl Pacing {
    /// No pacing: every request goes at once, without the shared limiter or the fair queue
    /// (for an operator's own mirror or proxy; never the public upstreams).
    pub const OFF: Self = Self {
        interval: Duration::ZERO,
        one_at_a_time: false,
    };

    /// Whether this is [`Pacing::OFF`].
    pub fn is_off(self) -> bool {
        self == Self::OFF
    }
}

/// Virtual time one turn costs a tenant of weight 1; a tenant of weight `w` pays `1/w` of it
/// (720 720 is divisible by every weight up to 16, so the plans' 1, 2 and 4 pay whole units).
const TURN_COST: u64 = 720_720;

struct Waiter {
    tenant: TenantId,
    go: oneshot::Sender<Turn>,
}

/// The callers waiting at one upstream, in fair order.
///
/// Start-time fair queueing: a request of tenant `t` gets the start tag `max(now, finish[t])`
/// and moves `finish[t]` on by `TURN_COST / weight`; turns go by the smallest start tag (ties: the
/// earlier arrival), and `now` is the start tag of the turn handed out last. A tenant with a
/// backlog of `n` requests therefore holds start tags spread over `n / weight` of virtual time,
/// and every tenant with requests waiting gets turns in proportion to its weight. A tenant that
/// was idle (its finish tag behind `now`) starts at `now`: ahead of every backlog, behind only
/// other tenants arriving idle. One that just had a turn waits its share (`1/weight` of virtual
/// time). When nobody waits any more, every tenant starts afresh.
#[derive(Default)]
struct Queues {
    /// Waiting callers by (start tag, arrival).
    waiting: BTreeMap<(u64, u64), Waiter>,
    /// Each tenant's finish tag, kept while it is ahead of `now`.
    finish: HashMap<TenantId, u64>,
    /// The virtual time: the start tag of the turn handed out last.
    now: u64,
    /// Arrivals so far (the tie-break).
    arrivals: u64,
    /// When the next request may go out (this replica's view).
    next_free: Option<Instant>,
    dispatching: bool,
}

impl Queues {
    /// Called as a request arrives: when nobody is waiting any more (the queue ran dry, or only
    /// callers that gave up are left), every tenant starts afresh — what one had before counts
    /// only while others wait.
    fn settle(&mut self) {
        if self.waiting.values().all(|w| w.go.is_closed()) {
            self.waiting.clear();
            self.now = self.finish.values().copied().fold(self.now, u64::max);
            self.finish.clear();
        }
    }

    /// The start tag the next request of `tenant` would get.
    fn start_tag(&self, tenant: TenantId) -> u64 {
        self.finish.get(&tenant).copied().unwrap_or(0).max(self.now)
    }

    /// How many waiting callers go before a request of `tenant` arriving now: its place in the
    /// fair order, not the length of the queue.
    fn ahead(&self, tenant: TenantId) -> usize {
        let start = self.start_tag(tenant);
        self.waiting
            .range(..=(start, u64::MAX))
            .filter(|(_, w)| !w.go.is_closed())
            .count()
    }

    /// Queues a request of `tenant`.
    fn push(&mut self, tenant: TenantId, weight: u32, go: oneshot::Sender<Turn>) {
        let start = self.start_tag(tenant);
        let cost = (TURN_COST / u64::from(weight.max(1))).max(1);
        self.finish.insert(tenant, start + cost);
        self.arrivals += 1;
        self.waiting
            .insert((start, self.arrivals), Waiter { tenant, go });
    }

    /// The next caller in fair order (callers that gave up are dropped on the way).
    fn pop(&mut self) -> Option<Waiter> {
        while let Some(((start, _), waiter)) = self.waiting.pop_first() {
            if waiter.go.is_closed() {
                continue;
            }
            self.now = start;
            // a finish tag behind `now` says no more than having none
            self.finish.retain(|_, f| *f > start);
            return Some(waiter);
        }
        None
    }
}

/// Hands out turns at one upstream.
pub(super) struct Pacer {
    source: SourceId,
    pacing: Pacing,
    limiter: Arc<dyn RateLimiter>,
    slots: Arc<dyn ConcurrencyLimiter>,
    queues: Mutex<Queues>,
}

impl Pacer {
    /// A pacer for `source`, sharing spacing and connection slots with other replicas through
    /// `limiter` and `slots`.
    pub(super) fn new(
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

    /// How long a new request of `tenant` would wait: until the upstream is free, then one
    /// interval per caller ahead of it in the fair order.
    fn estimate(&self, q: &Queues, tenant: TenantId) -> Duration {
        let ahead = u32::try_from(q.ahead(tenant)).unwrap_or(u32::MAX);
        let until_free = q.next_free.map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(Instant::now())
        });
        until_free + self.pacing.interval.saturating_mul(ahead)
    }

    /// Waits for a turn of `tenant` (its weight: its share of the turns), or refuses at once
    /// when its place in the fair order would come after `deadline`.
    async fn wait(
        self: &Arc<Self>,
        tenant: TenantId,
        weight: u32,
        deadline: Instant,
    ) -> Result<Turn, SourceError> {
        if self.pacing.is_off() {
            return Ok(Turn::free());
        }
        let (go, turn) = oneshot::channel();
        {
            let mut q = lock(&self.queues);
            q.settle();
            let wait = self.estimate(&q, tenant);
            if Instant::now() + wait > deadline {
                return Err(SourceError::RateLimited {
                    retry_after: Some(wait),
                });
            }
            q.push(tenant, weight, go);
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
                q.pop()
            };
            let Some(waiter) = waiter else {
                // everyone gave up meanwhile: hand the connection back, or it would stay taken
                // until its lease ran out and nobody would get a turn
                if self.pacing.one_at_a_time {
                    let _ = self.slots.release(&conn_key, &holder).await;
                }
                continue;
            };
            tracing::trace!(source = %self.source, tenant = %waiter.tenant, "upstream turn");
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
    pub(super) fn reset(&self) {
        *lock(&self.0) = FlightState::default();
    }

    /// Whether the latest turn was refused or timed out at the pacer (so the error that followed
    /// is this replica's own, not the upstream's).
    pub(super) fn refused(&self) -> bool {
        lock(&self.0).refused
    }

    /// How long the request in flight has been at the upstream, if one is.
    pub(super) fn in_flight(&self) -> Option<Duration> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Queues `n` requests of each `(tenant, weight)`, interleaved as they would arrive at once;
    /// the receivers stay alive so no caller counts as gone.
    fn flood(
        q: &mut Queues,
        tenants: &[(TenantId, u32)],
        n: usize,
    ) -> Vec<oneshot::Receiver<Turn>> {
        let mut keep = Vec::new();
        for _ in 0..n {
            for (t, w) in tenants {
                let (go, rx) = oneshot::channel();
                q.push(*t, *w, go);
                keep.push(rx);
            }
        }
        keep
    }

    #[test]
    fn waiting_tenants_get_turns_in_proportion_to_their_weight() {
        let (e, p, b) = (TenantId::new(), TenantId::new(), TenantId::new());
        let mut q = Queues::default();
        let _keep = flood(&mut q, &[(b, 1), (p, 2), (e, 4)], 100);
        let mut turns: HashMap<TenantId, u32> = HashMap::new();
        for _ in 0..70 {
            *turns.entry(q.pop().unwrap().tenant).or_default() += 1;
        }
        let got = |t| turns.get(&t).copied().unwrap_or(0);
        assert!((39..=41).contains(&got(e)), "enterprise {}", got(e));
        assert!((19..=21).contains(&got(p)), "professional {}", got(p));
        assert!((9..=11).contains(&got(b)), "basic {}", got(b));
    }

    #[test]
    fn a_newcomer_goes_next_whatever_the_backlog_then_gets_its_share() {
        let (e, b) = (TenantId::new(), TenantId::new());
        let mut q = Queues::default();
        let _keep = flood(&mut q, &[(e, 4)], 40);
        for _ in 0..10 {
            assert_eq!(q.pop().unwrap().tenant, e);
        }
        assert_eq!(q.ahead(e), 30, "the flood waits behind its own backlog");
        assert_eq!(q.ahead(b), 0, "the newcomer waits behind nobody");
        let (go, _rx) = oneshot::channel();
        q.push(b, 1, go);
        assert_eq!(q.pop().unwrap().tenant, b);
        // its next request (PubMed's second call) waits for its share: four of the flood's turns
        assert!(q.ahead(b) <= 4, "ahead {}", q.ahead(b));
        let (go, _rx2) = oneshot::channel();
        q.push(b, 1, go);
        let mut before = 0;
        while q.pop().unwrap().tenant != b {
            before += 1;
        }
        assert!(before <= 4, "{before} turns before it");
    }

    #[test]
    fn once_the_queue_ran_dry_everyone_starts_afresh() {
        let (e, b) = (TenantId::new(), TenantId::new());
        let mut q = Queues::default();
        let _keep = flood(&mut q, &[(b, 1), (e, 4)], 1);
        assert_eq!(q.pop().unwrap().tenant, b);
        assert_eq!(q.pop().unwrap().tenant, e);
        // the next burst: the flood arrives first, the basic tenant just after
        q.settle();
        let _keep2 = flood(&mut q, &[(e, 4)], 8);
        assert!(q.ahead(b) <= 1, "ahead {}", q.ahead(b));
    }

    #[test]
    fn callers_that_gave_up_neither_count_nor_take_a_turn() {
        let (e, b) = (TenantId::new(), TenantId::new());
        let mut q = Queues::default();
        for _ in 0..5 {
            let (go, rx) = oneshot::channel();
            q.push(e, 4, go);
            drop(rx);
        }
        assert_eq!(q.ahead(b), 0);
        let (go, _rx) = oneshot::channel();
        q.push(b, 1, go);
        assert_eq!(q.pop().unwrap().tenant, b);
        assert!(q.pop().is_none());
    }
}
