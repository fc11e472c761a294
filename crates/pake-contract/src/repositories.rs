//! The repository contract: what every store must do, as executable checks.

use pake_domain::audit::{AuditEvent, AuditFilter, AuditKind};
use pake_domain::search::{HistoryFilter, SavedSearchFilter, SourceId};
use pake_domain::session::{RefreshOutcome, RefreshTokenHash};
use pake_domain::usage::UsageMetric;
use pake_domain::{
    AuditEventId, DisplayName, LimitsOverride, LockoutRule, LoginAdmission, LoginSettlement,
    PageRequest, PlanId, Role, SavedSearchId, SessionId, TenantId, TenantSlug, TenantStatus,
    UserId, UserStatus, Username,
};
use pake_ports::{Conflict, RepoError, Repositories, TenantFilter};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::fixtures::{self, now};

fn page(limit: u32, offset: u64) -> PageRequest {
    PageRequest::new(Some(limit), Some(offset)).unwrap()
}

fn token(n: u8) -> RefreshTokenHash {
    RefreshTokenHash([n; 32])
}

/// Create, find (by id and slug), list with filters and totals, update, conflicts.
pub async fn tenants(r: &Repositories) {
    let a = fixtures::tenant("alpha", PlanId::Basic);
    let mut b = fixtures::tenant("beta", PlanId::Professional);
    b.created_at += Duration::seconds(1);
    let mut c = fixtures::tenant("gamma", PlanId::Professional);
    c.status = TenantStatus::Suspended;
    c.created_at += Duration::seconds(2);
    for t in [&a, &b, &c] {
        r.tenants.create(t).await.unwrap();
    }
    assert_eq!(r.tenants.find(a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(r.tenants.find(TenantId::new()).await.unwrap(), None);
    let by_slug = r
        .tenants
        .find_by_slug(&TenantSlug::parse_any("beta").unwrap())
        .await
        .unwrap();
    assert_eq!(by_slug.as_ref(), Some(&b));

    let mut dup = fixtures::tenant("alpha", PlanId::Basic);
    assert!(matches!(
        r.tenants.create(&dup).await,
        Err(RepoError::Conflict(Conflict::TenantSlug))
    ));
    dup.slug = TenantSlug::parse("delta").unwrap();
    dup.id = a.id;
    assert!(matches!(
        r.tenants.create(&dup).await,
        Err(RepoError::Conflict(Conflict::Id))
    ));

    let all = r
        .tenants
        .list(TenantFilter::default(), page(2, 0))
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(
        all.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![c.id, b.id],
        "newest first"
    );
    let rest = r
        .tenants
        .list(TenantFilter::default(), page(2, 2))
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![a.id]
    );
    let pro = TenantFilter {
        plan: Some(PlanId::Professional),
        ..TenantFilter::default()
    };
    assert_eq!(r.tenants.list(pro, page(10, 0)).await.unwrap().total, 2);
    let suspended_pro = TenantFilter {
        status: Some(TenantStatus::Suspended),
        plan: Some(PlanId::Professional),
    };
    let only_c = r.tenants.list(suspended_pro, page(10, 0)).await.unwrap();
    assert_eq!((only_c.total, only_c.items[0].id), (1, c.id));

    let mut changed = a.clone();
    changed.display_name = DisplayName::parse("Alpha Research").unwrap();
    changed.plan = PlanId::Enterprise;
    changed.limits_override = LimitsOverride {
        max_users: Some(3),
        ..LimitsOverride::default()
    };
    changed
        .settings
        .insert("theme".into(), serde_json::json!("dark"));
    changed.provisioning.completed_steps.push("settings".into());
    changed.provisioning.attempts = 1;
    changed.updated_at += Duration::seconds(5);
    r.tenants.update(&changed).await.unwrap();
    assert_eq!(r.tenants.find(a.id).await.unwrap().as_ref(), Some(&changed));

    let ghost = fixtures::tenant("ghost", PlanId::Basic);
    assert!(matches!(
        r.tenants.update(&ghost).await,
        Err(RepoError::NotFound)
    ));
}

/// Purging a tenant removes every row it owns, frees its slug and leaves other tenants alone.
pub async fn tenant_purge(r: &Repositories) {
    let victim = fixtures::tenant("victim", PlanId::Basic);
    let other = fixtures::tenant("bystander", PlanId::Basic);
    let mut users = Vec::new();
    for t in [&victim, &other] {
        r.tenants.create(t).await.unwrap();
        let u = fixtures::user(t.id, "alice", Role::Admin);
        r.users.create(&u, None).await.unwrap();
        let s = fixtures::session(&u);
        r.sessions
            .create(
                &s,
                RefreshTokenHash([if t.id == victim.id { 1 } else { 2 }; 32]),
            )
            .await
            .unwrap();
        r.history
            .append(&fixtures::search(&u, "q", &[SourceId::Arxiv], now()))
            .await
            .unwrap();
        r.saved_searches
            .create(&fixtures::saved_search(&u, "mine"))
            .await
            .unwrap();
        r.usage
            .increment(t.id, now().date(), UsageMetric::ApiCalls, 3)
            .await
            .unwrap();
        r.audit
            .append(&audit_event(t.id, AuditKind::UserCreated, Some(u.id)))
            .await
            .unwrap();
        users.push(u);
    }
    r.tenants.purge(victim.id).await.unwrap();

    let v = victim.id;
    let everything = HistoryFilter::default();
    assert_eq!(r.tenants.find(v).await.unwrap(), None);
    assert_eq!(r.users.count(v).await.unwrap(), 0);
    assert_eq!(r.users.find(v, users[0].id).await.unwrap(), None);
    assert!(
        r.sessions
            .list_active(v, users[0].id, now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        r.history
            .list(v, &everything, page(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        r.saved_searches
            .list(v, SavedSearchFilter::default(), page(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        r.usage
            .get(v, now().date(), UsageMetric::ApiCalls)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        r.audit
            .list(v, &AuditFilter::default(), page(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
    assert!(matches!(r.tenants.purge(v).await, Err(RepoError::NotFound)));

    // the slug is free again
    r.tenants
        .create(&fixtures::tenant("victim", PlanId::Basic))
        .await
        .unwrap();

    // the bystander kept everything
    let o = other.id;
    assert_eq!(r.users.count(o).await.unwrap(), 1);
    assert_eq!(
        r.sessions
            .list_active(o, users[1].id, now())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        r.history
            .list(o, &everything, page(10, 0))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        r.saved_searches
            .list(o, SavedSearchFilter::default(), page(10, 0))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        r.usage
            .get(o, now().date(), UsageMetric::ApiCalls)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        r.audit
            .list(o, &AuditFilter::default(), page(10, 0))
            .await
            .unwrap()
            .total,
        1
    );
}

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
    let mut other = r.users.find(t.id, u.id).await.unwrap().unwrap();
    other.locked_until = Some(t2 + lock);
    r.users.update(&other).await.unwrap();
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

/// Sessions: create, find, list active, revoke one, revoke all but one, revoked-since.
pub async fn sessions(r: &Repositories) {
    let t = fixtures::tenant("sess", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let u = fixtures::user(t.id, "alice", Role::User);
    r.users.create(&u, None).await.unwrap();
    let s1 = fixtures::session(&u);
    let mut s2 = fixtures::session(&u);
    s2.created_at += Duration::seconds(1);
    let mut s3 = fixtures::session(&u);
    s3.created_at += Duration::seconds(2);
    r.sessions.create(&s1, token(1)).await.unwrap();
    r.sessions.create(&s2, token(2)).await.unwrap();
    r.sessions.create(&s3, token(3)).await.unwrap();
    assert!(matches!(
        r.sessions.create(&s3, token(4)).await,
        Err(RepoError::Conflict(_))
    ));
    let orphan = fixtures::session(&fixtures::user(t.id, "nobody", Role::User));
    assert!(matches!(
        r.sessions.create(&orphan, token(5)).await,
        Err(RepoError::NotFound)
    ));

    assert_eq!(
        r.sessions.find(t.id, s1.id).await.unwrap().as_ref(),
        Some(&s1)
    );
    let active = r.sessions.list_active(t.id, u.id, now()).await.unwrap();
    assert_eq!(
        active.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![s3.id, s2.id, s1.id]
    );

    let at = now();
    assert!(r.sessions.revoke(t.id, s1.id, at).await.unwrap());
    assert!(
        !r.sessions.revoke(t.id, s1.id, at).await.unwrap(),
        "already revoked"
    );
    assert!(matches!(
        r.sessions.revoke(t.id, SessionId::new(), at).await,
        Err(RepoError::NotFound)
    ));
    assert_eq!(
        r.sessions
            .find(t.id, s1.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(at)
    );

    let ended = r
        .sessions
        .revoke_all_for_user(t.id, u.id, Some(s3.id), at)
        .await
        .unwrap();
    assert_eq!(ended, vec![s2.id]);
    let active = r.sessions.list_active(t.id, u.id, now()).await.unwrap();
    assert_eq!(active.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s3.id]);

    let revoked = r
        .sessions
        .list_revoked_since(at - Duration::seconds(1))
        .await
        .unwrap();
    assert!(revoked.contains(&(t.id, s1.id)) && revoked.contains(&(t.id, s2.id)));
    assert!(!revoked.contains(&(t.id, s3.id)));
    assert!(
        r.sessions
            .list_revoked_since(at + Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );

    // expired sessions are not active
    let mut old = fixtures::session(&u);
    old.expires_at = now() - Duration::seconds(1);
    r.sessions.create(&old, token(6)).await.unwrap();
    assert!(
        !r.sessions
            .list_active(t.id, u.id, now())
            .await
            .unwrap()
            .iter()
            .any(|s| s.id == old.id)
    );

    // a deleted user's sessions stay, revoked: their revocation outlives the user (a restarted
    // or new replica still refuses the user's access tokens)
    let gone = fixtures::user(t.id, "gone", Role::Admin);
    r.users.create(&gone, None).await.unwrap();
    let gs = fixtures::session(&gone);
    r.sessions.create(&gs, token(7)).await.unwrap();
    let del_at = now();
    r.sessions
        .revoke_all_for_user(t.id, gone.id, None, del_at)
        .await
        .unwrap();
    r.users.delete(t.id, gone.id).await.unwrap();
    assert!(
        r.sessions
            .list_revoked_since(del_at - Duration::seconds(1))
            .await
            .unwrap()
            .contains(&(t.id, gs.id))
    );
    assert_eq!(
        r.sessions
            .find(t.id, gs.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(del_at)
    );
    assert!(matches!(
        r.sessions.create(&fixtures::session(&gone), token(8)).await,
        Err(RepoError::NotFound)
    ));

    // suspension: every active session of the tenant ends, other tenants' stay
    let other = fixtures::tenant("sess-other", PlanId::Basic);
    r.tenants.create(&other).await.unwrap();
    let ou = fixtures::user(other.id, "olga", Role::User);
    r.users.create(&ou, None).await.unwrap();
    let os = fixtures::session(&ou);
    r.sessions.create(&os, token(9)).await.unwrap();
    let ended = r.sessions.revoke_all_for_tenant(t.id, now()).await.unwrap();
    assert_eq!(ended, vec![s3.id]);
    assert!(
        r.sessions
            .list_active(t.id, u.id, now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        r.sessions
            .list_active(other.id, ou.id, now())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Refresh rotation: each use rotates; reuse revokes the family; revoked or expired is invalid.
pub async fn refresh_rotation(r: &Repositories) {
    let t = fixtures::tenant("rotation", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let u = fixtures::user(t.id, "alice", Role::User);
    r.users.create(&u, None).await.unwrap();
    let s = fixtures::session(&u);
    r.sessions.create(&s, token(1)).await.unwrap();

    let at = now() + Duration::seconds(10);
    match r
        .sessions
        .rotate(t.id, token(1), token(2), at)
        .await
        .unwrap()
    {
        RefreshOutcome::Rotated(session) => {
            assert_eq!((session.id, session.last_used_at), (s.id, at));
        }
        other => panic!("expected rotation, got {other:?}"),
    }
    assert!(matches!(
        r.sessions
            .rotate(t.id, token(2), token(3), at)
            .await
            .unwrap(),
        RefreshOutcome::Rotated(_)
    ));
    assert_eq!(
        r.sessions
            .rotate(t.id, token(99), token(98), at)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    // another tenant cannot present this family's token
    assert_eq!(
        r.sessions
            .rotate(TenantId::new(), token(3), token(4), at)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );

    // presenting token 1 again (already used) revokes the whole family
    match r
        .sessions
        .rotate(t.id, token(1), token(4), at)
        .await
        .unwrap()
    {
        RefreshOutcome::ReuseDetected(session) => assert_eq!(session.id, s.id),
        other => panic!("expected reuse detection, got {other:?}"),
    }
    assert!(
        r.sessions
            .find(t.id, s.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    // and the current token of the family dies with it
    assert_eq!(
        r.sessions
            .rotate(t.id, token(3), token(5), at)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );

    // absolute expiry
    let mut short = fixtures::session(&u);
    short.expires_at = now() + Duration::seconds(1);
    r.sessions.create(&short, token(10)).await.unwrap();
    let late = now() + Duration::seconds(2);
    assert_eq!(
        r.sessions
            .rotate(t.id, token(10), token(11), late)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

fn audit_event(tenant: TenantId, kind: AuditKind, actor: Option<UserId>) -> AuditEvent {
    AuditEvent {
        tenant_id: tenant,
        id: AuditEventId::new(),
        at: now(),
        kind,
        actor_id: actor,
        actor_tenant_id: None,
        target: Some("target".into()),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("ua".into()),
        request_id: Some("req-1".into()),
        details: serde_json::json!({"k": "v"}),
    }
}

/// Audit: append, list newest first with filters and totals.
pub async fn audit(r: &Repositories) {
    let t = fixtures::tenant("audited", PlanId::Enterprise);
    r.tenants.create(&t).await.unwrap();
    let actor = UserId::new();
    let mut e1 = audit_event(t.id, AuditKind::LoginFailed, None);
    e1.at -= Duration::minutes(10);
    let e2 = audit_event(t.id, AuditKind::LoginSucceeded, Some(actor));
    let mut e3 = audit_event(t.id, AuditKind::LoginFailed, Some(actor));
    e3.at += Duration::seconds(1);
    for e in [&e1, &e2, &e3] {
        r.audit.append(e).await.unwrap();
    }
    assert!(matches!(
        r.audit.append(&e1).await,
        Err(RepoError::Conflict(Conflict::Id))
    ));
    let all = r
        .audit
        .list(t.id, &AuditFilter::default(), page(10, 0))
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(
        all.items,
        vec![e3.clone(), e2.clone(), e1.clone()],
        "newest first, all fields kept"
    );
    let failed = AuditFilter {
        kind: Some(AuditKind::LoginFailed),
        ..AuditFilter::default()
    };
    assert_eq!(
        r.audit
            .list(t.id, &failed, page(10, 0))
            .await
            .unwrap()
            .total,
        2
    );
    let by_actor = AuditFilter {
        actor_id: Some(actor),
        ..AuditFilter::default()
    };
    assert_eq!(
        r.audit
            .list(t.id, &by_actor, page(1, 0))
            .await
            .unwrap()
            .items,
        vec![e3.clone()]
    );
    let recent = AuditFilter {
        since: Some(now() - Duration::minutes(1)),
        ..AuditFilter::default()
    };
    assert_eq!(
        r.audit
            .list(t.id, &recent, page(10, 0))
            .await
            .unwrap()
            .total,
        2
    );
    assert_eq!(
        r.audit
            .list(TenantId::new(), &AuditFilter::default(), page(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
}

/// History: append, list with filters, stats and popular queries with real aggregates.
pub async fn history(r: &Repositories) {
    let t = fixtures::tenant("history", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let alice = fixtures::user(t.id, "alice", Role::User);
    let bob = fixtures::user(t.id, "bob", Role::User);
    r.users.create(&alice, None).await.unwrap();
    r.users.create(&bob, None).await.unwrap();
    let day1 = Date::from_calendar_date(2026, Month::March, 1)
        .unwrap()
        .midnight()
        .assume_utc();
    let day2 = day1 + Duration::days(1) + Duration::hours(3);
    let mut s1 = fixtures::search(
        &alice,
        "CRISPR  Cas9",
        &[SourceId::Arxiv, SourceId::Pubmed],
        day1,
    );
    s1.execution_ms = 100;
    let mut s2 = fixtures::search(&alice, "crispr cas9", &[SourceId::Pubmed], day2);
    s2.execution_ms = 300;
    s2.cache_hit = true;
    s2.source_status = serde_json::json!({"pubmed": {"status": "cached"}});
    let mut s3 = fixtures::search(
        &bob,
        "dark matter",
        &[SourceId::Arxiv, SourceId::Web, SourceId::Pubmed],
        day2 + Duration::minutes(1),
    );
    s3.execution_ms = 200;
    s3.saved_search_id = Some(SavedSearchId::new());
    for s in [&s1, &s2, &s3] {
        r.history.append(s).await.unwrap();
    }
    let all = HistoryFilter::default();
    let listed = r.history.list(t.id, &all, page(2, 0)).await.unwrap();
    assert_eq!(listed.total, 3);
    assert_eq!(
        listed.items,
        vec![s3.clone(), s2.clone()],
        "newest first, all fields kept"
    );
    let alice_only = HistoryFilter {
        user_id: Some(alice.id),
        ..HistoryFilter::default()
    };
    assert_eq!(
        r.history
            .list(t.id, &alice_only, page(10, 0))
            .await
            .unwrap()
            .total,
        2
    );
    let since_day2 = HistoryFilter {
        since: Some(day2),
        ..HistoryFilter::default()
    };
    assert_eq!(
        r.history
            .list(t.id, &since_day2, page(10, 0))
            .await
            .unwrap()
            .total,
        2
    );

    let stats = r.history.stats(t.id, &all).await.unwrap();
    assert_eq!((stats.total, stats.cache_hits), (3, 1));
    assert!((stats.average_ms - 200.0).abs() < f64::EPSILON);
    assert_eq!(
        stats.by_source,
        vec![
            (SourceId::Pubmed, 3),
            (SourceId::Arxiv, 2),
            (SourceId::Web, 1)
        ]
    );
    assert_eq!(stats.per_day, vec![(day1.date(), 1), (day2.date(), 2)]);
    let alice_stats = r.history.stats(t.id, &alice_only).await.unwrap();
    assert_eq!((alice_stats.total, alice_stats.cache_hits), (2, 1));
    let empty = r.history.stats(TenantId::new(), &all).await.unwrap();
    assert_eq!(
        (empty.total, empty.average_ms, empty.by_source.len()),
        (0, 0.0, 0)
    );

    let popular = r.history.popular(t.id, &all, 10).await.unwrap();
    assert_eq!(popular.len(), 2);
    assert_eq!(popular[0].count, 2, "grouped case- and space-insensitively");
    assert!(
        popular[0].query.eq_ignore_ascii_case("crispr cas9") || popular[0].query == "CRISPR  Cas9"
    );
    assert_eq!(
        (popular[1].query.as_str(), popular[1].count),
        ("dark matter", 1)
    );
    assert_eq!(r.history.popular(t.id, &all, 1).await.unwrap().len(), 1);
}

/// Saved searches: create, find, list own/public, update, delete, count runs.
pub async fn saved_searches(r: &Repositories) {
    let t = fixtures::tenant("saved", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let alice = fixtures::user(t.id, "alice", Role::User);
    let bob = fixtures::user(t.id, "bob", Role::User);
    r.users.create(&alice, None).await.unwrap();
    r.users.create(&bob, None).await.unwrap();
    let mine = fixtures::saved_search(&alice, "Mine");
    let mut public = fixtures::saved_search(&bob, "Shared");
    public.is_public = true;
    public.created_at += Duration::seconds(1);
    let mut private = fixtures::saved_search(&bob, "Bob's");
    private.created_at += Duration::seconds(2);
    for s in [&mine, &public, &private] {
        r.saved_searches.create(s).await.unwrap();
    }
    let orphan = fixtures::saved_search(&fixtures::user(t.id, "ghost", Role::User), "x");
    assert!(matches!(
        r.saved_searches.create(&orphan).await,
        Err(RepoError::NotFound)
    ));
    assert_eq!(
        r.saved_searches.find(t.id, mine.id).await.unwrap().as_ref(),
        Some(&mine)
    );

    let visible = SavedSearchFilter {
        owner_id: Some(alice.id),
        include_public: true,
    };
    let listed = r
        .saved_searches
        .list(t.id, visible, page(10, 0))
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![public.id, mine.id]
    );
    let own = SavedSearchFilter {
        owner_id: Some(bob.id),
        include_public: false,
    };
    assert_eq!(
        r.saved_searches
            .list(t.id, own, page(10, 0))
            .await
            .unwrap()
            .total,
        2
    );
    let public_only = SavedSearchFilter {
        owner_id: None,
        include_public: true,
    };
    assert_eq!(
        r.saved_searches
            .list(t.id, public_only, page(10, 0))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        r.saved_searches
            .list(t.id, SavedSearchFilter::default(), page(10, 0))
            .await
            .unwrap()
            .total,
        3
    );

    let mut changed = mine.clone();
    changed.name = DisplayName::parse("Renamed").unwrap();
    changed.description = Some("why".into());
    changed.is_public = true;
    changed.parameters = serde_json::json!({"sources": ["pubmed"]});
    r.saved_searches.update(&changed).await.unwrap();
    assert_eq!(
        r.saved_searches.find(t.id, mine.id).await.unwrap().as_ref(),
        Some(&changed)
    );

    let at = now();
    r.saved_searches
        .record_run(t.id, mine.id, at)
        .await
        .unwrap();
    r.saved_searches
        .record_run(t.id, mine.id, at)
        .await
        .unwrap();
    let ran = r.saved_searches.find(t.id, mine.id).await.unwrap().unwrap();
    assert_eq!((ran.run_count, ran.last_run_at), (2, Some(at)));

    r.saved_searches.delete(t.id, mine.id).await.unwrap();
    assert_eq!(r.saved_searches.find(t.id, mine.id).await.unwrap(), None);
    assert!(matches!(
        r.saved_searches.delete(t.id, mine.id).await,
        Err(RepoError::NotFound)
    ));
    assert!(matches!(
        r.saved_searches.record_run(t.id, mine.id, at).await,
        Err(RepoError::NotFound)
    ));
    assert!(matches!(
        r.saved_searches.update(&changed).await,
        Err(RepoError::NotFound)
    ));
}

/// Usage counters: atomic increments per day and metric, series.
pub async fn usage(r: &Repositories) {
    let t = fixtures::tenant("usage", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let d1 = Date::from_calendar_date(2026, Month::January, 31).unwrap();
    let d2 = d1.next_day().unwrap();
    assert_eq!(
        r.usage.get(t.id, d1, UsageMetric::ApiCalls).await.unwrap(),
        0
    );
    assert_eq!(
        r.usage
            .increment(t.id, d1, UsageMetric::ApiCalls, 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        r.usage
            .increment(t.id, d1, UsageMetric::ApiCalls, 4)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        r.usage
            .increment(t.id, d1, UsageMetric::Searches, 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        r.usage
            .increment(t.id, d2, UsageMetric::ApiCalls, 7)
            .await
            .unwrap(),
        7
    );
    assert_eq!(
        r.usage.get(t.id, d1, UsageMetric::ApiCalls).await.unwrap(),
        5
    );
    assert_eq!(
        r.usage
            .series(t.id, d1, d2, UsageMetric::ApiCalls)
            .await
            .unwrap(),
        vec![(d1, 5), (d2, 7)]
    );
    assert_eq!(
        r.usage
            .series(t.id, d2, d2, UsageMetric::ApiCalls)
            .await
            .unwrap(),
        vec![(d2, 7)]
    );

    // concurrent increments are never lost
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let usage = r.usage.clone();
        tasks.push(tokio::spawn(async move {
            usage.increment(t.id, d2, UsageMetric::Searches, 1).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        r.usage.get(t.id, d2, UsageMetric::Searches).await.unwrap(),
        20
    );
}

/// Health: a working store answers the ping.
pub async fn health(r: &Repositories) {
    r.health.ping().await.unwrap();
}

/// No repository returns or changes another tenant's objects, even given their ids.
pub async fn tenant_isolation(r: &Repositories) {
    let a = fixtures::tenant("tenant-a", PlanId::Basic);
    let b = fixtures::tenant("tenant-b", PlanId::Basic);
    r.tenants.create(&a).await.unwrap();
    r.tenants.create(&b).await.unwrap();
    let ua = fixtures::user(a.id, "alice", Role::Admin);
    r.users.create(&ua, None).await.unwrap();
    // same username and e-mail in another tenant is fine: uniqueness is per tenant
    let ub = fixtures::user(b.id, "alice", Role::Admin);
    r.users.create(&ub, None).await.unwrap();
    let sa = fixtures::session(&ua);
    r.sessions.create(&sa, token(1)).await.unwrap();
    let saved = fixtures::saved_search(&ua, "A's");
    r.saved_searches.create(&saved).await.unwrap();
    r.history
        .append(&fixtures::search(
            &ua,
            "secret topic",
            &[SourceId::Arxiv],
            now(),
        ))
        .await
        .unwrap();

    // B's view of A's ids
    assert_eq!(r.users.find(b.id, ua.id).await.unwrap(), None);
    assert_eq!(
        r.users
            .find_by_login(b.id, "alice")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(ub.id)
    );
    let mut hijack = ua.clone();
    hijack.tenant_id = b.id;
    assert!(matches!(
        r.users.update(&hijack).await,
        Err(RepoError::NotFound)
    ));
    assert!(matches!(
        r.users.delete(b.id, ua.id).await,
        Err(RepoError::NotFound)
    ));
    assert_eq!(r.sessions.find(b.id, sa.id).await.unwrap(), None);
    assert!(matches!(
        r.sessions.revoke(b.id, sa.id, now()).await,
        Err(RepoError::NotFound)
    ));
    assert!(
        r.sessions
            .revoke_all_for_user(b.id, ua.id, None, now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(r.saved_searches.find(b.id, saved.id).await.unwrap(), None);
    assert!(matches!(
        r.saved_searches.delete(b.id, saved.id).await,
        Err(RepoError::NotFound)
    ));
    let mut moved = saved.clone();
    moved.tenant_id = b.id;
    assert!(matches!(
        r.saved_searches.update(&moved).await,
        Err(RepoError::NotFound)
    ));
    assert_eq!(
        r.history
            .list(b.id, &HistoryFilter::default(), page(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        r.history
            .popular(b.id, &HistoryFilter::default(), 10)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(r.users.count(b.id).await.unwrap(), 1);

    // and A's objects are untouched
    assert!(r.users.find(a.id, ua.id).await.unwrap().is_some());
    assert!(
        r.sessions
            .find(a.id, sa.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(
        r.saved_searches
            .find(a.id, saved.id)
            .await
            .unwrap()
            .is_some()
    );
    // a user of A cannot be given a session in B
    let mut cross = fixtures::session(&ua);
    cross.tenant_id = b.id;
    assert!(matches!(
        r.sessions.create(&cross, token(2)).await,
        Err(RepoError::NotFound)
    ));
}
