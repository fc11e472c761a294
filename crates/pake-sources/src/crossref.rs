//! Crossref through `/works` (`query.bibliographic`, `filter=`, offset paging, the polite pool's
//! `mailto`), spacing its own requests by the `x-rate-limit-*` headers Crossref sends.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pake_domain::search::SourceId;
use pake_ports::{
    Filter, OpenAccess, SearchSource, SortOrder, SourceAvailability, SourceError, SourcePage,
    SourceRecord, SourceRequest, UpstreamGate, publication_type,
};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::http::{self, SourceConfig};
use crate::json::{self, array, count, text};
use crate::paging;
use crate::text::{collapse, normalise_doi};

/// Crossref serves `offset` up to 10,000 (deeper needs its cursors, which it keeps server-side:
/// a retried request would skip a page, and they do not keep the relevance order).
const MAX_DEPTH: u32 = 10_000;

/// The longest wait Crossref's headers can impose on one request.
const MAX_SPACING: Duration = Duration::from_secs(2);

/// Crossref's work types for the common vocabulary's (the others are not filtered upstream).
const TYPES: [(&str, &str); 9] = [
    ("journal_article", "journal-article"),
    ("preprint", "posted-content"),
    ("conference_paper", "proceedings-article"),
    ("book_chapter", "book-chapter"),
    ("book", "book"),
    ("monograph", "monograph"),
    ("dataset", "dataset"),
    ("dissertation", "dissertation"),
    ("report", "report"),
];

/// The Crossref source.
pub struct Crossref {
    config: SourceConfig,
    client: reqwest::Client,
    mailto: String,
    /// The spacing Crossref's last answer asked for, and when the last request went (or will).
    spacing: Mutex<(Duration, Option<Instant>)>,
}

impl Crossref {
    /// A source on `config.base_url` (`https://api.crossref.org` in production; `/works` is
    /// appended), sending `mailto` for the polite pool (none when empty).
    pub fn new(config: SourceConfig, mailto: &str) -> Self {
        let client = http::client(&config);
        Self {
            config,
            client,
            mailto: mailto.trim().to_owned(),
            spacing: Mutex::new((Duration::ZERO, None)),
        }
    }

    /// Waits until the spacing of Crossref's last `x-rate-limit-*` headers allows a request.
    async fn wait_spacing(&self) {
        let wait = {
            let mut s = self
                .spacing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            // the last request's time plus the spacing asked, never in the past
            // (bounded: a dropped call's reservation or an extreme header never holds the source
            // for longer than `MAX_SPACING`)
            let at =
                s.1.map_or(now, |last| (last + s.0).max(now))
                    .min(now + MAX_SPACING);
            s.1 = Some(at);
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn follow(&self, headers: &HeaderMap) {
        if let Some(interval) = spacing(headers) {
            let mut s = self
                .spacing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            s.0 = interval;
        }
    }
}

/// The spacing `x-rate-limit-limit` requests per `x-rate-limit-interval` (`1s`) ask for.
pub(crate) fn spacing(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    let limit: u32 = get("x-rate-limit-limit")?.parse().ok().filter(|n| *n > 0)?;
    let interval = get("x-rate-limit-interval")?;
    let secs: u64 = interval
        .strip_suffix('s')
        .unwrap_or(interval)
        .parse()
        .ok()?;
    Some((Duration::from_secs(secs.clamp(1, 3600)) / limit).min(MAX_SPACING))
}

fn crossref_type(kind: &str) -> Option<&'static str> {
    TYPES.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
}

fn common_type(crossref: &str) -> String {
    TYPES
        .iter()
        .find(|(_, t)| *t == crossref)
        .map_or_else(|| publication_type(crossref), |(k, _)| (*k).to_owned())
}

/// The `filter=` value and the filters it carries: publication dates, and the types when every
/// one has a Crossref name. Authors and venues are not filters at Crossref (its field queries
/// rank, they do not filter), so they are applied after the merge.
pub(crate) fn filter(request: &SourceRequest) -> (Option<String>, Vec<Filter>) {
    let mut parts = Vec::new();
    let mut supported = Vec::new();
    if let Some(d) = request.date_from {
        parts.push(format!("from-pub-date:{d}"));
    }
    if let Some(d) = request.date_to {
        parts.push(format!("until-pub-date:{d}"));
    }
    if request.has(Filter::Dates) {
        supported.push(Filter::Dates);
    }
    let types: Option<Vec<&str>> = request
        .publication_types
        .iter()
        .map(|t| crossref_type(t))
        .collect();
    if let Some(types) = types.filter(|t| !t.is_empty()) {
        parts.extend(types.iter().map(|t| format!("type:{t}")));
        supported.push(Filter::PublicationTypes);
    }
    if request.sort != SortOrder::Relevance {
        supported.push(Filter::Sort);
    }
    let applied = request.applied(&supported);
    ((!parts.is_empty()).then(|| parts.join(",")), applied)
}

fn dois(relation: &Value, kind: &str) -> Vec<String> {
    array(relation, &[kind])
        .iter()
        .filter(|r| r.get("id-type").and_then(Value::as_str) == Some("doi"))
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .filter_map(normalise_doi)
        .collect()
}

fn first(item: &Value, key: &str) -> Option<String> {
    array(item, &[key])
        .iter()
        .filter_map(Value::as_str)
        .map(collapse)
        .find(|t| !t.is_empty())
}

/// One work of a `work-list`.
pub(crate) fn record(item: &Value, rank: u32) -> Option<SourceRecord> {
    let doi = text(item, &["DOI"]).and_then(|d| normalise_doi(&d))?;
    let authors = array(item, &["author"])
        .iter()
        .filter_map(|a| {
            let name = [text(a, &["given"]), text(a, &["family"])]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!name.is_empty())
                .then_some(name)
                .or_else(|| text(a, &["name"]))
        })
        .collect();
    let published = [
        "published",
        "published-print",
        "published-online",
        "issued",
        "created",
    ]
    .iter()
    .find_map(|k| {
        array(item, &[k, "date-parts"])
            .first()
            .and_then(Value::as_array)
            .and_then(|p| json::date_parts(p))
    });
    let kind = text(item, &["type"]);
    let preprint = kind.as_deref() == Some("posted-content")
        && text(item, &["subtype"]).is_none_or(|s| s == "preprint");
    let relation = item.get("relation").cloned().unwrap_or(Value::Null);
    let mut other_versions = dois(&relation, "is-preprint-of");
    other_versions.extend(dois(&relation, "has-preprint"));
    other_versions.retain(|d| *d != doi);
    let license = array(item, &["license"])
        .iter()
        .filter_map(|l| text(l, &["URL"]))
        .find(|u| u.contains("creativecommons.org"));
    let pdf_url = array(item, &["link"])
        .iter()
        .filter(|l| l.get("content-type").and_then(Value::as_str) == Some("application/pdf"))
        .find_map(|l| text(l, &["URL"]));
    let retracted = array(item, &["updated-by"]).iter().any(|u| {
        matches!(
            u.get("type").and_then(Value::as_str),
            Some("retraction" | "withdrawal")
        )
    });
    let retracts: Vec<String> = array(item, &["update-to"])
        .iter()
        .filter(|u| u.get("type").and_then(Value::as_str) == Some("retraction"))
        .filter_map(|u| u.get("DOI").and_then(Value::as_str))
        .filter_map(normalise_doi)
        .collect();
    let notice = !retracts.is_empty();
    let title = match (first(item, "title"), first(item, "subtitle")) {
        (Some(t), Some(s)) => format!("{t}: {s}"),
        (Some(t), None) => t,
        (None, _) => String::new(),
    };
    Some(SourceRecord {
        title,
        authors,
        published,
        url: text(item, &["URL"]).unwrap_or_else(|| format!("https://doi.org/{doi}")),
        doi: Some(doi),
        arxiv_id: None,
        pmid: None,
        pdf_url,
        abstract_text: text(item, &["abstract"])
            .map(|a| json::strip_markup(&a))
            .map(|a| a.strip_prefix("Abstract ").map_or(a.clone(), str::to_owned))
            .filter(|a| !a.is_empty()),
        snippet: None,
        rank,
        venue: first(item, "container-title"),
        publication_type: if notice {
            Some("retraction_notice".into())
        } else {
            kind.map(|k| common_type(&k))
        },
        citation_count: count(item, &["is-referenced-by-count"]),
        // Crossref says nothing of free access, except through an open licence
        open_access: license.map(|l| OpenAccess {
            is_oa: true,
            url: None,
            license: Some(l),
        }),
        retracted,
        preprint,
        other_versions,
        retracts,
        ..SourceRecord::default()
    })
}

/// Parses a 200 `work-list`: its records and total.
pub(crate) fn parse(value: &Value) -> Result<(Vec<SourceRecord>, Option<u64>), SourceError> {
    if value.get("status").and_then(Value::as_str) != Some("ok") {
        return Err(SourceError::Upstream {
            status: 200,
            message: "Crossref: the answer's status is not ok".into(),
        });
    }
    let message = value
        .get("message")
        .ok_or_else(|| SourceError::InvalidResponse("Crossref: no message".into()))?;
    let mut records = Vec::new();
    for item in array(message, &["items"]) {
        let rank = u32::try_from(records.len()).unwrap_or(u32::MAX);
        if let Some(r) = record(item, rank) {
            records.push(r);
        }
    }
    Ok((
        records,
        message.get("total-results").and_then(Value::as_u64),
    ))
}

#[async_trait]
impl SearchSource for Crossref {
    fn id(&self) -> SourceId {
        SourceId::Crossref
    }

    fn availability(&self) -> SourceAvailability {
        SourceAvailability::Available
    }

    async fn search(
        &self,
        request: &SourceRequest,
        gate: &dyn UpstreamGate,
    ) -> Result<SourcePage, SourceError> {
        let words = collapse(request.query.as_str());
        let start = paging::offset(request);
        let (filter, applied) = filter(request);
        let mut params = vec![
            ("query.bibliographic", words),
            ("rows", request.max_results.clamp(1, 1000).to_string()),
            ("offset", start.to_string()),
        ];
        if let Some(f) = filter {
            params.push(("filter", f));
        }
        match request.sort {
            SortOrder::Relevance => {}
            SortOrder::Date => {
                params.push(("sort", "published".into()));
                params.push(("order", "desc".into()));
            }
            SortOrder::Citations => {
                params.push(("sort", "is-referenced-by-count".into()));
                params.push(("order", "desc".into()));
            }
        }
        if !self.mailto.is_empty() {
            params.push(("mailto", self.mailto.clone()));
        }
        let url = format!("{}/works", self.config.base_url.trim_end_matches('/'));
        let call = self.client.get(url).query(&params);
        let _turn = gate.turn().await?;
        self.wait_spacing().await;
        let body = http::send(call, &self.config).await?;
        self.follow(&body.headers);
        if body.status != 200 {
            return Err(json::error(&body));
        }
        let value = json::parse(&body)
            .ok_or_else(|| SourceError::InvalidResponse("Crossref: body is not JSON".into()))?;
        let (records, total) = parse(&value)?;
        Ok(SourcePage {
            next: paging::next_offset(start, request.max_results, records.len(), total, MAX_DEPTH),
            records,
            applied,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pake_domain::TenantId;
    use pake_domain::search::QueryText;
    use reqwest::header::HeaderValue;

    #[test]
    fn filters_and_rate_headers() {
        let mut r = SourceRequest::new(TenantId::new(), QueryText::parse("fish").unwrap(), 5);
        r.date_from = Some(time::macros::date!(2020 - 01 - 01));
        r.publication_types = vec!["journal_article".into()];
        r.authors = vec!["Smith".into()];
        assert_eq!(
            filter(&r),
            (
                Some("from-pub-date:2020-01-01,type:journal-article".into()),
                vec![Filter::Dates, Filter::PublicationTypes]
            )
        );
        r.publication_types.push("poem".into());
        assert_eq!(
            filter(&r).1,
            vec![Filter::Dates],
            "an unknown type is not sent"
        );
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", HeaderValue::from_static("10"));
        h.insert("x-rate-limit-interval", HeaderValue::from_static("1s"));
        assert_eq!(spacing(&h), Some(Duration::from_millis(100)));
    }
}
