//! `TenantRepository` on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use pake_domain::tenant::Provisioning;
use pake_domain::{
    DisplayName, Page, PageRequest, PlanId, Tenant, TenantDomain, TenantId, TenantSlug,
    TenantStatus, User,
};
use pake_ports::{RepoError, TenantFilter, TenantRepository};

use crate::SqliteStore;
use crate::convert::{found, from_micros, json, to_json, to_micros};
use crate::paging::load_page;
use crate::schema::{
    audit_events, collection_item_keys, collection_items, collections, refresh_tokens,
    saved_searches, search_history, search_snapshots, sessions, tenants, usage_counters, users,
};
use crate::users::UserRow;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tenants, check_for_backend(diesel::sqlite::Sqlite), treat_none_as_null = true)]
struct TenantRow {
    id: String,
    slug: String,
    display_name: String,
    domain: Option<String>,
    plan: String,
    status: String,
    limits_override: String,
    settings: String,
    provisioning: String,
    created_at: i64,
    updated_at: i64,
}

impl TenantRow {
    fn from_domain(t: &Tenant) -> Result<Self, RepoError> {
        Ok(Self {
            id: t.id.to_string(),
            slug: t.slug.as_str().to_owned(),
            display_name: t.display_name.as_str().to_owned(),
            domain: t.domain.as_ref().map(|d| d.as_str().to_owned()),
            plan: t.plan.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            limits_override: to_json(&t.limits_override)?,
            settings: to_json(&t.settings)?,
            provisioning: to_json(&t.provisioning)?,
            created_at: to_micros(t.created_at),
            updated_at: to_micros(t.updated_at),
        })
    }

    fn into_domain(self) -> Result<Tenant, RepoError> {
        Ok(Tenant {
            id: TenantId::parse(&self.id).map_err(RepoError::corrupt)?,
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
            limits_override: json(&self.limits_override)?,
            settings: json(&self.settings)?,
            provisioning: json::<Provisioning>(&self.provisioning)?,
            created_at: from_micros(self.created_at)?,
            updated_at: from_micros(self.updated_at)?,
        })
    }
}

#[async_trait]
impl TenantRepository for SqliteStore {
    async fn create(&self, tenant: &Tenant) -> Result<(), RepoError> {
        let row = TenantRow::from_domain(tenant)?;
        self.write(move |c| {
            diesel::insert_into(tenants::table)
                .values(&row)
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn create_with_admin(&self, tenant: &Tenant, admin: &User) -> Result<(), RepoError> {
        let row = TenantRow::from_domain(tenant)?;
        let admin = UserRow::from_domain(admin);
        self.write(move |c| {
            diesel::insert_into(tenants::table)
                .values(&row)
                .execute(c)?;
            diesel::insert_into(users::table)
                .values(&admin)
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn find(&self, id: TenantId) -> Result<Option<Tenant>, RepoError> {
        let id = id.to_string();
        self.read(move |c| {
            let row = tenants::table
                .find(id)
                .select(TenantRow::as_select())
                .first(c)
                .optional()?;
            Ok(row.map(TenantRow::into_domain).transpose()?)
        })
        .await
    }

    async fn find_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>, RepoError> {
        let slug = slug.as_str().to_owned();
        self.read(move |c| {
            let row = tenants::table
                .filter(tenants::slug.eq(slug))
                .select(TenantRow::as_select())
                .first(c)
                .optional()?;
            Ok(row.map(TenantRow::into_domain).transpose()?)
        })
        .await
    }

    async fn list(
        &self,
        filter: TenantFilter,
        page: PageRequest,
    ) -> Result<Page<Tenant>, RepoError> {
        self.read(move |c| {
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
            load_page(c, query, order, page, TenantRow::into_domain)
        })
        .await
    }

    async fn update(&self, tenant: &Tenant) -> Result<(), RepoError> {
        let row = TenantRow::from_domain(tenant)?;
        self.write(move |c| {
            found(
                diesel::update(tenants::table.find(row.id.clone()))
                    .set(&row)
                    .execute(c)?,
            )
        })
        .await
    }

    async fn purge(&self, id: TenantId) -> Result<(), RepoError> {
        let id = id.to_string();
        self.write(move |c| {
            // Children first, so the purge does not depend on cascades.
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::tenant_id.eq(&id)))
                .execute(c)?;
            diesel::delete(sessions::table.filter(sessions::tenant_id.eq(&id))).execute(c)?;
            diesel::delete(
                collection_item_keys::table.filter(collection_item_keys::tenant_id.eq(&id)),
            )
            .execute(c)?;
            diesel::delete(collection_items::table.filter(collection_items::tenant_id.eq(&id)))
                .execute(c)?;
            diesel::delete(collections::table.filter(collections::tenant_id.eq(&id))).execute(c)?;
            diesel::delete(search_snapshots::table.filter(search_snapshots::tenant_id.eq(&id)))
                .execute(c)?;
            diesel::delete(search_history::table.filter(search_history::tenant_id.eq(&id)))
                .execute(c)?;
            diesel::delete(saved_searches::table.filter(saved_searches::tenant_id.eq(&id)))
                .execute(c)?;
            diesel::delete(usage_counters::table.filter(usage_counters::tenant_id.eq(&id)))
                .execute(c)?;
            diesel::delete(audit_events::table.filter(audit_events::tenant_id.eq(&id)))
                .execute(c)?;
            diesel::delete(users::table.filter(users::tenant_id.eq(&id))).execute(c)?;
            found(diesel::delete(tenants::table.find(&id)).execute(c)?)
        })
        .await
    }
}
