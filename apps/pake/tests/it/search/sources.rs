//! What a search answers: statuses per source within the budget, merging across sources,
//! caching per tenant, history, analytics and popular queries.

use std::time::{Duration, Instant};

use crate::common::{self, TestApp, spawn_with};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

use super::upstreams::*;

#[tokio::test]
async fn one_slow_one_failing_one_answering_source() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(
            atom_response(atom(&[("2401.00017", "Late", None, "Too late.")]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&up.arxiv)
        .await;
    Mock::given(path("/esearch.fcgi"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>500 Proxy Error</html>"))
        .mount(&up.pubmed)
        .await;
    mount_web(
        &up.web,
        &[(
            "https://example.org/tidal",
            "Tidal lattices explained",
            "An introduction.",
        )],
    )
    .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "mixed", "professional").await;
    let started = Instant::now();
    let (status, body) = app.search(&admin, json!({"query": "tidal lattice"})).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(
        took < Duration::from_millis(2500),
        "within the budget: {took:?}"
    );
    let s = &body["source_status"];
    assert_eq!(s["web"]["status"], "ok", "{s}");
    assert_eq!(s["web"]["results"], 1);
    assert_eq!(s["pubmed"]["status"], "error", "{s}");
    assert!(s["pubmed"]["detail"].as_str().unwrap().contains("500"));
    assert_eq!(s["arxiv"]["status"], "timeout", "{s}");
    assert_eq!(body["total_results"], 1);
    assert_eq!(body["results"][0]["title"], "Tidal lattices explained");
    assert_eq!(body["results"][0]["source"], "web");
    assert_eq!(body["cache_hit"], false);
    // the failing source was retried once (5xx is retryable), not more
    let pubmed_calls = up.pubmed.received_requests().await.unwrap().len();
    assert_eq!(pubmed_calls, 2, "one retry");
}

#[tokio::test]
async fn search_tells_the_truth_embedded() {
    let up = Upstreams::start().await;
    mount_truth(&up).await;
    let app = spawn_with(|c| up.configure(c)).await;
    duplicates_merge_then_caching_history_analytics_and_popular_tell_the_truth(&up, app).await;
}

#[tokio::test]
async fn search_tells_the_truth_on_postgres_and_redis() {
    let up = Upstreams::start().await;
    mount_truth(&up).await;
    let app = common::spawn_pg_with(|c| up.configure(c)).await;
    duplicates_merge_then_caching_history_analytics_and_popular_tell_the_truth(&up, app).await;
}

async fn mount_truth(up: &Upstreams) {
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[
            (
                "2401.00017",
                "Tidal lattices in rotating superfluids",
                Some("10.5555/PAKE.TIDAL"),
                PAPER_ABSTRACT,
            ),
            (
                "2402.00099",
                "Cooking pasta in microgravity",
                None,
                "Unrelated work on pasta.",
            ),
        ])))
        .mount(&up.arxiv)
        .await;
    mount_pubmed(
        &up.pubmed,
        &[(
            "39000011",
            "Tidal lattices in rotating superfluids.",
            "10.5555/pake.tidal",
            "A longer abstract from PubMed. It says more about tidal lattices and how they melt.",
        )],
    )
    .await;
    mount_web(&up.web, &[]).await;
}

async fn duplicates_merge_then_caching_history_analytics_and_popular_tell_the_truth(
    up: &Upstreams,
    app: TestApp,
) {
    let root = app.root().await;
    let (tenant_id, admin) = app.tenant(&root, "truth", "professional").await;
    let body = json!({"query": "tidal lattice", "sources": ["arxiv", "pubmed"], "max_results": 5});

    let (status, first) = app.search(&admin, body.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["total_results"], 2,
        "the shared DOI made one result: {first}"
    );
    let top = &first["results"][0];
    assert_eq!(top["sources"], json!(["arxiv", "pubmed"]));
    assert_eq!(top["arxiv_id"], "2401.00017");
    assert_eq!(top["pmid"], "39000011");
    assert_eq!(top["doi"], "10.5555/pake.tidal");
    assert!(
        top["relevance_score"].as_f64().unwrap()
            > first["results"][1]["relevance_score"].as_f64().unwrap()
    );
    assert!(top["score"]["bm25"].as_f64().unwrap() > 0.0);
    assert!(top["summary"].as_str().is_some());
    assert!(first["summary"].as_str().is_some());
    assert!(!first["key_topics"].as_array().unwrap().is_empty());
    assert_eq!(first["cache_hit"], false);
    assert_eq!(first["source_status"]["arxiv"]["status"], "ok");
    // facets count the merged results: the merged paper for both of its sources
    assert_eq!(
        first["facets"]["source"],
        json!({"arxiv": 2, "pubmed": 1}),
        "{first}"
    );
    let years: u64 = first["facets"]["year"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(years, 2, "both results are dated: {first}");
    let upstream_calls = up.arxiv.received_requests().await.unwrap().len()
        + up.pubmed.received_requests().await.unwrap().len();

    let (_, second) = app.search(&admin, body.clone()).await;
    assert_eq!(second["cache_hit"], true, "{second}");
    assert_eq!(second["source_status"]["arxiv"]["status"], "cached");
    assert_eq!(second["source_status"]["pubmed"]["status"], "cached");
    assert_eq!(second["results"], first["results"]);
    let after = up.arxiv.received_requests().await.unwrap().len()
        + up.pubmed.received_requests().await.unwrap().len();
    assert_eq!(after, upstream_calls, "the cache answered");
    // another user of the same tenant with the query in other case/spacing shares the cache
    let (_, uma) = app.member(&admin, "truth", "uma", "user").await;
    let (_, third) = app.search(&uma,
        json!({"query": "  Tidal   LATTICE ", "sources": ["pubmed", "arxiv"], "max_results": 5}),
    )
    .await;
    assert_eq!(third["cache_hit"], true);

    // history: the admin sees all three, uma her own
    let (_, h) = app
        .call("GET", "/api/v1/search/history", Some(&admin), None)
        .await;
    assert_eq!(h["pagination"]["total"], 3, "{h}");
    assert_eq!(h["search_history"][0]["cache_hit"], true);
    assert_eq!(h["search_history"][2]["result_count"], 2);
    assert_eq!(
        h["search_history"][2]["source_status"]["arxiv"]["status"],
        "ok"
    );
    let (_, mine) = app
        .call("GET", "/api/v1/search/history", Some(&uma), None)
        .await;
    assert_eq!(mine["pagination"]["total"], 1);

    let (_, a) = app
        .call("GET", "/api/v1/search/analytics?days=7", Some(&admin), None)
        .await;
    let a = &a["analytics"];
    assert_eq!(a["total_searches"], 3, "{a}");
    assert_eq!(a["cache_hits"], 2);
    assert!((a["cache_hit_rate"].as_f64().unwrap() - 0.6667).abs() < 1e-3);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(a["per_day"], json!([{"date": today, "count": 3}]));
    assert_eq!(a["top_sources"][0]["searches"], 3);

    let (_, p) = app
        .call(
            "GET",
            "/api/v1/search/popular?days=7&limit=5",
            Some(&admin),
            None,
        )
        .await;
    let popular = p["popular_queries"].as_array().unwrap();
    assert_eq!(
        popular.len(),
        1,
        "one group whatever the case and spacing: {p}"
    );
    assert_eq!(popular[0]["count"], 3);
    let shown = popular[0]["query"].as_str().unwrap();
    assert_eq!(
        shown
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
        "tidal lattice"
    );

    let (_, t) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{tenant_id}/analytics"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(t["analytics"]["searches"]["total"], 3, "{t}");
    assert_eq!(t["analytics"]["searches"]["today"], 3);
    assert_eq!(t["analytics"]["searches"]["cache_hits"], 2);

    // another tenant sees none of it, and its identical search is not served from this cache
    let (_, other) = app.tenant(&root, "elsewhere", "professional").await;
    let (_, h) = app
        .call("GET", "/api/v1/search/history", Some(&other), None)
        .await;
    assert_eq!(h["pagination"]["total"], 0);
    let (_, a) = app
        .call("GET", "/api/v1/search/analytics", Some(&other), None)
        .await;
    assert_eq!(a["analytics"]["total_searches"], 0);
    let (_, p) = app
        .call("GET", "/api/v1/search/popular", Some(&other), None)
        .await;
    assert_eq!(p["popular_queries"], json!([]));
    let (_, theirs) = app.search(&other, body).await;
    assert_eq!(theirs["cache_hit"], false, "caches are per tenant");
    assert_eq!(theirs["source_status"]["arxiv"]["status"], "ok");
}
