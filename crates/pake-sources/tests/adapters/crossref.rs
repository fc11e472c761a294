//! Crossref: a `work-list` with every field the merge reads (JATS abstracts, partial dates,
//! preprint relations, retractions), offset paging, `mailto`, filters, zero results, and each
//! error shape (a JSON validation failure, a plain-text 404, an HTML 429).

use std::time::{Duration, Instant};

use pake_ports::{Filter, OpenGate, SearchSource, SortOrder, SourceError};
use pake_sources::Crossref;
use serde_json::json;
use wiremock::matchers::{path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{config, request};

fn list(total: u64, items: serde_json::Value) -> serde_json::Value {
    let mut body = json!({"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
        "message": {"facets": {}, "total-results": total, "items-per-page": 2,
            "query": {"start-index": 0, "search-terms": null}}});
    body["message"]["items"] = items;
    body
}

fn items() -> serde_json::Value {
    json!([
        {"DOI": "10.5555/JOURNAL.2025.7", "URL": "https://doi.org/10.5555/journal.2025.7",
         "type": "journal-article", "title": ["Tidal lattices"], "subtitle": ["a review"],
         "container-title": ["Journal of Rotating Fluids"],
         "author": [{"given": "Ines", "family": "Vallbona", "sequence": "first", "affiliation": []},
                    {"family": "Okafor", "sequence": "additional", "affiliation": []}],
         "published": {"date-parts": [[2025, 6]]},
         "abstract": "<jats:title>Abstract</jats:title><jats:p>Vortex lattices &amp; tides.</jats:p>",
         "is-referenced-by-count": 42,
         "license": [{"URL": "http://creativecommons.org/licenses/by/4.0/", "content-version": "vor", "delay-in-days": 0}],
         "link": [{"URL": "https://example.org/tidal.pdf", "content-type": "application/pdf", "content-version": "vor", "intended-application": "text-mining"}],
         "relation": {"has-preprint": [{"id-type": "doi", "id": "10.1101/2024.01.01.500001", "asserted-by": "object"}]},
         "score": 31.2},
        {"DOI": "10.5555/retracted.1", "URL": "https://doi.org/10.5555/retracted.1",
         "type": "journal-article", "title": ["A retracted paper"], "issued": {"date-parts": [[2019]]},
         "updated-by": [{"DOI": "10.5555/notice.1", "type": "retraction", "label": "Retraction", "updated": {"date-parts": [[2020, 1, 2]]}}],
         "is-referenced-by-count": 3}
    ])
}

#[tokio::test]
async fn crossref_reads_works_and_pages_by_offset_with_mailto() {
    let server = MockServer::start().await;
    Mock::given(path("/works"))
        .and(query_param("query.bibliographic", "tidal lattices"))
        .and(query_param("rows", "2"))
        .and(query_param("offset", "0"))
        .and(query_param("mailto", "ops@example.invalid"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(3, items())))
        .mount(&server)
        .await;
    Mock::given(path("/works"))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(3, json!([
            {"DOI": "10.1101/2024.01.01.500001", "type": "posted-content", "subtype": "preprint",
             "title": ["Tidal lattices (preprint)"], "institution": [{"name": "bioRxiv"}],
             "posted": {"date-parts": [[2024, 1, 1]]}, "created": {"date-parts": [[2024, 1, 2]]},
             "relation": {"is-preprint-of": [{"id-type": "doi", "id": "10.5555/journal.2025.7", "asserted-by": "subject"}]}},
            {"DOI": "10.5555/notice.1", "type": "journal-article", "title": ["Retraction: A retracted paper"],
             "update-to": [{"DOI": "10.5555/RETRACTED.1", "type": "retraction", "label": "Retraction", "updated": {"date-parts": [[2020, 1, 2]]}}],
             "published": {"date-parts": [[2020, 1, 2]]}}
        ]))))
        .mount(&server)
        .await;
    let source = Crossref::new(config(&server, None), "ops@example.invalid");
    let first = source
        .search(&request("tidal lattices", 2), &OpenGate)
        .await
        .unwrap();
    assert_eq!(first.next.as_deref(), Some("2"));
    let r = &first.records[0];
    assert_eq!(r.title, "Tidal lattices: a review");
    assert_eq!(r.doi.as_deref(), Some("10.5555/journal.2025.7"));
    assert_eq!(r.authors, vec!["Ines Vallbona", "Okafor"]);
    assert_eq!(
        r.published,
        Some(time::macros::date!(2025 - 06 - 01)),
        "a partial date"
    );
    assert_eq!(r.abstract_text.as_deref(), Some("Vortex lattices & tides."));
    assert_eq!(r.venue.as_deref(), Some("Journal of Rotating Fluids"));
    assert_eq!(r.publication_type.as_deref(), Some("journal_article"));
    assert_eq!(r.citation_count, Some(42));
    assert_eq!(r.pdf_url.as_deref(), Some("https://example.org/tidal.pdf"));
    assert_eq!(
        r.open_access.as_ref().and_then(|o| o.license.as_deref()),
        Some("http://creativecommons.org/licenses/by/4.0/")
    );
    assert_eq!(r.other_versions, vec!["10.1101/2024.01.01.500001"]);
    assert!(!r.preprint && !r.retracted);
    let gone = &first.records[1];
    assert!(gone.retracted, "updated-by a retraction");
    assert_eq!(gone.published, Some(time::macros::date!(2019 - 01 - 01)));
    assert_eq!(
        gone.open_access, None,
        "Crossref says nothing of access without a licence"
    );

    let mut req = request("tidal lattices", 2);
    req.page = first.next.clone();
    let last = source.search(&req, &OpenGate).await.unwrap();
    assert_eq!(last.next, None, "the total is reached");
    let p = &last.records[0];
    assert!(p.preprint);
    assert_eq!(p.publication_type.as_deref(), Some("preprint"));
    assert_eq!(p.other_versions, vec!["10.5555/journal.2025.7"]);
    assert_eq!(
        p.published,
        Some(time::macros::date!(2024 - 01 - 02)),
        "created when nothing else"
    );
}

#[tokio::test]
async fn crossref_translates_filters_and_follows_its_rate_headers() {
    let server = MockServer::start().await;
    Mock::given(path("/works"))
        .and(query_param(
            "filter",
            "from-pub-date:2020-01-01,until-pub-date:2024-12-31,type:journal-article",
        ))
        .and(query_param("sort", "published"))
        .and(query_param("order", "desc"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-rate-limit-limit", "4")
                .insert_header("x-rate-limit-interval", "1s")
                .insert_header("x-concurrency-limit", "3")
                .set_body_json(list(0, json!([]))),
        )
        .mount(&server)
        .await;
    let mut req = request("fish", 5);
    req.date_from = Some(time::macros::date!(2020 - 01 - 01));
    req.date_to = Some(time::macros::date!(2024 - 12 - 31));
    req.publication_types = vec!["journal_article".into()];
    req.authors = vec!["Smith".into()];
    req.sort = SortOrder::Date;
    let source = Crossref::new(config(&server, None), "");
    let zero = source.search(&req, &OpenGate).await.unwrap();
    assert!(zero.records.is_empty() && zero.next.is_none());
    assert_eq!(
        zero.applied,
        vec![Filter::Dates, Filter::PublicationTypes, Filter::Sort],
        "authors only rank at Crossref: applied after the merge"
    );
    assert!(
        server.received_requests().await.unwrap()[0]
            .url
            .query_pairs()
            .all(|(k, _)| k != "mailto"),
        "no mailto when none is configured"
    );
    // 4 requests per second asked: the next ones are spaced 250 ms apart
    let started = Instant::now();
    source.search(&req, &OpenGate).await.unwrap();
    source.search(&req, &OpenGate).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn crossref_errors() {
    let server = MockServer::start().await;
    let validation = json!({"status": "failed", "message-type": "validation-failure",
        "message": [{"type": "integer-not-valid", "value": "x", "message": "Integer specified as x but must be a positive integer less than or equal to 1000."}]});
    for (q, template) in [
        (
            "invalid",
            ResponseTemplate::new(400).set_body_json(validation),
        ),
        (
            "missing",
            ResponseTemplate::new(404).set_body_raw("Resource not found.", "text/plain"),
        ),
        (
            "busy",
            ResponseTemplate::new(429).set_body_raw(
                "<html><body><h1>429 Too Many Requests</h1></body></html>",
                "text/html",
            ),
        ),
        ("down", ResponseTemplate::new(504).set_body_string("")),
        (
            "failed",
            ResponseTemplate::new(200).set_body_json(json!({"status": "failed", "message": []})),
        ),
    ] {
        Mock::given(path("/works"))
            .and(query_param("query.bibliographic", q))
            .respond_with(template)
            .mount(&server)
            .await;
    }
    let source = Crossref::new(config(&server, None), "ops@example.invalid");
    let err = |q: &'static str| {
        let source = &source;
        async move { source.search(&request(q, 5), &OpenGate).await.unwrap_err() }
    };
    match err("invalid").await {
        SourceError::Upstream {
            status: 400,
            message,
        } => assert!(message.starts_with("Integer specified"), "{message}"),
        other => panic!("{other:?}"),
    }
    match err("missing").await {
        SourceError::Upstream {
            status: 404,
            message,
        } => assert_eq!(message, "Resource not found."),
        other => panic!("{other:?}"),
    }
    assert!(matches!(err("busy").await, SourceError::RateLimited { .. }));
    assert!(err("down").await.is_retryable());
    assert!(matches!(
        err("failed").await,
        SourceError::Upstream { status: 200, .. }
    ));
}
