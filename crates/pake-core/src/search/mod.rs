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
mod quick;
mod rank;
#[cfg(test)]
mod reference;
mod saved;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pake_domain::search::{SearchRecord, SourceId};
use pake_domain::{Permission, SavedSearchId, SearchId};
use pake_ports::{Cache, SearchHistoryRepository, SourceRequest};
use serde::{Deserialize, Serialize};

pub use breaker::BreakerPolicy;
pub use fanout::{SearchPolicy, SearchSetup};
pub use input::{SearchFilters, SearchInput, iso_date};
pub use pacer::Pacing;
pub use rank::{Score, SearchResult};
pub use saved::{SavedSearchChanges, SavedSearchInput, SavedSearchService, SearchPatch};

use enhanced::Enhanced;

use crate::caller::Caller;
use crate::limits::LimitService;
use crate::{Access, CoreError, Environment};
use input::{Plan, validate};

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
    };
    let e = enhanced::compose(query, parts, options);
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
    skipped: &[SourceId],
) -> (BTreeMap<SourceId, SourceStatus>, Vec<enhanced::Part>) {
    let mut status = BTreeMap::new();
    let mut parts = Vec::new();
    for (id, state, outcome, took) in answers {
        let (results, detail) = match outcome {
            Ok(part) => {
                let n = part.count;
                parts.push(part);
                (n, None)
            }
            Err(detail) => (0, Some(detail)),
        };
        status.insert(
            id,
            SourceStatus {
                status: state,
                results,
                ms: millis(took),
                detail,
            },
        );
    }
    for id in skipped {
        status.insert(
            *id,
            SourceStatus {
                status: SourceState::Skipped,
                results: 0,
                ms: 0,
                detail: Some("not chosen for this query".into()),
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
}

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
}

/// Search use cases.
#[derive(Clone)]
pub struct SearchService {
    history: Arc<dyn SearchHistoryRepository>,
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
        history: Arc<dyn SearchHistoryRepository>,
        env: Environment,
        access: Access,
        setup: Arc<SearchSetup>,
        cache: Arc<dyn Cache>,
        limits: LimitService,
    ) -> Self {
        Self {
            history: Arc::new(group_commit::GroupCommit::new(history)),
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
        let deadline = started + allowed;
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
            date_from: plan.filters.date_from,
            date_to: plan.filters.date_to,
            categories: plan.filters.categories.clone(),
            publication_types: plan.filters.publication_types.clone(),
            sort_by_date: plan.sort_by_date,
            abstracts: plan.enhance || plan.summarise,
        };
        let calls = plan.sources.iter().map(|&id| {
            let request = &request;
            async move {
                let t = Instant::now();
                let (state, outcome) = self.fetch(id, request, weight, deadline).await;
                (id, state, outcome, t.elapsed())
            }
        });
        let answers = futures_util::future::join_all(calls).await;
        let (status, parts) = statuses(answers, &plan.skipped);
        let cache_hit = plan.sources.iter().all(|s| {
            status
                .get(s)
                .is_some_and(|st| st.status == SourceState::Cached)
        });
        let options = enhanced::Options {
            summarise: plan.summarise,
            topics: plan.enhance,
        };
        let (enhanced, enhancement) = self
            .enhanced(caller.tenant_id, plan.query.as_str(), parts, options)
            .await;
        let Enhanced {
            results,
            summary,
            key_topics,
        } = Arc::try_unwrap(enhanced).unwrap_or_else(|shared| (*shared).clone());
        let facets = Facets::of(&results);
        let execution_ms = millis(started.elapsed());
        let id = self
            .remember(
                caller,
                &plan,
                &results,
                &status,
                execution_ms,
                cache_hit,
                saved,
            )
            .await?;
        Ok(SearchOutcome {
            id,
            query: plan.query.as_str().to_owned(),
            results,
            source_status: status,
            execution_ms,
            cache_hit,
            summary,
            key_topics,
            expanded_terms: quick.then(|| quick::expand(plan.query.as_str())),
            facets,
            enhancement,
        })
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

    /// Records the search in the history.
    #[expect(
        clippy::too_many_arguments,
        reason = "each argument is one part of the search it records"
    )]
    async fn remember(
        &self,
        caller: &Caller,
        plan: &Plan,
        results: &[SearchResult],
        status: &BTreeMap<SourceId, SourceStatus>,
        execution_ms: u32,
        cache_hit: bool,
        saved: Option<SavedSearchId>,
    ) -> Result<SearchId, CoreError> {
        let id = SearchId::new();
        let record = SearchRecord {
            tenant_id: caller.tenant_id,
            id,
            user_id: caller.user_id,
            query: plan.query.clone(),
            sources: plan.sources.clone(),
            result_count: u32::try_from(results.len()).unwrap_or(u32::MAX),
            execution_ms,
            cache_hit,
            source_status: serde_json::to_value(status).unwrap_or_default(),
            saved_search_id: saved,
            created_at: self.env.clock.now(),
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
