//! Fair shares of a scarce resource all tenants use (the password-hashing permits).
//!
//! A fixed number of permits; while any are free and nobody waits, a caller takes one at once.
//! Otherwise callers wait, and each permit that comes back goes by start-time fair queueing: every
//! request gets a start tag when it arrives — the later of the current virtual time and the tag
//! after its tenant's previous request — and the waiting request with the smallest tag goes
//! next. So a tenant asking now and then is served after at most one turn of each busy tenant,
//! while tenants with backlogs alternate; a tenant flooding logins or password changes can never
//! hold every permit while another tenant waits, and no pattern of arrivals starves a tenant.
//!
//! Beside the permits the gate may keep spare ones, taken only by a tenant with no permit in use
//! when every permit is busy: a tenant asking now and then does not even wait for the next permit
//! to come back while another tenant floods, and a flooding tenant (which always has one in use)
//! can never take them. A spare borrows the next regular permit to come back (held back until
//! the spare returns), so the work running at once exceeds the permits only briefly: the
//! occasional tenant's hash does not share the CPUs with one more of the flood's for its whole
//! length.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use pake_domain::TenantId;
use tokio::sync::oneshot;

use crate::util::lock;

/// Tenants whose tags are remembered at most; older ones are dropped when they no longer matter.
const REMEMBERED_TENANTS: usize = 4096;

#[derive(Default)]
struct State {
    free: usize,
    /// Spare permits not in use.
    spare: usize,
    /// Regular permits the spares in use still owe: the next ones to come back are held back.
    owed: usize,
    /// Regular permits held back while a spare is in use, handed on when it comes back.
    held_back: usize,
    /// Permits (and spares) each tenant holds now.
    in_use: HashMap<Option<TenantId>, usize>,
    /// The start tag of the request served last.
    virtual_time: u64,
    /// Per tenant, the tag its next request starts from.
    next_tag: HashMap<Option<TenantId>, u64>,
    /// Waiting requests by (start tag, arrival).
    waiting: BTreeMap<(u64, u64), (Option<TenantId>, oneshot::Sender<()>)>,
    arrivals: u64,
}

impl State {
    /// The start tag of a request of `tenant` arriving now.
    fn tag(&mut self, tenant: Option<TenantId>) -> u64 {
        if self.next_tag.len() >= REMEMBERED_TENANTS {
            let now = self.virtual_time;
            self.next_tag.retain(|_, next| *next > now);
        }
        let next = self.next_tag.entry(tenant).or_default();
        let start = (*next).max(self.virtual_time);
        *next = start + 1;
        start
    }

    fn hold(&mut self, tenant: Option<TenantId>) {
        *self.in_use.entry(tenant).or_default() += 1;
    }

    fn unhold(&mut self, tenant: Option<TenantId>) {
        if let Some(n) = self.in_use.get_mut(&tenant) {
            *n -= 1;
            if *n == 0 {
                self.in_use.remove(&tenant);
            }
        }
    }
}

/// The permits.
pub struct FairGate {
    state: Mutex<State>,
    permits: usize,
}

/// One held permit; dropping it hands it to the next waiting request (a spare goes back to the
/// spares).
pub struct FairPermit {
    gate: Arc<FairGate>,
    tenant: Option<TenantId>,
    spare: bool,
}

impl Drop for FairPermit {
    fn drop(&mut self) {
        let mut s = lock(&self.gate.state);
        s.unhold(self.tenant);
        if self.spare {
            s.spare += 1;
            if s.held_back > 0 {
                s.held_back -= 1;
                FairGate::hand_on(&mut s);
            } else {
                s.owed = s.owed.saturating_sub(1);
            }
        } else {
            FairGate::give_back(&mut s);
        }
    }
}

/// A caller waiting for a permit; if it gives up after the permit was handed to it, the permit
/// goes on to the next one.
struct Waiting {
    gate: Arc<FairGate>,
    tenant: Option<TenantId>,
    rx: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.done {
            self.rx.close();
            if self.rx.try_recv().is_ok() {
                let mut s = lock(&self.gate.state);
                s.unhold(self.tenant);
                FairGate::give_back(&mut s);
            }
        }
    }
}

impl FairGate {
    /// A gate of `permits` permits (at least one) and no spares.
    pub fn new(permits: usize) -> Arc<Self> {
        Self::with_spares(permits, 0)
    }

    /// A gate of `permits` permits (at least one) and `spares` spare ones for tenants with none
    /// in use.
    pub fn with_spares(permits: usize, spares: usize) -> Arc<Self> {
        let permits = permits.max(1);
        Arc::new(Self {
            state: Mutex::new(State {
                free: permits,
                spare: spares,
                ..State::default()
            }),
            permits: permits + spares,
        })
    }

    /// How many may be held at once, spares included (what the resource behind must allow).
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Waits for a permit on behalf of `tenant` (`None`: a request naming no known tenant, which
    /// shares one tag sequence with every other such request).
    pub async fn acquire(self: &Arc<Self>, tenant: Option<TenantId>) -> FairPermit {
        let rx = {
            let mut s = lock(&self.state);
            let start = s.tag(tenant);
            let normal = s.free > 0 && s.waiting.is_empty();
            let spare = !normal && s.spare > 0 && !s.in_use.contains_key(&tenant);
            if normal || spare {
                if normal {
                    s.free -= 1;
                } else {
                    s.spare -= 1;
                    // the spare borrows the next regular permit to come back, so the hashes
                    // running at once fall back to the permits' number soon
                    s.owed += 1;
                }
                s.virtual_time = s.virtual_time.max(start);
                s.hold(tenant);
                return FairPermit {
                    gate: Arc::clone(self),
                    tenant,
                    spare,
                };
            }
            let (tx, rx) = oneshot::channel();
            let arrival = s.arrivals;
            s.arrivals += 1;
            s.waiting.insert((start, arrival), (tenant, tx));
            rx
        };
        let mut waiting = Waiting {
            gate: Arc::clone(self),
            tenant,
            rx,
            done: false,
        };
        // The sender is only dropped after a successful send or when its waiter gave up, so an
        // error cannot reach a waiter still waiting; treat it as granted anyway.
        let _ = (&mut waiting.rx).await;
        waiting.done = true;
        FairPermit {
            gate: Arc::clone(self),
            tenant,
            spare: false,
        }
    }

    /// A regular permit comes back: held back while a spare in use owes one, else handed on.
    fn give_back(s: &mut State) {
        if s.owed > 0 {
            s.owed -= 1;
            s.held_back += 1;
        } else {
            Self::hand_on(s);
        }
    }

    /// A permit comes back: to the waiting request with the smallest start tag (now holding
    /// it), or to the free pool.
    fn hand_on(s: &mut State) {
        while let Some(((start, _), (tenant, tx))) = s.waiting.pop_first() {
            s.hold(tenant);
            if tx.send(()).is_ok() {
                s.virtual_time = s.virtual_time.max(start);
                return;
            }
            s.unhold(tenant);
        }
        s.free += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_flooding_tenant_never_keeps_another_waiting_behind_its_queue() {
        let gate = FairGate::new(1);
        let (a, b) = (Some(TenantId::new()), Some(TenantId::new()));
        let held = gate.acquire(a).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (gate, order) = (Arc::clone(&gate), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let _p = gate.acquire(a).await;
                lock(&order).push(format!("a{i}"));
            }));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        {
            let (gate, order) = (Arc::clone(&gate), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let _p = gate.acquire(b).await;
                lock(&order).push("b".to_owned());
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        let order = lock(&order).clone();
        let b_at = order.iter().position(|x| x == "b").unwrap();
        assert!(b_at <= 1, "b served second at the latest: {order:?}");
        assert_eq!(order.len(), 11);
    }

    #[tokio::test]
    async fn a_tenant_asking_once_goes_before_a_busy_tenants_next_turns() {
        let gate = FairGate::new(1);
        let (a, b, c) = (
            Some(TenantId::new()),
            Some(TenantId::new()),
            Some(TenantId::new()),
        );
        let held = gate.acquire(a).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, tenant) in [("a1", a), ("a2", a), ("a3", a), ("b", b), ("c", c)] {
            let (gate, order) = (Arc::clone(&gate), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let _p = gate.acquire(tenant).await;
                lock(&order).push(name);
            }));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        // a already holds a permit: b and c, asking once each, go before a's next ones
        assert_eq!(*lock(&order), ["b", "c", "a1", "a2", "a3"]);
    }

    /// A tenant keeping one more request going than there are permits cannot starve a tenant
    /// with a backlog (it could when a tenant that started waiting always went first).
    #[tokio::test]
    async fn no_pattern_of_arrivals_starves_a_backlog() {
        let gate = FairGate::new(1);
        let (a, b) = (Some(TenantId::new()), Some(TenantId::new()));
        let a_grants = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let held = gate.acquire(a).await;
        let mut backlog = Vec::new();
        for _ in 0..5 {
            let gate = Arc::clone(&gate);
            let a_grants = Arc::clone(&a_grants);
            backlog.push(tokio::spawn(async move {
                let _p = gate.acquire(b).await;
                a_grants.load(std::sync::atomic::Ordering::SeqCst)
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        // two loops of a: each asks again as soon as it is served, so a always has one waiting
        let mut loops = Vec::new();
        for _ in 0..2 {
            let (gate, a_grants) = (Arc::clone(&gate), Arc::clone(&a_grants));
            loops.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let _p = gate.acquire(a).await;
                    a_grants.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        drop(held);
        for waiter in backlog {
            let a_served_before = waiter.await.unwrap();
            assert!(
                a_served_before <= 10,
                "b waited behind {a_served_before} of a's turns"
            );
        }
        for l in loops {
            l.await.unwrap();
        }
    }

    /// A spare goes only to a tenant with nothing in use, and comes back to the spares.
    #[tokio::test]
    async fn spares_serve_only_tenants_with_nothing_in_use() {
        let gate = FairGate::with_spares(1, 1);
        assert_eq!(gate.permits(), 2);
        let (a, b) = (Some(TenantId::new()), Some(TenantId::new()));
        let held = gate.acquire(a).await;
        // a, holding the permit, does not get the spare
        let wait = Duration::from_millis(20);
        assert!(tokio::time::timeout(wait, gate.acquire(a)).await.is_err());
        // b, holding nothing, gets it at once...
        let spare = tokio::time::timeout(wait, gate.acquire(b)).await.unwrap();
        // ...but not a second one while it holds it
        assert!(tokio::time::timeout(wait, gate.acquire(b)).await.is_err());
        drop(spare);
        let again = tokio::time::timeout(wait, gate.acquire(b)).await;
        assert!(again.is_ok(), "the spare came back");
        drop(again);
        drop(held);
        assert!(tokio::time::timeout(wait, gate.acquire(a)).await.is_ok());
    }

    /// While a spare is in use, the next regular permit to come back waits for it.
    #[tokio::test]
    async fn a_spare_borrows_the_next_permit_to_come_back() {
        let gate = FairGate::with_spares(1, 1);
        let (a, b) = (Some(TenantId::new()), Some(TenantId::new()));
        let wait = Duration::from_millis(20);
        let held = gate.acquire(a).await;
        let spare = gate.acquire(b).await;
        let next = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.acquire(a).await }
        });
        tokio::time::sleep(wait).await;
        drop(held);
        tokio::time::sleep(wait).await;
        assert!(!next.is_finished(), "held back while the spare runs");
        drop(spare);
        let granted = tokio::time::timeout(Duration::from_secs(1), next).await;
        assert!(granted.is_ok(), "handed on when the spare came back");
        // and with nothing owed, the spare leaves no debt behind
        drop(granted);
        let spare = gate.acquire(b).await;
        drop(spare);
        assert!(tokio::time::timeout(wait, gate.acquire(a)).await.is_ok());
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_passes_its_permit_on() {
        let gate = FairGate::new(1);
        let t = Some(TenantId::new());
        let held = gate.acquire(t).await;
        let gave_up = tokio::time::timeout(Duration::from_millis(10), gate.acquire(t)).await;
        assert!(gave_up.is_err());
        drop(held);
        let again = tokio::time::timeout(Duration::from_millis(100), gate.acquire(t)).await;
        assert!(again.is_ok(), "the permit is not lost");
    }
}
