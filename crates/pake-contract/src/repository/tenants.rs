//! Tenants: create, find, list, update, and purging a tenant with everything it owns.

use pake_domain::audit::{AuditFilter, AuditKind};
use pake_domain::search::{HistoryFilter, SavedSearchFilter, SourceId};
use pake_domain::session::RefreshTokenHash;
use pake_domain::usage::UsageMetric;
use pake_domain::{DisplayName, LimitsOverride, PlanId, Role, TenantId, TenantSlug, TenantStatus};
use pake_ports::{Conflict, RepoError, Repositories, TenantFilter};
use time::Duration;

use super::audit::audit_event;
use super::page;
use crate::fixtures::{self, now};

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
