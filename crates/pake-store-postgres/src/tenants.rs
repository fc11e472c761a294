//! `TenantRepository` on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pake_domain::{
    DisplayName, Page, PageRequest, PlanId, Tenant, TenantDomain, TenantId, TenantSlug,
    TenantStatus, User,
};
use pake_ports::{RepoError, TenantFilter, TenantRepository};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::convert::{found, from_json, to_json};
use crate::paging::load_page;
use crate::schema::{
    audit_events, collection_item_keys, collection_items, collections, refresh_tokens,
    saved_searches, search_history, search_snapshots, sessions, tenants, usage_counters, users,
};
use crate::users::UserRow;
use crate::{PgStore, platform_tx, tenant_tx};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tenants, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct TenantRow {
    id: Uuid,
    slug: String,
    display_name: String,
    domain: Option<String>,
    plan: String,
    status: String,
    limits_override: serde_json::Value,
    settings: serde_json::Value,
    provisioning: serde_json::Value,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TenantRow {
    fn from_domain(t: &Tenant) -> Result<Self, RepoError> {
        Ok(Self {
            id: t.id.as_uuid(),
            slug: t.slug.as_str().to_owned(),
            display_name: t.display_name.as_str().to_owned(),
            domain: t.domain.as_ref().map(|d| d.as_str().to_owned()),
            plan: t.plan.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            limits_override: to_json(&t.limits_override)?,
            settings: to_json(&t.settings)?,
            provisioning: to_json(&t.provisioning)?,
            created_at: t.created_at,
            updated_at: t.updated_at,
        })
    }

    fn into_domain(self) -> Result<Tenant, RepoError> {
        Ok(Tenant {
            id: TenantId::from_uuid(self.id),
            slug: TenantSlug::parse_any(&self.slug).map_err(RepoError::corrupt)?,
            display_name: DisplayName::parse(&self.display_name).map_err(RepoError::corrupt)?,
            domain: self
                .domain
                .as_deref()
                .map(TenantDomain::parse)
                .transpose()
                .map_err(RepoError::corrupt)?,
            plan: PlanId::parse(&self.plan).map_err(RepoError::corrupt)?,
            status: TenantStatus::parse(&self.status).map_err(RepoError::corrupt)?,
            limits_override: from_json(self.limits_override)?,
            settings: from_json(self.settings)?,
            provisioning: from_json(self.provisioning)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
impl TenantRepository for PgStore {
    async fn create(&self, tenant: &Tenant) -> Result<(), RepoError> {
        let row = TenantRow::from_domain(tenant)?;
        tenant_tx!(self, row.id, |c| {
            diesel::insert_into(tenants::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(())
        })
    }

    async fn create_with_admin(&self, tenant: &Tenant, admin: &User) -> Result<(), RepoError> {
        let row = TenantRow::from_domain(tenant)?;
        let admin = UserRow::from_domain(admin);
        tenant_tx!(self, row.id, |c| {
            diesel::insert_into(tenants::table)
                .values(&row)
                .execute(c)
                .await?;
            diesel::insert_into(users::table)
                .values(&admin)
                .execute(c)
                .await?;
            Ok(())
        })
    }

    async fn find(&self, id: TenantId) -> Result<Option<Tenant>, RepoError> {
        let id = id.as_uuid();
        tenant_tx!(self, id, |c| {
            let row = tenants::table
                .find(id)
                .select(TenantRow::as_select())
                .first(c)
                .await
                .optional()?;
            Ok(row.map(TenantRow::into_domain).transpose()?)
        })
    }

    async fn find_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>, RepoError> {
        let slug = slug.as_str().to_owned();
        platform_tx!(self, |c| {
            let row = tenants::table
                .filter(tenants::slug.eq(slug))
                .select(TenantRow::as_select())
                .first(c)
                .await
                .optional()?;
            Ok(row.map(TenantRow::into_domain).transpose()?)
        })
    }

    async fn list(
        &self,
        filter: TenantFilter,
        page: PageRequest,
    ) -> Result<Page<Tenant>, RepoError> {
        platform_tx!(self, |c| {
            let query = || {
                let mut q = tenants::table.into_boxed();
                if let Some(status) = filter.status {
                    q = q.filter(tenants::status.eq(status.as_str()));
                }
                if let Some(plan) = filter.plan {
                    q = q.filter(tenants::plan.eq(plan.as_str()));
                }
                q
            };
            let order = (tenants::created_at.desc(), tenants::id.desc());
            load_page(c, query, order, page, TenantRow::into_domain).await
        })
    }

    async fn update(&self, tenant: &Tenant) -> Result<(), RepoError> {
        let row = TenantRow::from_domain(tenant)?;
        tenant_tx!(self, row.id, |c| {
            found(
                diesel::update(tenants::table.find(row.id))
                    .set(&row)
                    .execute(c)
                    .await?,
            )
        })
    }

    async fn purge(&self, id: TenantId) -> Result<(), RepoError> {
        let id = id.as_uuid();
        platform_tx!(self, |c| {
            // Children first, so the purge does not depend on cascades.
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(sessions::table.filter(sessions::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(
                collection_item_keys::table.filter(collection_item_keys::tenant_id.eq(id)),
            )
            .execute(c)
            .await?;
            diesel::delete(collection_items::table.filter(collection_items::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(collections::table.filter(collections::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(search_snapshots::table.filter(search_snapshots::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(search_history::table.filter(search_history::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(saved_searches::table.filter(saved_searches::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(usage_counters::table.filter(usage_counters::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(audit_events::table.filter(audit_events::tenant_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(users::table.filter(users::tenant_id.eq(id)))
                .execute(c)
                .await?;
            found(diesel::delete(tenants::table.find(id)).execute(c).await?)
        })
    }
}
