//! The fan-out: each source behind its pacer and breaker, identical calls of a tenant coalesced,
//! answers cached per tenant and source.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pake_domain::search::SourceId;
use pake_ports::{
    CacheKey, ConcurrencyLimiter, RateLimiter, SearchSource, SourceAvailability, SourceError,
    SourcePage, SourceRequest,
};

use super::breaker::{Breaker, BreakerPolicy, Verdict};
use super::enhanced::{Enhanced, Flights, Part};
use super::pacer::{Flight, PacedGate, Pacer, Pacing};
use super::{SearchService, SourceState};
use crate::util::{hex, lock};

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
                (SourceId::Europepmc, Duration::from_secs(3600)),
                (SourceId::Crossref, Duration::from_secs(3600)),
                (SourceId::Openalex, Duration::from_secs(3600)),
                (SourceId::SemanticScholar, Duration::from_secs(3600)),
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

/// The parsed enhancements a process keeps at most, by their serialised size.
const PARSED_BYTES: u64 = 8 * 1024 * 1024;

/// What one source answered, shareable between coalesced callers.
type Fetched = Result<SourcePage, (SourceState, String)>;

/// The sources, their pacers and breakers, and the calls in flight (built once by the
/// composition root).
pub struct SearchSetup {
    upstreams: BTreeMap<SourceId, Upstream>,
    pub(super) policy: SearchPolicy,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Fetched>>>>,
    /// Enhancements in flight, by tenant and key.
    pub(super) enhancing: Flights,
    /// Recent enhancements, parsed, by tenant and key (content-addressed, so never stale; the
    /// time to live only bounds memory), so a cached search neither parses nor copies them.
    pub(super) parsed: moka::sync::Cache<String, (Arc<Enhanced>, u32)>,
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
            enhancing: Mutex::default(),
            parsed: moka::sync::Cache::builder()
                .weigher(|k: &String, v: &(Arc<Enhanced>, u32)| {
                    u32::try_from(k.len())
                        .unwrap_or(u32::MAX)
                        .saturating_add(v.1)
                })
                .max_capacity(PARSED_BYTES)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }

    /// Keeps `enhanced` (`bytes` long serialised) parsed under `key`.
    pub(super) fn remember_enhanced(&self, key: &str, enhanced: &Arc<Enhanced>, bytes: usize) {
        let weight = u32::try_from(bytes).unwrap_or(u32::MAX);
        self.parsed
            .insert(key.to_owned(), (Arc::clone(enhanced), weight));
    }

    /// How long `id`'s results stay cached.
    pub(super) fn ttl(&self, id: SourceId) -> Duration {
        self.policy
            .cache_ttl
            .get(&id)
            .copied()
            .unwrap_or(Duration::from_secs(600))
    }

    /// Each source's circuit state (`closed`, `open`, `half_open`).
    pub fn circuits(&self) -> Vec<(SourceId, &'static str)> {
        self.upstreams
            .iter()
            .map(|(id, u)| (*id, u.breaker.state()))
            .collect()
    }
}

impl SearchService {
    /// One source's records: from the tenant's cache, or from the upstream (identical concurrent
    /// calls of the tenant coalesced into one), within the budget.
    #[tracing::instrument(skip_all, fields(source = %id))]
    pub(super) async fn fetch(
        &self,
        id: SourceId,
        request: &SourceRequest,
        weight: u32,
        deadline: Instant,
    ) -> (SourceState, Result<Part, String>) {
        let Some(upstream) = self.setup().upstreams.get(&id) else {
            return (SourceState::Unavailable, Err("not configured".into()));
        };
        if upstream.source.availability() == SourceAvailability::NotConfigured {
            return (SourceState::Unavailable, Err("not configured".into()));
        }
        // `v`: the layout of a cached part (bumped when it changes, so no replica reads another
        // release's parts)
        let normalised = serde_json::json!({
            "v": 3,
            "source": id,
            "q": request.query.grouping_key(),
            "max": request.max_results,
            "from": request.date_from.map(|d| d.to_string()),
            "to": request.date_to.map(|d| d.to_string()),
            "cats": request.categories,
            "pts": request.publication_types,
            "au": request.authors,
            "ve": request.venues,
            "oa": request.open_access_only,
            "sort": request.sort,
            "abs": request.abstracts,
            "page": request.page,
        })
        .to_string();
        let digest = hex(&self.env.secrets.digest(normalised.as_bytes()));
        let key = CacheKey::tenant(request.tenant_id, "part", format!("{id}:{digest}"));
        if let Ok(Some(bytes)) = self.cache.get(&key).await
            && let Some(part) = Part::cached(id, bytes)
        {
            return (SourceState::Cached, Ok(part));
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
            Ok(page) => {
                let part = Part::fresh(id, page);
                let ttl = self.setup().ttl(id);
                let _ = self.cache.set(&key, part.bytes().to_vec(), ttl).await;
                (SourceState::Ok, Ok(part))
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
                Ok(page) => {
                    upstream.breaker.record(Verdict::Healthy);
                    return Ok(page);
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
                        let jitter_ms = u64::from(self.env.secrets.token_bytes()[0])
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
}

/// At most 120 characters of an upstream's text, without control characters (it is shown to
/// the caller and kept in the history, and a store may refuse a NUL).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect()
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
                format!("upstream {status}: {}", clean(message))
            },
        ),
        SourceError::InvalidResponse(why) => (
            SourceState::Error,
            format!("unreadable answer: {}", clean(why)),
        ),
    }
}
