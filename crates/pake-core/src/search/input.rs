//! A search as asked and its validation: the input, its filters, and the plan a valid input
//! becomes.

use pake_domain::search::{QueryText, SourceId};
use pake_domain::{Reason, ValidationError};
use serde::{Deserialize, Serialize};

use super::quick;
use crate::CoreError;

/// `YYYY-MM-DD` dates in JSON (filters, saved-search parameters), for `#[serde(with)]`.
#[expect(missing_docs, reason = "the macro's generated functions")]
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
    /// Answer within this many milliseconds with what arrived (1 to `search.budget_ms`;
    /// default: the budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
}

/// A validated search.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) query: QueryText,
    pub(super) sources: Vec<SourceId>,
    pub(super) skipped: Vec<SourceId>,
    pub(super) max_results: u32,
    pub(super) filters: SearchFilters,
    pub(super) sort_by_date: bool,
    pub(super) enhance: bool,
    pub(super) summarise: bool,
}

pub(super) fn invalid(field: &'static str, reason: Reason) -> CoreError {
    ValidationError::new(field, reason).into()
}

pub(super) fn validate(input: &SearchInput, quick: bool) -> Result<Plan, CoreError> {
    let query = QueryText::parse(&input.query)?;
    let (sources, skipped) = if quick {
        let (chosen, _) = quick::choose_sources(query.as_str());
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

pub(super) fn clean_description(d: Option<String>) -> Result<Option<String>, CoreError> {
    match d.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()) {
        Some(d) if d.chars().count() > 1000 => {
            Err(invalid("description", Reason::TooLong { max: 1000 }))
        }
        other => Ok(other),
    }
}
