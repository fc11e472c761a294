//! Saved searches.

use pake_domain::search::SavedSearchFilter;
use pake_domain::{DisplayName, PlanId, Role};
use pake_ports::{RepoError, Repositories};
use time::Duration;

use super::page;
use crate::fixtures::{self, now};

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
