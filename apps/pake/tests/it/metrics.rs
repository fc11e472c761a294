//! Prometheus metrics after real traffic: the expected series, with bounded labels (route
//! templates, never raw paths or ids), behind a bearer token on the API listener or open on a
//! separate listener; not served at all by default.

use crate::common;

use common::{spawn_app, spawn_with};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><entry><id>http://arxiv.org/abs/2401.00017v1</id><title>Counted paper</title><summary>Text.</summary><published>2025-01-01T00:00:00Z</published></entry></feed>"#;

#[tokio::test]
async fn metrics_after_real_traffic_behind_a_token() {
    let arxiv = MockServer::start().await;
    Mock::given(path("/api/query"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(FEED, "application/atom+xml"))
        .mount(&arxiv)
        .await;
    let app = spawn_with(|c| {
        c.metrics.token = Some(SecretString::from("scrape-secret"));
        c.search.arxiv.base_url = arxiv.uri();
        c.search.arxiv.interval_ms = 1;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "counted", "basic").await;
    let (ada, ada_token) = app.member(&admin, "counted", "ada", "user").await;
    let (status, _) = app.login("counted", "ada", "Wrong-Password-1!").await;
    assert_eq!(status, 401);
    let missing = uuid::Uuid::new_v4();
    assert_eq!(
        app.call(
            "GET",
            &format!("/api/v1/users/{missing}"),
            Some(&admin),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.call("GET", &format!("/api/v1/users/{ada}"), Some(&admin), None)
            .await
            .0,
        200
    );
    let (status, _) = app
        .search(
            &ada_token,
            json!({"query": "counted", "sources": ["arxiv"]}),
        )
        .await;
    assert_eq!(status, 200);

    for token in [None, Some("wrong")] {
        let mut req = app.client.get(app.url("/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        assert_eq!(req.send().await.unwrap().status(), 401, "{token:?}");
    }
    let res = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("openmetrics")
    );
    let text = res.text().await.unwrap();
    for series in [
        r#"pake_http_requests_total{method="GET",route="/api/v1/users/{id}",status="404"} 1"#,
        r#"pake_http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"} 1"#,
        r#"pake_http_request_duration_seconds_count{method="POST",route="/api/v1/search/"} 1"#,
        r#"pake_auth_login_attempts_total{outcome="failure"} 1"#,
        r#"pake_auth_login_attempts_total{outcome="success"}"#,
        r#"pake_searches_by_source_total{source="arxiv",status="ok"} 1"#,
        r#"pake_upstream_duration_seconds_count{source="arxiv"} 1"#,
        r#"pake_upstream_circuit_open{source="arxiv"} 0"#,
        "pake_process_resident_memory_bytes ",
        // the source's part, then the enhancement of what it answered (looked up again once
        // this search is the one to compute it)
        r#"pake_cache_lookups_total{outcome="miss"} 3"#,
        "pake_store_pool_connections ",
        "pake_store_pool_idle_connections ",
        "pake_tenants 2",
    ] {
        assert!(text.contains(series), "missing {series}\n{text}");
    }
    assert!(!text.contains(&missing.to_string()), "no raw paths");
    assert!(!text.contains(&ada), "no user ids");
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn metrics_on_their_own_listener_and_off_by_default() {
    let app = spawn_with(|c| c.metrics.bind = Some("127.0.0.1:0".parse().unwrap())).await;
    app.client.get(app.url("/health")).send().await.unwrap();
    let port = app.metrics_port.expect("metrics listener");
    let text = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"pake_http_requests_total{method="GET",route="/health",status="200"} 1"#),
        "{text}"
    );
    assert_eq!(
        app.client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "not on the API listener without a token"
    );
    let off = spawn_app().await;
    assert_eq!(
        off.client
            .get(off.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn limit_refusals_reach_prometheus_by_plan_and_reason() {
    let app = spawn_with(|c| c.metrics.token = Some(SecretString::from("t"))).await;
    let root = app.root().await;
    let (id, admin) = app.tenant(&root, "refused", "professional").await;
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{id}"),
            Some(&root),
            Some(json!({"limits": {"max_api_calls_per_day": 1}})),
        )
        .await;
    assert_eq!(status, 200);
    app.call("GET", "/api/v1/auth/me", Some(&admin), None).await;
    for _ in 0..3 {
        assert_eq!(
            app.call("GET", "/api/v1/auth/me", Some(&admin), None)
                .await
                .0,
            429
        );
    }
    let scrape = || async {
        app.client
            .get(app.url("/metrics"))
            .bearer_auth("t")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let series = r#"pake_limit_refusals_total{plan="professional",reason="daily_quota"} 3"#;
    assert!(scrape().await.contains(series));
    assert!(
        scrape().await.contains(series),
        "a second scrape does not double it"
    );
}
