//! Saved searches: a search kept with a name, shared with the tenant or not, run again later.

use std::sync::Arc;

use pake_domain::search::{SavedSearch, SavedSearchFilter, SourceId};
use pake_domain::{DisplayName, Page, PageRequest, Permission, Reason, SavedSearchId};
use pake_ports::SavedSearchRepository;

use super::input::{SearchFilters, SearchInput, clean_description, invalid, validate};
use super::{SearchOutcome, SearchService};
use crate::caller::Caller;
use crate::{Access, CoreError, Environment};

/// A saved search to create.
#[derive(Debug, Clone, Default)]
pub struct SavedSearchInput {
    /// Name.
    pub name: Option<String>,
    /// Description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// The search.
    pub search: Option<SearchInput>,
    /// Visible to the whole tenant.
    pub is_public: Option<bool>,
}

/// Changes to the search a saved search stores: a part left `None` keeps its stored value; for
/// the optional parts `Some(None)` returns them to their default.
#[derive(Debug, Clone, Default)]
pub struct SearchPatch {
    /// The user's words.
    pub query: Option<String>,
    /// Sources (`Some(None)`: all).
    pub sources: Option<Option<Vec<SourceId>>>,
    /// Records per source (`Some(None)`: the default).
    pub max_results: Option<Option<u32>>,
    /// Filters, replaced as a whole.
    pub filters: Option<SearchFilters>,
    /// Key topics (`Some(None)`: the default).
    pub enable_ml_enhancement: Option<Option<bool>>,
    /// Summaries (`Some(None)`: the default).
    pub enable_summarization: Option<Option<bool>>,
}

impl SearchPatch {
    fn is_empty(&self) -> bool {
        self.query.is_none()
            && self.sources.is_none()
            && self.max_results.is_none()
            && self.filters.is_none()
            && self.enable_ml_enhancement.is_none()
            && self.enable_summarization.is_none()
    }

    /// `stored` with the given parts replaced.
    fn apply(self, mut stored: SearchInput) -> SearchInput {
        if let Some(query) = self.query {
            stored.query = query;
        }
        if let Some(sources) = self.sources {
            stored.sources = sources;
        }
        if let Some(max) = self.max_results {
            stored.max_results = max;
        }
        if let Some(filters) = self.filters {
            stored.filters = filters;
        }
        if let Some(enhance) = self.enable_ml_enhancement {
            stored.enable_ml_enhancement = enhance;
        }
        if let Some(summarise) = self.enable_summarization {
            stored.enable_summarization = summarise;
        }
        stored
    }
}

/// Changes to a saved search: a field left `None` keeps its stored value.
#[derive(Debug, Clone, Default)]
pub struct SavedSearchChanges {
    /// Name.
    pub name: Option<String>,
    /// Description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Parts of the search.
    pub search: SearchPatch,
    /// Visible to the whole tenant.
    pub is_public: Option<bool>,
}

/// Saved-search use cases.
#[derive(Clone)]
pub struct SavedSearchService {
    saved_searches: Arc<dyn SavedSearchRepository>,
    env: Environment,
    access: Access,
    search: SearchService,
}

impl SavedSearchService {
    pub(crate) fn new(
        saved_searches: Arc<dyn SavedSearchRepository>,
        env: Environment,
        access: Access,
        search: SearchService,
    ) -> Self {
        Self {
            saved_searches,
            env,
            access,
            search,
        }
    }

    /// Saves a search of the caller's.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] for viewers, [`CoreError::Validation`].
    pub async fn create(
        &self,
        caller: &Caller,
        input: SavedSearchInput,
    ) -> Result<SavedSearch, CoreError> {
        self.access
            .authorize(caller, Permission::WriteOwnSearches)?;
        let name = DisplayName::parse(input.name.as_deref().unwrap_or(""))
            .map_err(|e| e.for_field("name"))?;
        let search = input
            .search
            .ok_or_else(|| invalid("query", Reason::Empty))?;
        let plan = validate(&search, false)?;
        let now = self.env.clock.now();
        let saved = SavedSearch {
            tenant_id: caller.tenant_id,
            id: SavedSearchId::new(),
            owner_id: caller.user_id,
            name,
            description: clean_description(input.description.flatten())?,
            query: plan.query,
            parameters: serde_json::to_value(&search).unwrap_or_default(),
            is_public: input.is_public.unwrap_or(false),
            run_count: 0,
            last_run_at: None,
            created_at: now,
            updated_at: now,
        };
        self.saved_searches.create(&saved).await?;
        Ok(saved)
    }

    /// A saved search the caller may read: their own, a public one, or (admins and managers) any.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] (also for another user's private search).
    pub async fn get(&self, caller: &Caller, id: SavedSearchId) -> Result<SavedSearch, CoreError> {
        self.access.authorize(caller, Permission::ReadOwnSearches)?;
        let s = self
            .saved_searches
            .find(caller.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if s.owner_id == caller.user_id || s.is_public || caller.can(Permission::ReadAllSearches) {
            Ok(s)
        } else {
            Err(CoreError::NotFound)
        }
    }

    /// The saved searches the caller may read: their own and the public ones (admins and
    /// managers: every one of the tenant).
    ///
    /// # Errors
    /// [`CoreError::Forbidden`].
    pub async fn list(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> Result<Page<SavedSearch>, CoreError> {
        self.access.authorize(caller, Permission::ReadOwnSearches)?;
        let filter = if caller.can(Permission::ReadAllSearches) {
            SavedSearchFilter {
                owner_id: None,
                include_public: false,
            }
        } else {
            SavedSearchFilter {
                owner_id: Some(caller.user_id),
                include_public: true,
            }
        };
        Ok(self
            .saved_searches
            .list(caller.tenant_id, filter, page)
            .await?)
    }

    async fn own(&self, caller: &Caller, id: SavedSearchId) -> Result<SavedSearch, CoreError> {
        self.access
            .authorize(caller, Permission::WriteOwnSearches)?;
        let s = self.get(caller, id).await?;
        if s.owner_id == caller.user_id {
            Ok(s)
        } else {
            Err(CoreError::Forbidden(
                "only the owner changes a saved search",
            ))
        }
    }

    /// Changes a saved search of the caller's: each given field is validated as on
    /// [`SavedSearchService::create`] and applied; the others keep their stored values. Nothing is
    /// stored unless every given field is valid.
    ///
    /// # Errors
    /// [`CoreError::NotFound`], [`CoreError::Forbidden`] (not the owner), [`CoreError::Validation`]
    /// naming the field, [`CoreError::InvalidState`] when a search part is changed and the stored
    /// parameters are unreadable.
    pub async fn update(
        &self,
        caller: &Caller,
        id: SavedSearchId,
        changes: SavedSearchChanges,
    ) -> Result<SavedSearch, CoreError> {
        let mut s = self.own(caller, id).await?;
        if let Some(name) = changes.name {
            s.name = DisplayName::parse(&name).map_err(|e| e.for_field("name"))?;
        }
        if let Some(description) = changes.description {
            s.description = clean_description(description)?;
        }
        if !changes.search.is_empty() {
            let stored: SearchInput = serde_json::from_value(s.parameters.clone())
                .map_err(|_| CoreError::InvalidState("the saved parameters are unreadable"))?;
            let search = changes.search.apply(stored);
            s.query = validate(&search, false)?.query;
            s.parameters = serde_json::to_value(&search).unwrap_or_default();
        }
        if let Some(public) = changes.is_public {
            s.is_public = public;
        }
        s.updated_at = self.env.clock.now();
        self.saved_searches.update(&s).await?;
        Ok(s)
    }

    /// Deletes a saved search of the caller's.
    ///
    /// # Errors
    /// [`CoreError::NotFound`], [`CoreError::Forbidden`].
    pub async fn delete(&self, caller: &Caller, id: SavedSearchId) -> Result<(), CoreError> {
        self.own(caller, id).await?;
        Ok(self.saved_searches.delete(caller.tenant_id, id).await?)
    }

    /// Runs a saved search the caller may read, as the caller; counts the run.
    ///
    /// # Errors
    /// As [`SearchService::search`], plus [`CoreError::NotFound`].
    pub async fn run(
        &self,
        caller: &Caller,
        id: SavedSearchId,
    ) -> Result<SearchOutcome, CoreError> {
        let s = self.get(caller, id).await?;
        let input: SearchInput = serde_json::from_value(s.parameters.clone())
            .map_err(|_| CoreError::InvalidState("the saved parameters are unreadable"))?;
        let outcome = self.search.run(caller, &input, false, Some(id)).await?;
        self.saved_searches
            .record_run(caller.tenant_id, id, self.env.clock.now())
            .await?;
        Ok(outcome)
    }
}
