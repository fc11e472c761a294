//! Europe PMC: `core` results with every field the merge reads, cursor paging to the end (an
//! absent or echoed `nextCursorMark`), zero hits, and what stands for its errors.

use pake_ports::{Filter, OpenGate, SearchSource, SortOrder, SourceError};
use pake_sources::EuropePmc;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{UA, config, request};

fn page(cursor_echo: &str, next: Option<&str>, results: serde_json::Value) -> serde_json::Value {
    let mut body = json!({
        "version": "6.9",
        "hitCount": 3,
        "request": {"queryString": "malaria", "resultType": "core", "cursorMark": cursor_echo,
                    "pageSize": 2, "sort": "", "synonym": false},
        "resultList": {}
    });
    body["resultList"]["result"] = results;
    if let Some(n) = next {
        body["nextCursorMark"] = json!(n);
    }
    body
}

fn published() -> serde_json::Value {
    json!({
        "id": "40000001", "source": "MED", "pmid": "40000001", "pmcid": "PMC9000001",
        "doi": "10.5555/malaria.2025.1",
        "title": "Malaria vaccine efficacy in <i>children</i>.",
        "authorString": "Okafor CN, Diallo A.",
        "authorList": {"author": [
            {"fullName": "Okafor CN", "firstName": "Chidi N", "lastName": "Okafor", "initials": "CN"},
            {"fullName": "Diallo A", "firstName": "Awa", "lastName": "Diallo", "initials": "A"}]},
        "journalInfo": {"volume": "12", "journal": {"title": "Malaria Journal", "isoabbreviation": "Malar J"}},
        "pubYear": "2025",
        "abstractText": "<h4>Background</h4>Vaccines reduce malaria &amp; deaths.",
        "pubTypeList": {"pubType": ["research-article", "Journal Article"]},
        "fullTextUrlList": {"fullTextUrl": [
            {"availability": "Subscription required", "availabilityCode": "S", "documentStyle": "doi", "site": "DOI", "url": "https://doi.org/10.5555/malaria.2025.1"},
            {"availability": "Open access", "availabilityCode": "OA", "documentStyle": "pdf", "site": "Europe_PMC", "url": "https://europepmc.org/articles/PMC9000001?pdf=render"}]},
        "isOpenAccess": "Y", "inEPMC": "Y", "inPMC": "Y", "hasPDF": "Y",
        "citedByCount": 17, "license": "cc by",
        "firstPublicationDate": "2025-03-04"
    })
}

fn preprint() -> serde_json::Value {
    json!({
        "id": "PPR900001", "source": "PPR", "doi": "10.1101/2024.11.01.000001",
        "title": "Malaria vaccine efficacy in children (preprint)",
        "authorString": "Okafor CN, Diallo A.",
        "bookOrReportDetails": {"publisher": "medRxiv"},
        "pubYear": "2024", "pubTypeList": {"pubType": ["Preprint"]},
        "isOpenAccess": "N", "citedByCount": 0, "firstPublicationDate": "2024-11-01"
    })
}

#[tokio::test]
async fn europepmc_reads_core_records_and_pages_by_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/search"))
        .and(query_param("format", "json"))
        .and(query_param("resultType", "core"))
        .and(query_param("pageSize", "2"))
        .and(query_param("cursorMark", "*"))
        .and(wiremock::matchers::header("user-agent", UA))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            "%2A",
            Some("AoIIQ1=="),
            json!([published(), preprint()]),
        )))
        .mount(&server)
        .await;
    Mock::given(path("/search"))
        .and(query_param("cursorMark", "AoIIQ1=="))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            "AoIIQ1%3D%3D",
            Some("AoIIQ1=="),
            json!([{
            "id": "40000003", "source": "MED", "pmid": "40000003", "title": "Last one",
            "isOpenAccess": "N", "firstPublicationDate": "2023-01-01"}]),
        )))
        .mount(&server)
        .await;
    let source = EuropePmc::new(config(&server, None));
    let first = source
        .search(&request("malaria", 2), &OpenGate)
        .await
        .unwrap();
    assert_eq!(first.records.len(), 2);
    assert_eq!(first.next.as_deref(), Some("AoIIQ1=="));
    let r = &first.records[0];
    assert_eq!(r.pmid.as_deref(), Some("40000001"));
    assert_eq!(r.pmcid.as_deref(), Some("PMC9000001"));
    assert_eq!(r.doi.as_deref(), Some("10.5555/malaria.2025.1"));
    assert_eq!(r.authors, vec!["Okafor CN", "Diallo A"]);
    assert_eq!(r.venue.as_deref(), Some("Malaria Journal"));
    assert_eq!(r.publication_type.as_deref(), Some("research_article"));
    assert_eq!(r.citation_count, Some(17));
    assert_eq!(
        r.abstract_text.as_deref(),
        Some("Background Vaccines reduce malaria & deaths.")
    );
    let oa = r.open_access.as_ref().unwrap();
    assert!(oa.is_oa);
    assert_eq!(oa.license.as_deref(), Some("cc by"));
    assert_eq!(
        r.pdf_url.as_deref(),
        Some("https://europepmc.org/articles/PMC9000001?pdf=render")
    );
    assert_eq!(r.published, Some(time::macros::date!(2025 - 03 - 04)));
    let p = &first.records[1];
    assert!(p.preprint);
    assert_eq!(p.publication_type.as_deref(), Some("preprint"));
    assert_eq!(p.venue.as_deref(), Some("medRxiv"));
    assert_eq!(p.open_access.as_ref().map(|o| o.is_oa), Some(false));
    assert_eq!(p.url, "https://europepmc.org/article/PPR/PPR900001");
    // the last page echoes its cursor: the end
    let mut req = request("malaria", 2);
    req.page = first.next.clone();
    let last = source.search(&req, &OpenGate).await.unwrap();
    assert_eq!(last.records.len(), 1);
    assert_eq!(last.next, None, "an echoed cursor is the end");
}

#[tokio::test]
async fn europepmc_translates_filters_and_sort() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param(
            "query",
            "(malaria) AND FIRST_PDATE:[2020-01-01 TO 2024-12-31] AND (AUTH:\"Okafor\") AND OPEN_ACCESS:y",
        ))
        .and(query_param("sort", "CITED desc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "6.9", "hitCount": 0,
            "request": {"queryString": "x", "resultType": "core", "cursorMark": "%2A", "pageSize": 5, "sort": "CITED desc", "synonym": false},
            "resultList": {"result": []}})))
        .mount(&server)
        .await;
    let mut req = request("malaria", 5);
    req.date_from = Some(time::macros::date!(2020 - 01 - 01));
    req.date_to = Some(time::macros::date!(2024 - 12 - 31));
    req.authors = vec!["Okafor".into()];
    req.open_access_only = true;
    req.sort = SortOrder::Citations;
    let zero = EuropePmc::new(config(&server, None))
        .search(&req, &OpenGate)
        .await
        .unwrap();
    assert!(zero.records.is_empty());
    assert_eq!(zero.next, None, "zero hits: no cursor");
    assert_eq!(
        zero.applied,
        vec![
            Filter::Dates,
            Filter::Authors,
            Filter::OpenAccess,
            Filter::Sort
        ]
    );
}

#[tokio::test]
async fn europepmc_errors() {
    let server = MockServer::start().await;
    for (q, template) in [
        ("busy", ResponseTemplate::new(429)),
        (
            "down",
            ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
        ),
        (
            "html",
            ResponseTemplate::new(200).set_body_raw("<html><body>error</body></html>", "text/html"),
        ),
        (
            "nohits",
            ResponseTemplate::new(200).set_body_json(json!({"version": "6.9"})),
        ),
    ] {
        Mock::given(path("/search"))
            .and(query_param("query", format!("({q})")))
            .respond_with(template)
            .mount(&server)
            .await;
    }
    let source = EuropePmc::new(config(&server, None));
    let err = |q: &'static str| {
        let source = &source;
        async move { source.search(&request(q, 5), &OpenGate).await.unwrap_err() }
    };
    assert!(matches!(err("busy").await, SourceError::RateLimited { .. }));
    let down = err("down").await;
    assert!(matches!(down, SourceError::Upstream { status: 503, .. }) && down.is_retryable());
    assert!(matches!(
        err("html").await,
        SourceError::Upstream { status: 200, .. }
    ));
    assert!(matches!(
        err("nohits").await,
        SourceError::InvalidResponse(_)
    ));
}
