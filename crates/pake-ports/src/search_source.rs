//! An upstream search source (arXiv, PubMed, the web).

use std::time::Duration;

use async_trait::async_trait;
use pake_domain::TenantId;
use pake_domain::search::{QueryText, SourceId};
use serde::{Deserialize, Serialize};

/// The order a source is asked to return records in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// The source's own relevance order.
    #[default]
    Relevance,
    /// Newest first.
    Date,
    /// Most cited first.
    Citations,
}

/// A filter a source can translate into its own syntax (what `filters_applied` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// The publication date range (`year_from`/`year_to`, `date_from`/`date_to`).
    Dates,
    /// Authors.
    Authors,
    /// Venues (journals, proceedings).
    Venues,
    /// Publication types.
    PublicationTypes,
    /// Open access only.
    OpenAccess,
    /// Subject categories (arXiv `cat:`).
    Categories,
    /// The sort order (newest or most cited first).
    Sort,
}

impl Filter {
    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dates => "dates",
            Self::Authors => "authors",
            Self::Venues => "venues",
            Self::PublicationTypes => "publication_types",
            Self::OpenAccess => "open_access",
            Self::Categories => "categories",
            Self::Sort => "sort",
        }
    }
}

/// What one source is asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRequest {
    /// The tenant asking (for fair sharing of upstream capacity).
    pub tenant_id: TenantId,
    /// The user's words.
    pub query: QueryText,
    /// How many records at most.
    pub max_results: u32,
    /// Only records published on or after this day.
    pub date_from: Option<time::Date>,
    /// Only records published on or before this day.
    pub date_to: Option<time::Date>,
    /// Subject categories (arXiv `cat:`), when the source supports them.
    pub categories: Vec<String>,
    /// Publication types in the common vocabulary (`journal_article`, `review`, `preprint`, …;
    /// see [`publication_type`]), when the source supports them.
    pub publication_types: Vec<String>,
    /// Only records with one of these authors (names as the user wrote them).
    pub authors: Vec<String>,
    /// Only records in one of these venues.
    pub venues: Vec<String>,
    /// Only open-access records.
    pub open_access_only: bool,
    /// The order asked for.
    pub sort: SortOrder,
    /// Fetch abstracts where that costs an extra upstream request (PubMed EFetch).
    pub abstracts: bool,
    /// Where to continue: the `next` of this source's previous page (`None`: the first page).
    pub page: Option<String>,
}

impl SourceRequest {
    /// A first-page request for `query` with no filters.
    pub fn new(tenant_id: TenantId, query: QueryText, max_results: u32) -> Self {
        Self {
            tenant_id,
            query,
            max_results,
            date_from: None,
            date_to: None,
            categories: Vec::new(),
            publication_types: Vec::new(),
            authors: Vec::new(),
            venues: Vec::new(),
            open_access_only: false,
            sort: SortOrder::Relevance,
            abstracts: true,
            page: None,
        }
    }

    /// Whether `filter` is set on this request.
    pub fn has(&self, filter: Filter) -> bool {
        match filter {
            Filter::Dates => self.date_from.is_some() || self.date_to.is_some(),
            Filter::Authors => !self.authors.is_empty(),
            Filter::Venues => !self.venues.is_empty(),
            Filter::PublicationTypes => !self.publication_types.is_empty(),
            Filter::OpenAccess => self.open_access_only,
            Filter::Categories => !self.categories.is_empty(),
            Filter::Sort => self.sort != SortOrder::Relevance,
        }
    }

    /// Of `supported`, the filters this request sets (what a source reports as applied).
    pub fn applied(&self, supported: &[Filter]) -> Vec<Filter> {
        let mut applied: Vec<Filter> = supported.iter().copied().filter(|f| self.has(*f)).collect();
        applied.sort();
        applied.dedup();
        applied
    }
}

/// A publication type in the common vocabulary: lower case, words joined by `_`
/// (`"Journal Article"` → `journal_article`, `posted-content` stays as its words).
pub fn publication_type(raw: &str) -> String {
    let mut out = String::new();
    for word in raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

/// How a record can be read for free.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OpenAccess {
    /// Free to read.
    pub is_oa: bool,
    /// Where (a landing page or PDF), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Its licence (`cc-by`, …), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// One page of a source's answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SourcePage {
    /// The records, in the source's order.
    pub records: Vec<SourceRecord>,
    /// Where the next page starts (the source's own cursor or offset), `None` at the end.
    #[serde(default)]
    pub next: Option<String>,
    /// The request's filters the source applied upstream (the rest are applied after the merge).
    #[serde(default)]
    pub applied: Vec<Filter>,
}

impl SourcePage {
    /// A last page of `records` with no filter applied upstream.
    pub fn last(records: Vec<SourceRecord>) -> Self {
        Self {
            records,
            next: None,
            applied: Vec::new(),
        }
    }
}

/// One record as a source returned it, normalised.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SourceRecord {
    /// Title, whitespace collapsed.
    pub title: String,
    /// Authors in order.
    pub authors: Vec<String>,
    /// Publication date, when known.
    pub published: Option<time::Date>,
    /// DOI, bare and lower-cased.
    pub doi: Option<String>,
    /// arXiv id without version.
    pub arxiv_id: Option<String>,
    /// PubMed id.
    pub pmid: Option<String>,
    /// Landing page.
    pub url: String,
    /// PDF link, when known.
    pub pdf_url: Option<String>,
    /// Abstract, when the source gives one.
    pub abstract_text: Option<String>,
    /// Short snippet (web results).
    pub snippet: Option<String>,
    /// 0-based position in the source's own ranking.
    pub rank: u32,
    /// Journal, proceedings or repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// Publication type in the common vocabulary ([`publication_type`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication_type: Option<String>,
    /// Citations the source counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation_count: Option<u32>,
    /// Open access, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_access: Option<OpenAccess>,
    /// The source marks it retracted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retracted: bool,
    /// PubMed Central id (`PMC…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmcid: Option<String>,
    /// OpenAlex work id (`W…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openalex_id: Option<String>,
    /// Semantic Scholar paper id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s2_id: Option<String>,
    /// The subject category the source files it under first (arXiv's primary category).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_category: Option<String>,
    /// Whether this record is a preprint (arXiv, a `posted-content` DOI, a Europe PMC `PPR`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preprint: bool,
    /// DOIs of the same work's other versions the source names (Crossref `is-preprint-of`,
    /// `has-preprint`), bare and lower-cased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_versions: Vec<String>,
    /// For a retraction notice: the DOIs it retracts (Crossref `update-to` of type
    /// `retraction`), bare and lower-cased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retracts: Vec<String>,
}

/// Whether a source can be asked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceAvailability {
    /// Configured and usable.
    Available,
    /// Not configured (for example no API key): searches report it `unavailable`.
    NotConfigured,
}

/// A source failure, mapped from the upstream's own signals.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The upstream throttled us, or our share of its budget is spent.
    #[error("rate limited")]
    RateLimited {
        /// When to try again, if known.
        retry_after: Option<Duration>,
    },
    /// No answer within the time budget.
    #[error("timed out")]
    Timeout,
    /// The source is not configured, or its circuit is open.
    #[error("unavailable")]
    Unavailable,
    /// The upstream answered with an error (HTTP status or an error document).
    #[error("upstream error {status}: {message}")]
    Upstream {
        /// HTTP status (200 for error documents served with 200).
        status: u16,
        /// The upstream's message, trimmed.
        message: String,
    },
    /// The answer could not be parsed, or was too large.
    #[error("invalid upstream response: {0}")]
    InvalidResponse(String),
}

impl SourceError {
    /// Whether trying again later may succeed: upstream throttling, 408 and 5xx answers, and
    /// failed connections (status 0). Never bad requests, refused credentials or unparsable
    /// answers.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } => true,
            Self::Upstream { status, .. } => matches!(status, 0 | 408 | 500..=599),
            Self::Timeout | Self::Unavailable | Self::InvalidResponse(_) => false,
        }
    }

    /// Whether this says the upstream itself is failing — what a circuit breaker counts: its
    /// throttling, a timeout, a failed connection (status 0), a 408, 429 or 5xx answer. Never an
    /// answer to the query itself (another 4xx, an error document served with 200), an
    /// unparsable or oversized answer, or a source that is not configured: those say nothing
    /// about the upstream's health, and one tenant's queries must not close it for every tenant.
    pub fn is_upstream_failure(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout => true,
            Self::Upstream { status, .. } => matches!(status, 0 | 408 | 429 | 500..=599),
            Self::Unavailable | Self::InvalidResponse(_) => false,
        }
    }
}

/// A turn at an upstream: held while the request is in flight (an upstream that takes one
/// connection at a time gets the next request only after this drops).
#[must_use = "hold the turn until the response is read"]
pub struct Turn {
    _guard: Option<Box<dyn Send>>,
}

impl Turn {
    /// A turn that holds nothing.
    pub fn free() -> Self {
        Self { _guard: None }
    }

    /// A turn holding `guard` until it drops.
    pub fn holding(guard: impl Send + 'static) -> Self {
        Self {
            _guard: Some(Box::new(guard)),
        }
    }
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Turn")
    }
}

/// Waits for the caller's turn at an upstream: the pacing all tenants and replicas share. An
/// adapter passes through it before every HTTP request it sends and holds the [`Turn`] until the
/// response is read.
#[async_trait]
pub trait UpstreamGate: Send + Sync {
    /// Returns when the request may go out.
    ///
    /// # Errors
    /// [`SourceError::RateLimited`] at once when the turn would come after the call's budget.
    async fn turn(&self) -> Result<Turn, SourceError>;
}

/// A gate that never waits (tests, and sources without pacing).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenGate;

#[async_trait]
impl UpstreamGate for OpenGate {
    async fn turn(&self) -> Result<Turn, SourceError> {
        Ok(Turn::free())
    }
}

/// An upstream search source.
#[async_trait]
pub trait SearchSource: Send + Sync {
    /// Which source this is.
    fn id(&self) -> SourceId;

    /// Whether it is configured.
    fn availability(&self) -> SourceAvailability;

    /// Runs the search.
    ///
    /// # Errors
    /// [`SourceError::RateLimited`] on upstream throttling, [`SourceError::Timeout`] past the
    /// source's timeout, [`SourceError::Unavailable`] when not configured, [`SourceError::Upstream`]
    /// for error answers, [`SourceError::InvalidResponse`] for unparsable or oversized ones.
    async fn search(
        &self,
        request: &SourceRequest,
        gate: &dyn UpstreamGate,
    ) -> Result<SourcePage, SourceError>;
}
