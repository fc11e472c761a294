//! No repository returns or changes another tenant's objects.

use pake_domain::search::{HistoryFilter, SourceId};
use pake_domain::{PlanId, Role};
use pake_ports::{RepoError, Repositories};

use super::{page, token};
use crate::fixtures::{self, now};

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
