//! `AuditRepository` on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use pake_domain::audit::{AuditEvent, AuditFilter, AuditKind};
use pake_domain::{AuditEventId, Page, PageRequest, TenantId, UserId};
use pake_ports::{AuditRepository, RepoError};

use crate::SqliteStore;
use crate::convert::{from_micros, json, to_json, to_micros};
use crate::paging::load_page;
use crate::schema::audit_events;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::sqlite::Sqlite))]
struct AuditRow {
    tenant_id: String,
    id: String,
    at: i64,
    kind: String,
    actor_id: Option<String>,
    actor_tenant_id: Option<String>,
    target: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: String,
}

impl AuditRow {
    fn from_domain(e: &AuditEvent) -> Result<Self, RepoError> {
        Ok(Self {
            tenant_id: e.tenant_id.to_string(),
            id: e.id.to_string(),
            at: to_micros(e.at),
            kind: e.kind.as_str().to_owned(),
            actor_id: e.actor_id.map(|a| a.to_string()),
            actor_tenant_id: e.actor_tenant_id.map(|a| a.to_string()),
            target: e.target.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            request_id: e.request_id.clone(),
            details: to_json(&e.details)?,
        })
    }

    fn into_domain(self) -> Result<AuditEvent, RepoError> {
        Ok(AuditEvent {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(RepoError::corrupt)?,
            id: AuditEventId::parse(&self.id).map_err(RepoError::corrupt)?,
            at: from_micros(self.at)?,
            kind: AuditKind::parse(&self.kind).map_err(RepoError::corrupt)?,
            actor_id: self
                .actor_id
                .as_deref()
                .map(UserId::parse)
                .transpose()
                .map_err(RepoError::corrupt)?,
            actor_tenant_id: self
                .actor_tenant_id
                .as_deref()
                .map(TenantId::parse)
                .transpose()
                .map_err(RepoError::corrupt)?,
            target: self.target,
            ip: self.ip,
            user_agent: self.user_agent,
            request_id: self.request_id,
            details: json(&self.details)?,
        })
    }
}

#[async_trait]
impl AuditRepository for SqliteStore {
    async fn append(&self, event: &AuditEvent) -> Result<(), RepoError> {
        let row = AuditRow::from_domain(event)?;
        self.write(move |c| {
            diesel::insert_into(audit_events::table)
                .values(&row)
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, RepoError> {
        let tenant = tenant.to_string();
        let filter = filter.clone();
        self.read(move |c| {
            let query = || {
                let mut q = audit_events::table
                    .filter(audit_events::tenant_id.eq(tenant.clone()))
                    .into_boxed();
                if let Some(kind) = filter.kind {
                    q = q.filter(audit_events::kind.eq(kind.as_str()));
                }
                if let Some(actor) = filter.actor_id {
                    q = q.filter(audit_events::actor_id.eq(actor.to_string()));
                }
                if let Some(since) = filter.since {
                    q = q.filter(audit_events::at.ge(to_micros(since)));
                }
                q
            };
            let order = (audit_events::at.desc(), audit_events::id.desc());
            load_page(c, query, order, page, AuditRow::into_domain)
        })
        .await
    }
}
