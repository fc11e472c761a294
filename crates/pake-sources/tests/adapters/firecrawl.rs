//! Firecrawl: the v1 and v2 answer shapes, errors and a missing key.

use std::time::Duration;

use pake_ports::{OpenGate, SearchSource, SourceAvailability, SourceError};
use pake_sources::Firecrawl;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{UA, config, request};

#[tokio::test]
async fn firecrawl_reads_v1_and_v2_shapes() {
    let server = MockServer::start().await;
    let v1 = r#"{"success":true,"data":[{"url":"https://example.org/tidal","title":"Tidal lattices explained","description":"A friendly  introduction."},{"url":"https://doi.org/10.5555/PAKE.TIDAL.2024","title":"","description":"The paper","metadata":{"title":"Tidal Lattices (paper)"}}]}"#;
    let v2 = r#"{"success":true,"data":{"web":[{"url":"https://example.org/a","title":"A","description":"first","position":1}],"news":[{"title":"N","url":"https://news.example/n","snippet":"s","date":"3 months ago","position":1}]},"creditsUsed":1}"#;
    let v2_array = r#"{"success":true,"data":[{"url":"https://example.org/b","title":"B","description":"second"}],"creditsUsed":1}"#;
    for (query, body) in [("one", v1), ("two", v2), ("three", v2_array)] {
        Mock::given(method("POST"))
            .and(path("/v2/search"))
            .and(header("authorization", "Bearer fc-test"))
            .and(header("user-agent", UA))
            .and(body_json(serde_json::json!({"query": query, "limit": 4})))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
    }
    let web = Firecrawl::new(config(&server, Some("fc-test")));
    assert_eq!(web.availability(), SourceAvailability::Available);
    let one = web
        .search(&request("one", 4), &OpenGate)
        .await
        .unwrap()
        .records;
    assert_eq!(one.len(), 2);
    assert_eq!(one[0].snippet.as_deref(), Some("A friendly introduction."));
    assert_eq!(one[1].title, "Tidal Lattices (paper)");
    assert_eq!(
        one[1].doi.as_deref(),
        Some("10.5555/pake.tidal.2024"),
        "from a doi.org URL"
    );
    let two = web
        .search(&request("two", 4), &OpenGate)
        .await
        .unwrap()
        .records;
    assert_eq!(two.len(), 1, "web results only");
    assert_eq!(two[0].url, "https://example.org/a");
    let three = web
        .search(&request("three", 4), &OpenGate)
        .await
        .unwrap()
        .records;
    assert_eq!(three[0].title, "B");
}

#[tokio::test]
async fn firecrawl_errors_and_missing_key() {
    let server = MockServer::start().await;
    for (query, status, body) in [
        (
            "denied",
            401,
            r#"{"success":false,"error":"Unauthorized: Invalid token"}"#,
        ),
        (
            "broke",
            402,
            r#"{"success":false,"error":"Insufficient credits"}"#,
        ),
        (
            "busy",
            429,
            r#"{"success":false,"error":"Rate limit exceeded. Consumed (req/min): 11, Remaining (req/min): 0. Resets in 17s"}"#,
        ),
        ("down", 502, r#"{"success":false,"error":"Bad gateway"}"#),
    ] {
        let mut response = ResponseTemplate::new(status).set_body_raw(body, "application/json");
        if status == 429 {
            response = response.insert_header("retry-after", "17");
        }
        Mock::given(path("/v2/search"))
            .and(body_json(serde_json::json!({"query": query, "limit": 3})))
            .respond_with(response)
            .mount(&server)
            .await;
    }
    let web = Firecrawl::new(config(&server, Some("fc-test")));
    let e = web
        .search(&request("denied", 3), &OpenGate)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SourceError::Upstream { status: 401, message } if message.contains("Invalid token"))
    );
    assert!(!e.is_retryable());
    let e = web
        .search(&request("broke", 3), &OpenGate)
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Upstream { status: 402, .. }));
    assert!(!e.is_retryable());
    assert!(!e.is_upstream_failure(), "a refusal, not an outage");
    let e = web
        .search(&request("busy", 3), &OpenGate)
        .await
        .unwrap_err();
    assert!(
        matches!(e, SourceError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(17))
    );
    assert!(e.is_upstream_failure());
    let e = web
        .search(&request("down", 3), &OpenGate)
        .await
        .unwrap_err();
    assert!(e.is_retryable());
    assert!(e.is_upstream_failure());

    let before = server.received_requests().await.unwrap().len();
    let keyless = Firecrawl::new(config(&server, None));
    assert_eq!(keyless.availability(), SourceAvailability::NotConfigured);
    assert!(matches!(
        keyless.search(&request("anything", 3), &OpenGate).await,
        Err(SourceError::Unavailable)
    ));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        before,
        "nothing sent"
    );
}
