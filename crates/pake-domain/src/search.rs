//! Searches: sources, query text, the history record and saved searches.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Reason, SavedSearchId, SearchId, TenantId, UserId, ValidationError};

/// An upstream a search can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceId {
    /// The web, through Firecrawl.
    Web,
    /// arXiv preprints.
    Arxiv,
    /// PubMed (NCBI E-utilities).
    Pubmed,
    /// Europe PMC (its REST search).
    Europepmc,
    /// Crossref (`/works`).
    Crossref,
    /// OpenAlex (`/works`; needs an API key).
    Openalex,
    /// Semantic Scholar (Graph API paper search).
    SemanticScholar,
}

impl SourceId {
    /// Every source.
    pub const ALL: [Self; 7] = [
        Self::Web,
        Self::Arxiv,
        Self::Pubmed,
        Self::Europepmc,
        Self::Crossref,
        Self::Openalex,
        Self::SemanticScholar,
    ];

    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Arxiv => "arxiv",
            Self::Pubmed => "pubmed",
            Self::Europepmc => "europepmc",
            Self::Crossref => "crossref",
            Self::Openalex => "openalex",
            Self::SemanticScholar => "semantic_scholar",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`Reason::UnknownValue`] for any other text.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or(ValidationError::new("sources", Reason::UnknownValue))
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text of a search: 1–500 characters after trimming, no control characters other than
/// whitespace. Any words are allowed; the text is data, never code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QueryText(String);

impl QueryText {
    /// Maximum length in characters.
    pub const MAX_LEN: usize = 500;

    /// Parses a query.
    ///
    /// # Errors
    /// [`Reason::Empty`], [`Reason::TooLong`] or [`Reason::InvalidCharacters`] on field `query`.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::new("query", reason);
        let text = input.trim();
        if text.is_empty() {
            return Err(err(Reason::Empty));
        }
        if text.chars().count() > Self::MAX_LEN {
            return Err(err(Reason::TooLong { max: Self::MAX_LEN }));
        }
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(err(Reason::InvalidCharacters));
        }
        Ok(Self(text.to_owned()))
    }

    /// The query as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which equal queries are grouped (popular queries): case and runs of
    /// whitespace do not matter.
    pub fn grouping_key(&self) -> String {
        self.0
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }
}

impl TryFrom<String> for QueryText {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<QueryText> for String {
    fn from(q: QueryText) -> Self {
        q.0
    }
}

/// One executed search, as kept in the tenant's history.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRecord {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its id.
    pub id: SearchId,
    /// Who searched.
    pub user_id: UserId,
    /// What was searched.
    pub query: QueryText,
    /// Which sources were asked.
    pub sources: Vec<SourceId>,
    /// How many merged results came back.
    pub result_count: u32,
    /// Wall time in milliseconds.
    pub execution_ms: u32,
    /// Whether the whole answer came from cache.
    pub cache_hit: bool,
    /// Per-source outcome (a JSON object keyed by source).
    pub source_status: serde_json::Value,
    /// The saved search it ran from, if any.
    pub saved_search_id: Option<SavedSearchId>,
    /// When.
    pub created_at: OffsetDateTime,
    /// Pages fetched so far (1 for a search never continued).
    pub pages: u32,
    /// Where each source's next page starts and what the pages returned (the search service's
    /// own JSON), while it can be continued.
    pub paging: Option<serde_json::Value>,
    /// The first page's results as the search service keeps them (its own compressed bytes):
    /// written with the record, kept as page 1 of its snapshot; reads of the record leave it
    /// `None` (the snapshot is read on its own).
    pub snapshot: Option<Vec<u8>>,
}

/// One page of a search's snapshot, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPage {
    /// The page (1 for the first).
    pub page: u32,
    /// When it was fetched.
    pub created_at: OffsetDateTime,
    /// Its results (the search service's compressed bytes).
    pub body: Vec<u8>,
}

/// Which history rows to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Only this user's searches.
    pub user_id: Option<UserId>,
    /// Only searches at or after this instant.
    pub since: Option<OffsetDateTime>,
}

/// Aggregates over a tenant's searches in a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchStats {
    /// Searches in the period.
    pub total: u64,
    /// Of which answered entirely from cache.
    pub cache_hits: u64,
    /// Mean execution time in milliseconds (0 when there were none).
    pub average_ms: f64,
    /// How many searches asked each source, most asked first.
    pub by_source: Vec<(SourceId, u64)>,
    /// Searches per UTC day (`YYYY-MM-DD`, count), oldest first, days without searches omitted.
    pub per_day: Vec<(time::Date, u64)>,
}

impl SearchStats {
    /// Stats from the raw aggregates a store computes: `total` searches, `cache_hits` of them,
    /// `total_ms` of execution time, searches per source (any order) and per day (oldest first).
    /// Sources are ordered most asked first; the average is 0 when there were no searches.
    pub fn from_aggregates(
        total: u64,
        cache_hits: u64,
        total_ms: u64,
        mut by_source: Vec<(SourceId, u64)>,
        per_day: Vec<(time::Date, u64)>,
    ) -> Self {
        by_source.retain(|(_, n)| *n > 0);
        by_source.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        #[expect(
            clippy::cast_precision_loss,
            reason = "counts and milliseconds far below 2^52"
        )]
        let average_ms = if total == 0 {
            0.0
        } else {
            total_ms as f64 / total as f64
        };
        Self {
            total,
            cache_hits,
            average_ms,
            by_source,
            per_day,
        }
    }
}

/// A query and how often it was searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopularQuery {
    /// The query, as first typed (grouped case-insensitively).
    pub query: String,
    /// How many times.
    pub count: u64,
}

/// A saved search's name: 1–200 characters.
pub type SavedSearchName = crate::DisplayName;

/// A search a user saved to re-run.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedSearch {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its id.
    pub id: SavedSearchId,
    /// Who saved it.
    pub owner_id: UserId,
    /// Its name.
    pub name: SavedSearchName,
    /// Optional description.
    pub description: Option<String>,
    /// The query.
    pub query: QueryText,
    /// The rest of the search request (sources, filters, sizes) as a JSON object.
    pub parameters: serde_json::Value,
    /// Whether other users of the tenant may read and run it.
    pub is_public: bool,
    /// How many times it ran.
    pub run_count: u64,
    /// Last run.
    pub last_run_at: Option<OffsetDateTime>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// Which saved searches to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SavedSearchFilter {
    /// Searches of this owner…
    pub owner_id: Option<UserId>,
    /// …plus (when set) every public search of the tenant.
    pub include_public: bool,
}

/// A DOI, bare and lower-cased: URL and `doi:` prefixes removed (in any case); `None` when it
/// does not look like one (`10.` prefix and a `/`).
pub fn normalise_doi(raw: &str) -> Option<String> {
    let mut doi = raw.trim();
    for prefix in [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi:",
    ] {
        if doi
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        {
            doi = doi[prefix.len()..].trim();
        }
    }
    (doi.starts_with("10.") && doi.contains('/')).then(|| doi.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dois_are_bare_and_lower_case() {
        assert_eq!(
            normalise_doi("https://doi.org/10.1109/ICSTW.2022.00035").as_deref(),
            Some("10.1109/icstw.2022.00035")
        );
        assert_eq!(
            normalise_doi("doi: 10.1056/NEJMoa2001017").as_deref(),
            Some("10.1056/nejmoa2001017")
        );
        assert_eq!(
            normalise_doi("HTTPS://DOI.ORG/10.1103/PhysRev.X").as_deref(),
            Some("10.1103/physrev.x")
        );
        assert_eq!(normalise_doi("DOI:10.1/x").as_deref(), Some("10.1/x"));
        assert_eq!(normalise_doi(""), None);
        assert_eq!(normalise_doi("S0140-6736(20)30183-5"), None);
    }

    #[test]
    fn query_rules() {
        assert_eq!(QueryText::parse("  crispr  ").unwrap().as_str(), "crispr");
        assert_eq!(QueryText::parse("   ").unwrap_err().reason, Reason::Empty);
        assert!(QueryText::parse(&"q".repeat(500)).is_ok());
        assert_eq!(
            QueryText::parse(" CRISPR   Cas9 ").unwrap().grouping_key(),
            "crispr cas9"
        );
        assert_eq!(
            QueryText::parse(&"q".repeat(501)).unwrap_err().reason,
            Reason::TooLong { max: 500 }
        );
        // words that look like code are data, never refused
        assert!(QueryText::parse("'; DROP TABLE users; -- <script>alert(1)</script>").is_ok());
        assert_eq!(
            QueryText::parse("a\u{7}b").unwrap_err().reason,
            Reason::InvalidCharacters
        );
    }

    #[test]
    fn sources_round_trip() {
        for s in SourceId::ALL {
            assert_eq!(SourceId::parse(s.as_str()), Ok(s));
        }
        assert!(SourceId::parse("scholar").is_err());
    }
}
