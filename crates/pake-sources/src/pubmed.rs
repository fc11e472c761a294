//! PubMed through NCBI E-utilities: ESearch → ESummary, and EFetch for abstracts.

use async_trait::async_trait;
use pake_domain::search::SourceId;
use pake_ports::{
    Filter, OpenAccess, SearchSource, SortOrder, SourceAvailability, SourceError, SourcePage,
    SourceRecord, SourceRequest, UpstreamGate, publication_type,
};
use serde_json::Value;

use crate::http::{self, Body, SourceConfig};
use crate::paging;
use crate::text::{collapse, normalise_doi, query_words};

/// ESearch serves positions up to 9,999 without the history server.
const MAX_DEPTH: u32 = 9_999;

/// The PubMed source.
pub struct Pubmed {
    config: SourceConfig,
    client: reqwest::Client,
    tool: String,
    email: String,
}

impl Pubmed {
    /// A source on `config.base_url` (`https://eutils.ncbi.nlm.nih.gov/entrez/eutils` in
    /// production), identifying itself to NCBI as `tool` with the developer's `email`.
    pub fn new(config: SourceConfig, tool: &str, email: &str) -> Self {
        let client = http::client(&config);
        Self {
            config,
            client,
            tool: tool.to_owned(),
            email: email.to_owned(),
        }
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/{endpoint}", self.config.base_url.trim_end_matches('/'))
    }

    /// `tool`, `email` and (when configured) `api_key`, sent on every request.
    fn identity(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("tool", self.tool.clone()), ("email", self.email.clone())];
        if let Some(key) = &self.config.api_key {
            params.push(("api_key", key.clone()));
        }
        params
    }

    async fn get(
        &self,
        endpoint: &str,
        params: &[(&'static str, String)],
        gate: &dyn UpstreamGate,
    ) -> Result<Body, SourceError> {
        let call = self
            .client
            .get(self.url(endpoint))
            .query(params)
            .query(&self.identity());
        let _turn = gate.turn().await?;
        let body = http::send(call, &self.config).await?;
        match body.status {
            200 => Ok(body),
            // NCBI's throttle (JSON `{"error":"API rate limit exceeded",…}`); also sent in error
            // when the rate was honoured, so it is retryable
            429 => Err(SourceError::RateLimited {
                retry_after: body.retry_after(),
            }),
            status => Err(SourceError::Upstream {
                status,
                message: body.message(),
            }),
        }
    }
}

fn json(body: &Body) -> Result<Value, SourceError> {
    serde_json::from_slice(&body.bytes)
        .map_err(|e| SourceError::InvalidResponse(format!("E-utilities JSON: {e}")))
}

/// A value for a field tag: quotes and brackets removed, whitespace collapsed.
fn tag_value(text: &str) -> String {
    collapse(&text.replace(['"', '[', ']', '(', ')'], " "))
}

/// `(a[tag] OR b[tag])` of the non-empty `values`.
fn any_of(values: &[String], tag: &str, map: impl Fn(&str) -> String) -> Option<String> {
    let parts: Vec<String> = values
        .iter()
        .map(|v| tag_value(&map(v)))
        .filter(|v| !v.is_empty())
        .map(|v| format!("\"{v}\"[{tag}]"))
        .collect();
    (!parts.is_empty()).then(|| format!("({})", parts.join(" OR ")))
}

/// The entrez term: the user's words (each a term; quoted phrases kept), the publication types
/// as `[pt]` alternatives (`journal_article` as `"journal article"[pt]`), authors as `[au]`,
/// venues as `[journal]`, open access as `free full text[sb]`.
pub(crate) fn term(request: &SourceRequest) -> String {
    let mut term = query_words(request.query.as_str(), &['-', '.', '\'', '*']);
    let clauses = [
        any_of(&request.publication_types, "pt", |t| t.replace('_', " ")),
        any_of(&request.authors, "au", str::to_owned),
        any_of(&request.venues, "journal", str::to_owned),
        request
            .open_access_only
            .then(|| "free full text[sb]".to_owned()),
    ];
    for clause in clauses.into_iter().flatten() {
        term = format!("({term}) AND {clause}");
    }
    term
}

/// The filters an ESearch term carries (the citation order is not one PubMed has); when ESearch
/// dropped terms it could not match, the field filters are not vouched for (they are applied
/// after the merge).
fn applied(request: &SourceRequest, ignored: bool) -> Vec<Filter> {
    let mut supported = vec![Filter::Dates, Filter::OpenAccess];
    if !ignored {
        supported.extend([Filter::PublicationTypes, Filter::Authors, Filter::Venues]);
    }
    if request.sort == SortOrder::Date {
        supported.push(Filter::Sort);
    }
    request.applied(&supported)
}

/// PMIDs of an ESearch answer, in order, the total count, and whether ESearch dropped terms it
/// could not match. `ERROR` inside a 200 is an upstream error.
pub(crate) fn parse_esearch(
    value: &Value,
) -> Result<(Vec<String>, Option<u64>, bool), SourceError> {
    let result = value
        .get("esearchresult")
        .ok_or_else(|| SourceError::InvalidResponse("ESearch: no esearchresult".into()))?;
    if let Some(error) = result.get("ERROR").and_then(Value::as_str) {
        return Err(SourceError::Upstream {
            status: 200,
            message: error.chars().take(200).collect(),
        });
    }
    let ids = result
        .get("idlist")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // terms ESearch could not match are dropped from the search, not failed: a field filter
    // among them was not applied
    let ignored = ["warninglist", "errorlist"].iter().any(|list| {
        result.get(list).is_some_and(|l| {
            [
                "quotedphrasesnotfound",
                "phrasesignored",
                "phrasesnotfound",
                "fieldsnotfound",
            ]
            .iter()
            .any(|k| {
                l.get(k)
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            })
        })
    });
    let count = result
        .get("count")
        .and_then(Value::as_str)
        .and_then(|c| c.parse().ok());
    Ok((ids, count, ignored))
}

/// `sortpubdate` (`YYYY/MM/DD HH:MM`) or, failing that, the year of `pubdate`.
fn pubdate(doc: &Value) -> Option<time::Date> {
    let sortable = doc.get("sortpubdate").and_then(Value::as_str).unwrap_or("");
    let parse = |y: &str, m: &str, d: &str| {
        let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
        time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
    };
    if let (Some(y), Some(m), Some(d)) =
        (sortable.get(..4), sortable.get(5..7), sortable.get(8..10))
        && let Some(date) = parse(y, m, d)
    {
        return Some(date);
    }
    let year = doc.get("pubdate").and_then(Value::as_str)?.get(..4)?;
    parse(year, "1", "1")
}

/// Records of an ESummary answer, in the order of `result.uids`; per-uid errors are skipped.
pub(crate) fn parse_esummary(value: &Value) -> Result<Vec<SourceRecord>, SourceError> {
    let result = value
        .get("result")
        .ok_or_else(|| SourceError::InvalidResponse("ESummary: no result".into()))?;
    let uids = result
        .get("uids")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut records = Vec::new();
    for uid in uids.iter().filter_map(Value::as_str) {
        let Some(doc) = result.get(uid) else { continue };
        if doc.get("error").is_some() {
            continue;
        }
        let text = |k: &str| collapse(doc.get(k).and_then(Value::as_str).unwrap_or(""));
        let article_id = |kind: &str| {
            doc.get("articleids")
                .and_then(Value::as_array)
                .and_then(|ids| {
                    ids.iter()
                        .find(|i| i.get("idtype").and_then(Value::as_str) == Some(kind))
                })
                .and_then(|i| i.get("value").and_then(Value::as_str))
        };
        let doi = article_id("doi")
            .and_then(normalise_doi)
            .or_else(|| normalise_doi(&text("elocationid")));
        let pmcid = article_id("pmc")
            .map(str::trim)
            .filter(|p| p.starts_with("PMC") && p[3..].bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned);
        let types: Vec<&str> = doc
            .get("pubtype")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // the most telling type: a review or trial over the generic "Journal Article"
        let kind = types
            .iter()
            .find(|t| !t.eq_ignore_ascii_case("journal article"))
            .or_else(|| types.first())
            .map(|t| publication_type(t));
        let venue = Some(text("fulljournalname"))
            .filter(|v| !v.is_empty())
            .or_else(|| Some(text("source")).filter(|v| !v.is_empty()));
        let authors = doc
            .get("authors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.get("name").and_then(Value::as_str))
                    .map(collapse)
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        records.push(SourceRecord {
            title: text("title"),
            authors,
            published: pubdate(doc),
            doi,
            arxiv_id: None,
            pmid: Some(uid.to_owned()),
            url: format!("https://pubmed.ncbi.nlm.nih.gov/{uid}/"),
            pdf_url: None,
            abstract_text: None,
            snippet: None,
            rank: u32::try_from(records.len()).unwrap_or(u32::MAX),
            venue,
            publication_type: kind,
            retracted: types
                .iter()
                .any(|t| t.eq_ignore_ascii_case("retracted publication")),
            // a PMC copy is free to read
            open_access: pmcid.as_ref().map(|p| OpenAccess {
                is_oa: true,
                url: Some(format!("https://pmc.ncbi.nlm.nih.gov/articles/{p}/")),
                license: None,
            }),
            pmcid,
            ..SourceRecord::default()
        });
    }
    Ok(records)
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    // inline markup (`<i>`, `<sub>`, MathML) contributes its text; a superscript keeps its sense
    let text: String = node
        .descendants()
        .filter(roxmltree::Node::is_text)
        .filter_map(|d| {
            let t = d.text()?;
            let sup = d.parent().is_some_and(|p| p.has_tag_name("sup"));
            Some(if sup { format!("^{t}") } else { t.to_owned() })
        })
        .collect();
    collapse(&text)
}

/// What EFetch adds to a record: its PMID, abstract and DOI.
pub(crate) type Fetched = (String, Option<String>, Option<String>);

/// Abstracts (and article DOIs) by PMID from an EFetch `PubmedArticleSet`. Labelled sections are
/// joined as `Label: text`; the DOI comes from `Article/ELocationID` or the article's own
/// `PubmedData/ArticleIdList`, never from the reference list.
pub(crate) fn parse_efetch(xml: &str) -> Result<Vec<Fetched>, SourceError> {
    // EFetch answers carry a DOCTYPE; roxmltree never loads external entities and bounds
    // internal ones, so allowing the declaration is safe.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, options)
        .map_err(|e| SourceError::InvalidResponse(format!("EFetch XML: {e}")))?;
    let mut out = Vec::new();
    for article in doc
        .root_element()
        .children()
        .filter(|c| c.has_tag_name("PubmedArticle"))
    {
        let Some(citation) = child(article, "MedlineCitation") else {
            continue;
        };
        let Some(pmid) = child(citation, "PMID").map(text_of) else {
            continue;
        };
        let art = child(citation, "Article");
        let abstract_text = art.and_then(|a| child(a, "Abstract")).map(|abs| {
            abs.children()
                .filter(|c| c.has_tag_name("AbstractText"))
                .map(|t| match t.attribute("Label") {
                    Some(label) => format!("{label}: {}", text_of(t)),
                    None => text_of(t),
                })
                .collect::<Vec<_>>()
                .join(" ")
        });
        let eloc = art.and_then(|a| {
            a.children()
                .filter(|c| c.has_tag_name("ELocationID"))
                .find(|c| c.attribute("EIdType") == Some("doi"))
                .and_then(|c| normalise_doi(&text_of(c)))
        });
        let own = child(article, "PubmedData")
            .and_then(|d| child(d, "ArticleIdList"))
            .and_then(|l| {
                l.children()
                    .filter(|c| c.has_tag_name("ArticleId"))
                    .find(|c| c.attribute("IdType") == Some("doi"))
                    .and_then(|c| normalise_doi(&text_of(c)))
            });
        out.push((pmid, abstract_text.filter(|a| !a.is_empty()), eloc.or(own)));
    }
    Ok(out)
}

#[async_trait]
impl SearchSource for Pubmed {
    fn id(&self) -> SourceId {
        SourceId::Pubmed
    }

    fn availability(&self) -> SourceAvailability {
        SourceAvailability::Available
    }

    async fn search(
        &self,
        request: &SourceRequest,
        gate: &dyn UpstreamGate,
    ) -> Result<SourcePage, SourceError> {
        let term = term(request);
        if term.trim().is_empty() {
            return Ok(SourcePage::last(Vec::new()));
        }
        let start = paging::offset(request);
        let mut params = vec![
            ("db", "pubmed".to_owned()),
            ("term", term),
            ("retmode", "json".to_owned()),
            ("retstart", start.to_string()),
            ("retmax", request.max_results.to_string()),
            (
                "sort",
                if request.sort == SortOrder::Date {
                    "pub_date"
                } else {
                    "relevance"
                }
                .to_owned(),
            ),
        ];
        if request.date_from.is_some() || request.date_to.is_some() {
            let day = |d: Option<time::Date>, default: &str| {
                d.map_or_else(
                    || default.to_owned(),
                    |d| format!("{:04}/{:02}/{:02}", d.year(), u8::from(d.month()), d.day()),
                )
            };
            params.push(("datetype", "pdat".to_owned()));
            params.push(("mindate", day(request.date_from, "1800/01/01")));
            params.push(("maxdate", day(request.date_to, "2099/12/31")));
        }
        let (ids, total, ignored) =
            parse_esearch(&json(&self.get("esearch.fcgi", &params, gate).await?)?)?;
        if ids.is_empty() {
            return Ok(SourcePage {
                applied: applied(request, ignored),
                ..SourcePage::default()
            });
        }
        let next = paging::next_offset(start, request.max_results, ids.len(), total, MAX_DEPTH);
        let id_list = ids.join(",");
        let summary_params = [
            ("db", "pubmed".to_owned()),
            ("id", id_list.clone()),
            ("retmode", "json".to_owned()),
        ];
        let mut records = parse_esummary(&json(
            &self.get("esummary.fcgi", &summary_params, gate).await?,
        )?)?;
        if request.abstracts && !records.is_empty() {
            let fetch_params = [
                ("db", "pubmed".to_owned()),
                ("id", id_list),
                ("retmode", "xml".to_owned()),
            ];
            let body = self.get("efetch.fcgi", &fetch_params, gate).await?;
            for (pmid, abstract_text, doi) in parse_efetch(&String::from_utf8_lossy(&body.bytes))? {
                if let Some(r) = records
                    .iter_mut()
                    .find(|r| r.pmid.as_deref() == Some(&pmid))
                {
                    r.abstract_text = abstract_text;
                    if r.doi.is_none() {
                        r.doi = doi;
                    }
                }
            }
        }
        Ok(SourcePage {
            records,
            next,
            applied: applied(request, ignored),
        })
    }
}

#[cfg(test)]
mod esearch_tests {
    use super::*;

    #[test]
    fn dropped_terms_unvouch_the_field_filters() {
        let answer = serde_json::json!({"esearchresult": {"count": "2", "idlist": ["1", "2"],
            "warninglist": {"phrasesignored": [], "quotedphrasesnotfound": ["\"nobody\"[au]"], "outputmessages": []}}});
        assert!(parse_esearch(&answer).unwrap().2);
        let clean = serde_json::json!({"esearchresult": {"count": "2", "idlist": ["1", "2"]}});
        assert_eq!(
            parse_esearch(&clean).unwrap(),
            (vec!["1".into(), "2".into()], Some(2), false)
        );
        let mut r = SourceRequest::new(
            pake_domain::TenantId::new(),
            pake_domain::search::QueryText::parse("x").unwrap(),
            5,
        );
        r.authors = vec!["Nobody".into()];
        r.open_access_only = true;
        assert_eq!(applied(&r, true), vec![Filter::OpenAccess]);
        assert_eq!(
            applied(&r, false),
            vec![Filter::Authors, Filter::OpenAccess]
        );
    }
}
