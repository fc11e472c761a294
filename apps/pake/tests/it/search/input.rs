//! Input rules: bad input is a clear 400, no text is refused for its words; quick search picks
//! its sources from the words.

use crate::common::spawn_with;
use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::path;

use super::upstreams::*;

#[tokio::test]
async fn bad_input_is_a_clear_400_and_no_text_is_refused_for_its_words() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[])))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "strict", "professional").await;
    for (body, field) in [
        (json!({"query": "   "}), "query"),
        (json!({"query": "x".repeat(501)}), "query"),
        (json!({"query": "ok", "max_results": 0}), "max_results"),
        (json!({"query": "ok", "max_results": 51}), "max_results"),
        (json!({"query": "ok", "sources": ["scholar"]}), "sources"),
        (json!({"query": "ok", "sources": []}), "sources"),
        (
            json!({"query": "ok", "filters": {"date_from": "2024-02-01", "date_to": "2024-01-01"}}),
            "filters.date_from",
        ),
        (
            json!({"query": "ok", "filters": {"sort": "random"}}),
            "filters.sort",
        ),
        (
            json!({"query": "ok", "filters": {"categories": ["cs.LG OR 1=1"]}}),
            "filters.categories",
        ),
    ] {
        let (status, problem) = app.search(&admin, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["code"], "validation_failed", "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    for body in [
        json!({"query": "ok", "unknown": 1}),
        json!({"query": "ok", "filters": {"date_from": "last week"}}),
        json!({"query": 42}),
    ] {
        let (status, problem) = app.search(&admin, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
    }
    let hostile = "'; DROP TABLE search_history; -- <script>alert(1)</script>";
    let (status, body) = app
        .search(&admin, json!({"query": hostile, "sources": ["arxiv"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["query"], hostile, "returned as JSON data, unchanged");
    let (_, h) = app
        .call("GET", "/api/v1/search/history", Some(&admin), None)
        .await;
    assert_eq!(h["search_history"][0]["query"], hostile, "stored as data");
    let long = "q".repeat(500);
    assert_eq!(
        app.search(&admin, json!({"query": long, "sources": ["arxiv"]}))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn quick_search_picks_sources_from_the_words() {
    let up = Upstreams::start().await;
    mount_pubmed(
        &up.pubmed,
        &[(
            "39000011",
            "CRISPR in mice",
            "10.5555/crispr",
            "Gene editing in mice.",
        )],
    )
    .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "quick", "professional").await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/search/quick",
            Some(&admin),
            Some(json!({"query": "CRISPR in mice"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source_status"]["pubmed"]["status"], "ok");
    assert_eq!(body["source_status"]["arxiv"]["status"], "skipped");
    assert_eq!(body["source_status"]["web"]["status"], "skipped");
    assert!(
        body["expanded_terms"]
            .as_array()
            .unwrap()
            .contains(&json!("gene"))
    );
    assert!(up.arxiv.received_requests().await.unwrap().is_empty());
}
