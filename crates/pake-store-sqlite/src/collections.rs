//! `CollectionRepository` on SQLite.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::OptionalExtension;
use diesel::dsl::count_star;
use diesel::prelude::*;
use pake_domain::collection::{
    Collection, CollectionFilter, CollectionItem, CollectionRef, Visibility,
};
use pake_domain::{
    CollectionId, CollectionItemId, DisplayName, Page, PageRequest, TenantId, UserId,
};
use pake_ports::{CollectionRepository, RepoError};

use crate::SqliteStore;
use crate::convert::{TxError, found, from_micros, json, to_json, to_micros};
use crate::paging::load_page;
use crate::schema::{collection_item_keys, collection_items, collections};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = collections, check_for_backend(diesel::sqlite::Sqlite))]
struct CollectionRow {
    tenant_id: String,
    id: String,
    owner_id: String,
    name: String,
    description: Option<String>,
    visibility: String,
    created_at: i64,
    updated_at: i64,
}

impl CollectionRow {
    fn from_domain(c: &Collection) -> Self {
        Self {
            tenant_id: c.tenant_id.to_string(),
            id: c.id.to_string(),
            owner_id: c.owner_id.to_string(),
            name: c.name.as_str().to_owned(),
            description: c.description.clone(),
            visibility: c.visibility.as_str().to_owned(),
            created_at: to_micros(c.created_at),
            updated_at: to_micros(c.updated_at),
        }
    }

    fn into_domain(self, item_count: u32) -> Result<Collection, RepoError> {
        Ok(Collection {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(RepoError::corrupt)?,
            id: CollectionId::parse(&self.id).map_err(RepoError::corrupt)?,
            owner_id: UserId::parse(&self.owner_id).map_err(RepoError::corrupt)?,
            name: DisplayName::parse(&self.name).map_err(RepoError::corrupt)?,
            description: self.description,
            visibility: Visibility::parse(&self.visibility).map_err(RepoError::corrupt)?,
            item_count,
            created_at: from_micros(self.created_at)?,
            updated_at: from_micros(self.updated_at)?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = collection_items, check_for_backend(diesel::sqlite::Sqlite))]
struct ItemRow {
    tenant_id: String,
    collection_id: String,
    id: String,
    record: String,
    tags: String,
    note: Option<String>,
    added_by: String,
    added_at: i64,
    updated_at: i64,
}

impl ItemRow {
    fn from_domain(i: &CollectionItem) -> Result<Self, RepoError> {
        Ok(Self {
            tenant_id: i.tenant_id.to_string(),
            collection_id: i.collection_id.to_string(),
            id: i.id.to_string(),
            record: to_json(&i.record)?,
            tags: to_json(&i.tags)?,
            note: i.note.clone(),
            added_by: i.added_by.to_string(),
            added_at: to_micros(i.added_at),
            updated_at: to_micros(i.updated_at),
        })
    }

    fn into_domain(self, keys: Vec<String>) -> Result<CollectionItem, RepoError> {
        Ok(CollectionItem {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(RepoError::corrupt)?,
            collection_id: CollectionId::parse(&self.collection_id).map_err(RepoError::corrupt)?,
            id: CollectionItemId::parse(&self.id).map_err(RepoError::corrupt)?,
            keys,
            record: json(&self.record)?,
            tags: json(&self.tags)?,
            note: self.note,
            added_by: UserId::parse(&self.added_by).map_err(RepoError::corrupt)?,
            added_at: from_micros(self.added_at)?,
            updated_at: from_micros(self.updated_at)?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = collection_item_keys, check_for_backend(diesel::sqlite::Sqlite))]
struct KeyRow {
    tenant_id: String,
    collection_id: String,
    key: String,
    item_id: String,
}

/// Item counts of the tenant's collections `ids`.
fn counts(
    c: &mut SqliteConnection,
    tenant: &str,
    ids: Vec<String>,
) -> Result<HashMap<String, u32>, TxError> {
    let rows: Vec<(String, i64)> = collection_items::table
        .filter(collection_items::tenant_id.eq(tenant))
        .filter(collection_items::collection_id.eq_any(ids))
        .group_by(collection_items::collection_id)
        .select((collection_items::collection_id, count_star()))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u32::try_from(n).unwrap_or(u32::MAX)))
        .collect())
}

/// The keys of the items `ids` of one collection.
fn keys_of(
    c: &mut SqliteConnection,
    tenant: &str,
    collection: &str,
    ids: Vec<String>,
) -> Result<HashMap<String, Vec<String>>, TxError> {
    let rows: Vec<(String, String)> = collection_item_keys::table
        .filter(collection_item_keys::tenant_id.eq(tenant))
        .filter(collection_item_keys::collection_id.eq(collection))
        .filter(collection_item_keys::item_id.eq_any(ids))
        .order(collection_item_keys::key.asc())
        .select((collection_item_keys::item_id, collection_item_keys::key))
        .load(c)?;
    let mut by_item: HashMap<String, Vec<String>> = HashMap::new();
    for (item, key) in rows {
        by_item.entry(item).or_default().push(key);
    }
    Ok(by_item)
}

/// The item of the collection holding one of `keys`, if any.
fn holder(
    c: &mut SqliteConnection,
    tenant: &str,
    collection: &str,
    keys: &[String],
) -> Result<Option<String>, TxError> {
    Ok(collection_item_keys::table
        .filter(collection_item_keys::tenant_id.eq(tenant))
        .filter(collection_item_keys::collection_id.eq(collection))
        .filter(collection_item_keys::key.eq_any(keys))
        .select(collection_item_keys::item_id)
        .first(c)
        .optional()?)
}

#[async_trait]
impl CollectionRepository for SqliteStore {
    async fn create(&self, collection: &Collection) -> Result<(), RepoError> {
        let row = CollectionRow::from_domain(collection);
        self.write(move |c| {
            diesel::insert_into(collections::table)
                .values(&row)
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn find(
        &self,
        tenant: TenantId,
        id: CollectionId,
    ) -> Result<Option<Collection>, RepoError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.read(move |c| {
            let row: Option<CollectionRow> = collections::table
                .filter(collections::tenant_id.eq(&tenant))
                .filter(collections::id.eq(&id))
                .select(CollectionRow::as_select())
                .first(c)
                .optional()?;
            let Some(row) = row else { return Ok(None) };
            let n = counts(c, &tenant, vec![id.clone()])?
                .get(&id)
                .copied()
                .unwrap_or(0);
            Ok(Some(row.into_domain(n)?))
        })
        .await
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: CollectionFilter,
        page: PageRequest,
    ) -> Result<Page<Collection>, RepoError> {
        let tenant = tenant.to_string();
        let reader = filter.reader.map(|u| u.to_string());
        self.read(move |c| {
            let query = || {
                let mut q = collections::table
                    .filter(collections::tenant_id.eq(tenant.clone()))
                    .into_boxed();
                if let Some(reader) = reader.clone() {
                    q = q.filter(
                        collections::owner_id
                            .eq(reader)
                            .or(collections::visibility.eq(Visibility::Tenant.as_str())),
                    );
                }
                q
            };
            let order = (collections::created_at.desc(), collections::id.desc());
            let rows: Page<CollectionRow> = load_page(c, query, order, page, Ok)?;
            let n = counts(
                c,
                &tenant,
                rows.items.iter().map(|r| r.id.clone()).collect(),
            )?;
            let items = rows
                .items
                .into_iter()
                .map(|r| {
                    let count = n.get(&r.id).copied().unwrap_or(0);
                    r.into_domain(count)
                })
                .collect::<Result<_, _>>()?;
            Ok(Page {
                items,
                total: rows.total,
            })
        })
        .await
    }

    async fn update(&self, collection: &Collection) -> Result<(), RepoError> {
        let row = CollectionRow::from_domain(collection);
        self.write(move |c| {
            found(
                diesel::update(
                    collections::table
                        .filter(collections::tenant_id.eq(&row.tenant_id))
                        .filter(collections::id.eq(&row.id)),
                )
                .set((
                    collections::name.eq(&row.name),
                    collections::description.eq(&row.description),
                    collections::visibility.eq(&row.visibility),
                    collections::updated_at.eq(row.updated_at),
                ))
                .execute(c)?,
            )
        })
        .await
    }

    async fn delete(&self, tenant: TenantId, id: CollectionId) -> Result<(), RepoError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.write(move |c| {
            diesel::delete(
                collection_item_keys::table
                    .filter(collection_item_keys::tenant_id.eq(&tenant))
                    .filter(collection_item_keys::collection_id.eq(&id)),
            )
            .execute(c)?;
            diesel::delete(
                collection_items::table
                    .filter(collection_items::tenant_id.eq(&tenant))
                    .filter(collection_items::collection_id.eq(&id)),
            )
            .execute(c)?;
            found(
                diesel::delete(
                    collections::table
                        .filter(collections::tenant_id.eq(&tenant))
                        .filter(collections::id.eq(&id)),
                )
                .execute(c)?,
            )
        })
        .await
    }

    async fn add_item(&self, item: &CollectionItem) -> Result<CollectionItemId, RepoError> {
        let row = ItemRow::from_domain(item)?;
        let keys: Vec<KeyRow> = item
            .keys
            .iter()
            .map(|k| KeyRow {
                tenant_id: row.tenant_id.clone(),
                collection_id: row.collection_id.clone(),
                key: k.clone(),
                item_id: row.id.clone(),
            })
            .collect();
        let wanted = item.keys.clone();
        // SQLite serialises writers: the look-up and the insert see no other add in between
        let held = self
            .write(move |c| {
                if let Some(existing) = holder(c, &row.tenant_id, &row.collection_id, &wanted)? {
                    return Ok(existing);
                }
                diesel::insert_into(collection_items::table)
                    .values(&row)
                    .execute(c)?;
                diesel::insert_into(collection_item_keys::table)
                    .values(&keys)
                    .execute(c)?;
                Ok(row.id.clone())
            })
            .await?;
        CollectionItemId::parse(&held).map_err(RepoError::corrupt)
    }

    async fn item(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: CollectionItemId,
    ) -> Result<Option<CollectionItem>, RepoError> {
        let (tenant, collection, id) = (tenant.to_string(), collection.to_string(), id.to_string());
        self.read(move |c| {
            let row: Option<ItemRow> = collection_items::table
                .filter(collection_items::tenant_id.eq(&tenant))
                .filter(collection_items::collection_id.eq(&collection))
                .filter(collection_items::id.eq(&id))
                .select(ItemRow::as_select())
                .first(c)
                .optional()?;
            let Some(row) = row else { return Ok(None) };
            let keys = keys_of(c, &tenant, &collection, vec![id.clone()])?
                .remove(&id)
                .unwrap_or_default();
            Ok(Some(row.into_domain(keys)?))
        })
        .await
    }

    async fn items(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        page: PageRequest,
    ) -> Result<Page<CollectionItem>, RepoError> {
        let (tenant, collection) = (tenant.to_string(), collection.to_string());
        self.read(move |c| {
            let query = || {
                collection_items::table
                    .filter(collection_items::tenant_id.eq(tenant.clone()))
                    .filter(collection_items::collection_id.eq(collection.clone()))
                    .into_boxed()
            };
            let order = (collection_items::added_at.asc(), collection_items::id.asc());
            let rows: Page<ItemRow> = load_page(c, query, order, page, Ok)?;
            let mut keys = keys_of(
                c,
                &tenant,
                &collection,
                rows.items.iter().map(|r| r.id.clone()).collect(),
            )?;
            let items = rows
                .items
                .into_iter()
                .map(|r| {
                    let k = keys.remove(&r.id).unwrap_or_default();
                    r.into_domain(k)
                })
                .collect::<Result<_, _>>()?;
            Ok(Page {
                items,
                total: rows.total,
            })
        })
        .await
    }

    async fn update_item(&self, item: &CollectionItem) -> Result<(), RepoError> {
        let row = ItemRow::from_domain(item)?;
        self.write(move |c| {
            found(
                diesel::update(
                    collection_items::table
                        .filter(collection_items::tenant_id.eq(&row.tenant_id))
                        .filter(collection_items::collection_id.eq(&row.collection_id))
                        .filter(collection_items::id.eq(&row.id)),
                )
                .set((
                    collection_items::tags.eq(&row.tags),
                    collection_items::note.eq(&row.note),
                    collection_items::updated_at.eq(row.updated_at),
                ))
                .execute(c)?,
            )
        })
        .await
    }

    async fn delete_item(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: CollectionItemId,
    ) -> Result<(), RepoError> {
        let (tenant, collection, id) = (tenant.to_string(), collection.to_string(), id.to_string());
        self.write(move |c| {
            diesel::delete(
                collection_item_keys::table
                    .filter(collection_item_keys::tenant_id.eq(&tenant))
                    .filter(collection_item_keys::collection_id.eq(&collection))
                    .filter(collection_item_keys::item_id.eq(&id)),
            )
            .execute(c)?;
            found(
                diesel::delete(
                    collection_items::table
                        .filter(collection_items::tenant_id.eq(&tenant))
                        .filter(collection_items::collection_id.eq(&collection))
                        .filter(collection_items::id.eq(&id)),
                )
                .execute(c)?,
            )
        })
        .await
    }

    async fn holding(
        &self,
        tenant: TenantId,
        keys: &[String],
        filter: CollectionFilter,
    ) -> Result<Vec<(String, CollectionRef)>, RepoError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let tenant = tenant.to_string();
        let keys = keys.to_vec();
        let reader = filter.reader.map(|u| u.to_string());
        self.read(move |c| {
            let mut q = collection_item_keys::table
                .inner_join(
                    collections::table.on(collections::tenant_id
                        .eq(collection_item_keys::tenant_id)
                        .and(collections::id.eq(collection_item_keys::collection_id))),
                )
                .filter(collection_item_keys::tenant_id.eq(tenant))
                .filter(collection_item_keys::key.eq_any(keys))
                .select((
                    collection_item_keys::key,
                    collections::id,
                    collections::name,
                ))
                .into_boxed();
            if let Some(reader) = reader {
                q = q.filter(
                    collections::owner_id
                        .eq(reader)
                        .or(collections::visibility.eq(Visibility::Tenant.as_str())),
                );
            }
            let rows: Vec<(String, String, String)> = q.load(c)?;
            Ok(rows
                .into_iter()
                .map(|(key, id, name)| {
                    Ok((
                        key,
                        CollectionRef {
                            id: CollectionId::parse(&id).map_err(RepoError::corrupt)?,
                            name,
                        },
                    ))
                })
                .collect::<Result<_, RepoError>>()?)
        })
        .await
    }

    async fn record_by_keys(
        &self,
        tenant: TenantId,
        keys: &[String],
    ) -> Result<Option<serde_json::Value>, RepoError> {
        if keys.is_empty() {
            return Ok(None);
        }
        let tenant = tenant.to_string();
        let keys = keys.to_vec();
        self.read(move |c| {
            let record: Option<String> = collection_item_keys::table
                .inner_join(
                    collection_items::table.on(collection_items::tenant_id
                        .eq(collection_item_keys::tenant_id)
                        .and(
                            collection_items::collection_id.eq(collection_item_keys::collection_id),
                        )
                        .and(collection_items::id.eq(collection_item_keys::item_id))),
                )
                .filter(collection_item_keys::tenant_id.eq(tenant))
                .filter(collection_item_keys::key.eq_any(keys))
                .order(collection_items::added_at.desc())
                .select(collection_items::record)
                .first(c)
                .optional()?;
            Ok(record.as_deref().map(json).transpose()?)
        })
        .await
    }
}
