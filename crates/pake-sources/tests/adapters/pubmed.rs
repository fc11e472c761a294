//! PubMed (E-utilities): search, summaries and abstracts; errors and empty answers.

use std::sync::atomic::Ordering;

use pake_ports::{OpenGate, SearchSource, SourceError};
use pake_sources::Pubmed;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{CountingGate, UA, config, fixture, request};

#[tokio::test]
async fn pubmed_searches_summarises_and_fetches_abstracts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/esearch.fcgi"))
        .and(query_param("db", "pubmed"))
        .and(query_param("term", "tidal lattice"))
        .and(query_param("retmax", "3"))
        .and(query_param("retmode", "json"))
        .and(query_param("tool", "pake"))
        .and(query_param("email", "ops@example.invalid"))
        .and(query_param("api_key", "ncbi-key"))
        .and(header("user-agent", UA))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("esearch.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/esummary.fcgi"))
        .and(query_param("id", "39000011,39000022,39000033"))
        .and(query_param("api_key", "ncbi-key"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("esummary.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/efetch.fcgi"))
        .and(query_param("retmode", "xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("efetch.xml"), "text/xml"))
        .expect(1)
        .mount(&server)
        .await;
    let pubmed = Pubmed::new(
        config(&server, Some("ncbi-key")),
        "pake",
        "ops@example.invalid",
    );
    let gate = CountingGate::default();
    let records = pubmed
        .search(&request("tidal lattice", 3), &gate)
        .await
        .unwrap()
        .records;
    assert_eq!(
        gate.0.load(Ordering::SeqCst),
        3,
        "one turn per E-utilities request"
    );
    assert_eq!(records.len(), 2, "the uid with an error is skipped");
    let a = &records[0];
    assert_eq!(a.pmid.as_deref(), Some("39000011"));
    assert_eq!(a.title, "Tidal lattices in rotating superfluids.");
    assert_eq!(a.authors, vec!["Vallbona I", "Kreft T"]);
    assert_eq!(a.doi.as_deref(), Some("10.5555/pake.tidal.2024"));
    assert_eq!(a.published, Some(time::macros::date!(2024 - 01 - 02)));
    assert_eq!(a.url, "https://pubmed.ncbi.nlm.nih.gov/39000011/");
    assert_eq!(
        a.abstract_text.as_deref(),
        Some(
            "BACKGROUND: Lattices form in rotating superfluids. RESULTS: The lattice melts above a critical rate of 10^3 Hz."
        )
    );
    let b = &records[1];
    assert_eq!(b.authors, vec!["PAKE Consortium"]);
    assert_eq!(
        b.doi.as_deref(),
        Some("10.5555/pake.review.2023"),
        "the article's own id list, not its references"
    );
    assert_eq!(b.published, Some(time::macros::date!(2023 - 06 - 01)));
}

#[tokio::test]
async fn pubmed_errors_and_empty_answers() {
    let server = MockServer::start().await;
    for (term, response) in [
        (
            "nothing",
            ResponseTemplate::new(200).set_body_raw(
                r#"{"header":{"type":"esearch","version":"0.3"},"esearchresult":{"count":"0","retmax":"0","retstart":"0","idlist":[],"translationset":[],"warninglist":{"phrasesignored":[],"quotedphrasesnotfound":[],"outputmessages":["No items found."]}}}"#,
                "application/json",
            ),
        ),
        (
            "broken",
            ResponseTemplate::new(200).set_body_raw(
                r#"{"header":{"type":"esearch","version":"0.3"},"esearchresult":{"ERROR":"Search Backend failed: try again"}}"#,
                "application/json",
            ),
        ),
        (
            "throttled",
            ResponseTemplate::new(429).set_body_raw(
                r#"{"error":"API rate limit exceeded","api-key":"10.0.0.1","count":"4","limit":"3"}"#,
                "application/json",
            ),
        ),
        (
            "proxy",
            ResponseTemplate::new(502).set_body_raw("<html><body>502 Proxy Error</body></html>", "text/html"),
        ),
    ] {
        Mock::given(path("/esearch.fcgi"))
            .and(query_param("term", term))
            .respond_with(response)
            .mount(&server)
            .await;
    }
    let pubmed = Pubmed::new(config(&server, None), "pake", "ops@example.invalid");
    let gate = CountingGate::default();
    let none = pubmed
        .search(&request("nothing", 5), &gate)
        .await
        .unwrap()
        .records;
    assert!(none.is_empty());
    assert_eq!(gate.0.load(Ordering::SeqCst), 1, "no ESummary for no ids");
    let broken = pubmed
        .search(&request("broken", 5), &OpenGate)
        .await
        .unwrap_err();
    assert!(
        matches!(broken, SourceError::Upstream { status: 200, .. }),
        "{broken:?}"
    );
    let throttled = pubmed
        .search(&request("throttled", 5), &OpenGate)
        .await
        .unwrap_err();
    assert!(matches!(throttled, SourceError::RateLimited { .. }));
    assert!(throttled.is_retryable());
    assert!(throttled.is_upstream_failure());
    assert!(
        !broken.is_upstream_failure(),
        "an error document answers the query"
    );
    let proxy = pubmed
        .search(&request("proxy", 5), &OpenGate)
        .await
        .unwrap_err();
    assert!(matches!(proxy, SourceError::Upstream { status: 502, .. }));
    assert!(proxy.is_retryable());
    assert!(proxy.is_upstream_failure());
    // without a key, no api_key parameter is sent
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| !r.url.query().unwrap_or("").contains("api_key"))
    );
}
