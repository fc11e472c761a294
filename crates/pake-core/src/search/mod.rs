//! Federated search: fan-out to the sources, merge, rank, enhance, cache, remember.

mod analysis;
mod breaker;
mod enhance;
mod enhanced;
#[cfg(test)]
mod equivalence;
mod fanout;
mod group_commit;
mod history;
mod input;
mod pacer;
mod paging;
mod quick;
mod rank;
#[cfg(test)]
mod reference;
mod saved;
mod snapshot;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pake_domain::collection::CollectionRef;
use pake_domain::search::{SearchRecord, SourceId};
use pake_domain::{Permission, SavedSearchId, SearchId};
use pake_ports::{
    Cache, CollectionRepository, Filter, SavedSearchRepository, SearchHistoryRepository,
    SourceRequest,
};
use serde::{Deserialize, Serialize};

pub use breaker::BreakerPolicy;
pub use fanout::{SearchPolicy, SearchSetup};
pub use input::{SearchFilters, SearchInput, iso_date};
pub use pacer::Pacing;
pub use rank::{Score, SearchResult, Version, VersionKind, score_method};
pub(crate) use rank::{id_keys, result_key_strings};
pub use saved::{SavedSearchChanges, SavedSearchInput, SavedSearchService, SearchPatch};
pub use snapshot::Entry;

use enhanced::Enhanced;

use crate::caller::Caller;
use crate::limits::LimitService;
use crate::{Access, CoreError, Environment};
use input::{Plan, validate};
use paging::Paging;

/// What a source did for a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Answered.
    Ok,
    /// Answered from the cache.
    Cached,
    /// No answer within the budget.
    Timeout,
    /// The upstream throttled, or this tenant's share of it is used up for now.
    RateLimited,
    /// The upstream failed.
    Error,
    /// Not asked (a quick search chose other sources).
    Skipped,
    /// Not configured, or its circuit is open.
    Unavailable,
}

impl SourceState {
    /// The snake_case name, as serialised.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Cached => "cached",
            Self::Timeout => "timeout",
            Self::RateLimited => "rate_limited",
            Self::Error => "error",
            Self::Skipped => "skipped",
            Self::Unavailable => "unavailable",
        }
    }
}

/// A source's part in a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// What happened.
    pub status: SourceState,
    /// Records it contributed.
    pub results: u32,
    /// Time it took, in milliseconds.
    pub ms: u32,
    /// Why, when it did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The search's filters this source applied upstream (the others were applied after the
    /// merge).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters_applied: Vec<Filter>,
}

/// See `testing::enhance`.
#[cfg(feature = "test-support")]
pub(crate) fn enhance_for_bench(
    query: &str,
    records: Vec<(SourceId, pake_ports::SourceRecord)>,
) -> (Vec<SearchResult>, Option<String>, Vec<String>) {
    let mut parts: Vec<enhanced::Part> = Vec::new();
    for (source, record) in records {
        match parts.iter_mut().find(|p| p.source == source) {
            Some(p) => p.push(record),
            None => parts.push(enhanced::Part::parsed(source, vec![record])),
        }
    }
    let options = enhanced::Options {
        summarise: true,
        topics: true,
        refine: rank::Refine::default(),
    };
    let e = enhanced::compose(query, parts, &options);
    (e.results, e.summary, e.key_topics)
}

/// Each source's status, and the parts of those that answered (in the order asked).
fn statuses(
    answers: Vec<(
        SourceId,
        SourceState,
        Result<enhanced::Part, String>,
        Duration,
    )>,
    skipped: &[(SourceId, &'static str)],
) -> (BTreeMap<SourceId, SourceStatus>, Vec<enhanced::Part>) {
    let mut status = BTreeMap::new();
    let mut parts = Vec::new();
    for (id, state, outcome, took) in answers {
        let (results, detail, filters_applied) = match outcome {
            Ok(part) => {
                let n = part.count;
                let applied = part.head.applied.clone();
                parts.push(part);
                (n, None, applied)
            }
            Err(detail) => (0, Some(detail), Vec::new()),
        };
        status.insert(
            id,
            SourceStatus {
                status: state,
                results,
                ms: millis(took),
                detail,
                filters_applied,
            },
        );
    }
    for (id, why) in skipped {
        status.insert(
            *id,
            SourceStatus {
                status: SourceState::Skipped,
                results: 0,
                ms: 0,
                detail: Some((*why).into()),
                filters_applied: Vec::new(),
            },
        );
    }
    (status, parts)
}

/// Counts over a search's merged results, to narrow it by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    /// Results per publication year (results without a date are not counted).
    pub year: BTreeMap<i32, u32>,
    /// Results each source found (a result found by two sources counts for both).
    pub source: BTreeMap<SourceId, u32>,
    /// Results per venue (the 20 most frequent; results without one are not counted).
    pub venue: BTreeMap<String, u32>,
    /// Results per publication type (results without one are not counted).
    pub publication_type: BTreeMap<String, u32>,
    /// Results by open access: `true` free to read, `false` not (unknown: not counted).
    pub open_access: BTreeMap<bool, u32>,
}

/// The venues a facet lists at most.
const VENUE_FACETS: usize = 20;

impl Facets {
    /// The facets of `results`.
    pub fn of(results: &[SearchResult]) -> Self {
        let mut f = Self::default();
        for r in results {
            if let Some(date) = r.published {
                *f.year.entry(date.year()).or_default() += 1;
            }
            for s in &r.sources {
                *f.source.entry(*s).or_default() += 1;
            }
            if let Some(v) = &r.venue {
                *f.venue.entry(v.clone()).or_default() += 1;
            }
            if let Some(t) = &r.publication_type {
                *f.publication_type.entry(t.clone()).or_default() += 1;
            }
            if let Some(o) = &r.open_access {
                *f.open_access.entry(o.is_oa).or_default() += 1;
            }
        }
        if f.venue.len() > VENUE_FACETS {
            let mut by_count: Vec<(String, u32)> =
                std::mem::take(&mut f.venue).into_iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            f.venue = by_count.into_iter().take(VENUE_FACETS).collect();
        }
        f
    }
}

/// Where a search's ranked, summarised results came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enhancement {
    /// Computed by this search.
    Computed,
    /// Read from the cache (no text work).
    Cached,
    /// Computed once for identical searches running at the same time.
    Shared,
}

impl Enhancement {
    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Computed => "computed",
            Self::Cached => "cached",
            Self::Shared => "shared",
        }
    }
}

/// A finished search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOutcome {
    /// The history record's id.
    pub id: SearchId,
    /// The query.
    pub query: String,
    /// Merged, de-duplicated, ranked results.
    pub results: Vec<SearchResult>,
    /// Each source's part.
    pub source_status: BTreeMap<SourceId, SourceStatus>,
    /// Execution time in milliseconds.
    pub execution_ms: u32,
    /// Every asked source answered from the cache.
    pub cache_hit: bool,
    /// A digest of the result set, when summaries were asked.
    pub summary: Option<String>,
    /// Key topics, when enhancement was asked.
    pub key_topics: Vec<String>,
    /// For quick searches: the expanded words the sources were chosen from.
    pub expanded_terms: Option<Vec<String>>,
    /// Counts over the merged results.
    pub facets: Facets,
    /// Where the results came from.
    pub enhancement: Enhancement,
    /// Which page of the search this is (1 for its first).
    pub page: u32,
    /// The cursor of the next page (`POST /search/{id}/more`), when there is one.
    pub next_cursor: Option<String>,
    /// For each result, the caller's readable collections that already hold it.
    pub in_collections: Vec<Vec<CollectionRef>>,
}

/// One page as fetched, merged and enhanced.
struct PageOutcome {
    results: Vec<SearchResult>,
    status: BTreeMap<SourceId, SourceStatus>,
    cache_hit: bool,
    summary: Option<String>,
    key_topics: Vec<String>,
    facets: Facets,
    enhancement: Enhancement,
    /// The sources with more, and where each continues.
    next: BTreeMap<SourceId, Option<String>>,
    /// `results` as the history entry keeps them.
    kept: Vec<u8>,
}

/// Search use cases.
#[derive(Clone)]
pub struct SearchService {
    history: Arc<dyn SearchHistoryRepository>,
    saved: Arc<dyn SavedSearchRepository>,
    collections: Arc<dyn CollectionRepository>,
    env: Environment,
    access: Access,
    setup: Arc<SearchSetup>,
    cache: Arc<dyn Cache>,
    limits: LimitService,
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl SearchService {
    pub(crate) fn new(
        repos: &pake_ports::Repositories,
        env: Environment,
        access: Access,
        setup: Arc<SearchSetup>,
        cache: Arc<dyn Cache>,
        limits: LimitService,
    ) -> Self {
        Self {
            history: Arc::new(group_commit::GroupCommit::new(Arc::clone(&repos.history))),
            saved: Arc::clone(&repos.saved_searches),
            collections: Arc::clone(&repos.collections),
            env,
            access,
            setup,
            cache,
            limits,
        }
    }

    fn setup(&self) -> &SearchSetup {
        &self.setup
    }

    /// Each source's circuit state (`closed`, `open`, `half_open`).
    pub fn circuits(&self) -> Vec<(SourceId, &'static str)> {
        self.setup().circuits()
    }

    /// Runs a search for `caller`.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] for viewers, [`CoreError::Validation`] for bad input,
    /// [`CoreError::RateLimited`] when the tenant's concurrent searches are all running.
    pub async fn search(
        &self,
        caller: &Caller,
        input: &SearchInput,
    ) -> Result<SearchOutcome, CoreError> {
        self.run(caller, input, false, None).await
    }

    /// Runs a quick search: the sources are chosen from the query's (expanded) words.
    ///
    /// # Errors
    /// As [`SearchService::search`].
    pub async fn quick(&self, caller: &Caller, query: &str) -> Result<SearchOutcome, CoreError> {
        let input = SearchInput {
            query: query.to_owned(),
            ..SearchInput::default()
        };
        self.run(caller, &input, true, None).await
    }

    #[tracing::instrument(skip_all, fields(quick, saved = saved.is_some()))]
    pub(super) async fn run(
        &self,
        caller: &Caller,
        input: &SearchInput,
        quick: bool,
        saved: Option<SavedSearchId>,
    ) -> Result<SearchOutcome, CoreError> {
        self.access.authorize(caller, Permission::Search)?;
        let plan = validate(input, quick)?;
        let allowed = self.time_allowed(input)?;
        let _slot = self.limits.search_slot(caller).await?;
        let started = Instant::now();
        let from_start: BTreeMap<SourceId, Option<String>> =
            plan.sources.iter().map(|s| (*s, None)).collect();
        let skipped: Vec<(SourceId, &'static str)> = plan
            .skipped
            .iter()
            .map(|s| (*s, "not chosen for this query"))
            .collect();
        let page = self
            .page(
                caller,
                &plan,
                &from_start,
                &skipped,
                Vec::new(),
                started + allowed,
            )
            .await;
        let mut paging = Paging {
            input: input.clone(),
            quick,
            next: page.next.clone(),
            seen: Vec::new(),
        };
        // the keys are only for later pages (a search with none keeps no state)
        if paging.has_more(1) {
            paging.remember(page.results.iter().flat_map(rank::result_keys));
        }
        let execution_ms = millis(started.elapsed());
        let id = self
            .remember(caller, &plan, &page, execution_ms, saved, &paging)
            .await?;
        let next_cursor = paging.has_more(1).then(|| paging::cursor(id, 1));
        let mut outcome = Self::outcome(id, &plan, page, execution_ms, 1, next_cursor);
        outcome.in_collections = self.markers(caller, &outcome.results).await;
        Ok(outcome)
    }

    /// The next page of the caller's search `id` from `cursor` (what its last page returned):
    /// the sources with more are asked where they left off, with the same etiquette and limits;
    /// results earlier pages returned are left out; the page is recorded on the same history
    /// entry.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] for a cursor that does not name a search of the caller (another
    /// tenant's or user's, or none), [`CoreError::InvalidState`] for a cursor already used or a
    /// search with no more pages, as [`SearchService::search`] otherwise.
    pub async fn more(
        &self,
        caller: &Caller,
        id: SearchId,
        cursor: &str,
    ) -> Result<SearchOutcome, CoreError> {
        const NO_MORE: &str = "this search has no more pages";
        const USED: &str = "this cursor was used already: continue from the latest page's cursor";
        self.access.authorize(caller, Permission::Search)?;
        let (named, pages) = paging::parse_cursor(cursor)
            .filter(|(named, _)| *named == id)
            .ok_or(CoreError::NotFound)?;
        let record = self
            .history
            .get(caller.tenant_id, id)
            .await?
            .filter(|r| r.user_id == caller.user_id && r.id == named)
            .ok_or(CoreError::NotFound)?;
        let mut paging: Paging = record
            .paging
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or(CoreError::InvalidState(NO_MORE))?;
        if record.pages != pages {
            return Err(CoreError::InvalidState(USED));
        }
        if !paging.has_more(pages) {
            return Err(CoreError::InvalidState(NO_MORE));
        }
        let mut plan = validate(&paging.input, paging.quick)?;
        let allowed = self.time_allowed(&paging.input)?;
        let _slot = self.limits.search_slot(caller).await?;
        let started = Instant::now();
        let done: Vec<(SourceId, &'static str)> = plan
            .sources
            .iter()
            .filter(|s| !paging.next.contains_key(s))
            .map(|s| (*s, "no more results"))
            .chain(
                plan.skipped
                    .iter()
                    .map(|s| (*s, "not chosen for this query")),
            )
            .collect();
        plan.sources.retain(|s| paging.next.contains_key(s));
        let page = self
            .page(
                caller,
                &plan,
                &paging.next,
                &done,
                paging.seen.clone(),
                started + allowed,
            )
            .await;
        paging.next.clone_from(&page.next);
        paging.remember(page.results.iter().flat_map(rank::result_keys));
        let added = u32::try_from(page.results.len()).unwrap_or(u32::MAX);
        let state = serde_json::to_value(&paging).map_err(|e| CoreError::Internal(e.into()))?;
        let kept = pake_domain::search::SnapshotPage {
            page: pages + 1,
            created_at: self.env.clock.now(),
            body: page.kept.clone(),
        };
        if !self
            .history
            .add_page(caller.tenant_id, id, pages, &state, added, &kept)
            .await?
        {
            return Err(CoreError::InvalidState(USED));
        }
        let execution_ms = millis(started.elapsed());
        let next_cursor = paging
            .has_more(pages + 1)
            .then(|| paging::cursor(id, pages + 1));
        let mut outcome = Self::outcome(id, &plan, page, execution_ms, pages + 1, next_cursor);
        outcome.in_collections = self.markers(caller, &outcome.results).await;
        Ok(outcome)
    }

    fn outcome(
        id: SearchId,
        plan: &Plan,
        page: PageOutcome,
        execution_ms: u32,
        number: u32,
        next_cursor: Option<String>,
    ) -> SearchOutcome {
        SearchOutcome {
            id,
            query: plan.query.as_str().to_owned(),
            results: page.results,
            source_status: page.status,
            execution_ms,
            cache_hit: page.cache_hit,
            summary: page.summary,
            key_topics: page.key_topics,
            expanded_terms: plan.quick.then(|| quick::expand(plan.query.as_str())),
            facets: page.facets,
            enhancement: page.enhancement,
            page: number,
            next_cursor,
            in_collections: Vec::new(),
        }
    }

    /// One page: each of the plan's sources asked from its `from` position, the answers merged
    /// (leaving out what `seen` names), narrowed, ranked and enhanced.
    async fn page(
        &self,
        caller: &Caller,
        plan: &Plan,
        from: &BTreeMap<SourceId, Option<String>>,
        skipped: &[(SourceId, &'static str)],
        seen: Vec<u64>,
        deadline: Instant,
    ) -> PageOutcome {
        // the tenant's share of the turns at a shared upstream: its plan's `upstream_weight`
        let weight = self
            .access
            .directory
            .get(caller.tenant_id)
            .map_or(1, |e| self.access.plans.get(e.plan).upstream_weight);
        let request = SourceRequest {
            tenant_id: caller.tenant_id,
            query: plan.query.clone(),
            max_results: plan.max_results,
            date_from: plan.date_from,
            date_to: plan.date_to,
            categories: plan.filters.categories.clone(),
            publication_types: plan.publication_types.clone(),
            authors: plan.filters.authors.clone(),
            venues: plan.filters.venues.clone(),
            open_access_only: plan.filters.open_access_only,
            sort: plan.sort,
            abstracts: plan.enhance || plan.summarise,
            page: None,
        };
        let calls = plan.sources.iter().map(|&id| {
            let mut request = request.clone();
            request.page = from.get(&id).cloned().flatten();
            async move {
                let t = Instant::now();
                let (state, outcome) = self.fetch(id, &request, weight, deadline).await;
                (id, state, outcome, t.elapsed(), request.page)
            }
        });
        let answers = futures_util::future::join_all(calls).await;
        let mut next = BTreeMap::new();
        let answers: Vec<_> = answers
            .into_iter()
            .map(|(id, state, outcome, took, asked)| {
                match &outcome {
                    Ok(part) => {
                        if let Some(token) = paging::clean_token(part.head.next.clone()) {
                            next.insert(id, Some(token));
                        }
                    }
                    // a source too slow or throttled for this page is asked again from where it
                    // was (an error answer to the query would only repeat)
                    Err(_) if matches!(state, SourceState::Timeout | SourceState::RateLimited) => {
                        next.insert(id, asked);
                    }
                    Err(_) => {}
                }
                (id, state, outcome, took)
            })
            .collect();
        let (status, parts) = statuses(answers, skipped);
        let cache_hit = !plan.sources.is_empty()
            && plan.sources.iter().all(|s| {
                status
                    .get(s)
                    .is_some_and(|st| st.status == SourceState::Cached)
            });
        let options = enhanced::Options {
            summarise: plan.summarise,
            topics: plan.enhance,
            refine: rank::Refine {
                date_from: plan.date_from,
                date_to: plan.date_to,
                authors: plan.filters.authors.clone(),
                venues: plan.filters.venues.clone(),
                publication_types: plan.publication_types.clone(),
                open_access_only: plan.filters.open_access_only,
                sort: plan.sort,
                seen,
            },
        };
        let (enhanced, enhancement) = self
            .enhanced(caller.tenant_id, plan.query.as_str(), parts, &options)
            .await;
        let kept = enhanced
            .kept
            .get_or_init(|| snapshot::encode(&enhanced.results))
            .clone();
        let Enhanced {
            results,
            summary,
            key_topics,
            ..
        } = Arc::try_unwrap(enhanced).unwrap_or_else(|shared| (*shared).clone());
        let facets = Facets::of(&results);
        PageOutcome {
            results,
            status,
            cache_hit,
            summary,
            key_topics,
            facets,
            enhancement,
            next,
            kept,
        }
    }

    /// How long the search may wait for its sources: the caller's `timeout_ms`, at most the
    /// budget.
    fn time_allowed(&self, input: &SearchInput) -> Result<Duration, CoreError> {
        let budget = self.setup().policy.budget;
        let Some(ms) = input.timeout_ms else {
            return Ok(budget);
        };
        let max = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX).max(1);
        if !(1..=max).contains(&u64::from(ms)) {
            return Err(input::invalid(
                "timeout_ms",
                pake_domain::Reason::OutOfRange {
                    min: 1,
                    max: i64::try_from(max).unwrap_or(i64::MAX),
                },
            ));
        }
        Ok(Duration::from_millis(u64::from(ms)))
    }

    /// Records the search (its first page) in the history, with what continues it.
    async fn remember(
        &self,
        caller: &Caller,
        plan: &Plan,
        page: &PageOutcome,
        execution_ms: u32,
        saved: Option<SavedSearchId>,
        paging: &Paging,
    ) -> Result<SearchId, CoreError> {
        let id = SearchId::new();
        let record = SearchRecord {
            tenant_id: caller.tenant_id,
            id,
            user_id: caller.user_id,
            query: plan.query.clone(),
            sources: plan.sources.clone(),
            result_count: u32::try_from(page.results.len()).unwrap_or(u32::MAX),
            execution_ms,
            cache_hit: page.cache_hit,
            source_status: serde_json::to_value(&page.status).unwrap_or_default(),
            saved_search_id: saved,
            created_at: self.env.clock.now(),
            pages: 1,
            // kept only while the search can be continued
            paging: paging
                .has_more(1)
                .then(|| serde_json::to_value(paging).ok())
                .flatten(),
            snapshot: Some(page.kept.clone()),
        };
        // the history is the record of searches (analytics count it): the search answers once
        // the group commit holding its record is in
        self.history.append(&record).await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::SourceState;

    #[test]
    fn state_names_are_the_serialised_ones() {
        for s in [
            SourceState::Ok,
            SourceState::Cached,
            SourceState::Timeout,
            SourceState::RateLimited,
            SourceState::Error,
            SourceState::Skipped,
            SourceState::Unavailable,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
