//! `AuditRepository` on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pake_domain::audit::{AuditEvent, AuditFilter, AuditKind};
use pake_domain::{AuditEventId, Page, PageRequest, TenantId, UserId};
use pake_ports::{AuditRepository, RepoError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::paging::load_page;
use crate::schema::audit_events;
use crate::{PgStore, tenant_tx};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
struct AuditRow {
    tenant_id: Uuid,
    id: Uuid,
    at: OffsetDateTime,
    kind: String,
    actor_id: Option<Uuid>,
    actor_tenant_id: Option<Uuid>,
    target: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: serde_json::Value,
}

impl AuditRow {
    fn from_domain(e: &AuditEvent) -> Self {
        Self {
            tenant_id: e.tenant_id.as_uuid(),
            id: e.id.as_uuid(),
            at: e.at,
            kind: e.kind.as_str().to_owned(),
            actor_id: e.actor_id.map(|a| a.as_uuid()),
            actor_tenant_id: e.actor_tenant_id.map(|a| a.as_uuid()),
            target: e.target.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            request_id: e.request_id.clone(),
            details: e.details.clone(),
        }
    }

    fn into_domain(self) -> Result<AuditEvent, RepoError> {
        Ok(AuditEvent {
            tenant_id: TenantId::from_uuid(self.tenant_id),
            id: AuditEventId::from_uuid(self.id),
            at: self.at,
            kind: AuditKind::parse(&self.kind).map_err(RepoError::corrupt)?,
            actor_id: self.actor_id.map(UserId::from_uuid),
            actor_tenant_id: self.actor_tenant_id.map(TenantId::from_uuid),
            target: self.target,
            ip: self.ip,
            user_agent: self.user_agent,
            request_id: self.request_id,
            details: self.details,
        })
    }
}

#[async_trait]
impl AuditRepository for PgStore {
    async fn append(&self, event: &AuditEvent) -> Result<(), RepoError> {
        let row = AuditRow::from_domain(event);
        tenant_tx!(self, row.tenant_id, |c| {
            diesel::insert_into(audit_events::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(())
        })
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, RepoError> {
        let t = tenant.as_uuid();
        let filter = filter.clone();
        tenant_tx!(self, t, |c| {
            let query = || {
                let mut q = audit_events::table
                    .filter(audit_events::tenant_id.eq(t))
                    .into_boxed();
                if let Some(kind) = filter.kind {
                    q = q.filter(audit_events::kind.eq(kind.as_str()));
                }
                if let Some(actor) = filter.actor_id {
                    q = q.filter(audit_events::actor_id.eq(actor.as_uuid()));
                }
                if let Some(since) = filter.since {
                    q = q.filter(audit_events::at.ge(since));
                }
                q
            };
            let order = (audit_events::at.desc(), audit_events::id.desc());
            load_page(c, query, order, page, AuditRow::into_domain).await
        })
    }
}
