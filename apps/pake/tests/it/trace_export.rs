//! Trace export over OTLP/HTTP to a local receiver: a request carrying a W3C `traceparent`
//! continues that trace, its spans arrive at the collector (protobuf) with the caller's trace id,
//! and the trace context goes on to the upstream search calls. The tracing subscriber is global:
//! this test installs it (and the W3C propagator) for the whole test binary, so other tests'
//! upstream calls may carry `traceparent` too; none of them looks.

use crate::common;

use std::time::Duration;

use pake::config::TracingConfig;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id></feed>"#;

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector_with_the_callers_trace_id_and_go_upstream() {
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    let arxiv = MockServer::start().await;
    Mock::given(path("/api/query"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(FEED, "application/atom+xml"))
        .mount(&arxiv)
        .await;
    let tracing_config = TracingConfig {
        otlp_endpoint: Some(collector.uri()),
        sample_ratio: 0.0, // only what a sampled caller asks for is exported
        service_name: "pake-test".into(),
    };
    let log = pake::config::LogConfig::default();
    let telemetry =
        tokio::task::spawn_blocking(move || pake::telemetry::init(&log, &tracing_config))
            .await
            .unwrap();
    let app = common::spawn_with(|c| {
        c.search.arxiv.base_url = arxiv.uri();
        c.search.arxiv.interval_ms = 1;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "traced", "professional").await;

    let trace_id = [
        0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47,
        0x36,
    ];
    let traceparent = format!("00-{}-00f067aa0ba902b7-01", hex(&trace_id));
    let res = app
        .client
        .post(app.url("/api/v1/search/"))
        .bearer_auth(&admin)
        .header("traceparent", &traceparent)
        .json(&json!({"query": "traced", "sources": ["arxiv"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // the upstream call carried the same trace
    let upstream = arxiv.received_requests().await.unwrap();
    let sent = upstream[0]
        .headers
        .get("traceparent")
        .expect("traceparent sent upstream")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        sent.starts_with(&format!("00-{}-", hex(&trace_id))),
        "{sent}"
    );
    assert!(
        !sent.contains("00f067aa0ba902b7"),
        "a child span of ours, not the caller's"
    );

    // flushing the pipeline delivers the spans, protobuf-encoded, with the caller's trace id
    tokio::task::spawn_blocking(move || drop(telemetry))
        .await
        .unwrap();
    let mut found = false;
    for _ in 0..50 {
        let posts = collector.received_requests().await.unwrap();
        if posts
            .iter()
            .any(|r| r.body.windows(16).any(|w| w == trace_id))
        {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        found,
        "spans with the caller's trace id reached the collector"
    );
    let posts = collector.received_requests().await.unwrap();
    assert!(
        posts
            .iter()
            .all(|r| r.headers["content-type"] == "application/x-protobuf")
    );
    // the request span names its route and the caller (attribute keys and values in the protobuf)
    let all: Vec<u8> = posts.iter().flat_map(|r| r.body.clone()).collect();
    let has = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
    for key in ["http.route", "tenant_id", "user_id", "request_id"] {
        assert!(has(key.as_bytes()), "span attribute {key} exported");
    }
    assert!(has(b"/api/v1/search/"), "the route template");
}
