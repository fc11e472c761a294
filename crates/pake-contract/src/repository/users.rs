//! Users, and the lockout counters under concurrency.

use pake_domain::{
    LockoutRule, LoginAdmission, LoginSettlement, PlanId, Role, TenantId, UserId, UserStatus,
    Username,
};
use pake_ports::{Conflict, RepoError, Repositories};
use time::{Duration, OffsetDateTime};

use super::page;
use crate::fixtures::{self, now};

/// Create with conflicts and the `max_users` bound, find by id and login, list, count, update,
/// delete.
pub async fn users(r: &Repositories) {
    let t = fixtures::tenant("acme", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let alice = fixtures::user(t.id, "alice", Role::Admin);
    let mut bob = fixtures::user(t.id, "bob", Role::User);
    bob.created_at += Duration::seconds(1);
    r.users.create(&alice, Some(2)).await.unwrap();
    r.users.create(&bob, Some(2)).await.unwrap();
    let carol = fixtures::user(t.id, "carol", Role::Viewer);
    assert!(matches!(
        r.users.create(&carol, Some(2)).await,
        Err(RepoError::LimitReached)
    ));
    assert_eq!(r.users.count(t.id).await.unwrap(), 2);

    let mut same_name = fixtures::user(t.id, "alice", Role::User);
    same_name.email = pake_domain::Email::parse("other@example.org").unwrap();
    assert!(matches!(
        r.users.create(&same_name, None).await,
        Err(RepoError::Conflict(Conflict::Username))
    ));
    let mut same_email = fixtures::user(t.id, "alice2", Role::User);
    same_email.email = alice.email.clone();
    assert!(matches!(
        r.users.create(&same_email, None).await,
        Err(RepoError::Conflict(Conflict::Email))
    ));

    assert_eq!(
        r.users.find(t.id, alice.id).await.unwrap().as_ref(),
        Some(&alice)
    );
    assert_eq!(r.users.find(t.id, UserId::new()).await.unwrap(), None);
    assert_eq!(
        r.users
            .find_by_login(t.id, "ALICE")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(alice.id)
    );
    assert_eq!(
        r.users
            .find_by_login(t.id, " Bob@Example.org ")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(bob.id)
    );
    assert_eq!(r.users.find_by_login(t.id, "nobody").await.unwrap(), None);

    let listed = r.users.list(t.id, page(1, 0)).await.unwrap();
    assert_eq!(
        (listed.total, listed.items[0].id),
        (2, alice.id),
        "oldest first"
    );
    assert_eq!(
        r.users.list(t.id, page(1, 1)).await.unwrap().items[0].id,
        bob.id
    );

    let mut changed = bob.clone();
    changed.username = Username::parse("robert").unwrap();
    changed.role = Role::Manager;
    changed.status = UserStatus::Disabled;
    changed.must_change_password = true;
    changed.full_name = None;
    changed.tokens_valid_after += Duration::seconds(9);
    r.users.update(&changed).await.unwrap();
    assert_eq!(
        r.users.find(t.id, bob.id).await.unwrap().as_ref(),
        Some(&changed)
    );
    let mut clash = changed.clone();
    clash.username = alice.username.clone();
    assert!(matches!(
        r.users.update(&clash).await,
        Err(RepoError::Conflict(Conflict::Username))
    ));
    let ghost = fixtures::user(t.id, "ghost", Role::User);
    assert!(matches!(
        r.users.update(&ghost).await,
        Err(RepoError::NotFound)
    ));

    let before = now() - Duration::minutes(1);
    assert_eq!(r.users.count_active_since(t.id, before).await.unwrap(), 0);
    r.users
        .begin_login_attempt(t.id, alice.id, now(), RULE)
        .await
        .unwrap();
    assert_eq!(
        r.users
            .finish_login_attempt(t.id, alice.id, now(), RULE, true)
            .await
            .unwrap(),
        LoginSettlement::Succeeded
    );
    assert_eq!(r.users.count_active_since(t.id, before).await.unwrap(), 1);

    r.users.delete(t.id, bob.id).await.unwrap();
    assert_eq!(r.users.find(t.id, bob.id).await.unwrap(), None);
    assert!(matches!(
        r.users.delete(t.id, bob.id).await,
        Err(RepoError::NotFound)
    ));
    assert_eq!(r.users.count(t.id).await.unwrap(), 1);
}

const RULE: LockoutRule = LockoutRule {
    threshold: 5,
    lock_for: Duration::minutes(15),
    hold: Duration::minutes(1),
};

/// One wrong guess: admitted, then settled as a failure.
async fn wrong_guess(
    r: &Repositories,
    t: TenantId,
    u: UserId,
    at: OffsetDateTime,
) -> LoginSettlement {
    assert_eq!(
        r.users.begin_login_attempt(t, u, at, RULE).await.unwrap(),
        LoginAdmission::Admitted
    );
    r.users
        .finish_login_attempt(t, u, at, RULE, false)
        .await
        .unwrap()
}

/// Consecutive failures lock at the threshold, persist, reset on success, restart after expiry;
/// checks in flight count, so concurrent guesses never pass the threshold.
pub async fn login_failures(r: &Repositories) {
    let t = fixtures::tenant("locks", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let u = fixtures::user(t.id, "alice", Role::User);
    r.users.create(&u, None).await.unwrap();
    let start = now();
    let lock = RULE.lock_for;
    for n in 1..=4 {
        let f = wrong_guess(r, t.id, u.id, start).await;
        assert!(
            matches!(f, LoginSettlement::Failed { attempts, locked_until: None, .. } if attempts == n),
            "{f:?}"
        );
    }
    let fifth = wrong_guess(r, t.id, u.id, start).await;
    assert_eq!(
        fifth,
        LoginSettlement::Failed {
            attempts: 5,
            locked_until: Some(start + lock),
            locked_now: true
        }
    );
    let stored = r.users.find(t.id, u.id).await.unwrap().unwrap();
    assert!(stored.is_locked(start + Duration::minutes(1)));
    assert!(!stored.is_locked(start + lock + Duration::seconds(1)));
    // while locked, no check is admitted
    assert_eq!(
        r.users
            .begin_login_attempt(t.id, u.id, start + Duration::minutes(1), RULE)
            .await
            .unwrap(),
        LoginAdmission::Refused
    );
    // after the lock ran out, counting starts afresh
    let later = start + lock + Duration::seconds(1);
    let fresh = wrong_guess(r, t.id, u.id, later).await;
    assert!(matches!(
        fresh,
        LoginSettlement::Failed {
            attempts: 1,
            locked_until: None,
            ..
        }
    ));
    r.users
        .begin_login_attempt(t.id, u.id, later, RULE)
        .await
        .unwrap();
    assert_eq!(
        r.users
            .finish_login_attempt(t.id, u.id, later, RULE, true)
            .await
            .unwrap(),
        LoginSettlement::Succeeded
    );
    let reset = r.users.find(t.id, u.id).await.unwrap().unwrap();
    assert_eq!(
        (
            reset.failed_login_attempts,
            reset.locked_until,
            reset.last_login_at
        ),
        (0, None, Some(later))
    );

    // 30 checks at once: exactly the threshold is admitted, whatever the interleaving
    let t2 = later + Duration::seconds(1);
    let mut checks = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let users = std::sync::Arc::clone(&r.users);
        let (tid, uid) = (t.id, u.id);
        checks.spawn(async move { users.begin_login_attempt(tid, uid, t2, RULE).await });
    }
    let admissions = checks.join_all().await;
    let admitted = admissions
        .iter()
        .filter(|a| matches!(a, Ok(LoginAdmission::Admitted)))
        .count();
    assert_eq!(admitted, 5, "{admissions:?}");
    // a right password among them cannot clear the lock the wrong ones set meanwhile
    for _ in 0..4 {
        r.users
            .finish_login_attempt(t.id, u.id, t2, RULE, false)
            .await
            .unwrap();
    }
    let locked = r.users.find(t.id, u.id).await.unwrap().unwrap();
    assert!(
        !locked.is_locked(t2),
        "four failures and one check in flight"
    );
    // a fifth failure elsewhere (another replica) sets the lock...
    r.users
        .finish_login_attempt(t.id, u.id, t2, RULE, false)
        .await
        .unwrap();
    // ...and the success that was in flight does not clear it
    assert_eq!(
        r.users
            .finish_login_attempt(t.id, u.id, t2, RULE, true)
            .await
            .unwrap(),
        LoginSettlement::LockedMeanwhile
    );
    assert!(
        r.users
            .find(t.id, u.id)
            .await
            .unwrap()
            .unwrap()
            .is_locked(t2)
    );

    let other = TenantId::new();
    assert!(matches!(
        r.users.begin_login_attempt(other, u.id, later, RULE).await,
        Err(RepoError::NotFound)
    ));
    assert!(matches!(
        r.users
            .finish_login_attempt(t.id, UserId::new(), later, RULE, false)
            .await,
        Err(RepoError::NotFound)
    ));
}

/// The lockout counters change only through the lockout methods: writing back a user read before
/// a lock leaves the lock; `clear_lockout` clears failures, lock and checks in flight.
pub async fn lockout_survives_stale_writes(r: &Repositories) {
    let t = fixtures::tenant("stale", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let u = fixtures::user(t.id, "alice", Role::User);
    r.users.create(&u, None).await.unwrap();
    let stale = r.users.find(t.id, u.id).await.unwrap().unwrap();
    let at = now();
    for _ in 0..5 {
        wrong_guess(r, t.id, u.id, at).await;
    }
    let mut renamed = stale.clone();
    renamed.full_name = Some(pake_domain::DisplayName::parse("Alice Stale").unwrap());
    r.users.update(&renamed).await.unwrap();
    let after = r.users.find(t.id, u.id).await.unwrap().unwrap();
    assert!(after.is_locked(at), "a stale write cleared the lock");
    assert_eq!(after.failed_login_attempts, 5);
    assert_eq!(
        after.full_name, renamed.full_name,
        "the other fields are written"
    );

    r.users.clear_lockout(t.id, u.id).await.unwrap();
    let cleared = r.users.find(t.id, u.id).await.unwrap().unwrap();
    assert!(!cleared.is_locked(at));
    assert_eq!(cleared.failed_login_attempts, 0);
    assert_eq!(
        r.users
            .begin_login_attempt(t.id, u.id, at, RULE)
            .await
            .unwrap(),
        LoginAdmission::Admitted
    );
    assert!(matches!(
        r.users.clear_lockout(t.id, UserId::new()).await,
        Err(RepoError::NotFound)
    ));
}
