//! OpenAlex: works with abstracts rebuilt from the inverted index, cursor paging to the end,
//! filters, zero results, the key as a bearer token, no key (unavailable), and each error shape.

use pake_ports::{Filter, OpenGate, SearchSource, SourceAvailability, SourceError};
use pake_sources::OpenAlex;
use serde_json::json;
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{config, request};

fn work() -> serde_json::Value {
    json!({
        "id": "https://openalex.org/W5000000001",
        "doi": "https://doi.org/10.5555/JOURNAL.2025.7",
        "ids": {"openalex": "https://openalex.org/W5000000001", "doi": "https://doi.org/10.5555/journal.2025.7",
                "pmid": "https://pubmed.ncbi.nlm.nih.gov/40000001", "pmcid": "https://www.ncbi.nlm.nih.gov/pmc/articles/9000001"},
        "title": "Tidal lattices", "display_name": "Tidal lattices",
        "publication_year": 2025, "publication_date": "2025-06-01", "type": "article",
        "authorships": [{"author_position": "first", "author": {"id": "https://openalex.org/A1", "display_name": "Ines Vallbona", "orcid": null},
                         "institutions": [], "countries": [], "is_corresponding": true, "raw_author_name": "I. Vallbona", "raw_affiliation_strings": []}],
        "primary_location": {"is_oa": true, "landing_page_url": "https://doi.org/10.5555/journal.2025.7", "pdf_url": null,
                             "source": {"id": "https://openalex.org/S1", "display_name": "Journal of Rotating Fluids", "issn_l": "1234-5678", "type": "journal"},
                             "license": "cc-by", "version": "publishedVersion"},
        "best_oa_location": {"is_oa": true, "landing_page_url": "https://repo.example/tidal", "pdf_url": "https://repo.example/tidal.pdf", "license": "cc-by", "version": "acceptedVersion"},
        "open_access": {"is_oa": true, "oa_status": "green", "oa_url": "https://repo.example/tidal.pdf", "any_repository_has_fulltext": true},
        "cited_by_count": 40, "is_retracted": false, "relevance_score": 812.4,
        "abstract_inverted_index": {"tides.": [3], "Vortex": [0], "deform": [2], "lattices": [1]}
    })
}

#[tokio::test]
async fn openalex_reads_works_and_pages_by_cursor() {
    let server = MockServer::start().await;
    Mock::given(path("/works"))
        .and(query_param("search", "tidal lattices"))
        .and(query_param("per_page", "2"))
        .and(query_param("cursor", "*"))
        .and(header("authorization", "Bearer oa-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "meta": {"count": 3, "db_response_time_ms": 20, "page": null, "per_page": 2, "groups_count": null,
                     "next_cursor": "IlsxLjAsICdXMSddIg==", "cost_usd": 0.001},
            "results": [work(), {"id": "https://openalex.org/W5000000002", "doi": null, "title": "Closed work",
                "type": "preprint", "publication_year": 2024, "authorships": [],
                "primary_location": {"source": null, "landing_page_url": null},
                "open_access": {"is_oa": false, "oa_status": "closed", "oa_url": null}, "best_oa_location": null,
                "cited_by_count": 0, "is_retracted": true, "abstract_inverted_index": null}],
            "group_by": []})))
        .mount(&server)
        .await;
    Mock::given(path("/works"))
        .and(query_param("cursor", "IlsxLjAsICdXMSddIg=="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "meta": {"count": 3, "per_page": 2, "page": null, "next_cursor": null}, "results": []})))
        .mount(&server)
        .await;
    let source = OpenAlex::new(config(&server, Some("oa-key")), "");
    assert_eq!(source.availability(), SourceAvailability::Available);
    let first = source
        .search(&request("tidal lattices", 2), &OpenGate)
        .await
        .unwrap();
    assert_eq!(first.next.as_deref(), Some("IlsxLjAsICdXMSddIg=="));
    let r = &first.records[0];
    assert_eq!(r.openalex_id.as_deref(), Some("W5000000001"));
    assert_eq!(r.doi.as_deref(), Some("10.5555/journal.2025.7"));
    assert_eq!(r.pmid.as_deref(), Some("40000001"));
    assert_eq!(r.pmcid.as_deref(), Some("9000001"));
    assert_eq!(
        r.abstract_text.as_deref(),
        Some("Vortex lattices deform tides.")
    );
    assert_eq!(r.venue.as_deref(), Some("Journal of Rotating Fluids"));
    assert_eq!(r.publication_type.as_deref(), Some("journal_article"));
    assert_eq!(r.citation_count, Some(40));
    assert_eq!(r.pdf_url.as_deref(), Some("https://repo.example/tidal.pdf"));
    let oa = r.open_access.as_ref().unwrap();
    assert!(oa.is_oa);
    assert_eq!(oa.url.as_deref(), Some("https://repo.example/tidal.pdf"));
    assert_eq!(oa.license.as_deref(), Some("cc-by"));
    let closed = &first.records[1];
    assert!(closed.preprint && closed.retracted);
    assert_eq!(closed.open_access.as_ref().map(|o| o.is_oa), Some(false));
    assert_eq!(closed.url, "https://openalex.org/W5000000002");
    assert_eq!(closed.published, Some(time::macros::date!(2024 - 01 - 01)));
    let mut req = request("tidal lattices", 2);
    req.page = first.next.clone();
    let end = source.search(&req, &OpenGate).await.unwrap();
    assert!(
        end.records.is_empty() && end.next.is_none(),
        "null cursor, empty results: the end"
    );
}

#[tokio::test]
async fn openalex_filters_no_key_and_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/works"))
        .and(query_param(
            "filter",
            "from_publication_date:2020-01-01,type:review|preprint,is_oa:true",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"meta": {"count": 0, "per_page": 5, "next_cursor": null}, "results": []}),
        ))
        .mount(&server)
        .await;
    let mut req = request("fish", 5);
    req.date_from = Some(time::macros::date!(2020 - 01 - 01));
    req.publication_types = vec!["review".into(), "preprint".into()];
    req.open_access_only = true;
    req.venues = vec!["Nature".into()];
    let source = OpenAlex::new(config(&server, Some("oa-key")), "ops@example.invalid");
    let zero = source.search(&req, &OpenGate).await.unwrap();
    assert!(zero.records.is_empty());
    assert_eq!(
        zero.applied,
        vec![Filter::Dates, Filter::PublicationTypes, Filter::OpenAccess]
    );

    let keyless = OpenAlex::new(config(&server, None), "");
    assert_eq!(keyless.availability(), SourceAvailability::NotConfigured);
    assert!(matches!(
        keyless.search(&request("x", 1), &OpenGate).await,
        Err(SourceError::Unavailable)
    ));

    for (q, template) in [
        ("invalid", ResponseTemplate::new(400).set_body_json(json!({"error": "Invalid query parameters error.", "message": "foo is not a valid field."}))),
        ("unauthorised", ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid or missing API key", "message": "Check your key"}))),
        ("budget", ResponseTemplate::new(429).insert_header("retry-after", "30").set_body_json(json!({"error": "Rate limit exceeded", "message": "Insufficient budget.", "retryAfter": 30}))),
        ("loaded", ResponseTemplate::new(503).insert_header("retry-after", "5").set_body_json(json!({"error": "Search temporarily unavailable"}))),
        ("unknown", ResponseTemplate::new(404).set_body_raw("<html><title>404 Not Found</title></html>", "text/html")),
    ] {
        Mock::given(path("/works"))
            .and(query_param("search", q))
            .respond_with(template)
            .mount(&server)
            .await;
    }
    let err = |q: &'static str| {
        let source = &source;
        async move { source.search(&request(q, 5), &OpenGate).await.unwrap_err() }
    };
    match err("invalid").await {
        SourceError::Upstream {
            status: 400,
            message,
        } => assert_eq!(message, "foo is not a valid field."),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        err("unauthorised").await,
        SourceError::Upstream { status: 401, .. }
    ));
    match err("budget").await {
        SourceError::RateLimited { retry_after } => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(30)));
        }
        other => panic!("{other:?}"),
    }
    assert!(err("loaded").await.is_retryable());
    assert!(matches!(
        err("unknown").await,
        SourceError::Upstream { status: 404, .. }
    ));
}
