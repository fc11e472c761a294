//! A circuit breaker per source that counts only failures of the upstream itself: 5xx,
//! throttling, timeouts and no connection open it; a 4xx answer to a query never does.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::util::lock;

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
    pub(super) fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy,
            state: Mutex::default(),
        }
    }

    /// Whether a call may go out now.
    pub(super) fn allow(&self) -> bool {
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
    pub(super) fn record(&self, verdict: Verdict) {
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
    pub(super) fn state(&self) -> &'static str {
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
