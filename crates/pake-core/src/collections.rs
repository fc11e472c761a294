//! Collections: shared reading lists. The owner, managers and admins write; `tenant`
//! visibility lets everyone in the tenant read; nothing is visible across tenants.

use std::sync::Arc;

use pake_domain::audit::AuditKind;
use pake_domain::collection::{Collection, CollectionFilter, CollectionItem, Visibility};
use pake_domain::{
    CollectionId, CollectionItemId, DisplayName, Page, PageRequest, Permission, Reason, SearchId,
    ValidationError,
};
use pake_ports::CollectionRepository;

use crate::audit::{AuditService, Entry};
use crate::caller::{Caller, RequestMeta};
use crate::search::{SearchResult, SearchService, id_keys, result_key_strings};
use crate::{Access, CoreError, Environment};

/// The most items one collection holds.
pub const MAX_ITEMS: u32 = 10_000;
/// The most tags an item carries.
const MAX_TAGS: usize = 20;
/// [`MAX_TAGS`] as a bound in an error.
const MAX_TAGS_BOUND: i64 = 20;
/// The most characters of a tag.
const MAX_TAG_CHARS: usize = 50;
/// The most characters of a note or a description.
const MAX_NOTE_CHARS: usize = 2_000;

/// A collection to create, or changes to one (`None` keeps the stored value).
#[derive(Debug, Clone, Default)]
pub struct CollectionInput {
    /// Name.
    pub name: Option<String>,
    /// Description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// `private` or `tenant`.
    pub visibility: Option<String>,
}

/// Where an added paper comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemSource {
    /// Result `index` (0-based, over every kept page) of a history entry.
    Search {
        /// The history entry.
        search_id: SearchId,
        /// The result's position.
        index: u32,
    },
    /// A paper by one of its ids (`doi`, `arxiv`, `pmid`): resolved to a record the tenant
    /// kept.
    Id {
        /// `doi`, `arxiv` or `pmid`.
        kind: &'static str,
        /// The id.
        value: String,
    },
}

/// An item's tags and note (`None` keeps the stored value; `Some(None)` clears the note).
#[derive(Debug, Clone, Default)]
pub struct ItemChanges {
    /// Tags, replaced as a whole.
    pub tags: Option<Vec<String>>,
    /// Note.
    pub note: Option<Option<String>>,
}

/// Collection use cases.
#[derive(Clone)]
pub struct CollectionService {
    collections: Arc<dyn CollectionRepository>,
    env: Environment,
    access: Access,
    search: SearchService,
    audit: AuditService,
}

fn invalid(field: &'static str, reason: Reason) -> CoreError {
    ValidationError::new(field, reason).into()
}

fn clean_text(
    field: &'static str,
    text: Option<String>,
    max: usize,
) -> Result<Option<String>, CoreError> {
    match text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > max => Err(invalid(field, Reason::TooLong { max })),
        other => Ok(other),
    }
}

fn clean_tags(tags: Vec<String>) -> Result<Vec<String>, CoreError> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_owned();
        if t.is_empty() {
            return Err(invalid("tags", Reason::Empty));
        }
        if t.chars().count() > MAX_TAG_CHARS {
            return Err(invalid("tags", Reason::TooLong { max: MAX_TAG_CHARS }));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(invalid(
            "tags",
            Reason::OutOfRange {
                min: 0,
                max: MAX_TAGS_BOUND,
            },
        ));
    }
    Ok(out)
}

impl CollectionService {
    pub(crate) fn new(
        collections: Arc<dyn CollectionRepository>,
        env: Environment,
        access: Access,
        search: SearchService,
        audit: AuditService,
    ) -> Self {
        Self {
            collections,
            env,
            access,
            search,
            audit,
        }
    }

    /// Creates a collection owned by the caller.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] for viewers, [`CoreError::Validation`].
    pub async fn create(
        &self,
        caller: &Caller,
        input: CollectionInput,
        meta: &RequestMeta,
    ) -> Result<Collection, CoreError> {
        self.access
            .authorize(caller, Permission::WriteCollections)?;
        let name = DisplayName::parse(input.name.as_deref().unwrap_or(""))
            .map_err(|e| e.for_field("name"))?;
        let visibility = match input.visibility.as_deref() {
            None => Visibility::Private,
            Some(v) => Visibility::parse(v)?,
        };
        let now = self.env.clock.now();
        let c = Collection {
            tenant_id: caller.tenant_id,
            id: CollectionId::new(),
            owner_id: caller.user_id,
            name,
            description: clean_text("description", input.description.flatten(), MAX_NOTE_CHARS)?,
            visibility,
            item_count: 0,
            created_at: now,
            updated_at: now,
        };
        self.collections.create(&c).await?;
        self.audit
            .record(
                Entry::new(caller.tenant_id, AuditKind::CollectionCreated, meta)
                    .by(caller)
                    .on(c.id)
                    .with(serde_json::json!({"visibility": c.visibility.as_str()})),
            )
            .await;
        Ok(c)
    }

    /// A collection the caller may read: their own, a tenant-visible one, or (managers and
    /// admins) any of the tenant's.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] (also for another user's private collection).
    pub async fn get(&self, caller: &Caller, id: CollectionId) -> Result<Collection, CoreError> {
        self.access.authorize(caller, Permission::ReadOwnSearches)?;
        let c = self
            .collections
            .find(caller.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if c.owner_id == caller.user_id
            || c.visibility == Visibility::Tenant
            || caller.can(Permission::ReadAllSearches)
        {
            Ok(c)
        } else {
            Err(CoreError::NotFound)
        }
    }

    /// The collections the caller may read, newest first.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`].
    pub async fn list(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> Result<Page<Collection>, CoreError> {
        self.access.authorize(caller, Permission::ReadOwnSearches)?;
        let filter = CollectionFilter {
            reader: (!caller.can(Permission::ReadAllSearches)).then_some(caller.user_id),
        };
        Ok(self
            .collections
            .list(caller.tenant_id, filter, page)
            .await?)
    }

    /// A collection the caller may change: readable, and theirs unless a manager or admin.
    async fn writable(&self, caller: &Caller, id: CollectionId) -> Result<Collection, CoreError> {
        self.access
            .authorize(caller, Permission::WriteCollections)?;
        let c = self.get(caller, id).await?;
        if c.owner_id == caller.user_id || caller.can(Permission::ReadAllSearches) {
            Ok(c)
        } else {
            Err(CoreError::Forbidden(
                "only its owner, managers and admins change a collection",
            ))
        }
    }

    /// Changes a collection's name, description or visibility.
    ///
    /// # Errors
    /// [`CoreError::NotFound`], [`CoreError::Forbidden`], [`CoreError::Validation`].
    pub async fn update(
        &self,
        caller: &Caller,
        id: CollectionId,
        changes: CollectionInput,
        meta: &RequestMeta,
    ) -> Result<Collection, CoreError> {
        let mut c = self.writable(caller, id).await?;
        if let Some(name) = changes.name {
            c.name = DisplayName::parse(&name).map_err(|e| e.for_field("name"))?;
        }
        if let Some(d) = changes.description {
            c.description = clean_text("description", d, MAX_NOTE_CHARS)?;
        }
        if let Some(v) = changes.visibility {
            c.visibility = Visibility::parse(&v)?;
        }
        c.updated_at = self.env.clock.now();
        self.collections.update(&c).await?;
        self.audit
            .record(
                Entry::new(caller.tenant_id, AuditKind::CollectionUpdated, meta)
                    .by(caller)
                    .on(c.id)
                    .with(serde_json::json!({"visibility": c.visibility.as_str()})),
            )
            .await;
        Ok(c)
    }

    /// Deletes a collection and its items.
    ///
    /// # Errors
    /// [`CoreError::NotFound`], [`CoreError::Forbidden`].
    pub async fn delete(
        &self,
        caller: &Caller,
        id: CollectionId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let c = self.writable(caller, id).await?;
        self.collections.delete(caller.tenant_id, id).await?;
        self.audit
            .record(
                Entry::new(caller.tenant_id, AuditKind::CollectionDeleted, meta)
                    .by(caller)
                    .on(c.id)
                    .with(serde_json::json!({"items": c.item_count})),
            )
            .await;
        Ok(())
    }

    /// Adds a paper to a collection; the same paper (by any of its ids) is one item. Returns
    /// the item and whether it is new.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] (collection, history entry, or no kept record with that id),
    /// [`CoreError::Forbidden`], [`CoreError::Validation`] (index, tags, note),
    /// [`CoreError::PlanLimitReached`] when the collection is full.
    pub async fn add_item(
        &self,
        caller: &Caller,
        id: CollectionId,
        source: ItemSource,
        changes: ItemChanges,
    ) -> Result<(CollectionItem, bool), CoreError> {
        let c = self.writable(caller, id).await?;
        let tags = clean_tags(changes.tags.unwrap_or_default())?;
        let note = clean_text("note", changes.note.flatten(), MAX_NOTE_CHARS)?;
        let record: SearchResult = match source {
            ItemSource::Search { search_id, index } => {
                let entry = self.search.entry(caller, search_id).await?;
                let max = entry.results.len().saturating_sub(1);
                entry
                    .results
                    .into_iter()
                    .nth(usize::try_from(index).unwrap_or(usize::MAX))
                    .ok_or_else(|| {
                        invalid(
                            "index",
                            Reason::OutOfRange {
                                min: 0,
                                max: i64::try_from(max).unwrap_or(i64::MAX),
                            },
                        )
                    })?
            }
            ItemSource::Id { kind, value } => {
                let value = value.trim().to_owned();
                let keys = id_keys(kind, &value);
                if value.is_empty() || value.chars().count() > 200 || keys.is_empty() {
                    return Err(invalid(kind, Reason::InvalidFormat));
                }
                let found = self
                    .collections
                    .record_by_keys(caller.tenant_id, &keys)
                    .await?;
                match found.and_then(|v| serde_json::from_value(v).ok()) {
                    Some(r) => r,
                    None => self
                        .search
                        .kept_record(caller, &keys)
                        .await?
                        .ok_or(CoreError::NotFound)?,
                }
            }
        };
        if c.item_count >= MAX_ITEMS {
            return Err(CoreError::PlanLimitReached(
                "a collection holds at most 10000 items",
            ));
        }
        let now = self.env.clock.now();
        let item = CollectionItem {
            tenant_id: caller.tenant_id,
            collection_id: id,
            id: CollectionItemId::new(),
            keys: result_key_strings(&record),
            record: serde_json::to_value(&record).map_err(|e| CoreError::Internal(e.into()))?,
            tags,
            note,
            added_by: caller.user_id,
            added_at: now,
            updated_at: now,
        };
        let held = self.collections.add_item(&item).await?;
        if held == item.id {
            return Ok((item, true));
        }
        let existing = self
            .collections
            .item(caller.tenant_id, id, held)
            .await?
            .ok_or(CoreError::NotFound)?;
        Ok((existing, false))
    }

    /// A collection's items (as its readers see it), first added first.
    ///
    /// # Errors
    /// [`CoreError::NotFound`].
    pub async fn items(
        &self,
        caller: &Caller,
        id: CollectionId,
        page: PageRequest,
    ) -> Result<Page<CollectionItem>, CoreError> {
        self.get(caller, id).await?;
        Ok(self.collections.items(caller.tenant_id, id, page).await?)
    }

    /// Every item of a collection (for an export), at most [`MAX_ITEMS`].
    pub(crate) async fn all_items(
        &self,
        caller: &Caller,
        id: CollectionId,
    ) -> Result<(Collection, Vec<CollectionItem>), CoreError> {
        let c = self.get(caller, id).await?;
        let mut items = Vec::new();
        let mut offset = 0u64;
        loop {
            let page = PageRequest::new(Some(100), Some(offset))?;
            let got = self.collections.items(caller.tenant_id, id, page).await?;
            let n = got.items.len();
            items.extend(got.items);
            offset += 100;
            if n < 100 || items.len() >= MAX_ITEMS as usize {
                break;
            }
        }
        Ok((c, items))
    }

    /// Changes an item's tags or note.
    ///
    /// # Errors
    /// [`CoreError::NotFound`], [`CoreError::Forbidden`], [`CoreError::Validation`].
    pub async fn update_item(
        &self,
        caller: &Caller,
        id: CollectionId,
        item: CollectionItemId,
        changes: ItemChanges,
    ) -> Result<CollectionItem, CoreError> {
        self.writable(caller, id).await?;
        let mut it = self
            .collections
            .item(caller.tenant_id, id, item)
            .await?
            .ok_or(CoreError::NotFound)?;
        if let Some(tags) = changes.tags {
            it.tags = clean_tags(tags)?;
        }
        if let Some(note) = changes.note {
            it.note = clean_text("note", note, MAX_NOTE_CHARS)?;
        }
        it.updated_at = self.env.clock.now();
        self.collections.update_item(&it).await?;
        Ok(it)
    }

    /// Removes an item.
    ///
    /// # Errors
    /// [`CoreError::NotFound`], [`CoreError::Forbidden`].
    pub async fn delete_item(
        &self,
        caller: &Caller,
        id: CollectionId,
        item: CollectionItemId,
    ) -> Result<(), CoreError> {
        self.writable(caller, id).await?;
        Ok(self
            .collections
            .delete_item(caller.tenant_id, id, item)
            .await?)
    }
}
