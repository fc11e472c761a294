//! arXiv (Atom): the current, migration and legacy formats, a proper query, every error shape.

use std::sync::atomic::Ordering;
use std::time::Duration;

use pake_ports::{OpenGate, SearchSource, SourceError};
use pake_sources::Arxiv;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{CountingGate, UA, atom, config, fixture, request};

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
    let records = arxiv.search(&req, &gate).await.unwrap().records;
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
        .unwrap()
        .records;
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
        .unwrap()
        .records;
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
