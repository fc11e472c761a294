//! Prometheus metrics: requests by route template, method and status, latency histograms, login
//! outcomes, searches by source and status, upstream latency, circuits, limit refusals by plan and
//! reason, and process figures. Every label set is bounded: route templates (never raw paths), a
//! fixed method list, status codes, source and plan names; no user or tenant ids.

use std::fmt::Write as _;
use std::time::Duration;

use pake_core::Services;
use pake_core::search::{SearchOutcome, SourceState};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceStatusLabels {
    source: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    plan: &'static str,
    reason: &'static str,
}

fn histogram() -> Histogram {
    // 0.25 ms … ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The registry and every metric in it.
pub struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    logins: Family<OutcomeLabels, Counter>,
    searches: Family<SourceStatusLabels, Counter>,
    enhancements: Family<OutcomeLabels, Counter>,
    upstream: Family<SourceLabels, Histogram, fn() -> Histogram>,
    circuits: Family<SourceLabels, Gauge>,
    refusals: Family<RefusalLabels, Counter>,
    tenants: Gauge,
    cache: Family<OutcomeLabels, Counter>,
    pool_size: Gauge,
    pool_idle: Gauge,
    resident: Gauge,
    cpu_ms: Gauge,
    uptime: Gauge,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The method label: the API's methods, everything else `OTHER`.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Registers `metric` under `name` and gives it back (a metric is a handle to shared state).
fn registered<M>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M
where
    M: prometheus_client::registry::Metric + Clone,
{
    registry.register(name, help, metric.clone());
    metric
}

impl HttpMetrics {
    /// Every metric, registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pake");
        Self {
            requests: registered(
                &mut registry,
                "http_requests",
                "HTTP requests by method, route template and status",
                Family::<RequestLabels, Counter>::default(),
            ),
            duration: registered(
                &mut registry,
                "http_request_duration_seconds",
                "HTTP request latency by method and route template",
                Family::new_with_constructor(histogram as fn() -> Histogram),
            ),
            logins: registered(
                &mut registry,
                "auth_login_attempts",
                "Login attempts by outcome (success, failure, rate_limited, error)",
                Family::<OutcomeLabels, Counter>::default(),
            ),
            searches: registered(
                &mut registry,
                "searches_by_source",
                "What each source did for a search (ok, cached, timeout, rate_limited, error, skipped, unavailable)",
                Family::<SourceStatusLabels, Counter>::default(),
            ),
            enhancements: registered(
                &mut registry,
                "search_enhancements",
                "Where a search's ranked, summarised results came from (computed, cached, shared with an identical search)",
                Family::<OutcomeLabels, Counter>::default(),
            ),
            upstream: registered(
                &mut registry,
                "upstream_duration_seconds",
                "Time each source took in a search (cache answers excluded)",
                Family::new_with_constructor(histogram as fn() -> Histogram),
            ),
            circuits: registered(
                &mut registry,
                "upstream_circuit_open",
                "1 when a source's circuit is open or half open",
                Family::<SourceLabels, Gauge>::default(),
            ),
            refusals: registered(
                &mut registry,
                "limit_refusals",
                "Requests refused by a limit since the process started, by plan and reason",
                Family::<RefusalLabels, Counter>::default(),
            ),
            tenants: registered(
                &mut registry,
                "tenants",
                "Tenants this replica knows",
                Gauge::default(),
            ),
            cache: registered(
                &mut registry,
                "cache_lookups",
                "Cache lookups by outcome (memory_hit, redis_hit, miss)",
                Family::<OutcomeLabels, Counter>::default(),
            ),
            pool_size: registered(
                &mut registry,
                "store_pool_connections",
                "Connections the store's pool holds",
                Gauge::default(),
            ),
            pool_idle: registered(
                &mut registry,
                "store_pool_idle_connections",
                "Idle connections in the store's pool",
                Gauge::default(),
            ),
            resident: registered(
                &mut registry,
                "process_resident_memory_bytes",
                "Resident memory of the process",
                Gauge::default(),
            ),
            cpu_ms: registered(
                &mut registry,
                "process_cpu_milliseconds",
                "CPU time the process used (user + system)",
                Gauge::default(),
            ),
            uptime: registered(
                &mut registry,
                "process_uptime_seconds",
                "Seconds since the process started",
                Gauge::default(),
            ),
            registry,
        }
    }

    /// Counts one answered request.
    pub fn observe_request(
        &self,
        method: &actix_web::http::Method,
        route: &str,
        status: u16,
        took: Duration,
    ) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
        self.duration
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
        if route == "/api/v1/auth/login" {
            let outcome = match status {
                200 => "success",
                401 | 403 => "failure",
                429 => "rate_limited",
                _ => "error",
            };
            self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
        }
    }

    /// Counts what each source did for a search.
    pub fn observe_search(&self, outcome: &SearchOutcome) {
        self.enhancements
            .get_or_create(&OutcomeLabels {
                outcome: outcome.enhancement.as_str(),
            })
            .inc();
        for (source, status) in &outcome.source_status {
            let name = status.status.as_str();
            let cached = matches!(status.status, SourceState::Cached | SourceState::Skipped);
            self.searches
                .get_or_create(&SourceStatusLabels {
                    source: source.as_str(),
                    status: name,
                })
                .inc();
            if !cached {
                self.upstream
                    .get_or_create(&SourceLabels {
                        source: source.as_str(),
                    })
                    .observe(f64::from(status.ms) / 1000.0);
            }
        }
    }

    /// The text exposition, with the scrape-time figures (circuits, refusals, tenants,
    /// process) read now.
    pub fn render(&self, services: &Services, uptime: Duration) -> String {
        for (source, state) in services.search.circuits() {
            self.circuits
                .get_or_create(&SourceLabels {
                    source: source.as_str(),
                })
                .set(i64::from(state != "closed"));
        }
        for r in services.limits.refusals() {
            let counter = self.refusals.get_or_create(&RefusalLabels {
                plan: r.plan.map_or("none", pake_domain::PlanId::as_str),
                reason: r.kind.as_str(),
            });
            // the limiter keeps the totals; the counter catches up at each scrape
            counter.inc_by(r.count.saturating_sub(counter.get()));
        }
        self.tenants
            .set(i64::try_from(services.health.tenant_count()).unwrap_or(i64::MAX));
        let stats = services.health.cache_stats();
        for (outcome, total) in [
            ("memory_hit", stats.memory_hits),
            ("redis_hit", stats.redis_hits),
            ("miss", stats.misses),
        ] {
            let counter = self.cache.get_or_create(&OutcomeLabels { outcome });
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        if let Some((size, idle)) = services.health.store_pool() {
            self.pool_size.set(i64::from(size));
            self.pool_idle.set(i64::from(idle));
        }
        if let Some((rss, cpu)) = process_figures() {
            self.resident.set(rss);
            self.cpu_ms.set(cpu);
        }
        self.uptime
            .set(i64::try_from(uptime.as_secs()).unwrap_or(i64::MAX));
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        if text.is_empty() {
            let _ = writeln!(text, "# EOF");
        }
        text
    }
}

/// Resident bytes and CPU milliseconds of this process (Linux `/proc`; `None` elsewhere).
fn process_figures() -> Option<(i64, i64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let rss_kib: i64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name (which may hold spaces, so split after its closing paren)
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: i64 = fields.get(11)?.parse::<i64>().ok()? + fields.get(12)?.parse::<i64>().ok()?;
    // USER_HZ is 100 on Linux
    Some((rss_kib * 1024, ticks * 10))
}
