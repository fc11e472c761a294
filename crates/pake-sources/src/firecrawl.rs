//! The web through Firecrawl `/search` (v1 and v2 response shapes).

use async_trait::async_trait;
use pake_domain::search::SourceId;
use pake_ports::{
    Filter, SearchSource, SourceAvailability, SourceError, SourcePage, SourceRecord, SourceRequest,
    UpstreamGate,
};
use serde_json::{Value, json};

use crate::http::{self, SourceConfig};
use crate::paging;

/// The most results one `/search` returns; Firecrawl has no offset, so later pages re-ask with a
/// larger `limit` and keep the part past the earlier pages.
const MAX_DEPTH: u32 = 100;
use crate::text::{collapse, normalise_doi};

/// The web source.
pub struct Firecrawl {
    config: SourceConfig,
    client: reqwest::Client,
}

impl Firecrawl {
    /// A source on `config.base_url` (`https://api.firecrawl.dev` in production; `/v2/search` is
    /// appended). Without `config.api_key` it reports itself not configured.
    pub fn new(config: SourceConfig) -> Self {
        let client = http::client(&config);
        Self { config, client }
    }
}

/// Results of a `/search` answer: `data` as an array (v1, and v2 as some docs show it) or as
/// `{web: [...]}` (v2). A `success: false` envelope is an upstream error.
pub(crate) fn parse(value: &Value, status: u16) -> Result<Vec<SourceRecord>, SourceError> {
    if value.get("success").and_then(Value::as_bool) == Some(false) {
        let message = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("Firecrawl error");
        return Err(SourceError::Upstream {
            status,
            message: message.chars().take(200).collect(),
        });
    }
    let data = value.get("data");
    let items = match data {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(o)) => o
            .get("web")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => {
            return Err(SourceError::InvalidResponse(
                "Firecrawl: unexpected data".into(),
            ));
        }
    };
    let mut records = Vec::new();
    for item in items {
        let text = |k: &str| collapse(item.get(k).and_then(Value::as_str).unwrap_or(""));
        let url = text("url");
        if url.is_empty() {
            continue;
        }
        let title = Some(text("title"))
            .filter(|t| !t.is_empty())
            .or_else(|| {
                item.pointer("/metadata/title")
                    .and_then(Value::as_str)
                    .map(collapse)
            })
            .unwrap_or_else(|| url.clone());
        let snippet = Some(text("description"))
            .filter(|t| !t.is_empty())
            .or_else(|| Some(text("snippet")).filter(|t| !t.is_empty()));
        let doi = url
            .split_once("doi.org/")
            .and_then(|(_, rest)| normalise_doi(rest));
        records.push(SourceRecord {
            title,
            authors: Vec::new(),
            published: None,
            doi,
            arxiv_id: None,
            pmid: None,
            url,
            pdf_url: None,
            abstract_text: None,
            snippet,
            rank: u32::try_from(records.len()).unwrap_or(u32::MAX),
            ..SourceRecord::default()
        });
    }
    Ok(records)
}

/// Google-style `tbs` for a date range (`cdr:1,cd_min:MM/DD/YYYY,cd_max:MM/DD/YYYY`).
fn tbs(request: &SourceRequest) -> Option<String> {
    if request.date_from.is_none() && request.date_to.is_none() {
        return None;
    }
    let day = |d: Option<time::Date>, default: &str| {
        d.map_or_else(
            || default.to_owned(),
            |d| format!("{:02}/{:02}/{:04}", u8::from(d.month()), d.day(), d.year()),
        )
    };
    Some(format!(
        "cdr:1,cd_min:{},cd_max:{}",
        day(request.date_from, "01/01/1900"),
        day(request.date_to, "12/31/2099")
    ))
}

#[async_trait]
impl SearchSource for Firecrawl {
    fn id(&self) -> SourceId {
        SourceId::Web
    }

    fn availability(&self) -> SourceAvailability {
        if self
            .config
            .api_key
            .as_deref()
            .is_some_and(|k| !k.is_empty())
        {
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
        let Some(key) = self.config.api_key.as_deref().filter(|k| !k.is_empty()) else {
            return Err(SourceError::Unavailable);
        };
        let start = paging::offset(request).min(MAX_DEPTH);
        let limit = start
            .saturating_add(request.max_results)
            .clamp(1, MAX_DEPTH);
        let mut body = json!({
            "query": request.query.as_str(),
            "limit": limit,
        });
        if let Some(tbs) = tbs(request) {
            body["tbs"] = Value::String(tbs);
        }
        let url = format!("{}/v2/search", self.config.base_url.trim_end_matches('/'));
        let call = self.client.post(url).bearer_auth(key).json(&body);
        let _turn = gate.turn().await?;
        let answer = http::send(call, &self.config).await?;
        if answer.status == 429 {
            return Err(SourceError::RateLimited {
                retry_after: answer.retry_after(),
            });
        }
        let value: Option<Value> = serde_json::from_slice(&answer.bytes).ok();
        match (answer.status, value) {
            (200, Some(v)) => {
                let all = parse(&v, 200)?;
                let got = all.len();
                let skip = usize::try_from(start).unwrap_or(usize::MAX);
                let records: Vec<SourceRecord> = all
                    .into_iter()
                    .skip(skip)
                    .zip(0..)
                    .map(|(mut r, rank)| {
                        r.rank = rank;
                        r
                    })
                    .collect();
                let total = u32::try_from(got)
                    .is_ok_and(|g| g < limit)
                    .then(|| u64::try_from(got).unwrap_or(u64::MAX));
                Ok(SourcePage {
                    next: paging::next_offset(
                        start,
                        request.max_results,
                        records.len(),
                        total,
                        MAX_DEPTH,
                    ),
                    records,
                    applied: request.applied(&[Filter::Dates]),
                })
            }
            (200, None) => Err(SourceError::InvalidResponse(
                "Firecrawl: body is not JSON".into(),
            )),
            (status, Some(v)) => match parse(&v, status) {
                Err(e) => Err(e),
                Ok(_) => Err(SourceError::Upstream {
                    status,
                    message: answer.message(),
                }),
            },
            (status, None) => Err(SourceError::Upstream {
                status,
                message: answer.message(),
            }),
        }
    }
}
