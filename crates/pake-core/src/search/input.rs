//! A search as asked and its validation: the input, its filters, and the plan a valid input
//! becomes.

use pake_domain::search::{QueryText, SourceId};
use pake_domain::{Reason, ValidationError};
use pake_ports::{SortOrder, publication_type};
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
    /// Publication types (`journal_article`, `review`, `preprint`, `conference_paper`, … or
    /// PubMed's names such as `Review`; compared in the common vocabulary).
    #[serde(default)]
    pub publication_types: Vec<String>,
    /// `relevance` (default), `date` or `citations`.
    #[serde(default)]
    pub sort: Option<String>,
    /// Published in or after this year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year_from: Option<i32>,
    /// Published in or before this year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year_to: Option<i32>,
    /// Only results with one of these authors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// Only results in one of these venues.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub venues: Vec<String>,
    /// Only open-access results.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open_access_only: bool,
}

/// A search as asked (also what a saved search stores as its parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchInput {
    /// The user's words.
    pub query: String,
    /// Sources (default all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<SourceId>>,
    /// Records per source, 1–50 (default 10); `page_size` is its newer name (it wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
    /// Records asked of each source per page, 1–50 (default 20; `max_results` when only that
    /// is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
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
    /// A quick search (sources chosen from the words).
    pub(super) quick: bool,
    pub(super) max_results: u32,
    pub(super) filters: SearchFilters,
    /// The date range, years folded in.
    pub(super) date_from: Option<time::Date>,
    pub(super) date_to: Option<time::Date>,
    /// Publication types in the common vocabulary.
    pub(super) publication_types: Vec<String>,
    pub(super) sort: SortOrder,
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
    let (max_results, size_field) = match (input.page_size, input.max_results) {
        (Some(n), _) => (n, "page_size"),
        (None, Some(n)) => (n, "max_results"),
        (None, None) => (20, "page_size"),
    };
    if !(1..=50).contains(&max_results) {
        return Err(invalid(size_field, Reason::OutOfRange { min: 1, max: 50 }));
    }
    let f = &input.filters;
    let Narrowing {
        date_from,
        date_to,
        sort,
        publication_types,
    } = narrowing(f)?;
    let enhance = input.enable_ml_enhancement.unwrap_or(true);
    Ok(Plan {
        query,
        sources,
        skipped,
        quick,
        max_results,
        filters: SearchFilters {
            authors: f.authors.iter().map(|a| a.trim().to_owned()).collect(),
            venues: f.venues.iter().map(|v| v.trim().to_owned()).collect(),
            ..f.clone()
        },
        date_from,
        date_to,
        publication_types,
        sort,
        enhance,
        summarise: input.enable_summarization.unwrap_or(enhance),
    })
}

/// What a search's filters come to: the date range (years folded in), the order, the types in
/// the common vocabulary.
struct Narrowing {
    date_from: Option<time::Date>,
    date_to: Option<time::Date>,
    sort: SortOrder,
    publication_types: Vec<String>,
}

/// Validates the filters.
fn narrowing(f: &SearchFilters) -> Result<Narrowing, CoreError> {
    for (field, year) in [
        ("filters.year_from", f.year_from),
        ("filters.year_to", f.year_to),
    ] {
        if year.is_some_and(|y| !(1000..=9999).contains(&y)) {
            return Err(invalid(
                field,
                Reason::OutOfRange {
                    min: 1000,
                    max: 9999,
                },
            ));
        }
    }
    let first_day = |y: i32| time::Date::from_calendar_date(y, time::Month::January, 1).ok();
    let last_day = |y: i32| time::Date::from_calendar_date(y, time::Month::December, 31).ok();
    // the narrower of each bound
    let date_from = [f.date_from, f.year_from.and_then(first_day)]
        .into_iter()
        .flatten()
        .max();
    let date_to = [f.date_to, f.year_to.and_then(last_day)]
        .into_iter()
        .flatten()
        .min();
    if let (Some(from), Some(to)) = (date_from, date_to)
        && from > to
    {
        let field = if f.year_from.is_some() {
            "filters.year_from"
        } else {
            "filters.date_from"
        };
        return Err(invalid(field, Reason::InvalidFormat));
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
    let names_ok = |list: &[String]| {
        list.len() <= 10
            && list.iter().all(|t| {
                let t = t.trim();
                !t.is_empty()
                    && t.chars().count() <= 100
                    && t.chars().all(|ch| {
                        ch.is_alphanumeric()
                            || matches!(ch, ' ' | '-' | ',' | '.' | '\'' | '_' | '&' | ':')
                    })
            })
    };
    if !names_ok(&f.publication_types) || f.publication_types.iter().any(|t| t.len() > 64) {
        return Err(invalid("filters.publication_types", Reason::InvalidFormat));
    }
    if !names_ok(&f.authors) {
        return Err(invalid("filters.authors", Reason::InvalidFormat));
    }
    if !names_ok(&f.venues) {
        return Err(invalid("filters.venues", Reason::InvalidFormat));
    }
    let sort = match f.sort.as_deref() {
        None | Some("relevance") => SortOrder::Relevance,
        Some("date") => SortOrder::Date,
        Some("citations") => SortOrder::Citations,
        Some(_) => return Err(invalid("filters.sort", Reason::UnknownValue)),
    };
    let mut publication_types: Vec<String> = f
        .publication_types
        .iter()
        .map(|t| publication_type(t))
        .collect();
    publication_types.sort();
    publication_types.dedup();
    Ok(Narrowing {
        date_from,
        date_to,
        sort,
        publication_types,
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
