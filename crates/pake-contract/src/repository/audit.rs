//! The audit trail.

use pake_domain::audit::{AuditEvent, AuditFilter, AuditKind};
use pake_domain::{AuditEventId, PlanId, TenantId, UserId};
use pake_ports::{Conflict, RepoError, Repositories};
use time::Duration;

use super::page;
use crate::fixtures::{self, now};

pub(super) fn audit_event(tenant: TenantId, kind: AuditKind, actor: Option<UserId>) -> AuditEvent {
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
