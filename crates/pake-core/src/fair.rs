//! Fair shares of a scarce resource all tenants use (the password-hashing permits).
//!
//! A fixed number of permits; while any are free a caller takes one at once. When they are all
//! held, callers wait in one queue per tenant, and each permit that comes back goes to the next
//! tenant in round-robin order that has someone waiting — so a tenant flooding logins or password
//! changes can never hold every permit while another tenant waits: the other tenant's request is
//! served after at most one permit's turn per other busy tenant, not after the whole flood. A
//! tenant that starts waiting (nobody of it was queued) goes ahead of the tenants that are
//! working through a backlog, behind the other newcomers: a tenant asking now and then gets the
//! next permit that comes back, while the backlogged ones keep sharing the rest.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use pake_domain::TenantId;
use tokio::sync::oneshot;

use crate::util::lock;

#[derive(Default)]
struct State {
    free: usize,
    waiting: HashMap<Option<TenantId>, VecDeque<oneshot::Sender<()>>>,
    /// Tenants with someone waiting, in the order they get the next permits.
    turns: VecDeque<Option<TenantId>>,
    /// How many tenants at the front of `turns` started waiting and have not had a turn yet.
    newcomers: usize,
}

/// The permits.
pub struct FairGate {
    state: Mutex<State>,
    permits: usize,
}

/// One held permit; dropping it hands it to the next tenant in turn.
pub struct FairPermit {
    gate: Arc<FairGate>,
}

impl Drop for FairPermit {
    fn drop(&mut self) {
        self.gate.release();
    }
}

/// A caller waiting for a permit; if it gives up after the permit was handed to it, the permit
/// goes on to the next one.
struct Waiting {
    gate: Arc<FairGate>,
    rx: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.done {
            self.rx.close();
            if self.rx.try_recv().is_ok() {
                self.gate.release();
            }
        }
    }
}

impl FairGate {
    /// A gate of `permits` permits (at least one).
    pub fn new(permits: usize) -> Arc<Self> {
        let permits = permits.max(1);
        Arc::new(Self {
            state: Mutex::new(State {
                free: permits,
                ..State::default()
            }),
            permits,
        })
    }

    /// How many permits there are.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Waits for a permit on behalf of `tenant` (`None`: a request naming no known tenant, which
    /// shares one queue with every other such request).
    pub async fn acquire(self: &Arc<Self>, tenant: Option<TenantId>) -> FairPermit {
        let rx = {
            let mut s = lock(&self.state);
            if s.free > 0 && s.turns.is_empty() {
                s.free -= 1;
                return FairPermit {
                    gate: Arc::clone(self),
                };
            }
            let (tx, rx) = oneshot::channel();
            let queue = s.waiting.entry(tenant).or_default();
            queue.push_back(tx);
            if queue.len() == 1 {
                let at = s.newcomers;
                s.turns.insert(at, tenant);
                s.newcomers += 1;
            }
            rx
        };
        let mut waiting = Waiting {
            gate: Arc::clone(self),
            rx,
            done: false,
        };
        // The sender is only dropped after a successful send or never (release keeps senders of
        // waiters alive until their turn), so an error cannot happen; treat it as granted anyway.
        let _ = (&mut waiting.rx).await;
        waiting.done = true;
        FairPermit {
            gate: Arc::clone(self),
        }
    }

    /// A permit comes back: to the next waiting tenant in turn, or to the free pool.
    fn release(&self) {
        let mut s = lock(&self.state);
        while let Some(tenant) = s.turns.pop_front() {
            s.newcomers = s.newcomers.saturating_sub(1);
            let Some(queue) = s.waiting.get_mut(&tenant) else {
                continue;
            };
            let next = queue.pop_front();
            if queue.is_empty() {
                s.waiting.remove(&tenant);
            } else {
                s.turns.push_back(tenant);
            }
            if let Some(tx) = next
                && tx.send(()).is_ok()
            {
                return;
            }
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
    async fn a_tenant_that_starts_waiting_goes_ahead_of_a_backlog() {
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
        // a started waiting first, then b and c: each gets one turn in that order, then the
        // round goes on
        assert_eq!(*lock(&order), ["a1", "b", "c", "a2", "a3"]);
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
