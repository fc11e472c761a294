//! `SavedSearchRepository` on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use pake_domain::search::{QueryText, SavedSearch, SavedSearchFilter};
use pake_domain::{DisplayName, Page, PageRequest, SavedSearchId, TenantId, UserId};
use pake_ports::{RepoError, SavedSearchRepository};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::convert::{count, found, from_micros, from_micros_opt, json, to_json, to_micros};
use crate::paging::load_page;
use crate::schema::saved_searches;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = saved_searches, check_for_backend(diesel::sqlite::Sqlite), treat_none_as_null = true)]
struct SavedRow {
    tenant_id: String,
    id: String,
    owner_id: String,
    name: String,
    description: Option<String>,
    query: String,
    parameters: String,
    is_public: bool,
    run_count: i64,
    last_run_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl SavedRow {
    fn from_domain(s: &SavedSearch) -> Result<Self, RepoError> {
        Ok(Self {
            tenant_id: s.tenant_id.to_string(),
            id: s.id.to_string(),
            owner_id: s.owner_id.to_string(),
            name: s.name.as_str().to_owned(),
            description: s.description.clone(),
            query: s.query.as_str().to_owned(),
            parameters: to_json(&s.parameters)?,
            is_public: s.is_public,
            run_count: i64::try_from(s.run_count).unwrap_or(i64::MAX),
            last_run_at: s.last_run_at.map(to_micros),
            created_at: to_micros(s.created_at),
            updated_at: to_micros(s.updated_at),
        })
    }

    fn into_domain(self) -> Result<SavedSearch, RepoError> {
        Ok(SavedSearch {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(RepoError::corrupt)?,
            id: SavedSearchId::parse(&self.id).map_err(RepoError::corrupt)?,
            owner_id: UserId::parse(&self.owner_id).map_err(RepoError::corrupt)?,
            name: DisplayName::parse(&self.name).map_err(RepoError::corrupt)?,
            description: self.description,
            query: QueryText::parse(&self.query).map_err(RepoError::corrupt)?,
            parameters: json(&self.parameters)?,
            is_public: self.is_public,
            run_count: count(self.run_count),
            last_run_at: from_micros_opt(self.last_run_at)?,
            created_at: from_micros(self.created_at)?,
            updated_at: from_micros(self.updated_at)?,
        })
    }
}

#[async_trait]
impl SavedSearchRepository for SqliteStore {
    async fn create(&self, search: &SavedSearch) -> Result<(), RepoError> {
        let row = SavedRow::from_domain(search)?;
        self.write(move |c| {
            diesel::insert_into(saved_searches::table)
                .values(&row)
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn find(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
    ) -> Result<Option<SavedSearch>, RepoError> {
        let key = (tenant.to_string(), id.to_string());
        self.read(move |c| {
            let row = saved_searches::table
                .find(key)
                .select(SavedRow::as_select())
                .first(c)
                .optional()?;
            Ok(row.map(SavedRow::into_domain).transpose()?)
        })
        .await
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: SavedSearchFilter,
        page: PageRequest,
    ) -> Result<Page<SavedSearch>, RepoError> {
        let tenant = tenant.to_string();
        self.read(move |c| {
            let query = || {
                let mut q = saved_searches::table
                    .filter(saved_searches::tenant_id.eq(tenant.clone()))
                    .into_boxed();
                match (filter.owner_id, filter.include_public) {
                    (Some(owner), true) => {
                        q = q.filter(
                            saved_searches::owner_id
                                .eq(owner.to_string())
                                .or(saved_searches::is_public.eq(true)),
                        );
                    }
                    (Some(owner), false) => {
                        q = q.filter(saved_searches::owner_id.eq(owner.to_string()));
                    }
                    (None, true) => q = q.filter(saved_searches::is_public.eq(true)),
                    (None, false) => {}
                }
                q
            };
            let order = (saved_searches::created_at.desc(), saved_searches::id.desc());
            load_page(c, query, order, page, SavedRow::into_domain)
        })
        .await
    }

    async fn update(&self, search: &SavedSearch) -> Result<(), RepoError> {
        let row = SavedRow::from_domain(search)?;
        self.write(move |c| {
            let target = saved_searches::table.find((row.tenant_id.clone(), row.id.clone()));
            found(diesel::update(target).set(&row).execute(c)?)
        })
        .await
    }

    async fn delete(&self, tenant: TenantId, id: SavedSearchId) -> Result<(), RepoError> {
        let key = (tenant.to_string(), id.to_string());
        self.write(move |c| found(diesel::delete(saved_searches::table.find(key)).execute(c)?))
            .await
    }

    async fn record_run(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
        at: OffsetDateTime,
    ) -> Result<(), RepoError> {
        let key = (tenant.to_string(), id.to_string());
        let at = to_micros(at);
        self.write(move |c| {
            found(
                diesel::update(saved_searches::table.find(key))
                    .set((
                        saved_searches::run_count.eq(saved_searches::run_count + 1),
                        saved_searches::last_run_at.eq(Some(at)),
                    ))
                    .execute(c)?,
            )
        })
        .await
    }
}
