//! The lockout rule, exact under any concurrency.
//!
//! A password check is *admitted* before it runs, atomically in the store: only while the account
//! is not locked and its settled failures plus the checks still in flight stay below the
//! threshold. So however many guesses arrive at once, at most `threshold` are ever evaluated per
//! lock window. Settling a check turns it into a failure (locking at the threshold) or a success,
//! and a success never clears a lock that was set while it ran. A success clears the failures
//! only when no other check is in flight: a right password racing a flood of wrong ones cannot
//! reset the count the flood is building, so the bound holds with a success among the guesses.
//!
//! The stores keep [`LoginCounters`] on the user row and apply these pure functions inside one
//! transaction; checks in flight expire after `LockoutRule::hold`, so a replica that dies between
//! admitting and settling cannot leave an account unusable.

use time::{Duration, OffsetDateTime};

/// The rule in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    /// Consecutive failures that lock the account.
    pub threshold: u32,
    /// How long a lock lasts.
    pub lock_for: Duration,
    /// How long an admitted check counts as in flight at most (longer than any password check).
    pub hold: Duration,
}

/// The lockout state of one account, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginCounters {
    /// Settled consecutive failures.
    pub failed: u32,
    /// Locked until then.
    pub locked_until: Option<OffsetDateTime>,
    /// Admitted checks not settled yet.
    pub pending: u32,
    /// When the checks in flight stop counting.
    pub pending_until: Option<OffsetDateTime>,
}

/// Whether a password check may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAdmission {
    /// It may: it now counts as in flight.
    Admitted,
    /// It may not: the account is locked, or enough checks are in flight to lock it.
    Refused,
}

/// What settling a check led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSettlement {
    /// A wrong password: the consecutive failures, this one included, and the lock if any.
    Failed {
        /// Consecutive failures.
        attempts: u32,
        /// Set when the account is locked (by this failure or before).
        locked_until: Option<OffsetDateTime>,
        /// Whether this failure set the lock.
        locked_now: bool,
    },
    /// The right password, and the account is not locked: the failures are cleared unless other
    /// checks are still in flight (then they keep counting towards the lock).
    Succeeded,
    /// The right password, but a lock was set while the check ran: refused, the lock stays.
    LockedMeanwhile,
}

impl LoginCounters {
    fn live(self, now: OffsetDateTime) -> Self {
        let lock_over = self.locked_until.is_some_and(|until| until <= now);
        let pending_over = self.pending_until.is_none_or(|until| until <= now);
        Self {
            // A lock that has run out starts a fresh count.
            failed: if lock_over { 0 } else { self.failed },
            locked_until: if lock_over { None } else { self.locked_until },
            pending: if pending_over { 0 } else { self.pending },
            pending_until: if pending_over {
                None
            } else {
                self.pending_until
            },
        }
    }

    /// Whether the account is locked at `now`.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// Admits a check at `now`, or refuses it; returns the state to store.
    #[must_use]
    pub fn admit(self, now: OffsetDateTime, rule: LockoutRule) -> (Self, LoginAdmission) {
        let s = self.live(now);
        if s.is_locked(now) || s.failed.saturating_add(s.pending) >= rule.threshold.max(1) {
            return (s, LoginAdmission::Refused);
        }
        let admitted = Self {
            pending: s.pending + 1,
            pending_until: Some(now + rule.hold),
            ..s
        };
        (admitted, LoginAdmission::Admitted)
    }

    /// Settles an admitted check at `now`; returns the state to store.
    #[must_use]
    pub fn settle(
        self,
        now: OffsetDateTime,
        rule: LockoutRule,
        password_matched: bool,
    ) -> (Self, LoginSettlement) {
        let mut s = self.live(now);
        s.pending = s.pending.saturating_sub(1);
        if s.pending == 0 {
            s.pending_until = None;
        }
        if password_matched {
            if s.is_locked(now) {
                return (s, LoginSettlement::LockedMeanwhile);
            }
            if s.pending == 0 {
                s.failed = 0;
            }
            return (s, LoginSettlement::Succeeded);
        }
        s.failed = s.failed.saturating_add(1);
        let locked_now = !s.is_locked(now) && s.failed >= rule.threshold;
        if locked_now {
            s.locked_until = Some(now + rule.lock_for);
        }
        (
            s,
            LoginSettlement::Failed {
                attempts: s.failed,
                locked_until: s.locked_until,
                locked_now,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: LockoutRule = LockoutRule {
        threshold: 5,
        lock_for: Duration::minutes(15),
        hold: Duration::seconds(60),
    };

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn thirty_at_once_admit_exactly_the_threshold_and_lock() {
        let now = t0();
        let mut s = LoginCounters::default();
        let mut admitted = 0;
        for _ in 0..30 {
            let (next, a) = s.admit(now, RULE);
            s = next;
            if a == LoginAdmission::Admitted {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 5);
        for _ in 0..5 {
            s = s.settle(now, RULE, false).0;
        }
        assert!(s.is_locked(now));
        assert_eq!(s.pending, 0);
        assert_eq!(s.admit(now, RULE).1, LoginAdmission::Refused);
    }

    #[test]
    fn a_success_never_clears_a_lock_set_while_it_ran() {
        let now = t0();
        let mut s = LoginCounters {
            failed: 4,
            ..LoginCounters::default()
        };
        // The right password is admitted (4 + 1 in flight = 5: nothing else gets in)...
        let (next, a) = s.admit(now, RULE);
        assert_eq!(a, LoginAdmission::Admitted);
        s = next;
        // ...and meanwhile the lock is set by another replica's settled failure.
        s.locked_until = Some(now + Duration::minutes(15));
        let (s, outcome) = s.settle(now, RULE, true);
        assert_eq!(outcome, LoginSettlement::LockedMeanwhile);
        assert!(s.is_locked(now));
    }

    #[test]
    fn a_success_racing_wrong_guesses_does_not_reset_their_count() {
        let now = t0();
        let mut s = LoginCounters::default();
        // The right password and four wrong ones at once.
        for _ in 0..5 {
            s = s.admit(now, RULE).0;
        }
        let (mut s, outcome) = s.settle(now, RULE, true);
        assert_eq!(outcome, LoginSettlement::Succeeded);
        for _ in 0..4 {
            s = s.settle(now, RULE, false).0;
        }
        assert_eq!(s.failed, 4);
        // One more wrong guess is all the window allows, and it locks.
        let (s, a) = s.admit(now, RULE);
        assert_eq!(a, LoginAdmission::Admitted);
        assert_eq!(s.admit(now, RULE).1, LoginAdmission::Refused);
        let (s, _) = s.settle(now, RULE, false);
        assert!(s.is_locked(now));
        // Alone, a success clears the count, as sequentially.
        let (s, _) = LoginCounters {
            failed: 3,
            ..LoginCounters::default()
        }
        .admit(now, RULE);
        assert_eq!(s.settle(now, RULE, true).0.failed, 0);
    }

    #[test]
    fn checks_in_flight_expire_and_locks_run_out() {
        let now = t0();
        let (s, _) = LoginCounters::default().admit(now, RULE);
        let later = now + Duration::seconds(61);
        assert_eq!(s.live(later).pending, 0, "a crashed check stops counting");
        let locked = LoginCounters {
            failed: 5,
            locked_until: Some(now + Duration::minutes(15)),
            ..LoginCounters::default()
        };
        assert_eq!(locked.admit(now, RULE).1, LoginAdmission::Refused);
        let after = now + Duration::minutes(16);
        let (s, a) = locked.admit(after, RULE);
        assert_eq!(a, LoginAdmission::Admitted);
        assert_eq!(s.failed, 0, "a lock that ran out starts a fresh count");
    }

    #[test]
    fn sequential_failures_lock_at_the_threshold_and_a_success_resets() {
        let now = t0();
        let mut s = LoginCounters::default();
        for i in 1..=4 {
            s = s.admit(now, RULE).0;
            let (next, out) = s.settle(now, RULE, false);
            s = next;
            assert!(
                matches!(out, LoginSettlement::Failed { attempts, locked_now: false, .. } if attempts == i)
            );
        }
        s = s.admit(now, RULE).0;
        let (after_ok, out) = s.settle(now, RULE, true);
        assert_eq!(out, LoginSettlement::Succeeded);
        assert_eq!(after_ok.failed, 0);
        s = s.settle(now, RULE, false).0;
        assert!(s.is_locked(now));
    }
}
