//! Semantic Scholar: paper search with `fields=`, offset paging to the last page (no `next`),
//! zero results (no `data` key), filters, the optional key, and each error shape.

use pake_ports::{Filter, OpenGate, SearchSource, SourceAvailability, SourceError};
use pake_sources::SemanticScholar;
use serde_json::json;
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{config, request};

#[tokio::test]
async fn semantic_scholar_reads_papers_and_pages_by_offset() {
    let server = MockServer::start().await;
    Mock::given(path("/graph/v1/paper/search"))
        .and(query_param("query", "tidal lattices"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "2"))
        .and(query_param("fields", "paperId,externalIds,url,title,abstract,venue,publicationVenue,year,publicationDate,authors,citationCount,isOpenAccess,openAccessPdf,publicationTypes,journal"))
        .and(header("x-api-key", "s2-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 3, "offset": 0, "next": 2, "data": [
            {"paperId": "aa11bb22cc33dd44ee55ff6677889900aabbccdd", "externalIds": {"ArXiv": "2401.00017", "DOI": "10.5555/Journal.2025.7", "CorpusId": 1},
             "url": "https://www.semanticscholar.org/paper/aa11", "title": "Tidal lattices", "abstract": null,
             "venue": "Journal of Rotating Fluids", "publicationVenue": null, "year": 2025, "publicationDate": "2025-06-01",
             "authors": [{"authorId": "1", "name": "Ines Vallbona"}], "citationCount": 45, "isOpenAccess": true,
             "openAccessPdf": {"url": "https://arxiv.org/pdf/2401.00017", "status": "GREEN"},
             "publicationTypes": ["JournalArticle", "Review"], "journal": {"name": "J Rot Fluids"}},
            {"paperId": "0000000000000000000000000000000000000002", "externalIds": {"PubMed": "40000009", "PubMedCentral": "9000009", "CorpusId": 2},
             "title": "Second", "abstract": "Text.", "venue": "", "year": 2023, "publicationDate": null,
             "authors": [], "citationCount": 0, "isOpenAccess": false, "openAccessPdf": null, "publicationTypes": null}
        ]})))
        .mount(&server)
        .await;
    Mock::given(path("/graph/v1/paper/search"))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 3, "offset": 2, "data": [
            {"paperId": "0000000000000000000000000000000000000003", "title": "Third", "externalIds": {}, "authors": []}]})))
        .mount(&server)
        .await;
    let source = SemanticScholar::new(config(&server, Some("s2-key")));
    assert_eq!(source.availability(), SourceAvailability::Available);
    let first = source
        .search(&request("tidal lattices", 2), &OpenGate)
        .await
        .unwrap();
    assert_eq!(first.next.as_deref(), Some("2"));
    let r = &first.records[0];
    assert_eq!(
        r.s2_id.as_deref(),
        Some("aa11bb22cc33dd44ee55ff6677889900aabbccdd")
    );
    assert_eq!(r.doi.as_deref(), Some("10.5555/journal.2025.7"));
    assert_eq!(r.arxiv_id.as_deref(), Some("2401.00017"));
    assert!(!r.preprint, "a journal DOI: the version of record");
    assert_eq!(r.publication_type.as_deref(), Some("review"));
    assert_eq!(r.citation_count, Some(45));
    assert_eq!(r.abstract_text, None, "null stays absent");
    assert_eq!(
        r.open_access.as_ref().and_then(|o| o.url.as_deref()),
        Some("https://arxiv.org/pdf/2401.00017")
    );
    let second = &first.records[1];
    assert_eq!(second.pmid.as_deref(), Some("40000009"));
    assert_eq!(second.pmcid.as_deref(), Some("PMC9000009"));
    assert_eq!(second.venue, None, "an empty venue is none");
    assert_eq!(
        second.published,
        Some(time::macros::date!(2023 - 01 - 01)),
        "the year when no date"
    );
    let mut req = request("tidal lattices", 2);
    req.page = first.next.clone();
    let last = source.search(&req, &OpenGate).await.unwrap();
    assert_eq!(last.records.len(), 1);
    assert_eq!(last.next, None, "no next: the last page");
}

#[tokio::test]
async fn semantic_scholar_filters_zero_results_and_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/graph/v1/paper/search"))
        .and(query_param(
            "publicationDateOrYear",
            "1936-01-01:1937-12-31",
        ))
        .and(query_param(
            "venue",
            "Proceedings of the London Mathematical Society",
        ))
        .and(query_param("openAccessPdf", ""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 0, "offset": 0})))
        .mount(&server)
        .await;
    let mut req = request("computable numbers", 5);
    req.date_from = Some(time::macros::date!(1936 - 01 - 01));
    req.date_to = Some(time::macros::date!(1937 - 12 - 31));
    req.venues = vec!["Proceedings of the London Mathematical Society".into()];
    req.open_access_only = true;
    req.authors = vec!["Turing".into()];
    let source = SemanticScholar::new(config(&server, None));
    let zero = source.search(&req, &OpenGate).await.unwrap();
    assert!(
        zero.records.is_empty() && zero.next.is_none(),
        "no data key: zero results"
    );
    assert_eq!(
        zero.applied,
        vec![Filter::Dates, Filter::Venues, Filter::OpenAccess]
    );
    let keyless = &server.received_requests().await.unwrap()[0];
    assert!(
        keyless.headers.get("x-api-key").is_none(),
        "no key, no header"
    );

    for (q, template) in [
        ("fields", ResponseTemplate::new(400).set_body_json(json!({"error": "Unrecognized or unsupported fields: [unknown]"}))),
        ("forbidden", ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"}))),
        ("busy", ResponseTemplate::new(429).set_body_json(json!({"message": "Too Many Requests. Please wait and try again or apply for a key for higher rate limits.", "code": "429"}))),
        ("gateway", ResponseTemplate::new(504).set_body_json(json!({"message": "Endpoint request timed out"}))),
        ("document", ResponseTemplate::new(200).set_body_json(json!({"error": "Internal error"}))),
    ] {
        Mock::given(path("/graph/v1/paper/search"))
            .and(query_param("query", q))
            .respond_with(template)
            .mount(&server)
            .await;
    }
    let err = |q: &'static str| {
        let source = &source;
        async move { source.search(&request(q, 5), &OpenGate).await.unwrap_err() }
    };
    match err("fields").await {
        SourceError::Upstream {
            status: 400,
            message,
        } => assert!(message.starts_with("Unrecognized"), "{message}"),
        other => panic!("{other:?}"),
    }
    match err("forbidden").await {
        SourceError::Upstream {
            status: 403,
            message,
        } => assert_eq!(message, "Forbidden"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        err("busy").await,
        SourceError::RateLimited { retry_after: None }
    ));
    assert!(err("gateway").await.is_retryable());
    assert!(matches!(
        err("document").await,
        SourceError::Upstream { status: 200, .. }
    ));
}
