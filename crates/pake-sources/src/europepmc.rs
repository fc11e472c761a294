//! Europe PMC through its REST `search` (`format=json`, `resultType=core`, `cursorMark` paging).

use async_trait::async_trait;
use pake_domain::search::SourceId;
use pake_ports::{
    Filter, OpenAccess, SearchSource, SortOrder, SourceAvailability, SourceError, SourcePage,
    SourceRecord, SourceRequest, UpstreamGate, publication_type,
};
use std::fmt::Write as _;

use serde_json::Value;

use crate::http::{self, SourceConfig};
use crate::json::{self, array, count, text};
use crate::text::{collapse, normalise_doi, query_words};

/// The Europe PMC source.
pub struct EuropePmc {
    config: SourceConfig,
    client: reqwest::Client,
}

impl EuropePmc {
    /// A source on `config.base_url` (`https://www.ebi.ac.uk/europepmc/webservices/rest` in
    /// production; `/search` is appended).
    pub fn new(config: SourceConfig) -> Self {
        let client = http::client(&config);
        Self { config, client }
    }
}

/// The publication types Europe PMC's `PUB_TYPE` knows, in the common vocabulary (others are
/// applied after the merge).
const TYPES: [&str; 10] = [
    "journal_article",
    "research_article",
    "review",
    "systematic_review",
    "meta_analysis",
    "clinical_trial",
    "case_reports",
    "editorial",
    "letter",
    "preprint",
];

/// Whether every asked type is one Europe PMC knows.
fn types_known(request: &SourceRequest) -> bool {
    request
        .publication_types
        .iter()
        .all(|t| TYPES.contains(&t.as_str()))
}

/// Text for a quoted field value: quotes and brackets removed.
fn value(text: &str) -> String {
    collapse(&text.replace(['"', '[', ']', '(', ')', ':'], " "))
}

fn any_of(field: &str, values: &[String]) -> Option<String> {
    let parts: Vec<String> = values
        .iter()
        .map(|v| value(v))
        .filter(|v| !v.is_empty())
        .map(|v| format!("{field}:\"{v}\""))
        .collect();
    (!parts.is_empty()).then(|| format!("({})", parts.join(" OR ")))
}

/// The query: the user's words (letters, digits, quoted phrases, `-._'`), then the filters in
/// Europe PMC's syntax: `FIRST_PDATE:[a TO b]`, `AUTH:`, `JOURNAL:`, `PUB_TYPE:` (a preprint
/// is `SRC:PPR`), `OPEN_ACCESS:y`. `None` when no searchable word is left.
pub(crate) fn query(request: &SourceRequest) -> Option<String> {
    let words = query_words(request.query.as_str(), &['-', '.', '\'', '_']);
    if words.replace('"', "").trim().is_empty() {
        return None;
    }
    let mut q = format!("({words})");
    if request.has(Filter::Dates) {
        let day = |d: Option<time::Date>, default: &str| {
            d.map_or_else(|| default.to_owned(), |d| d.to_string())
        };
        let _ = write!(
            q,
            " AND FIRST_PDATE:[{} TO {}]",
            day(request.date_from, "1000-01-01"),
            day(request.date_to, "9999-12-31")
        );
    }
    let asked = if types_known(request) {
        request.publication_types.clone()
    } else {
        Vec::new()
    };
    let (preprints, types): (Vec<String>, Vec<String>) =
        asked.into_iter().partition(|t| t == "preprint");
    let mut kinds: Vec<String> = Vec::new();
    if let Some(t) = any_of(
        "PUB_TYPE",
        &types
            .iter()
            .map(|t| t.replace('_', " "))
            .collect::<Vec<_>>(),
    ) {
        kinds.push(t);
    }
    if !preprints.is_empty() {
        kinds.push("SRC:PPR".into());
    }
    if !kinds.is_empty() {
        let _ = write!(q, " AND ({})", kinds.join(" OR "));
    }
    for clause in [
        any_of("AUTH", &request.authors),
        any_of("JOURNAL", &request.venues),
        request.open_access_only.then(|| "OPEN_ACCESS:y".to_owned()),
    ]
    .into_iter()
    .flatten()
    {
        q.push_str(" AND ");
        q.push_str(&clause);
    }
    Some(q)
}

fn yes(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_str) == Some("Y")
}

/// One `core` result.
fn record(r: &Value, rank: u32) -> Option<SourceRecord> {
    let id = text(r, &["id"])?;
    let src = text(r, &["source"]).unwrap_or_else(|| "MED".into());
    let authors: Vec<String> = {
        let list: Vec<String> = array(r, &["authorList", "author"])
            .iter()
            .filter_map(|a| text(a, &["fullName"]).or_else(|| text(a, &["collectiveName"])))
            .collect();
        if list.is_empty() {
            text(r, &["authorString"])
                .map(|s| {
                    s.trim_end_matches('.')
                        .split(", ")
                        .map(collapse)
                        .filter(|a| !a.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        } else {
            list
        }
    };
    let types: Vec<String> = array(r, &["pubTypeList", "pubType"])
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let preprint = src == "PPR" || types.iter().any(|t| t.eq_ignore_ascii_case("preprint"));
    let kind = if preprint {
        Some("preprint".to_owned())
    } else {
        types
            .iter()
            .find(|t| !t.eq_ignore_ascii_case("journal article"))
            .or_else(|| types.first())
            .map(|t| publication_type(t))
    };
    let pmcid = text(r, &["pmcid"]);
    let oa_url = array(r, &["fullTextUrlList", "fullTextUrl"])
        .iter()
        .filter(|u| u.get("availabilityCode").and_then(Value::as_str) == Some("OA"))
        .find_map(|u| text(u, &["url"]))
        .or_else(|| {
            pmcid
                .as_ref()
                .map(|p| format!("https://europepmc.org/articles/{p}"))
        });
    let pdf_url = array(r, &["fullTextUrlList", "fullTextUrl"])
        .iter()
        .filter(|u| {
            u.get("documentStyle").and_then(Value::as_str) == Some("pdf")
                && u.get("availabilityCode").and_then(Value::as_str) == Some("OA")
        })
        .find_map(|u| text(u, &["url"]));
    let is_oa = yes(r, "isOpenAccess");
    Some(SourceRecord {
        title: text(r, &["title"]).unwrap_or_default(),
        authors,
        published: text(r, &["firstPublicationDate"])
            .and_then(|d| json::date(&d))
            .or_else(|| text(r, &["pubYear"]).and_then(|y| json::date(&y))),
        doi: text(r, &["doi"]).and_then(|d| normalise_doi(&d)),
        arxiv_id: None,
        pmid: text(r, &["pmid"]),
        url: format!("https://europepmc.org/article/{src}/{id}"),
        pdf_url,
        abstract_text: text(r, &["abstractText"])
            .map(|a| json::strip_markup(&a))
            .filter(|a| !a.is_empty()),
        snippet: None,
        rank,
        venue: text(r, &["journalInfo", "journal", "title"])
            .or_else(|| text(r, &["journalTitle"]))
            .or_else(|| text(r, &["bookOrReportDetails", "publisher"])),
        publication_type: kind,
        citation_count: count(r, &["citedByCount"]),
        open_access: Some(OpenAccess {
            is_oa,
            url: if is_oa { oa_url } else { None },
            license: if is_oa { text(r, &["license"]) } else { None },
        }),
        retracted: types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("retracted publication")),
        pmcid,
        preprint,
        ..SourceRecord::default()
    })
}

/// Parses a 200 answer sent for `cursor`: its records and the next cursor (absent, echoed
/// back, or after an empty page: the end). JSON without `hitCount` is not an answer.
pub(crate) fn parse(
    value: &Value,
    cursor: &str,
) -> Result<(Vec<SourceRecord>, Option<String>), SourceError> {
    if value.get("hitCount").is_none() {
        return Err(SourceError::InvalidResponse(
            "Europe PMC: no hitCount in the answer".into(),
        ));
    }
    let mut records = Vec::new();
    for r in array(value, &["resultList", "result"]) {
        let rank = u32::try_from(records.len()).unwrap_or(u32::MAX);
        if let Some(record) = record(r, rank) {
            records.push(record);
        }
    }
    let next = text(value, &["nextCursorMark"]).filter(|n| n != cursor && !records.is_empty());
    Ok((records, next))
}

fn applied(request: &SourceRequest) -> Vec<Filter> {
    let mut supported = vec![
        Filter::Dates,
        Filter::Authors,
        Filter::Venues,
        Filter::OpenAccess,
        Filter::Sort,
    ];
    if types_known(request) {
        supported.push(Filter::PublicationTypes);
    }
    request.applied(&supported)
}

#[async_trait]
impl SearchSource for EuropePmc {
    fn id(&self) -> SourceId {
        SourceId::Europepmc
    }

    fn availability(&self) -> SourceAvailability {
        SourceAvailability::Available
    }

    async fn search(
        &self,
        request: &SourceRequest,
        gate: &dyn UpstreamGate,
    ) -> Result<SourcePage, SourceError> {
        let Some(q) = query(request) else {
            return Ok(SourcePage::last(Vec::new()));
        };
        let cursor = request.page.clone().unwrap_or_else(|| "*".into());
        let mut params = vec![
            ("query", q),
            ("format", "json".to_owned()),
            ("resultType", "core".to_owned()),
            ("pageSize", request.max_results.clamp(1, 1000).to_string()),
            ("cursorMark", cursor.clone()),
        ];
        match request.sort {
            SortOrder::Relevance => {}
            SortOrder::Date => params.push(("sort", "P_PDATE_D desc".into())),
            SortOrder::Citations => params.push(("sort", "CITED desc".into())),
        }
        let url = format!("{}/search", self.config.base_url.trim_end_matches('/'));
        let call = self.client.get(url).query(&params);
        let _turn = gate.turn().await?;
        let body = http::send(call, &self.config).await?;
        if body.status != 200 {
            return Err(json::error(&body));
        }
        let Some(value) = json::parse(&body) else {
            // an HTML error page, or XML when the format was lost: not an answer
            return Err(SourceError::Upstream {
                status: 200,
                message: format!(
                    "not JSON: {}",
                    body.message().chars().take(80).collect::<String>()
                ),
            });
        };
        let (records, next) = parse(&value, &cursor)?;
        Ok(SourcePage {
            records,
            next,
            applied: applied(request),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pake_domain::TenantId;
    use pake_domain::search::QueryText;

    #[test]
    fn filters_become_europe_pmc_syntax() {
        let mut r = SourceRequest::new(
            TenantId::new(),
            QueryText::parse("malaria (vaccine)").unwrap(),
            10,
        );
        assert_eq!(query(&r).as_deref(), Some("(malaria vaccine)"));
        r.date_from = Some(time::macros::date!(2020 - 01 - 01));
        r.authors = vec!["Hill AV".into()];
        r.venues = vec!["Lancet".into()];
        r.publication_types = vec!["review".into(), "preprint".into()];
        r.open_access_only = true;
        assert_eq!(
            query(&r).as_deref(),
            Some(
                "(malaria vaccine) AND FIRST_PDATE:[2020-01-01 TO 9999-12-31] AND ((PUB_TYPE:\"review\") OR SRC:PPR) AND (AUTH:\"Hill AV\") AND (JOURNAL:\"Lancet\") AND OPEN_ACCESS:y"
            )
        );
        let r = SourceRequest::new(TenantId::new(), QueryText::parse("()[]!").unwrap(), 10);
        assert_eq!(query(&r), None);
    }
}
