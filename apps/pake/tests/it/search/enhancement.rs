//! The enhancement cache: identical concurrent searches compute the ranking, summaries, digest
//! and key topics once; a cached search reads them (no text work); a changed source part is
//! enhanced afresh. Counted by `pake_search_enhancements_total`, on both stores.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::path;

use crate::common::{self, TestApp, spawn_with};

use super::upstreams::*;

const SCRAPE: &str = "scrape-enhancements";

/// `(computed, cached, shared)` so far.
async fn enhancements(app: &TestApp) -> (u64, u64, u64) {
    let text = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(SCRAPE)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |outcome: &str| {
        let series = format!("pake_search_enhancements_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .map_or(0, |n| n.trim().parse().unwrap())
    };
    (count("computed"), count("cached"), count("shared"))
}

async fn mount(up: &Upstreams, title: &str) {
    up.arxiv.reset().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[
            ("2401.00017", title, None, PAPER_ABSTRACT),
            (
                "2402.00099",
                "Melting of rotating vortex lattices",
                None,
                "Vortex lattices melt. The melting depends on rotation. It is abrupt.",
            ),
        ])))
        .mount(&up.arxiv)
        .await;
}

async fn computed_once_then_cached_then_afresh(up: &Upstreams, app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "enhance", "enterprise").await;
    let body = json!({"query": "vortex lattice", "sources": ["arxiv", "pubmed"], "max_results": 5});
    let cold: Vec<_> = (0..8).map(|_| spawn_search(&app, &admin, &body)).collect();
    let mut answers = Vec::new();
    for task in cold {
        let (status, answer) = task.await.unwrap();
        assert_eq!(status, 200, "{answer}");
        answers.push(answer);
    }
    for a in &answers[1..] {
        assert_eq!(a["results"], answers[0]["results"]);
        assert_eq!(a["key_topics"], answers[0]["key_topics"]);
        assert_eq!(a["summary"], answers[0]["summary"]);
    }
    assert!(answers[0]["results"][0]["summary"].is_string());
    let (computed, cached, shared) = enhancements(&app).await;
    assert_eq!(computed, 1, "eight identical searches, one enhancement");
    assert_eq!(computed + cached + shared, 8);

    let (_, warm) = app.search(&admin, body.clone()).await;
    assert_eq!(warm["cache_hit"], true);
    assert_eq!(warm["results"], answers[0]["results"]);
    assert_eq!(
        enhancements(&app).await,
        (1, cached + 1, shared),
        "read, not computed"
    );

    // other options are another enhancement
    let plain = json!({"query": "vortex lattice", "sources": ["arxiv", "pubmed"], "max_results": 5,
        "enable_ml_enhancement": false});
    let (_, p) = app.search(&admin, plain).await;
    assert_eq!(p["key_topics"], json!([]));
    assert!(p["results"][0].get("summary").is_none(), "{p}");
    assert_eq!(enhancements(&app).await.0, 2);

    // arXiv's part expires and comes back different: enhanced afresh, with the new record
    mount(up, "Vortex lattice tides, revised").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, fresh) = app.search(&admin, body).await;
    assert_eq!(fresh["source_status"]["arxiv"]["status"], "ok");
    assert!(
        fresh["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["title"] == "Vortex lattice tides, revised"),
        "{fresh}"
    );
    assert_eq!(enhancements(&app).await.0, 3);
}

fn configure(up: &Upstreams, c: &mut pake::config::Config) {
    up.configure(c);
    c.metrics.token = Some(SecretString::from(SCRAPE));
    c.search.arxiv.cache_ttl_secs = 1;
}

async fn upstreams() -> Upstreams {
    let up = Upstreams::start().await;
    mount(&up, "Tidal lattices in rotating superfluids").await;
    mount_pubmed(
        &up.pubmed,
        &[(
            "39000011",
            "Vortex lattices in patients' helium",
            "10.5555/pake.helium",
            "Vortex lattices were studied. They melt when rotated fast.",
        )],
    )
    .await;
    up
}

#[tokio::test]
async fn enhancement_is_computed_once_and_cached_embedded() {
    let up = upstreams().await;
    let app = spawn_with(|c| configure(&up, c)).await;
    computed_once_then_cached_then_afresh(&up, app).await;
}

#[tokio::test]
async fn enhancement_is_computed_once_and_cached_on_postgres_and_redis() {
    let up = upstreams().await;
    let app = common::spawn_pg_with(|c| configure(&up, c)).await;
    computed_once_then_cached_then_afresh(&up, app).await;
}
