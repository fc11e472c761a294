//! Fairness between tenants at a shared upstream: a flood does not make another tenant wait, turns
//! past the budget are refused at once, concurrent searches are capped by the plan.

use std::time::{Duration, Instant};

use crate::common::spawn_with;
use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::path;

use super::upstreams::*;

#[tokio::test]
async fn a_flooding_tenant_does_not_make_another_wait_behind_its_backlog() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 100;
        c.search.budget_ms = 10_000;
    })
    .await;
    let root = app.root().await;
    let (_, flood) = app.tenant(&root, "flood", "enterprise").await;
    let (_, calm) = app.tenant(&root, "calm", "enterprise").await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        tasks.push(spawn_search(
            &app,
            &flood,
            &json!({"query": format!("flood topic{i}"), "sources": ["arxiv"]}),
        ));
    }
    // let the flood queue up at the pacer
    tokio::time::sleep(Duration::from_millis(400)).await;
    let arrived_before = up.arxiv.received_requests().await.unwrap().len();
    assert!(
        arrived_before < 20,
        "the flood is still queued: {arrived_before}"
    );
    let (status, body) = app
        .search(
            &calm,
            json!({"query": "calm question", "sources": ["arxiv"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source_status"]["arxiv"]["status"], "ok");
    let requests = up.arxiv.received_requests().await.unwrap();
    let position = requests
        .iter()
        .position(|r| r.url.query().unwrap_or("").contains("calm"))
        .expect("the calm tenant's call reached arXiv");
    assert!(
        position < arrived_before + 2,
        "served within two upstream slots: position {position}, {arrived_before} before it"
    );
    for t in tasks {
        assert_eq!(t.await.unwrap().0, 200);
    }
    // every request kept the spacing
    let requests = up.arxiv.received_requests().await.unwrap();
    assert_eq!(requests.len(), 31);
}

#[tokio::test]
async fn an_enterprise_flood_leaves_a_basic_tenant_every_source_within_its_budget() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .mount(&up.arxiv)
        .await;
    mount_pubmed(
        &up.pubmed,
        &[("39000011", "A study", "10.5555/study", "Its abstract.")],
    )
    .await;
    // arXiv's production ratio (one request every 3 s, one at a time, a 10 s budget), scaled down:
    // the budget holds four intervals, so the flood fills arXiv's queue up to its budget
    let budget = Duration::from_millis(1200);
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 300;
        c.search.pubmed.interval_ms = 34;
        c.search.budget_ms = 1200;
    })
    .await;
    let root = app.root().await;
    let (_, flood) = app.tenant(&root, "deluge", "enterprise").await;
    let (_, calm) = app.tenant(&root, "trickle", "basic").await;
    for round in 0..3 {
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                spawn_search(
                    &app,
                    &flood,
                    &json!({"query": format!("flood {round} topic{i}"), "sources": ["arxiv", "pubmed"]}),
                )
            })
            .collect();
        // let the flood queue up at both pacers
        tokio::time::sleep(Duration::from_millis(150)).await;
        let started = Instant::now();
        let (status, body) = app
            .search(
                &calm,
                json!({"query": format!("calm question {round}"), "sources": ["arxiv", "pubmed"]}),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{body}");
        let s = &body["source_status"];
        assert_eq!(s["arxiv"]["status"], "ok", "round {round}: {s}");
        assert_eq!(s["pubmed"]["status"], "ok", "round {round}: {s}");
        assert!(
            took < budget + Duration::from_millis(300),
            "round {round}: within the budget: {took:?}"
        );
        // the flood itself is paced: arXiv serves what fits its budget and refuses the rest at
        // once
        let (mut served, mut refused) = (0, 0);
        for t in tasks {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, 200, "{body}");
            let arxiv = &body["source_status"]["arxiv"];
            match arxiv["status"].as_str().unwrap() {
                "ok" => served += 1,
                "rate_limited" => {
                    refused += 1;
                    assert!(arxiv["ms"].as_u64().unwrap() < 100, "at once: {arxiv}");
                }
                "timeout" => {}
                other => panic!("{other}: {body}"),
            }
        }
        assert!(
            (2..=6).contains(&served) && refused >= 30,
            "round {round}: the flood got {served} arXiv turns, {refused} refusals"
        );
    }
}

#[tokio::test]
async fn a_turn_that_would_come_after_the_budget_is_refused_at_once() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 300;
        c.search.budget_ms = 1000;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "hurried", "enterprise").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        tasks.push(spawn_search(
            &app,
            &admin,
            &json!({"query": format!("hurry {i}"), "sources": ["arxiv"]}),
        ));
    }
    let (mut served, mut refused) = (0, 0);
    for t in tasks {
        let (_, body) = t.await.unwrap();
        let arxiv = &body["source_status"]["arxiv"];
        match arxiv["status"].as_str().unwrap() {
            "ok" => served += 1,
            "rate_limited" => {
                refused += 1;
                assert!(
                    arxiv["ms"].as_u64().unwrap() < 100,
                    "refused at once, not after waiting: {arxiv}"
                );
            }
            other => panic!("{other}: {body}"),
        }
    }
    // 1 s of budget at one request per 300 ms: about four turns
    assert!(
        (3..=5).contains(&served),
        "served {served}, refused {refused}"
    );
    assert_eq!(served + refused, 8);
}

#[tokio::test]
async fn concurrent_searches_are_capped_by_the_plan() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[])).set_delay(Duration::from_millis(800)))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 1;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "capped", "basic").await; // 3 at once
    let mut tasks = Vec::new();
    for i in 0..5 {
        tasks.push(spawn_search(
            &app,
            &admin,
            &json!({"query": format!("slow{i}"), "sources": ["arxiv"]}),
        ));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            429 => {
                assert_eq!(body["code"], "concurrent_search_limit");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((ok, refused), (3, 2));
    // the slots are free again once the searches ended
    assert_eq!(
        app.search(&admin, json!({"query": "again", "sources": ["arxiv"]}))
            .await
            .0,
        200
    );
}
