//! OpenAlex through `/works` (`search=`, `filter=`, `cursor=` paging); needs an API key (since
//! 2026 OpenAlex meters every call), else the source reports itself not configured.

use async_trait::async_trait;
use pake_domain::search::SourceId;
use pake_ports::{
    Filter, OpenAccess, SearchSource, SortOrder, SourceAvailability, SourceError, SourcePage,
    SourceRecord, SourceRequest, UpstreamGate,
};
use serde_json::Value;

use crate::http::{self, SourceConfig};
use crate::json::{self, array, count, text};
use crate::text::{collapse, normalise_doi};

/// The most words an abstract is rebuilt from (an inverted index is upstream data: bounded).
const MAX_ABSTRACT_WORDS: usize = 5_000;

/// OpenAlex's work types for the common vocabulary's (`journal_article` is its `article`).
const TYPES: [(&str, &str); 10] = [
    ("journal_article", "article"),
    ("preprint", "preprint"),
    ("review", "review"),
    ("book_chapter", "book-chapter"),
    ("book", "book"),
    ("dataset", "dataset"),
    ("dissertation", "dissertation"),
    ("editorial", "editorial"),
    ("letter", "letter"),
    ("report", "report"),
];

/// The OpenAlex source.
pub struct OpenAlex {
    config: SourceConfig,
    client: reqwest::Client,
    mailto: String,
}

impl OpenAlex {
    /// A source on `config.base_url` (`https://api.openalex.org` in production; `/works` is
    /// appended), with `config.api_key` sent as a bearer token and `mailto` as contact.
    pub fn new(config: SourceConfig, mailto: &str) -> Self {
        let client = http::client(&config);
        Self {
            config,
            client,
            mailto: mailto.trim().to_owned(),
        }
    }

    fn key(&self) -> Option<&str> {
        self.config.api_key.as_deref().filter(|k| !k.is_empty())
    }
}

/// The `filter=` value and the filters it carries: publication dates, types (when every one
/// has an OpenAlex name), open access; and the sort. Authors and venues need entity ids at
/// OpenAlex, so they are applied after the merge.
pub(crate) fn filter(request: &SourceRequest) -> (Option<String>, Vec<Filter>) {
    let mut parts = Vec::new();
    let mut supported = vec![Filter::Sort];
    if let Some(d) = request.date_from {
        parts.push(format!("from_publication_date:{d}"));
    }
    if let Some(d) = request.date_to {
        parts.push(format!("to_publication_date:{d}"));
    }
    if request.has(Filter::Dates) {
        supported.push(Filter::Dates);
    }
    let types: Option<Vec<&str>> = request
        .publication_types
        .iter()
        .map(|t| TYPES.iter().find(|(k, _)| k == t).map(|(_, o)| *o))
        .collect();
    if let Some(types) = types.filter(|t| !t.is_empty()) {
        parts.push(format!("type:{}", types.join("|")));
        supported.push(Filter::PublicationTypes);
    }
    if request.open_access_only {
        parts.push("is_oa:true".into());
        supported.push(Filter::OpenAccess);
    }
    (
        (!parts.is_empty()).then(|| parts.join(",")),
        request.applied(&supported),
    )
}

/// The abstract an inverted index (`{"word": [positions]}`) spells, words in position order.
pub(crate) fn rebuild_abstract(index: &Value) -> Option<String> {
    let map = index.as_object()?;
    let mut words: Vec<(u64, &str)> = Vec::new();
    for (word, positions) in map {
        for p in positions.as_array().map_or(&[][..], Vec::as_slice) {
            if words.len() >= MAX_ABSTRACT_WORDS {
                break;
            }
            if let Some(p) = p.as_u64() {
                words.push((p, word));
            }
        }
    }
    words.sort_unstable();
    let text = collapse(&words.iter().map(|(_, w)| *w).collect::<Vec<_>>().join(" "));
    (!text.is_empty()).then_some(text)
}

/// The last path segment of an id URL (`https://openalex.org/W1` → `W1`).
fn tail(url: &str) -> Option<String> {
    let t = url.trim_end_matches('/').rsplit('/').next()?.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// One work.
pub(crate) fn record(w: &Value, rank: u32) -> Option<SourceRecord> {
    let openalex_id = text(w, &["id"]).and_then(|i| tail(&i))?;
    let kind = text(w, &["type"]);
    let source_type = text(w, &["primary_location", "source", "type"]);
    let publication_type = kind.as_deref().map(|k| match (k, source_type.as_deref()) {
        ("article", Some("conference")) => "conference_paper".to_owned(),
        _ => TYPES
            .iter()
            .find(|(_, o)| *o == k)
            .map_or_else(|| pake_ports::publication_type(k), |(c, _)| (*c).to_owned()),
    });
    let oa = w.get("open_access");
    let is_oa = oa.and_then(|o| o.get("is_oa")).and_then(Value::as_bool);
    let best = w.get("best_oa_location").filter(|b| !b.is_null());
    let landing = text(w, &["primary_location", "landing_page_url"]);
    Some(SourceRecord {
        title: text(w, &["title"])
            .or_else(|| text(w, &["display_name"]))
            .unwrap_or_default(),
        authors: array(w, &["authorships"])
            .iter()
            .filter_map(|a| {
                text(a, &["author", "display_name"]).or_else(|| text(a, &["raw_author_name"]))
            })
            .collect(),
        published: text(w, &["publication_date"])
            .and_then(|d| json::date(&d))
            .or_else(|| count(w, &["publication_year"]).and_then(|y| json::date(&y.to_string()))),
        doi: text(w, &["doi"]).and_then(|d| normalise_doi(&d)),
        arxiv_id: None,
        pmid: text(w, &["ids", "pmid"]).and_then(|p| tail(&p)),
        url: landing.unwrap_or_else(|| format!("https://openalex.org/{openalex_id}")),
        pdf_url: best
            .and_then(|b| text(b, &["pdf_url"]))
            .or_else(|| text(w, &["primary_location", "pdf_url"])),
        abstract_text: w.get("abstract_inverted_index").and_then(rebuild_abstract),
        snippet: None,
        rank,
        venue: text(w, &["primary_location", "source", "display_name"]),
        preprint: kind.as_deref() == Some("preprint"),
        publication_type,
        citation_count: count(w, &["cited_by_count"]),
        open_access: is_oa.map(|is_oa| OpenAccess {
            is_oa,
            url: oa.and_then(|o| text(o, &["oa_url"])),
            license: best.and_then(|b| text(b, &["license"])),
        }),
        retracted: w.get("is_retracted").and_then(Value::as_bool) == Some(true),
        pmcid: text(w, &["ids", "pmcid"]).and_then(|p| tail(&p)),
        openalex_id: Some(openalex_id),
        ..SourceRecord::default()
    })
}

/// Parses a 200 list: its records and the next cursor (none after an empty page).
pub(crate) fn parse(value: &Value) -> Result<(Vec<SourceRecord>, Option<String>), SourceError> {
    let meta = value
        .get("meta")
        .ok_or_else(|| SourceError::InvalidResponse("OpenAlex: no meta".into()))?;
    let mut records = Vec::new();
    for w in array(value, &["results"]) {
        let rank = u32::try_from(records.len()).unwrap_or(u32::MAX);
        if let Some(r) = record(w, rank) {
            records.push(r);
        }
    }
    let next = text(meta, &["next_cursor"]).filter(|_| !records.is_empty());
    Ok((records, next))
}

#[async_trait]
impl SearchSource for OpenAlex {
    fn id(&self) -> SourceId {
        SourceId::Openalex
    }

    fn availability(&self) -> SourceAvailability {
        if self.key().is_some() {
            SourceAvailability::Available
        } else {
            SourceAvailability::NotConfigured
        }
    }

    async fn search(
        &self,
        request: &SourceRequest,
        gate: &dyn UpstreamGate,
    ) -> Result<SourcePage, SourceError> {
        let Some(key) = self.key() else {
            return Err(SourceError::Unavailable);
        };
        // `*?~` are stripped by OpenAlex anyway; the free tier refuses searches over 1,500
        // characters (the query is at most 500)
        let words = collapse(&request.query.as_str().replace(['*', '?', '~'], " "));
        if words.is_empty() {
            return Ok(SourcePage::last(Vec::new()));
        }
        let (filter, applied) = filter(request);
        let mut params = vec![
            ("search", words),
            ("per_page", request.max_results.clamp(1, 100).to_string()),
            ("cursor", request.page.clone().unwrap_or_else(|| "*".into())),
        ];
        if let Some(f) = filter {
            params.push(("filter", f));
        }
        match request.sort {
            SortOrder::Relevance => {}
            SortOrder::Date => params.push(("sort", "publication_date:desc".into())),
            SortOrder::Citations => params.push(("sort", "cited_by_count:desc".into())),
        }
        if !self.mailto.is_empty() {
            params.push(("mailto", self.mailto.clone()));
        }
        let url = format!("{}/works", self.config.base_url.trim_end_matches('/'));
        let call = self.client.get(url).query(&params).bearer_auth(key);
        let _turn = gate.turn().await?;
        let body = http::send(call, &self.config).await?;
        if body.status != 200 {
            return Err(json::error(&body));
        }
        let value = json::parse(&body)
            .ok_or_else(|| SourceError::InvalidResponse("OpenAlex: body is not JSON".into()))?;
        let (records, next) = parse(&value)?;
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

    #[test]
    fn abstracts_are_rebuilt_in_position_order() {
        let index = serde_json::json!({"world": [1], "Hello": [0], "again": [3], "hello": [2]});
        assert_eq!(
            rebuild_abstract(&index).as_deref(),
            Some("Hello world hello again")
        );
        assert_eq!(rebuild_abstract(&serde_json::json!({})), None);
        assert_eq!(rebuild_abstract(&Value::Null), None);
    }
}
