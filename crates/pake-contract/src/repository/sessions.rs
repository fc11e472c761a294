//! Sessions and refresh-token rotation.

use pake_domain::session::RefreshOutcome;
use pake_domain::{PlanId, Role, SessionId, TenantId};
use pake_ports::{RepoError, Repositories};
use time::Duration;

use super::token;
use crate::fixtures::{self, now};

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
