//! An upstream search source (arXiv, PubMed, the web).

use std::time::Duration;

use async_trait::async_trait;
use pake_domain::TenantId;
use pake_domain::search::{QueryText, SourceId};
use serde::{Deserialize, Serialize};

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
    /// Publication types (PubMed `[pt]`), when the source supports them.
    pub publication_types: Vec<String>,
    /// `relevance` or `date`.
    pub sort_by_date: bool,
    /// Fetch abstracts where that costs an extra upstream request (PubMed EFetch).
    pub abstracts: bool,
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
    ) -> Result<Vec<SourceRecord>, SourceError>;
}
