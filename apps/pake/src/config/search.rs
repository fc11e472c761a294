//! `[search]`: the search budget, retries and breakers, and each upstream's address, key,
//! pacing, timeout, size bound and cache lifetime.

use std::sync::Arc;
use std::time::Duration;

use pake_core::search::{BreakerPolicy, Pacing, SearchPolicy};
use pake_domain::search::SourceId;
use pake_sources::{HeaderHook, SourceConfig};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid, redact};

/// Federated search settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// How long a search waits for its sources, milliseconds (what arrived by then is answered).
    pub budget_ms: u64,
    /// Retries of a throttled or failed (5xx) upstream call within the budget.
    pub retries: u32,
    /// The first retry's backoff, milliseconds (doubling, plus jitter).
    pub backoff_ms: u64,
    /// Consecutive failures that open a source's circuit.
    pub breaker_failures: u32,
    /// How long an open circuit stays open, seconds.
    pub breaker_cooldown_secs: u64,
    /// The User-Agent sent upstream (name, version, and a way to reach the operator).
    pub user_agent: String,
    /// The operator's e-mail: sent to NCBI as `email`, to Crossref as `mailto` (its polite
    /// pool) and to OpenAlex as `mailto`.
    pub contact_email: String,
    /// arXiv (Atom API).
    pub arxiv: UpstreamConfig,
    /// PubMed (E-utilities).
    pub pubmed: UpstreamConfig,
    /// The web (Firecrawl `/search`); without `api_key` the source reports itself unavailable.
    pub web: UpstreamConfig,
    /// Europe PMC (REST search; no key).
    pub europepmc: UpstreamConfig,
    /// Crossref (`/works`; no key, `contact_email` as `mailto`).
    pub crossref: UpstreamConfig,
    /// OpenAlex (`/works`); without `api_key` the source reports itself unavailable.
    pub openalex: UpstreamConfig,
    /// Semantic Scholar (Graph API paper search); `api_key` optional (keyless calls share a
    /// heavily throttled pool).
    pub semantic_scholar: UpstreamConfig,
}

/// One upstream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Base URL.
    pub base_url: String,
    /// API key (PubMed: raises NCBI's rate from 3/s to 10/s; web and OpenAlex: required;
    /// Semantic Scholar: optional, sent as `x-api-key`).
    #[serde(serialize_with = "redact")]
    pub api_key: Option<SecretString>,
    /// At least this long between two requests across every replica, milliseconds (0: the
    /// upstream's default: arXiv 3000, PubMed 334 or 100 with a key, Europe PMC 200, Crossref
    /// 334, OpenAlex 100, Semantic Scholar 1000, web 100).
    pub interval_ms: u64,
    /// `upstream` (default): the upstream's etiquette (or `interval_ms`); `off`: no pacing at
    /// all, for an operator's own mirror or proxy. Refused for the public upstream hosts.
    pub pacing: PacingMode,
    /// Time allowed for one HTTP request, milliseconds.
    pub timeout_ms: u64,
    /// The largest answer accepted, bytes.
    pub max_bytes: usize,
    /// How long its results stay cached, seconds.
    pub cache_ttl_secs: u64,
}

/// Whether an upstream is paced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacingMode {
    /// The upstream's rules (or `interval_ms`).
    #[default]
    Upstream,
    /// None: the operator's own mirror or proxy.
    Off,
}

/// The public hosts of each upstream (and their subdomains): their etiquette is never switched
/// off.
fn public_domains(id: SourceId) -> &'static [&'static str] {
    match id {
        SourceId::Arxiv => &["arxiv.org"],
        SourceId::Pubmed => &["nih.gov"],
        SourceId::Web => &["firecrawl.dev"],
        SourceId::Europepmc => &["ebi.ac.uk", "europepmc.org"],
        SourceId::Crossref => &["crossref.org"],
        SourceId::Openalex => &["openalex.org"],
        SourceId::SemanticScholar => &["semanticscholar.org"],
    }
}

impl UpstreamConfig {
    fn new(base_url: &str, timeout_ms: u64, cache_ttl_secs: u64) -> Self {
        Self {
            base_url: base_url.to_owned(),
            api_key: None,
            interval_ms: 0,
            pacing: PacingMode::Upstream,
            timeout_ms,
            max_bytes: 4 * 1024 * 1024,
            cache_ttl_secs,
        }
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self::new("", 8000, 600)
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            budget_ms: 10_000,
            retries: 2,
            backoff_ms: 500,
            breaker_failures: 5,
            breaker_cooldown_secs: 30,
            user_agent: format!(
                "PAKE/{} (research search; +https://example.invalid/pake)",
                env!("CARGO_PKG_VERSION")
            ),
            contact_email: "ops@example.invalid".into(),
            arxiv: UpstreamConfig::new("https://export.arxiv.org", 8000, 3600),
            pubmed: UpstreamConfig::new(
                "https://eutils.ncbi.nlm.nih.gov/entrez/eutils",
                8000,
                3600,
            ),
            web: UpstreamConfig::new("https://api.firecrawl.dev", 8000, 600),
            europepmc: UpstreamConfig::new(
                "https://www.ebi.ac.uk/europepmc/webservices/rest",
                8000,
                3600,
            ),
            crossref: UpstreamConfig::new("https://api.crossref.org", 8000, 3600),
            openalex: UpstreamConfig::new("https://api.openalex.org", 8000, 3600),
            semantic_scholar: UpstreamConfig::new("https://api.semanticscholar.org", 8000, 3600),
        }
    }
}

impl SearchConfig {
    /// Refuses `pacing = "off"` for a public upstream host (or with `interval_ms` set).
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for id in SourceId::ALL {
            let u = self.upstream(id);
            if u.pacing != PacingMode::Off {
                continue;
            }
            let key = format!("search.{}.pacing", id.as_str());
            if u.interval_ms != 0 {
                return Err(invalid(format!(
                    "{key} = \"off\" contradicts search.{}.interval_ms",
                    id.as_str()
                )));
            }
            let host = url::Url::parse(&u.base_url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
                .ok_or_else(|| invalid(format!("{key} = \"off\" needs a base_url with a host")))?;
            let host = host.trim_end_matches('.');
            if public_domains(id)
                .iter()
                .any(|d| host == *d || host.ends_with(&format!(".{d}")))
            {
                return Err(invalid(format!(
                    "{key} = \"off\" is only for your own mirror or proxy; {host} is the public \
                     upstream, whose etiquette stays on"
                )));
            }
        }
        Ok(())
    }

    /// The search rules of the core.
    pub fn policy(&self) -> SearchPolicy {
        SearchPolicy {
            budget: Duration::from_millis(self.budget_ms),
            retries: self.retries,
            backoff: Duration::from_millis(self.backoff_ms),
            breaker: BreakerPolicy {
                failures: self.breaker_failures,
                cooldown: Duration::from_secs(self.breaker_cooldown_secs),
            },
            cache_ttl: SourceId::ALL
                .iter()
                .map(|id| (*id, Duration::from_secs(self.upstream(*id).cache_ttl_secs)))
                .collect(),
        }
    }

    /// The settings of one upstream.
    pub fn upstream(&self, id: SourceId) -> &UpstreamConfig {
        match id {
            SourceId::Arxiv => &self.arxiv,
            SourceId::Pubmed => &self.pubmed,
            SourceId::Web => &self.web,
            SourceId::Europepmc => &self.europepmc,
            SourceId::Crossref => &self.crossref,
            SourceId::Openalex => &self.openalex,
            SourceId::SemanticScholar => &self.semantic_scholar,
        }
    }

    /// What the adapter of `id` is built with (every request carries the trace headers).
    pub fn source(&self, id: SourceId) -> SourceConfig {
        let u = self.upstream(id);
        SourceConfig {
            follow_redirects: u.pacing != PacingMode::Off,
            base_url: u.base_url.clone(),
            api_key: u.api_key.as_ref().map(|k| k.expose_secret().to_owned()),
            timeout: Duration::from_millis(u.timeout_ms),
            max_bytes: u.max_bytes,
            user_agent: self.user_agent.clone(),
            headers: Some(HeaderHook(Arc::new(pake_http::request_id::trace_headers))),
        }
    }

    /// How requests to `id` are spaced across every replica: `interval_ms`, else the upstream's
    /// etiquette (arXiv one request every 3 s, one at a time; NCBI 3/s, 10/s with a key; Europe
    /// PMC 5/s; Crossref 3/s, its list rate in the polite pool; OpenAlex 10/s; Semantic Scholar
    /// 1/s, a key's whole allowance; web 10/s).
    pub fn pacing(&self, id: SourceId) -> Pacing {
        if self.upstream(id).pacing == PacingMode::Off {
            return Pacing::OFF;
        }
        let default = match id {
            SourceId::Arxiv => 3000,
            SourceId::Pubmed if self.pubmed.api_key.is_some() => 100,
            SourceId::Pubmed | SourceId::Crossref => 334,
            SourceId::Web | SourceId::Openalex => 100,
            SourceId::Europepmc => 200,
            SourceId::SemanticScholar => 1000,
        };
        let configured = self.upstream(id).interval_ms;
        Pacing {
            interval: Duration::from_millis(if configured == 0 { default } else { configured }),
            one_at_a_time: id == SourceId::Arxiv,
        }
    }
}
