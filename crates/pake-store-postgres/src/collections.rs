//! `CollectionRepository` on PostgreSQL.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use pake_domain::collection::{
    Collection, CollectionFilter, CollectionItem, CollectionRef, Visibility,
};
use pake_domain::{
    CollectionId, CollectionItemId, DisplayName, Page, PageRequest, TenantId, UserId,
};
use pake_ports::{CollectionRepository, RepoError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::convert::{TxError, found};
use crate::paging::load_page;
use crate::schema::{collection_item_keys, collection_items, collections};
use crate::{PgStore, tenant_tx};

/// A value for a text column holding JSON (text, not jsonb: an upstream's text may hold
/// `\u0000`, which jsonb refuses).
fn to_json<T: serde::Serialize>(value: &T) -> Result<String, RepoError> {
    serde_json::to_string(value).map_err(RepoError::internal)
}

/// A text column holding JSON, read back.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, RepoError> {
    serde_json::from_str(text).map_err(RepoError::internal)
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = collections, check_for_backend(diesel::pg::Pg))]
struct CollectionRow {
    tenant_id: Uuid,
    id: Uuid,
    owner_id: Uuid,
    name: String,
    description: Option<String>,
    visibility: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl CollectionRow {
    fn from_domain(c: &Collection) -> Self {
        Self {
            tenant_id: c.tenant_id.as_uuid(),
            id: c.id.as_uuid(),
            owner_id: c.owner_id.as_uuid(),
            name: c.name.as_str().to_owned(),
            description: c.description.clone(),
            visibility: c.visibility.as_str().to_owned(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }

    fn into_domain(self, item_count: u32) -> Result<Collection, RepoError> {
        Ok(Collection {
            tenant_id: TenantId::from_uuid(self.tenant_id),
            id: CollectionId::from_uuid(self.id),
            owner_id: UserId::from_uuid(self.owner_id),
            name: DisplayName::parse(&self.name).map_err(RepoError::corrupt)?,
            description: self.description,
            visibility: Visibility::parse(&self.visibility).map_err(RepoError::corrupt)?,
            item_count,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = collection_items, check_for_backend(diesel::pg::Pg))]
struct ItemRow {
    tenant_id: Uuid,
    collection_id: Uuid,
    id: Uuid,
    record: String,
    tags: String,
    note: Option<String>,
    added_by: Uuid,
    added_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl ItemRow {
    fn from_domain(i: &CollectionItem) -> Result<Self, RepoError> {
        Ok(Self {
            tenant_id: i.tenant_id.as_uuid(),
            collection_id: i.collection_id.as_uuid(),
            id: i.id.as_uuid(),
            record: to_json(&i.record)?,
            tags: to_json(&i.tags)?,
            note: i.note.clone(),
            added_by: i.added_by.as_uuid(),
            added_at: i.added_at,
            updated_at: i.updated_at,
        })
    }

    fn into_domain(self, keys: Vec<String>) -> Result<CollectionItem, RepoError> {
        Ok(CollectionItem {
            tenant_id: TenantId::from_uuid(self.tenant_id),
            collection_id: CollectionId::from_uuid(self.collection_id),
            id: CollectionItemId::from_uuid(self.id),
            keys,
            record: from_json(&self.record)?,
            tags: from_json(&self.tags)?,
            note: self.note,
            added_by: UserId::from_uuid(self.added_by),
            added_at: self.added_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = collection_item_keys, check_for_backend(diesel::pg::Pg))]
struct KeyRow {
    tenant_id: Uuid,
    collection_id: Uuid,
    key: String,
    item_id: Uuid,
}

/// Item counts of the tenant's collections `ids`.
async fn counts(
    c: &mut AsyncPgConnection,
    tenant: Uuid,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, u32>, TxError> {
    let rows: Vec<(Uuid, i64)> = collection_items::table
        .filter(collection_items::tenant_id.eq(tenant))
        .filter(collection_items::collection_id.eq_any(ids))
        .group_by(collection_items::collection_id)
        .select((collection_items::collection_id, count_star()))
        .load(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u32::try_from(n).unwrap_or(u32::MAX)))
        .collect())
}

/// The keys of the items `ids` of one collection.
async fn keys_of(
    c: &mut AsyncPgConnection,
    tenant: Uuid,
    collection: Uuid,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, Vec<String>>, TxError> {
    let rows: Vec<(Uuid, String)> = collection_item_keys::table
        .filter(collection_item_keys::tenant_id.eq(tenant))
        .filter(collection_item_keys::collection_id.eq(collection))
        .filter(collection_item_keys::item_id.eq_any(ids))
        .order(collection_item_keys::key.asc())
        .select((collection_item_keys::item_id, collection_item_keys::key))
        .load(c)
        .await?;
    let mut by_item: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (item, key) in rows {
        by_item.entry(item).or_default().push(key);
    }
    Ok(by_item)
}

/// The item of the collection holding one of `keys`, if any.
async fn holder(
    c: &mut AsyncPgConnection,
    tenant: Uuid,
    collection: Uuid,
    keys: Vec<String>,
) -> Result<Option<Uuid>, TxError> {
    Ok(collection_item_keys::table
        .filter(collection_item_keys::tenant_id.eq(tenant))
        .filter(collection_item_keys::collection_id.eq(collection))
        .filter(collection_item_keys::key.eq_any(keys))
        .select(collection_item_keys::item_id)
        .first(c)
        .await
        .optional()?)
}

impl PgStore {
    /// The item of the collection holding one of `keys`, in a transaction of its own.
    async fn holder_of(
        &self,
        tenant: Uuid,
        collection: Uuid,
        keys: Vec<String>,
    ) -> Result<Option<Uuid>, RepoError> {
        tenant_tx!(self, tenant, |c| holder(c, tenant, collection, keys).await)
    }
}

#[async_trait]
impl CollectionRepository for PgStore {
    async fn create(&self, collection: &Collection) -> Result<(), RepoError> {
        let row = CollectionRow::from_domain(collection);
        tenant_tx!(self, row.tenant_id, |c| {
            diesel::insert_into(collections::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(())
        })
    }

    async fn find(
        &self,
        tenant: TenantId,
        id: CollectionId,
    ) -> Result<Option<Collection>, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let row: Option<CollectionRow> = collections::table
                .filter(collections::tenant_id.eq(t))
                .filter(collections::id.eq(id))
                .select(CollectionRow::as_select())
                .first(c)
                .await
                .optional()?;
            let Some(row) = row else { return Ok(None) };
            let n = counts(c, t, vec![id]).await?.get(&id).copied().unwrap_or(0);
            Ok(Some(row.into_domain(n)?))
        })
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: CollectionFilter,
        page: PageRequest,
    ) -> Result<Page<Collection>, RepoError> {
        let t = tenant.as_uuid();
        let reader = filter.reader.map(|u| u.as_uuid());
        tenant_tx!(self, t, |c| {
            let query = || {
                let mut q = collections::table
                    .filter(collections::tenant_id.eq(t))
                    .into_boxed();
                if let Some(reader) = reader {
                    q = q.filter(
                        collections::owner_id
                            .eq(reader)
                            .or(collections::visibility.eq(Visibility::Tenant.as_str())),
                    );
                }
                q
            };
            let order = (collections::created_at.desc(), collections::id.desc());
            let rows: Page<CollectionRow> = load_page(c, query, order, page, Ok).await?;
            let n = counts(c, t, rows.items.iter().map(|r| r.id).collect()).await?;
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
    }

    async fn update(&self, collection: &Collection) -> Result<(), RepoError> {
        let row = CollectionRow::from_domain(collection);
        tenant_tx!(self, row.tenant_id, |c| {
            found(
                diesel::update(collections::table.find((row.tenant_id, row.id)))
                    .set((
                        collections::name.eq(&row.name),
                        collections::description.eq(&row.description),
                        collections::visibility.eq(&row.visibility),
                        collections::updated_at.eq(row.updated_at),
                    ))
                    .execute(c)
                    .await?,
            )
        })
    }

    async fn delete(&self, tenant: TenantId, id: CollectionId) -> Result<(), RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            diesel::delete(
                collection_item_keys::table
                    .filter(collection_item_keys::tenant_id.eq(t))
                    .filter(collection_item_keys::collection_id.eq(id)),
            )
            .execute(c)
            .await?;
            diesel::delete(
                collection_items::table
                    .filter(collection_items::tenant_id.eq(t))
                    .filter(collection_items::collection_id.eq(id)),
            )
            .execute(c)
            .await?;
            found(
                diesel::delete(collections::table.find((t, id)))
                    .execute(c)
                    .await?,
            )
        })
    }

    async fn add_item(&self, item: &CollectionItem) -> Result<CollectionItemId, RepoError> {
        let row = ItemRow::from_domain(item)?;
        let (t, collection, id) = (row.tenant_id, row.collection_id, row.id);
        let keys: Vec<KeyRow> = item
            .keys
            .iter()
            .map(|k| KeyRow {
                tenant_id: t,
                collection_id: collection,
                key: k.clone(),
                item_id: id,
            })
            .collect();
        let wanted = item.keys.clone();
        let lookup = wanted.clone();
        let added: Result<Uuid, RepoError> = tenant_tx!(self, t, |c| {
            if let Some(existing) = holder(c, t, collection, wanted).await? {
                return Ok(existing);
            }
            diesel::insert_into(collection_items::table)
                .values(&row)
                .execute(c)
                .await?;
            diesel::insert_into(collection_item_keys::table)
                .values(&keys)
                .execute(c)
                .await?;
            Ok(id)
        });
        match added {
            Ok(held) => Ok(CollectionItemId::from_uuid(held)),
            // another add of the same paper committed first: its item holds the key now
            Err(RepoError::Conflict(c)) => match self.holder_of(t, collection, lookup).await? {
                Some(held) => Ok(CollectionItemId::from_uuid(held)),
                None => Err(RepoError::Conflict(c)),
            },
            Err(e) => Err(e),
        }
    }

    async fn item(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: CollectionItemId,
    ) -> Result<Option<CollectionItem>, RepoError> {
        let (t, collection, id) = (tenant.as_uuid(), collection.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let row: Option<ItemRow> = collection_items::table
                .find((t, collection, id))
                .select(ItemRow::as_select())
                .first(c)
                .await
                .optional()?;
            let Some(row) = row else { return Ok(None) };
            let keys = keys_of(c, t, collection, vec![id])
                .await?
                .remove(&id)
                .unwrap_or_default();
            Ok(Some(row.into_domain(keys)?))
        })
    }

    async fn items(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        page: PageRequest,
    ) -> Result<Page<CollectionItem>, RepoError> {
        let (t, collection) = (tenant.as_uuid(), collection.as_uuid());
        tenant_tx!(self, t, |c| {
            let query = || {
                collection_items::table
                    .filter(collection_items::tenant_id.eq(t))
                    .filter(collection_items::collection_id.eq(collection))
                    .into_boxed()
            };
            let order = (collection_items::added_at.asc(), collection_items::id.asc());
            let rows: Page<ItemRow> = load_page(c, query, order, page, Ok).await?;
            let mut keys =
                keys_of(c, t, collection, rows.items.iter().map(|r| r.id).collect()).await?;
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
    }

    async fn update_item(&self, item: &CollectionItem) -> Result<(), RepoError> {
        let row = ItemRow::from_domain(item)?;
        tenant_tx!(self, row.tenant_id, |c| {
            found(
                diesel::update(collection_items::table.find((
                    row.tenant_id,
                    row.collection_id,
                    row.id,
                )))
                .set((
                    collection_items::tags.eq(&row.tags),
                    collection_items::note.eq(&row.note),
                    collection_items::updated_at.eq(row.updated_at),
                ))
                .execute(c)
                .await?,
            )
        })
    }

    async fn delete_item(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: CollectionItemId,
    ) -> Result<(), RepoError> {
        let (t, collection, id) = (tenant.as_uuid(), collection.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            diesel::delete(
                collection_item_keys::table
                    .filter(collection_item_keys::tenant_id.eq(t))
                    .filter(collection_item_keys::collection_id.eq(collection))
                    .filter(collection_item_keys::item_id.eq(id)),
            )
            .execute(c)
            .await?;
            found(
                diesel::delete(collection_items::table.find((t, collection, id)))
                    .execute(c)
                    .await?,
            )
        })
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
        let t = tenant.as_uuid();
        let keys = keys.to_vec();
        let every = filter.reader.is_none();
        let reader = filter.reader.map_or(Uuid::nil(), |u| u.as_uuid());
        tenant_tx!(self, t, |c| {
            let rows: Vec<(String, Uuid, String)> = collection_item_keys::table
                .inner_join(
                    collections::table.on(collections::tenant_id
                        .eq(collection_item_keys::tenant_id)
                        .and(collections::id.eq(collection_item_keys::collection_id))),
                )
                .filter(collection_item_keys::tenant_id.eq(t))
                .filter(collection_item_keys::key.eq_any(keys))
                .filter(
                    every
                        .into_sql::<Bool>()
                        .or(collections::owner_id.eq(reader))
                        .or(collections::visibility.eq(Visibility::Tenant.as_str())),
                )
                .select((
                    collection_item_keys::key,
                    collections::id,
                    collections::name,
                ))
                .load(c)
                .await?;
            Ok(rows
                .into_iter()
                .map(|(key, id, name)| {
                    (
                        key,
                        CollectionRef {
                            id: CollectionId::from_uuid(id),
                            name,
                        },
                    )
                })
                .collect())
        })
    }

    async fn record_by_keys(
        &self,
        tenant: TenantId,
        keys: &[String],
    ) -> Result<Option<serde_json::Value>, RepoError> {
        if keys.is_empty() {
            return Ok(None);
        }
        let t = tenant.as_uuid();
        let keys = keys.to_vec();
        tenant_tx!(self, t, |c| {
            let record: Option<String> = collection_item_keys::table
                .inner_join(
                    collection_items::table.on(collection_items::tenant_id
                        .eq(collection_item_keys::tenant_id)
                        .and(
                            collection_items::collection_id.eq(collection_item_keys::collection_id),
                        )
                        .and(collection_items::id.eq(collection_item_keys::item_id))),
                )
                .filter(collection_item_keys::tenant_id.eq(t))
                .filter(collection_item_keys::key.eq_any(keys))
                .order(collection_items::added_at.desc())
                .select(collection_items::record)
                .first(c)
                .await
                .optional()?;
            Ok(record.as_deref().map(from_json).transpose()?)
        })
    }
}
