//! Each adapter against a local mock server answering in the upstream's exact formats (fixtures
//! written for this project in those formats), including every error and format variant of
//! `../shared/reference/upstreams.md`.

#![expect(
    clippy::unwrap_used,
    reason = "a test stops at the line that cannot set up"
)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pake_domain::TenantId;
use pake_domain::search::QueryText;
use pake_ports::{
    OpenGate, SearchSource, SourceAvailability, SourceError, SourceRequest, Turn, UpstreamGate,
};
use pake_sources::{Arxiv, Firecrawl, Pubmed, SourceConfig};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const UA: &str = "PAKE-test/1.0 (+https://example.invalid/pake; ops@example.invalid)";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn config(server: &MockServer, key: Option<&str>) -> SourceConfig {
    SourceConfig {
        base_url: server.uri(),
        api_key: key.map(str::to_owned),
        timeout: Duration::from_millis(800),
        max_bytes: 64 * 1024,
        user_agent: UA.into(),
        headers: None,
    }
}

fn request(q: &str, max: u32) -> SourceRequest {
    SourceRequest {
        tenant_id: TenantId::new(),
        query: QueryText::parse(q).unwrap(),
        max_results: max,
        date_from: None,
        date_to: None,
        categories: Vec::new(),
        publication_types: Vec::new(),
        sort_by_date: false,
        abstracts: true,
    }
}

fn atom(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body, "application/atom+xml; charset=utf-8")
}

/// Counts the turns an adapter takes (one per HTTP request).
#[derive(Default)]
struct CountingGate(AtomicU32);

#[async_trait::async_trait]
impl UpstreamGate for CountingGate {
    async fn turn(&self) -> Result<Turn, SourceError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Turn::free())
    }
}

#[tokio::test]
async fn arxiv_parses_the_current_format_and_sends_a_proper_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/query"))
        .and(query_param(
            "search_query",
            "(all:tidal AND all:lattice) AND (cat:cond-mat.quant-gas)",
        ))
        .and(query_param("max_results", "2"))
        .and(query_param("start", "0"))
        .and(query_param("sortBy", "relevance"))
        .and(header("user-agent", UA))
        .respond_with(atom(200, fixture("arxiv_current.xml")))
        .expect(1)
        .mount(&server)
        .await;
    let arxiv = Arxiv::new(config(&server, None));
    let mut req = request("tidal lattice", 2);
    req.categories = vec!["cond-mat.quant-gas".into()];
    let gate = CountingGate::default();
    let records = arxiv.search(&req, &gate).await.unwrap();
    assert_eq!(gate.0.load(Ordering::SeqCst), 1);
    assert_eq!(records.len(), 2);
    let first = &records[0];
    assert_eq!(first.title, "Tidal Lattices in Rotating Superfluids");
    assert_eq!(first.arxiv_id.as_deref(), Some("2401.00017"), "no version");
    assert_eq!(first.doi.as_deref(), Some("10.5555/pake.tidal.2024"));
    assert_eq!(
        first.pdf_url.as_deref(),
        Some("https://arxiv.org/pdf/2401.00017v2")
    );
    assert_eq!(first.url, "https://arxiv.org/abs/2401.00017v2");
    assert_eq!(first.authors, vec!["Ines Vallbona", "Tomasz Kreft"]);
    assert_eq!(first.published, Some(time::macros::date!(2024 - 01 - 02)));
    assert_eq!(
        first.abstract_text.as_deref(),
        Some(
            "We study tidal lattices in rotating superfluids. The lattice melts above a critical rotation rate."
        )
    );
    assert_eq!(records[1].title, "0", "a title of \"0\" is a title");
    assert_eq!(records[1].arxiv_id.as_deref(), Some("cond-mat/0312111"));
    assert_eq!((records[0].rank, records[1].rank), (0, 1));
}

#[tokio::test]
async fn arxiv_survives_the_migration_and_legacy_formats() {
    let server = MockServer::start().await;
    Mock::given(path("/api/query"))
        .and(query_param("search_query", "(all:migration)"))
        .respond_with(atom(200, fixture("arxiv_migration.xml")))
        .mount(&server)
        .await;
    Mock::given(path("/api/query"))
        .and(query_param("search_query", "(all:legacy)"))
        .respond_with(atom(200, fixture("arxiv_legacy_blank.xml")))
        .mount(&server)
        .await;
    let arxiv = Arxiv::new(config(&server, None));
    let migrated = arxiv
        .search(&request("migration", 5), &OpenGate)
        .await
        .unwrap();
    assert_eq!(migrated.len(), 1);
    assert_eq!(
        migrated[0].pdf_url.as_deref(),
        Some("https://arxiv.org/pdf/2509.04321v1"),
        "found by its /pdf/ path"
    );
    assert_eq!(migrated[0].url, "https://arxiv.org/abs/2509.04321v1");

    let legacy = arxiv
        .search(&request("legacy", 5), &OpenGate)
        .await
        .unwrap();
    assert_eq!(legacy.len(), 1, "the blank entry is skipped");
    let r = &legacy[0];
    assert_eq!(r.title, "Wrapped Legacy Title");
    assert_eq!(r.arxiv_id.as_deref(), Some("1203.00042"));
    assert_eq!(
        r.doi.as_deref(),
        Some("10.5555/legacy.42"),
        "from the dx.doi.org link"
    );
    assert_eq!(r.published, Some(time::macros::date!(2012 - 03 - 01)));
    assert_eq!(
        r.abstract_text.as_deref(),
        Some("Legacy abstracts were indented and wrapped.")
    );
}

#[tokio::test]
async fn arxiv_errors_map_whatever_the_status() {
    let server = MockServer::start().await;
    let arxiv = Arxiv::new(config(&server, None));
    for (word, response) in [
        ("bad400", atom(400, fixture("arxiv_error.xml"))),
        ("bad200", atom(200, fixture("arxiv_error.xml"))),
        (
            "throttled",
            ResponseTemplate::new(429).set_body_string("Rate exceeded."),
        ),
        (
            "overloaded",
            ResponseTemplate::new(503).set_body_string("Service Unavailable"),
        ),
        ("garbled", atom(200, "<feed><entry>".into())),
        (
            "huge",
            atom(200, format!("<feed>{}</feed>", "x".repeat(70 * 1024))),
        ),
        (
            "slow",
            atom(200, fixture("arxiv_current.xml")).set_delay(Duration::from_secs(2)),
        ),
    ] {
        Mock::given(path("/api/query"))
            .and(query_param("search_query", format!("(all:{word})")))
            .respond_with(response)
            .mount(&server)
            .await;
    }
    let err = |w: &'static str| {
        let arxiv = &arxiv;
        async move { arxiv.search(&request(w, 5), &OpenGate).await.unwrap_err() }
    };
    match err("bad400").await {
        SourceError::Upstream { status, message } => {
            assert_eq!(
                (status, message.as_str()),
                (400, "start must be non-negative")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(
            err("bad200").await,
            SourceError::Upstream { status: 200, .. }
        ),
        "an error entry is not a paper titled Error"
    );
    let throttled = err("throttled").await;
    assert!(matches!(
        throttled,
        SourceError::RateLimited { retry_after: None }
    ));
    assert!(throttled.is_retryable());
    assert!(
        throttled.is_upstream_failure(),
        "throttling counts on the breaker"
    );
    let overloaded = err("overloaded").await;
    assert!(matches!(
        overloaded,
        SourceError::Upstream { status: 503, .. }
    ));
    assert!(overloaded.is_retryable());
    assert!(overloaded.is_upstream_failure());
    let garbled = err("garbled").await;
    assert!(matches!(garbled, SourceError::InvalidResponse(_)));
    assert!(!garbled.is_retryable());
    assert!(!garbled.is_upstream_failure());
    assert!(matches!(err("huge").await, SourceError::InvalidResponse(m) if m.contains("larger")));
    let slow = err("slow").await;
    assert!(matches!(slow, SourceError::Timeout));
    assert!(slow.is_upstream_failure());
    // an answer to the query (400 with an error entry, or the same served with 200) says the
    // upstream is up: it never counts on the breaker
    assert!(!err("bad400").await.is_upstream_failure());
    assert!(!err("bad200").await.is_upstream_failure());
}

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
        .unwrap();
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
    let none = pubmed.search(&request("nothing", 5), &gate).await.unwrap();
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
    let one = web.search(&request("one", 4), &OpenGate).await.unwrap();
    assert_eq!(one.len(), 2);
    assert_eq!(one[0].snippet.as_deref(), Some("A friendly introduction."));
    assert_eq!(one[1].title, "Tidal Lattices (paper)");
    assert_eq!(
        one[1].doi.as_deref(),
        Some("10.5555/pake.tidal.2024"),
        "from a doi.org URL"
    );
    let two = web.search(&request("two", 4), &OpenGate).await.unwrap();
    assert_eq!(two.len(), 1, "web results only");
    assert_eq!(two[0].url, "https://example.org/a");
    let three = web.search(&request("three", 4), &OpenGate).await.unwrap();
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
