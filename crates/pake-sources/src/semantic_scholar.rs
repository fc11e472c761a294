//! Semantic Scholar through the Graph API's paper search (`/graph/v1/paper/search`, `fields=`,
//! offset paging within its first 1,000 results). The key (`x-api-key`) is optional: keyless
//! calls share one throttled pool, so a 429 is expected and retried with backoff by the caller.

use async_trait::async_trait;
use pake_domain::search::SourceId;
use pake_ports::{
    Filter, OpenAccess, SearchSource, SourceAvailability, SourceError, SourcePage, SourceRecord,
    SourceRequest, UpstreamGate,
};
use serde_json::Value;

use crate::http::{self, SourceConfig};
use crate::json::{self, array, count, text};
use crate::paging;
use crate::text::{collapse, normalise_doi};

/// Relevance search serves offset + limit ≤ 1,000.
const MAX_DEPTH: u32 = 1_000;

/// The fields asked for.
pub(crate) const FIELDS: &str = "paperId,externalIds,url,title,abstract,venue,publicationVenue,\
year,publicationDate,authors,citationCount,isOpenAccess,openAccessPdf,publicationTypes,journal";

/// Semantic Scholar's publication types for the common vocabulary's.
const TYPES: [(&str, &str); 12] = [
    ("journal_article", "JournalArticle"),
    ("review", "Review"),
    ("conference_paper", "Conference"),
    ("book", "Book"),
    ("book_chapter", "BookSection"),
    ("dataset", "Dataset"),
    ("editorial", "Editorial"),
    ("letter", "LettersAndComments"),
    ("case_report", "CaseReport"),
    ("clinical_trial", "ClinicalTrial"),
    ("meta_analysis", "MetaAnalysis"),
    ("news", "News"),
];

/// The Semantic Scholar source.
pub struct SemanticScholar {
    config: SourceConfig,
    client: reqwest::Client,
}

impl SemanticScholar {
    /// A source on `config.base_url` (`https://api.semanticscholar.org` in production;
    /// `/graph/v1/paper/search` is appended), with `config.api_key` as `x-api-key` when set.
    pub fn new(config: SourceConfig) -> Self {
        let client = http::client(&config);
        Self { config, client }
    }
}

/// The filter parameters and the filters they carry: `publicationDateOrYear`, `venue`,
/// `publicationTypes` (when every type has a Semantic Scholar name), `openAccessPdf`. Authors
/// and the sort are not parameters of the relevance search: applied after the merge.
pub(crate) fn filters(request: &SourceRequest) -> (Vec<(&'static str, String)>, Vec<Filter>) {
    let mut params = Vec::new();
    let mut supported = Vec::new();
    if request.has(Filter::Dates) {
        let day = |d: Option<time::Date>| d.map(|d| d.to_string()).unwrap_or_default();
        params.push((
            "publicationDateOrYear",
            format!("{}:{}", day(request.date_from), day(request.date_to)),
        ));
        supported.push(Filter::Dates);
    }
    let venues: Vec<String> = request
        .venues
        .iter()
        .map(|v| collapse(&v.replace(',', " ")))
        .filter(|v| !v.is_empty())
        .collect();
    if !venues.is_empty() {
        params.push(("venue", venues.join(",")));
        supported.push(Filter::Venues);
    }
    let types: Option<Vec<&str>> = request
        .publication_types
        .iter()
        .map(|t| TYPES.iter().find(|(k, _)| k == t).map(|(_, s)| *s))
        .collect();
    if let Some(types) = types.filter(|t| !t.is_empty()) {
        params.push(("publicationTypes", types.join(",")));
        supported.push(Filter::PublicationTypes);
    }
    if request.open_access_only {
        params.push(("openAccessPdf", String::new()));
        supported.push(Filter::OpenAccess);
    }
    (params, request.applied(&supported))
}

/// One paper.
pub(crate) fn record(p: &Value, rank: u32) -> Option<SourceRecord> {
    let s2_id = text(p, &["paperId"])?;
    let types: Vec<&str> = array(p, &["publicationTypes"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let kind = types
        .iter()
        .find(|t| **t != "JournalArticle")
        .or_else(|| types.first())
        .map(|t| {
            TYPES
                .iter()
                .find(|(_, s)| s == t)
                .map_or_else(|| pake_ports::publication_type(t), |(c, _)| (*c).to_owned())
        });
    let venue = text(p, &["venue"])
        .or_else(|| text(p, &["publicationVenue", "name"]))
        .or_else(|| text(p, &["journal", "name"]));
    let arxiv_id = text(p, &["externalIds", "ArXiv"]);
    let doi = text(p, &["externalIds", "DOI"]).and_then(|d| normalise_doi(&d));
    let pdf = text(p, &["openAccessPdf", "url"]);
    let is_oa = p.get("isOpenAccess").and_then(Value::as_bool);
    let preprint = venue.as_deref() == Some("arXiv.org")
        || (arxiv_id.is_some() && doi.as_deref().is_none_or(|d| d.starts_with("10.48550/")));
    Some(SourceRecord {
        title: text(p, &["title"]).unwrap_or_default(),
        authors: array(p, &["authors"])
            .iter()
            .filter_map(|a| text(a, &["name"]))
            .collect(),
        published: text(p, &["publicationDate"])
            .and_then(|d| json::date(&d))
            .or_else(|| count(p, &["year"]).and_then(|y| json::date(&y.to_string()))),
        doi,
        arxiv_id,
        pmid: text(p, &["externalIds", "PubMed"])
            .or_else(|| count(p, &["externalIds", "PubMed"]).map(|n| n.to_string())),
        url: text(p, &["url"])
            .unwrap_or_else(|| format!("https://www.semanticscholar.org/paper/{s2_id}")),
        pdf_url: pdf.clone(),
        abstract_text: text(p, &["abstract"]),
        snippet: None,
        rank,
        venue,
        publication_type: if preprint {
            Some("preprint".into())
        } else {
            kind
        },
        citation_count: count(p, &["citationCount"]),
        open_access: is_oa.map(|is_oa| OpenAccess {
            is_oa: is_oa || pdf.is_some(),
            url: pdf,
            license: text(p, &["openAccessPdf", "license"]),
        }),
        pmcid: text(p, &["externalIds", "PubMedCentral"])
            .or_else(|| count(p, &["externalIds", "PubMedCentral"]).map(|n| n.to_string()))
            .map(|id| {
                if id.starts_with("PMC") {
                    id
                } else {
                    format!("PMC{id}")
                }
            }),
        s2_id: Some(s2_id),
        preprint,
        ..SourceRecord::default()
    })
}

/// Parses a 200 answer: its records and whether the upstream names a next page. No `data` is
/// zero results; an `error` without `total` is an error document.
pub(crate) fn parse(value: &Value) -> Result<(Vec<SourceRecord>, bool), SourceError> {
    if value.get("total").is_none() {
        let message = text(value, &["error"])
            .or_else(|| text(value, &["message"]))
            .unwrap_or_else(|| "Semantic Scholar: no total in the answer".into());
        return Err(SourceError::Upstream {
            status: 200,
            message: message.chars().take(200).collect(),
        });
    }
    let mut records = Vec::new();
    for p in array(value, &["data"]) {
        let rank = u32::try_from(records.len()).unwrap_or(u32::MAX);
        if let Some(r) = record(p, rank) {
            records.push(r);
        }
    }
    Ok((records, value.get("next").is_some_and(|n| !n.is_null())))
}

#[async_trait]
impl SearchSource for SemanticScholar {
    fn id(&self) -> SourceId {
        SourceId::SemanticScholar
    }

    fn availability(&self) -> SourceAvailability {
        SourceAvailability::Available
    }

    async fn search(
        &self,
        request: &SourceRequest,
        gate: &dyn UpstreamGate,
    ) -> Result<SourcePage, SourceError> {
        // the relevance search takes plain words; a `-` at a word's start would exclude it
        let words: String = request
            .query
            .as_str()
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '"' | '.' | '\'' | '-') {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        let words = collapse(&words.replace(" -", " "));
        if words.replace('"', "").trim().is_empty() {
            return Ok(SourcePage::last(Vec::new()));
        }
        let start = paging::offset(request).min(MAX_DEPTH);
        let limit = request
            .max_results
            .clamp(1, 100)
            .min(MAX_DEPTH - start)
            .max(1);
        let (filter_params, applied) = filters(request);
        let mut params = vec![
            ("query", words),
            ("fields", FIELDS.to_owned()),
            ("offset", start.to_string()),
            ("limit", limit.to_string()),
        ];
        params.extend(filter_params);
        let url = format!(
            "{}/graph/v1/paper/search",
            self.config.base_url.trim_end_matches('/')
        );
        let mut call = self.client.get(url).query(&params);
        if let Some(key) = self.config.api_key.as_deref().filter(|k| !k.is_empty()) {
            call = call.header("x-api-key", key);
        }
        let _turn = gate.turn().await?;
        let body = http::send(call, &self.config).await?;
        if body.status != 200 {
            return Err(json::error(&body));
        }
        let value = json::parse(&body).ok_or_else(|| {
            SourceError::InvalidResponse("Semantic Scholar: body is not JSON".into())
        })?;
        let (records, more) = parse(&value)?;
        let next = if more {
            paging::next_offset(start, limit, records.len(), None, MAX_DEPTH)
        } else {
            None
        };
        Ok(SourcePage {
            records,
            next,
            applied,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pake_domain::TenantId;
    use pake_domain::search::QueryText;

    #[test]
    fn filters_become_parameters() {
        let mut r = SourceRequest::new(TenantId::new(), QueryText::parse("turing").unwrap(), 10);
        r.date_to = Some(time::macros::date!(1937 - 12 - 31));
        r.venues = vec!["Proc. London, Math".into()];
        r.publication_types = vec!["journal_article".into()];
        r.open_access_only = true;
        r.authors = vec!["Turing".into()];
        let (params, applied) = filters(&r);
        assert_eq!(
            params,
            vec![
                ("publicationDateOrYear", ":1937-12-31".to_owned()),
                ("venue", "Proc. London Math".to_owned()),
                ("publicationTypes", "JournalArticle".to_owned()),
                ("openAccessPdf", String::new()),
            ]
        );
        assert_eq!(
            applied,
            vec![
                Filter::Dates,
                Filter::Venues,
                Filter::PublicationTypes,
                Filter::OpenAccess
            ]
        );
    }
}
