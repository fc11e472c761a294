//! `SavedSearchRepository` on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pake_domain::search::{QueryText, SavedSearch, SavedSearchFilter};
use pake_domain::{DisplayName, Page, PageRequest, SavedSearchId, TenantId, UserId};
use pake_ports::{RepoError, SavedSearchRepository};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::convert::{count, found};
use crate::paging::load_page;
use crate::schema::saved_searches;
use crate::{PgStore, tenant_tx};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = saved_searches, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct SavedRow {
    tenant_id: Uuid,
    id: Uuid,
    owner_id: Uuid,
    name: String,
    description: Option<String>,
    query: String,
    parameters: serde_json::Value,
    is_public: bool,
    run_count: i64,
    last_run_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl SavedRow {
    fn from_domain(s: &SavedSearch) -> Self {
        Self {
            tenant_id: s.tenant_id.as_uuid(),
            id: s.id.as_uuid(),
            owner_id: s.owner_id.as_uuid(),
            name: s.name.as_str().to_owned(),
            description: s.description.clone(),
            query: s.query.as_str().to_owned(),
            parameters: s.parameters.clone(),
            is_public: s.is_public,
            run_count: i64::try_from(s.run_count).unwrap_or(i64::MAX),
            last_run_at: s.last_run_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }

    fn into_domain(self) -> Result<SavedSearch, RepoError> {
        Ok(SavedSearch {
            tenant_id: TenantId::from_uuid(self.tenant_id),
            id: SavedSearchId::from_uuid(self.id),
            owner_id: UserId::from_uuid(self.owner_id),
            name: DisplayName::parse(&self.name).map_err(RepoError::corrupt)?,
            description: self.description,
            query: QueryText::parse(&self.query).map_err(RepoError::corrupt)?,
            parameters: self.parameters,
            is_public: self.is_public,
            run_count: count(self.run_count),
            last_run_at: self.last_run_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
impl SavedSearchRepository for PgStore {
    async fn create(&self, search: &SavedSearch) -> Result<(), RepoError> {
        let row = SavedRow::from_domain(search);
        tenant_tx!(self, row.tenant_id, |c| {
            diesel::insert_into(saved_searches::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(())
        })
    }

    async fn find(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
    ) -> Result<Option<SavedSearch>, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let row = saved_searches::table
                .find((t, id))
                .select(SavedRow::as_select())
                .first(c)
                .await
                .optional()?;
            Ok(row.map(SavedRow::into_domain).transpose()?)
        })
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: SavedSearchFilter,
        page: PageRequest,
    ) -> Result<Page<SavedSearch>, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let query = || {
                let mut q = saved_searches::table
                    .filter(saved_searches::tenant_id.eq(t))
                    .into_boxed();
                match (filter.owner_id, filter.include_public) {
                    (Some(owner), true) => {
                        q = q.filter(
                            saved_searches::owner_id
                                .eq(owner.as_uuid())
                                .or(saved_searches::is_public.eq(true)),
                        );
                    }
                    (Some(owner), false) => {
                        q = q.filter(saved_searches::owner_id.eq(owner.as_uuid()));
                    }
                    (None, true) => q = q.filter(saved_searches::is_public.eq(true)),
                    (None, false) => {}
                }
                q
            };
            let order = (saved_searches::created_at.desc(), saved_searches::id.desc());
            load_page(c, query, order, page, SavedRow::into_domain).await
        })
    }

    async fn update(&self, search: &SavedSearch) -> Result<(), RepoError> {
        let row = SavedRow::from_domain(search);
        tenant_tx!(self, row.tenant_id, |c| {
            found(
                diesel::update(saved_searches::table.find((row.tenant_id, row.id)))
                    .set(&row)
                    .execute(c)
                    .await?,
            )
        })
    }

    async fn delete(&self, tenant: TenantId, id: SavedSearchId) -> Result<(), RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            found(
                diesel::delete(saved_searches::table.find((t, id)))
                    .execute(c)
                    .await?,
            )
        })
    }

    async fn record_run(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
        at: OffsetDateTime,
    ) -> Result<(), RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            found(
                diesel::update(saved_searches::table.find((t, id)))
                    .set((
                        saved_searches::run_count.eq(saved_searches::run_count + 1),
                        saved_searches::last_run_at.eq(Some(at)),
                    ))
                    .execute(c)
                    .await?,
            )
        })
    }
}
