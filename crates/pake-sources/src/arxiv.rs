//! arXiv through its Atom API (`/api/query`).

use async_trait::async_trait;
use pake_domain::search::SourceId;
use pake_ports::{
    Filter, OpenAccess, SearchSource, SortOrder, SourceAvailability, SourceError, SourcePage,
    SourceRecord, SourceRequest, UpstreamGate,
};
use roxmltree::{Document, Node};

use crate::http::{self, SourceConfig};
use crate::paging;
use crate::text::{collapse, normalise_doi};

const ATOM: &str = "http://www.w3.org/2005/Atom";
const ARXIV: &str = "http://arxiv.org/schemas/atom";
/// Field prefixes a user may write (`au:smith`); anything else is searched in all fields.
const FIELDS: [&str; 8] = ["ti", "au", "abs", "co", "jr", "cat", "rn", "all"];

/// The deepest position arXiv serves a query to (its manual: 30000 results, in slices of at
/// most 2000).
const MAX_DEPTH: u32 = 30_000;

/// The arXiv source.
pub struct Arxiv {
    config: SourceConfig,
    client: reqwest::Client,
}

impl Arxiv {
    /// A source on `config.base_url` (`https://export.arxiv.org` in production; the path
    /// `/api/query` is appended).
    pub fn new(config: SourceConfig) -> Self {
        let client = http::client(&config);
        Self { config, client }
    }
}

/// One term of the user's words: kept to letters, digits and `-._`, with a known field prefix
/// kept and phrases quoted. Empty when nothing searchable is left.
fn term(word: &str, phrase: bool) -> String {
    let (field, rest) = match word.split_once(':') {
        Some((f, rest)) if !phrase && FIELDS.contains(&f.to_ascii_lowercase().as_str()) => {
            (f.to_ascii_lowercase(), rest)
        }
        _ => ("all".to_owned(), word),
    };
    let clean: String = rest
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                ' '
            }
        })
        .collect();
    let clean = collapse(&clean);
    if clean.is_empty() {
        String::new()
    } else if phrase || clean.contains(' ') {
        format!("{field}:\"{clean}\"")
    } else {
        format!("{field}:{clean}")
    }
}

/// The `search_query` for a request: the user's terms joined with AND (quoted phrases kept,
/// upper-case `OR`/`ANDNOT` between terms honoured), then the categories and the submission-date
/// range (both bounds always sent). `None` when no searchable term is left.
pub(crate) fn search_query(request: &SourceRequest) -> Option<String> {
    let text = request.query.as_str();
    let mut parts: Vec<String> = Vec::new();
    let mut pending_op = "AND";
    for (i, chunk) in text.split('"').enumerate() {
        let phrase = i % 2 == 1;
        let words: Vec<&str> = if phrase {
            vec![chunk]
        } else {
            chunk.split_whitespace().collect()
        };
        for word in words {
            if !phrase && matches!(word, "AND" | "OR" | "ANDNOT") {
                pending_op = if word == "OR" { "OR" } else { word };
                continue;
            }
            let t = term(word, phrase);
            if t.is_empty() {
                continue;
            }
            if !parts.is_empty() {
                parts.push(pending_op.to_owned());
            }
            parts.push(t);
            pending_op = "AND";
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut query = format!("({})", parts.join(" "));
    let authors: Vec<String> = request
        .authors
        .iter()
        .map(|a| term(a, true).replacen("all:", "au:", 1))
        .filter(|t| !t.is_empty())
        .collect();
    if !authors.is_empty() {
        query = format!("{query} AND ({})", authors.join(" OR "));
    }
    if !request.categories.is_empty() {
        let cats: Vec<String> = request
            .categories
            .iter()
            .map(|c| format!("cat:{c}"))
            .collect();
        query = format!("{query} AND ({})", cats.join(" OR "));
    }
    if request.date_from.is_some() || request.date_to.is_some() {
        let day = |d: Option<time::Date>, default: &str| {
            d.map_or_else(
                || default.to_owned(),
                |d| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()),
            )
        };
        let from = day(request.date_from, "19910101");
        let to = day(request.date_to, "20991231");
        query = format!("{query} AND submittedDate:[{from}0000 TO {to}2359]");
    }
    Some(query)
}

fn child<'a>(node: Node<'a, 'a>, ns: &str, name: &str) -> Option<Node<'a, 'a>> {
    node.children().find(|c| c.has_tag_name((ns, name)))
}

fn child_text(node: Node<'_, '_>, ns: &str, name: &str) -> String {
    child(node, ns, name)
        .map(|n| {
            collapse(
                &n.descendants()
                    .filter(roxmltree::Node::is_text)
                    .filter_map(|d| d.text())
                    .collect::<String>(),
            )
        })
        .unwrap_or_default()
}

fn date(text: &str) -> Option<time::Date> {
    let day = text.get(..10)?;
    time::Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// The id without the `…/abs/` prefix and without its version.
fn stable_id(raw: &str) -> Option<String> {
    let id = raw.split("/abs/").nth(1)?.trim();
    let id = match id.rfind('v') {
        Some(i) if i > 0 && id[i + 1..].chars().all(|c| c.is_ascii_digit()) && i + 1 < id.len() => {
            &id[..i]
        }
        _ => id,
    };
    (!id.is_empty()).then(|| id.to_owned())
}

fn record(entry: Node<'_, '_>, rank: u32) -> Option<SourceRecord> {
    let arxiv_id = stable_id(&child_text(entry, ATOM, "id"))?;
    let links: Vec<Node> = entry
        .children()
        .filter(|c| c.has_tag_name((ATOM, "link")))
        .collect();
    let href = |pred: &dyn Fn(&Node) -> bool| {
        links
            .iter()
            .find(|l| pred(l))
            .and_then(|l| l.attribute("href"))
            .map(str::to_owned)
    };
    let pdf_url = href(&|l| l.attribute("title") == Some("pdf"))
        .or_else(|| href(&|l| l.attribute("type") == Some("application/pdf")))
        .or_else(|| href(&|l| l.attribute("href").is_some_and(|h| h.contains("/pdf/"))));
    let url = href(&|l| l.attribute("rel") == Some("alternate"))
        .or_else(|| href(&|l| l.attribute("href").is_some_and(|h| h.contains("/abs/"))))
        .unwrap_or_else(|| format!("https://arxiv.org/abs/{arxiv_id}"));
    let doi = normalise_doi(&child_text(entry, ARXIV, "doi"))
        .or_else(|| href(&|l| l.attribute("title") == Some("doi")).and_then(|h| normalise_doi(&h)));
    let authors = entry
        .children()
        .filter(|c| c.has_tag_name((ATOM, "author")))
        .map(|a| child_text(a, ATOM, "name"))
        .filter(|n| !n.is_empty())
        .collect();
    let summary = child_text(entry, ATOM, "summary");
    let journal = child_text(entry, ARXIV, "journal_ref");
    let primary_category = entry
        .children()
        .find(|c| c.has_tag_name((ARXIV, "primary_category")))
        .and_then(|c| c.attribute("term"))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let open_access = OpenAccess {
        is_oa: true,
        url: pdf_url.clone().or_else(|| Some(url.clone())),
        license: None,
    };
    Some(SourceRecord {
        title: child_text(entry, ATOM, "title"),
        authors,
        published: date(&child_text(entry, ATOM, "published")),
        doi,
        arxiv_id: Some(arxiv_id),
        pmid: None,
        url,
        pdf_url,
        abstract_text: (!summary.is_empty()).then_some(summary),
        snippet: None,
        rank,
        venue: (!journal.is_empty()).then_some(journal),
        publication_type: Some("preprint".into()),
        open_access: Some(open_access),
        preprint: true,
        primary_category,
        ..SourceRecord::default()
    })
}

/// The filters an arXiv query carries: dates, categories, authors (`au:`), the date order; and
/// open access, which every arXiv paper is.
fn applied(request: &SourceRequest) -> Vec<Filter> {
    let mut supported = vec![
        Filter::Dates,
        Filter::Categories,
        Filter::Authors,
        Filter::OpenAccess,
    ];
    if request.sort == SortOrder::Date {
        supported.push(Filter::Sort);
    }
    request.applied(&supported)
}

/// Parses a feed answered with `status`. An error entry (`…/api/errors#…`) is an upstream error
/// whatever the status; entries without an id (the legacy blank entry) are skipped.
pub(crate) fn parse_feed(
    xml: &str,
    status: u16,
) -> Result<(Vec<SourceRecord>, Option<u64>), SourceError> {
    let doc = Document::parse(xml)
        .map_err(|e| SourceError::InvalidResponse(format!("arXiv feed: {e}")))?;
    let feed = doc.root_element();
    if !feed.has_tag_name((ATOM, "feed")) {
        return Err(SourceError::InvalidResponse(
            "arXiv: not an Atom feed".into(),
        ));
    }
    let entries: Vec<Node> = feed
        .children()
        .filter(|c| c.has_tag_name((ATOM, "entry")))
        .collect();
    if let Some(error) = entries
        .iter()
        .find(|e| child_text(**e, ATOM, "id").contains("/api/errors"))
    {
        let message = child_text(*error, ATOM, "summary");
        return Err(SourceError::Upstream {
            status,
            message: if message.is_empty() {
                "arXiv error".into()
            } else {
                message
            },
        });
    }
    if status != 200 {
        return Err(SourceError::Upstream {
            status,
            message: "arXiv answered with an error".into(),
        });
    }
    let mut records = Vec::new();
    for entry in entries {
        let rank = u32::try_from(records.len()).unwrap_or(u32::MAX);
        if let Some(r) = record(entry, rank) {
            records.push(r);
        }
    }
    let total = feed
        .children()
        .find(|c| c.tag_name().name() == "totalResults")
        .and_then(|n| n.text())
        .and_then(|t| t.trim().parse().ok());
    Ok((records, total))
}

#[async_trait]
impl SearchSource for Arxiv {
    fn id(&self) -> SourceId {
        SourceId::Arxiv
    }

    fn availability(&self) -> SourceAvailability {
        SourceAvailability::Available
    }

    async fn search(
        &self,
        request: &SourceRequest,
        gate: &dyn UpstreamGate,
    ) -> Result<SourcePage, SourceError> {
        let Some(query) = search_query(request) else {
            return Ok(SourcePage::last(Vec::new()));
        };
        let sort = if request.sort == SortOrder::Date {
            "submittedDate"
        } else {
            "relevance"
        };
        let url = format!("{}/api/query", self.config.base_url.trim_end_matches('/'));
        let max = request.max_results.to_string();
        let start = paging::offset(request);
        let start_text = start.to_string();
        let call = self.client.get(url).query(&[
            ("search_query", query.as_str()),
            ("start", start_text.as_str()),
            ("max_results", max.as_str()),
            ("sortBy", sort),
            ("sortOrder", "descending"),
        ]);
        let _turn = gate.turn().await?;
        let body = http::send(call, &self.config).await?;
        if body.status == 429 {
            return Err(SourceError::RateLimited {
                retry_after: body.retry_after(),
            });
        }
        let text = String::from_utf8_lossy(&body.bytes);
        if text.trim_start().starts_with('<') {
            let (records, total) = parse_feed(&text, body.status)?;
            return Ok(SourcePage {
                next: paging::next_offset(
                    start,
                    request.max_results,
                    records.len(),
                    total,
                    MAX_DEPTH,
                ),
                records,
                applied: applied(request),
            });
        }
        Err(SourceError::Upstream {
            status: body.status,
            message: body.message(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pake_domain::TenantId;
    use pake_domain::search::QueryText;

    fn request(q: &str) -> SourceRequest {
        SourceRequest::new(TenantId::new(), QueryText::parse(q).unwrap(), 10)
    }

    #[test]
    fn queries_join_terms_and_keep_phrases_fields_and_filters() {
        assert_eq!(
            search_query(&request("quantum  error correction")).as_deref(),
            Some("(all:quantum AND all:error AND all:correction)")
        );
        assert_eq!(
            search_query(&request("\"graph neural\" au:kipf OR ti:gcn")).as_deref(),
            Some("(all:\"graph neural\" AND au:kipf OR ti:gcn)")
        );
        let mut r = request("transformers");
        r.categories = vec!["cs.LG".into(), "stat.ML".into()];
        r.date_from = Some(time::macros::date!(2023 - 01 - 01));
        r.authors = vec!["Ada Lovelace".into()];
        assert_eq!(
            search_query(&r).as_deref(),
            Some(
                "(all:transformers) AND (au:\"Ada Lovelace\") AND (cat:cs.LG OR cat:stat.ML) AND submittedDate:[202301010000 TO 209912312359]"
            )
        );
        // punctuation that would unbalance the query is dropped; nothing left → no request
        assert_eq!(
            search_query(&request("(spin) [glass]")).as_deref(),
            Some("(all:spin AND all:glass)")
        );
        assert_eq!(search_query(&request("!!! ()")), None);
    }

    #[test]
    fn ids_lose_prefix_and_version() {
        assert_eq!(
            stable_id("http://arxiv.org/abs/2202.12139v3").as_deref(),
            Some("2202.12139")
        );
        assert_eq!(
            stable_id("http://arxiv.org/abs/astro-ph/0601001v1").as_deref(),
            Some("astro-ph/0601001")
        );
        assert_eq!(stable_id("http://arxiv.org/abs/"), None);
    }
}
