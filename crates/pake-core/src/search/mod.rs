//! Federated search: fan-out to the sources, merge, rank, enhance, cache, remember.

mod enhance;
mod rank;
mod text;
mod upstream;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pake_domain::search::{
    HistoryFilter, PopularQuery, QueryText, SavedSearch, SavedSearchFilter, SearchRecord,
    SearchStats, SourceId,
};
use pake_domain::{
    DisplayName, Page, PageRequest, Permission, Reason, SavedSearchId, SearchId, UserId,
    ValidationError,
};
use pake_ports::{
    CacheKey, ConcurrencyLimiter, RateLimiter, SearchSource, SourceAvailability, SourceError,
    SourceRecord, SourceRequest,
};
use serde::{Deserialize, Serialize};

pub use rank::{Score, SearchResult};
pub use upstream::{BreakerPolicy, Pacing};

use crate::caller::Caller;
use crate::limits::LimitService;
use crate::util::{hex, lock};
use crate::{CoreError, Deps};
use upstream::{Breaker, Flight, PacedGate, Pacer, Verdict};

/// Search settings.
#[derive(Debug, Clone)]
pub struct SearchPolicy {
    /// How long a search waits for its sources (each source's time budget, waiting for its turn
    /// and retries included); what arrived by then is answered.
    pub budget: Duration,
    /// Retries of a retryable failure (throttling, 5xx) within the budget.
    pub retries: u32,
    /// The first retry's backoff (doubling, plus jitter).
    pub backoff: Duration,
    /// The circuit breaker of each source.
    pub breaker: BreakerPolicy,
    /// How long a source's results stay cached, per source.
    pub cache_ttl: BTreeMap<SourceId, Duration>,
}

impl Default for SearchPolicy {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(500),
            breaker: BreakerPolicy {
                failures: 5,
                cooldown: Duration::from_secs(30),
            },
            cache_ttl: [
                (SourceId::Arxiv, Duration::from_secs(3600)),
                (SourceId::Pubmed, Duration::from_secs(3600)),
                (SourceId::Web, Duration::from_secs(600)),
            ]
            .into(),
        }
    }
}

struct Upstream {
    source: Arc<dyn SearchSource>,
    pacer: Arc<Pacer>,
    breaker: Breaker,
}

/// What one source answered, shareable between coalesced callers.
type Fetched = Result<Vec<SourceRecord>, (SourceState, String)>;

/// The sources, their pacers and breakers, and the calls in flight (built once by the
/// composition root).
pub struct SearchSetup {
    upstreams: BTreeMap<SourceId, Upstream>,
    policy: SearchPolicy,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Fetched>>>>,
}

impl SearchSetup {
    /// `sources` with their pacing; spacing and one-connection slots are shared through
    /// `limiter` and `slots` (Redis in production, so across replicas).
    pub fn new(
        sources: Vec<(Arc<dyn SearchSource>, Pacing)>,
        policy: SearchPolicy,
        limiter: &Arc<dyn RateLimiter>,
        slots: &Arc<dyn ConcurrencyLimiter>,
    ) -> Self {
        let upstreams = sources
            .into_iter()
            .map(|(source, pacing)| {
                let id = source.id();
                let pacer = Pacer::new(id, pacing, Arc::clone(limiter), Arc::clone(slots));
                (
                    id,
                    Upstream {
                        source,
                        pacer,
                        breaker: Breaker::new(policy.breaker),
                    },
                )
            })
            .collect();
        Self {
            upstreams,
            policy,
            inflight: Mutex::default(),
        }
    }

    /// Each source's circuit state (`closed`, `open`, `half_open`).
    pub fn circuits(&self) -> Vec<(SourceId, &'static str)> {
        self.upstreams
            .iter()
            .map(|(id, u)| (*id, u.breaker.state()))
            .collect()
    }
}

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

/// `YYYY-MM-DD` dates in JSON (filters, saved-search parameters), for `#[serde(with)]`.
#[allow(missing_docs)] // the macro's generated functions
pub mod iso_date {
    time::serde::format_description!(pub format, Date, "[year]-[month]-[day]");
    pub use format::option;
}

/// Filters of a search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchFilters {
    /// Published on or after (`YYYY-MM-DD`).
    #[serde(default, with = "iso_date::option")]
    pub date_from: Option<time::Date>,
    /// Published on or before.
    #[serde(default, with = "iso_date::option")]
    pub date_to: Option<time::Date>,
    /// arXiv categories (`cs.LG`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// PubMed publication types (`Review`).
    #[serde(default)]
    pub publication_types: Vec<String>,
    /// `relevance` (default) or `date`.
    #[serde(default)]
    pub sort: Option<String>,
}

/// A search as asked (also what a saved search stores as its parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchInput {
    /// The user's words.
    pub query: String,
    /// Sources (default all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<SourceId>>,
    /// Records per source, 1–50 (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
    /// Filters.
    #[serde(default)]
    pub filters: SearchFilters,
    /// Key topics (default on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ml_enhancement: Option<bool>,
    /// Summaries (default: as `enable_ml_enhancement`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_summarization: Option<bool>,
}

/// A validated search.
#[derive(Debug, Clone)]
struct Plan {
    query: QueryText,
    sources: Vec<SourceId>,
    skipped: Vec<SourceId>,
    max_results: u32,
    filters: SearchFilters,
    sort_by_date: bool,
    enhance: bool,
    summarise: bool,
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
}

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

/// Search use cases.
#[derive(Clone)]
pub struct SearchService {
    deps: Deps,
    limits: LimitService,
}

fn invalid(field: &'static str, reason: Reason) -> CoreError {
    ValidationError::new(field, reason).into()
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn validate(input: &SearchInput, quick: bool) -> Result<Plan, CoreError> {
    let query = QueryText::parse(&input.query)?;
    let (sources, skipped) = if quick {
        let (chosen, _) = enhance::choose_sources(query.as_str());
        let skipped = SourceId::ALL
            .into_iter()
            .filter(|s| !chosen.contains(s))
            .collect();
        (chosen, skipped)
    } else {
        let mut s = input
            .sources
            .clone()
            .unwrap_or_else(|| SourceId::ALL.to_vec());
        if s.is_empty() {
            return Err(invalid("sources", Reason::Empty));
        }
        s.sort();
        s.dedup();
        (s, Vec::new())
    };
    let max_results = input.max_results.unwrap_or(10);
    if !(1..=50).contains(&max_results) {
        return Err(invalid(
            "max_results",
            Reason::OutOfRange { min: 1, max: 50 },
        ));
    }
    let f = &input.filters;
    if let (Some(from), Some(to)) = (f.date_from, f.date_to)
        && from > to
    {
        return Err(invalid("filters.date_from", Reason::InvalidFormat));
    }
    if f.categories.len() > 10
        || f.categories.iter().any(|c| {
            c.is_empty()
                || c.len() > 32
                || !c
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-'))
        })
    {
        return Err(invalid("filters.categories", Reason::InvalidFormat));
    }
    if f.publication_types.len() > 10
        || f.publication_types.iter().any(|t| {
            t.trim().is_empty()
                || t.len() > 64
                || !t
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || matches!(ch, ' ' | '-' | ','))
        })
    {
        return Err(invalid("filters.publication_types", Reason::InvalidFormat));
    }
    let sort_by_date = match f.sort.as_deref() {
        None | Some("relevance") => false,
        Some("date") => true,
        Some(_) => return Err(invalid("filters.sort", Reason::UnknownValue)),
    };
    let enhance = input.enable_ml_enhancement.unwrap_or(true);
    Ok(Plan {
        query,
        sources,
        skipped,
        max_results,
        filters: f.clone(),
        sort_by_date,
        enhance,
        summarise: input.enable_summarization.unwrap_or(enhance),
    })
}

impl SearchService {
    pub(crate) fn new(deps: Deps, limits: LimitService) -> Self {
        Self { deps, limits }
    }

    fn setup(&self) -> &SearchSetup {
        &self.deps.search
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
    async fn run(
        &self,
        caller: &Caller,
        input: &SearchInput,
        quick: bool,
        saved: Option<SavedSearchId>,
    ) -> Result<SearchOutcome, CoreError> {
        caller.require(Permission::Search, &self.deps.directory, &self.deps.plans)?;
        let plan = validate(input, quick)?;
        let _slot = self.limits.search_slot(caller).await?;
        let started = Instant::now();
        let deadline = started + self.setup().policy.budget;
        // the tenant's share of the turns at a shared upstream: its plan's `upstream_weight`
        let weight = self
            .deps
            .directory
            .get(caller.tenant_id)
            .map_or(1, |e| self.deps.plans.get(e.plan).upstream_weight);
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
        let mut status = BTreeMap::new();
        let mut records = Vec::new();
        for (id, state, outcome, took) in answers {
            let (results, detail) = match outcome {
                Ok(found) => {
                    let n = u32::try_from(found.len()).unwrap_or(u32::MAX);
                    records.extend(found.into_iter().map(|r| (id, r)));
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
        for id in &plan.skipped {
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
        let cache_hit = plan.sources.iter().all(|s| {
            status
                .get(s)
                .is_some_and(|st| st.status == SourceState::Cached)
        });
        let mut results = rank::rank(plan.query.as_str(), records);
        let (summary, key_topics) = enhance_results(&plan, &mut results);
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
            expanded_terms: quick.then(|| enhance::expand(plan.query.as_str())),
        })
    }

    /// Records the search in the history.
    #[allow(clippy::too_many_arguments)]
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
            created_at: self.deps.clock.now(),
        };
        // the history is the record of searches: analytics count it, so one write per search
        self.deps.repos.history.append(&record).await?;
        Ok(id)
    }

    /// One source's records: from the tenant's cache, or from the upstream (identical concurrent
    /// calls of the tenant coalesced into one), within the budget.
    #[tracing::instrument(skip_all, fields(source = %id))]
    async fn fetch(
        &self,
        id: SourceId,
        request: &SourceRequest,
        weight: u32,
        deadline: Instant,
    ) -> (SourceState, Result<Vec<SourceRecord>, String>) {
        let Some(upstream) = self.setup().upstreams.get(&id) else {
            return (SourceState::Unavailable, Err("not configured".into()));
        };
        if upstream.source.availability() == SourceAvailability::NotConfigured {
            return (SourceState::Unavailable, Err("not configured".into()));
        }
        let normalised = serde_json::json!({
            "source": id,
            "q": request.query.grouping_key(),
            "max": request.max_results,
            "from": request.date_from.map(|d| d.to_string()),
            "to": request.date_to.map(|d| d.to_string()),
            "cats": request.categories,
            "pts": request.publication_types,
            "date": request.sort_by_date,
            "abs": request.abstracts,
        })
        .to_string();
        let digest = hex(&self.deps.secrets.digest(normalised.as_bytes()));
        let key = CacheKey::tenant(request.tenant_id, "search", format!("{id}:{digest}"));
        if let Ok(Some(bytes)) = self.deps.cache.get(&key).await
            && let Ok(records) = serde_json::from_slice::<Vec<SourceRecord>>(&bytes)
        {
            return (SourceState::Cached, Ok(records));
        }
        if !upstream.breaker.allow() {
            return (SourceState::Unavailable, Err("circuit open".into()));
        }
        let flight_key = format!("{}:{}", request.tenant_id, digest);
        let cell = Arc::clone(
            lock(&self.setup().inflight)
                .entry(flight_key.clone())
                .or_default(),
        );
        let flight = Arc::new(Flight::default());
        let shared = cell.get_or_init(|| self.call(upstream, request, weight, deadline, &flight));
        let outcome = if let Ok(outcome) = tokio::time::timeout_at(deadline.into(), shared).await {
            outcome.clone()
        } else {
            // the budget ran out: the upstream's fault only when our request had been there long
            // (half the budget) without an answer, not when the turn came late or the call
            // waited in the pacer's queue
            let slow = flight
                .in_flight()
                .is_some_and(|t| t >= self.setup().policy.budget / 2);
            upstream.breaker.record(if slow {
                Verdict::Failed
            } else {
                Verdict::NotAsked
            });
            Err((SourceState::Timeout, "no answer within the budget".into()))
        };
        {
            let mut inflight = lock(&self.setup().inflight);
            if inflight
                .get(&flight_key)
                .is_some_and(|c| Arc::ptr_eq(c, &cell))
            {
                inflight.remove(&flight_key);
            }
        }
        match outcome {
            Ok(records) => {
                if let Ok(bytes) = serde_json::to_vec(&records) {
                    let ttl = self
                        .setup()
                        .policy
                        .cache_ttl
                        .get(&id)
                        .copied()
                        .unwrap_or(Duration::from_secs(600));
                    let _ = self.deps.cache.set(&key, bytes, ttl).await;
                }
                (SourceState::Ok, Ok(records))
            }
            Err((state, detail)) => (state, Err(detail)),
        }
    }

    /// The upstream call with retries (retryable failures only, backoff with jitter, never past
    /// the deadline); records on the breaker what the upstream itself did: its failures (5xx,
    /// throttling, timeouts, no connection) count, its answers to the query (4xx, error
    /// documents) and the pacer's own refusals never do.
    async fn call(
        &self,
        upstream: &Upstream,
        request: &SourceRequest,
        weight: u32,
        deadline: Instant,
        flight: &Arc<Flight>,
    ) -> Fetched {
        let policy = &self.setup().policy;
        let gate = PacedGate {
            pacer: Arc::clone(&upstream.pacer),
            tenant: request.tenant_id,
            weight,
            deadline,
            flight: Arc::clone(flight),
        };
        let mut attempt = 0;
        loop {
            flight.reset();
            match upstream.source.search(request, &gate).await {
                Ok(records) => {
                    upstream.breaker.record(Verdict::Healthy);
                    return Ok(records);
                }
                Err(e) => {
                    let verdict = if flight.refused() {
                        Verdict::NotAsked
                    } else if e.is_upstream_failure() {
                        Verdict::Failed
                    } else {
                        Verdict::Answered
                    };
                    if e.is_retryable() && attempt < policy.retries {
                        let base = policy.backoff * 2u32.pow(attempt);
                        let jitter_ms = u64::from(self.deps.secrets.token_bytes()[0])
                            * u64::try_from(policy.backoff.as_millis()).unwrap_or(0)
                            / 255;
                        let wait = match &e {
                            SourceError::RateLimited {
                                retry_after: Some(r),
                            } => (*r).max(base),
                            _ => base,
                        } + Duration::from_millis(jitter_ms);
                        if Instant::now() + wait < deadline {
                            tracing::debug!(source = %upstream.source.id(), attempt, error = %e, "retrying");
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                    }
                    upstream.breaker.record(verdict);
                    return Err(map_error(&e));
                }
            }
        }
    }

    /// The caller's history (admins and managers: the tenant's, optionally one user's).
    ///
    /// # Errors
    /// [`CoreError::Forbidden`].
    pub async fn history(
        &self,
        caller: &Caller,
        user: Option<UserId>,
        page: PageRequest,
    ) -> Result<Page<SearchRecord>, CoreError> {
        let filter = HistoryFilter {
            user_id: self.scope(caller, user)?,
            since: None,
        };
        Ok(self
            .deps
            .repos
            .history
            .list(caller.tenant_id, &filter, page)
            .await?)
    }

    /// Whose searches a reader sees: admins and managers any user's (or all); others their own.
    fn scope(&self, caller: &Caller, user: Option<UserId>) -> Result<Option<UserId>, CoreError> {
        caller.require(
            Permission::ReadOwnSearches,
            &self.deps.directory,
            &self.deps.plans,
        )?;
        if caller.can(Permission::ReadAllSearches) {
            Ok(user)
        } else if user.is_none_or(|u| u == caller.user_id) {
            Ok(Some(caller.user_id))
        } else {
            Err(CoreError::Forbidden("only your own searches"))
        }
    }

    fn since(&self, days: u32) -> Result<time::OffsetDateTime, CoreError> {
        if !(1..=365).contains(&days) {
            return Err(invalid("days", Reason::OutOfRange { min: 1, max: 365 }));
        }
        let today = self.deps.clock.now().date();
        Ok((today - time::Duration::days(i64::from(days) - 1))
            .midnight()
            .assume_utc())
    }

    /// Search analytics over the last `days` days (admins and managers: the tenant's; others
    /// their own).
    ///
    /// # Errors
    /// [`CoreError::Validation`] for `days` outside 1–365.
    pub async fn analytics(&self, caller: &Caller, days: u32) -> Result<SearchStats, CoreError> {
        let filter = HistoryFilter {
            user_id: self.scope(caller, None)?,
            since: Some(self.since(days)?),
        };
        Ok(self
            .deps
            .repos
            .history
            .stats(caller.tenant_id, &filter)
            .await?)
    }

    /// The most searched queries over the last `days` days (same scope as analytics).
    ///
    /// # Errors
    /// [`CoreError::Validation`] for `days` outside 1–365 or `limit` outside 1–100.
    pub async fn popular(
        &self,
        caller: &Caller,
        days: u32,
        limit: u32,
    ) -> Result<Vec<PopularQuery>, CoreError> {
        if !(1..=100).contains(&limit) {
            return Err(invalid("limit", Reason::OutOfRange { min: 1, max: 100 }));
        }
        let filter = HistoryFilter {
            user_id: self.scope(caller, None)?,
            since: Some(self.since(days)?),
        };
        Ok(self
            .deps
            .repos
            .history
            .popular(caller.tenant_id, &filter, limit)
            .await?)
    }

    /// Saves a search of the caller's.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] for viewers, [`CoreError::Validation`].
    pub async fn save(
        &self,
        caller: &Caller,
        input: SavedSearchInput,
    ) -> Result<SavedSearch, CoreError> {
        caller.require(
            Permission::WriteOwnSearches,
            &self.deps.directory,
            &self.deps.plans,
        )?;
        let name = DisplayName::parse(input.name.as_deref().unwrap_or(""))
            .map_err(|e| e.for_field("name"))?;
        let search = input
            .search
            .ok_or_else(|| invalid("query", Reason::Empty))?;
        let plan = validate(&search, false)?;
        let now = self.deps.clock.now();
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
        self.deps.repos.saved_searches.create(&saved).await?;
        Ok(saved)
    }

    /// A saved search the caller may read: their own, a public one, or (admins and managers) any.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] (also for another user's private search).
    pub async fn saved(
        &self,
        caller: &Caller,
        id: SavedSearchId,
    ) -> Result<SavedSearch, CoreError> {
        caller.require(
            Permission::ReadOwnSearches,
            &self.deps.directory,
            &self.deps.plans,
        )?;
        let s = self
            .deps
            .repos
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
    pub async fn list_saved(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> Result<Page<SavedSearch>, CoreError> {
        caller.require(
            Permission::ReadOwnSearches,
            &self.deps.directory,
            &self.deps.plans,
        )?;
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
            .deps
            .repos
            .saved_searches
            .list(caller.tenant_id, filter, page)
            .await?)
    }

    async fn own(&self, caller: &Caller, id: SavedSearchId) -> Result<SavedSearch, CoreError> {
        caller.require(
            Permission::WriteOwnSearches,
            &self.deps.directory,
            &self.deps.plans,
        )?;
        let s = self.saved(caller, id).await?;
        if s.owner_id == caller.user_id {
            Ok(s)
        } else {
            Err(CoreError::Forbidden(
                "only the owner changes a saved search",
            ))
        }
    }

    /// Changes a saved search of the caller's: each given field is validated as on
    /// [`SearchService::save`] and applied; the others keep their stored values. Nothing is
    /// stored unless every given field is valid.
    ///
    /// # Errors
    /// [`CoreError::NotFound`], [`CoreError::Forbidden`] (not the owner), [`CoreError::Validation`]
    /// naming the field, [`CoreError::InvalidState`] when a search part is changed and the stored
    /// parameters are unreadable.
    pub async fn update_saved(
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
        s.updated_at = self.deps.clock.now();
        self.deps.repos.saved_searches.update(&s).await?;
        Ok(s)
    }

    /// Deletes a saved search of the caller's.
    ///
    /// # Errors
    /// [`CoreError::NotFound`], [`CoreError::Forbidden`].
    pub async fn delete_saved(&self, caller: &Caller, id: SavedSearchId) -> Result<(), CoreError> {
        self.own(caller, id).await?;
        Ok(self
            .deps
            .repos
            .saved_searches
            .delete(caller.tenant_id, id)
            .await?)
    }

    /// Runs a saved search the caller may read, as the caller; counts the run.
    ///
    /// # Errors
    /// As [`SearchService::search`], plus [`CoreError::NotFound`].
    pub async fn run_saved(
        &self,
        caller: &Caller,
        id: SavedSearchId,
    ) -> Result<SearchOutcome, CoreError> {
        let s = self.saved(caller, id).await?;
        let input: SearchInput = serde_json::from_value(s.parameters.clone())
            .map_err(|_| CoreError::InvalidState("the saved parameters are unreadable"))?;
        let outcome = self.run(caller, &input, false, Some(id)).await?;
        self.deps
            .repos
            .saved_searches
            .record_run(caller.tenant_id, id, self.deps.clock.now())
            .await?;
        Ok(outcome)
    }
}

/// Per-result summaries, the digest and the key topics, as the plan asks.
fn enhance_results(plan: &Plan, results: &mut [SearchResult]) -> (Option<String>, Vec<String>) {
    let query = plan.query.as_str();
    if plan.summarise {
        for r in results.iter_mut() {
            r.summary = r
                .abstract_text
                .as_deref()
                .or(r.snippet.as_deref())
                .and_then(|t| enhance::summarise(t, query, 2));
        }
    }
    let texts: Vec<String> = results
        .iter()
        .take(20)
        .map(|r| {
            format!(
                "{}. {}",
                r.title,
                r.abstract_text
                    .as_deref()
                    .or(r.snippet.as_deref())
                    .unwrap_or("")
            )
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let summary = if plan.summarise {
        enhance::digest(&refs, query, 3)
    } else {
        None
    };
    let topics = if plan.enhance {
        enhance::key_topics(&refs, query, 8)
    } else {
        Vec::new()
    };
    (summary, topics)
}

fn clean_description(d: Option<String>) -> Result<Option<String>, CoreError> {
    match d.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()) {
        Some(d) if d.chars().count() > 1000 => {
            Err(invalid("description", Reason::TooLong { max: 1000 }))
        }
        other => Ok(other),
    }
}

fn map_error(e: &SourceError) -> (SourceState, String) {
    match e {
        SourceError::RateLimited { retry_after } => (
            SourceState::RateLimited,
            retry_after.map_or_else(
                || "upstream rate limited".to_owned(),
                |r| format!("rate limited; retry in {} s", r.as_secs().max(1)),
            ),
        ),
        SourceError::Timeout => (SourceState::Timeout, "no answer within the budget".into()),
        SourceError::Unavailable => (SourceState::Unavailable, "not configured".into()),
        SourceError::Upstream { status, message } => (
            SourceState::Error,
            if *status == 0 {
                "upstream unreachable".to_owned()
            } else {
                format!(
                    "upstream {status}: {}",
                    message.chars().take(120).collect::<String>()
                )
            },
        ),
        SourceError::InvalidResponse(why) => (
            SourceState::Error,
            format!(
                "unreadable answer: {}",
                why.chars().take(120).collect::<String>()
            ),
        ),
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
