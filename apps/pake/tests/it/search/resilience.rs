//! Upstream etiquette and resilience: pacing and retries, coalescing, the circuit breaker, and
//! queries an upstream refuses.

use std::time::Duration;

use crate::common::spawn_with;
use serde_json::json;
use wiremock::matchers::{path, query_param_contains};
use wiremock::{Mock, ResponseTemplate};

use super::upstreams::*;

#[tokio::test]
async fn pacing_and_retries_are_visible_upstream() {
    let up = Upstreams::start().await;
    // arXiv throttles twice, then answers
    let throttled = Recorder::new(ResponseTemplate::new(429).set_body_string("Rate exceeded."));
    let answered = Recorder {
        template: atom_response(atom(&[("2401.00017", "A paper", None, "Text.")])),
        arrivals: std::sync::Arc::clone(&throttled.arrivals),
    };
    Mock::given(path("/api/query"))
        .respond_with(throttled.clone())
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&up.arxiv)
        .await;
    Mock::given(path("/api/query"))
        .respond_with(answered)
        .with_priority(2)
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 200;
        c.search.retries = 2;
        c.search.backoff_ms = 10;
        c.search.budget_ms = 5000;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "patient", "professional").await;
    let (status, body) = app
        .search(&admin, json!({"query": "paced", "sources": ["arxiv"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source_status"]["arxiv"]["status"], "ok", "{body}");
    let requests = up.arxiv.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3, "two retries");
    assert!(requests.iter().all(|r| {
        r.headers
            .get("user-agent")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("PAKE/")
    }));
    // the pacer kept arXiv's spacing between the attempts, measured where they arrived
    let gaps = throttled.gaps();
    assert_eq!(gaps.len(), 2);
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(190)),
        "at least the 200 ms interval apart: {gaps:?}"
    );

    // a throttled upstream that stays throttled is reported, not failed
    let up2 = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(ResponseTemplate::new(429).set_body_string("Rate exceeded."))
        .mount(&up2.arxiv)
        .await;
    let app2 = spawn_with(|c| {
        up2.configure(c);
        c.search.retries = 1;
    })
    .await;
    let root2 = app2.root().await;
    let (_, admin2) = app2.tenant(&root2, "throttled", "professional").await;
    let (status, body) = app2
        .search(&admin2, json!({"query": "paced", "sources": ["arxiv"]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["source_status"]["arxiv"]["status"], "rate_limited",
        "{body}"
    );
}

#[tokio::test]
async fn identical_concurrent_calls_of_a_tenant_are_coalesced() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(
            atom_response(atom(&[("2401.00017", "A paper", None, "Text.")]))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "together", "professional").await;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        tasks.push(spawn_search(
            &app,
            &admin,
            &json!({"query": "same question", "sources": ["arxiv"]}),
        ));
    }
    for t in tasks {
        let (_, body) = t.await.unwrap();
        assert_eq!(body["total_results"], 1, "{body}");
    }
    assert_eq!(
        up.arxiv.received_requests().await.unwrap().len(),
        1,
        "one upstream call for five identical searches"
    );
}

#[tokio::test]
async fn the_web_source_without_a_key_is_unavailable_and_a_broken_source_trips_its_circuit() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(
            ResponseTemplate::new(500).set_body_raw(
                r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>https://arxiv.org/api/errors#internal</id><title>Error</title><summary>internal error</summary></entry></feed>"#,
                "application/atom+xml",
            ),
        )
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.web.api_key = None;
        c.search.breaker_failures = 2;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "fragile", "professional").await;
    for i in 0..2 {
        let (_, body) = app
            .search(
                &admin,
                json!({"query": format!("q{i}"), "sources": ["arxiv", "web"]}),
            )
            .await;
        assert_eq!(body["source_status"]["web"]["status"], "unavailable");
        assert_eq!(body["source_status"]["arxiv"]["status"], "error", "{body}");
        assert!(
            body["source_status"]["arxiv"]["detail"]
                .as_str()
                .unwrap()
                .contains("internal error"),
            "{body}"
        );
    }
    let before = up.arxiv.received_requests().await.unwrap().len();
    let (_, body) = app
        .search(&admin, json!({"query": "q3", "sources": ["arxiv"]}))
        .await;
    assert_eq!(
        body["source_status"]["arxiv"]["status"], "unavailable",
        "{body}"
    );
    assert_eq!(body["source_status"]["arxiv"]["detail"], "circuit open");
    assert_eq!(
        up.arxiv.received_requests().await.unwrap().len(),
        before,
        "not called"
    );
    assert!(up.web.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn queries_an_upstream_refuses_never_close_it_for_another_tenant() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .and(query_param_contains("search_query", "bogus"))
        .respond_with(arxiv_bad_query())
        .with_priority(1)
        .mount(&up.arxiv)
        .await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .with_priority(2)
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.breaker_failures = 2;
    })
    .await;
    let root = app.root().await;
    let (_, careless) = app.tenant(&root, "careless", "professional").await;
    let (_, careful) = app.tenant(&root, "careful", "basic").await;
    // three times the breaker's threshold of answers refusing the careless tenant's queries
    for i in 0..6 {
        let (status, body) = app
            .search(
                &careless,
                json!({"query": format!("bogus{i}"), "sources": ["arxiv"]}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let arxiv = &body["source_status"]["arxiv"];
        assert_eq!(
            arxiv["status"], "error",
            "still asked, not cut off: {arxiv}"
        );
        assert!(arxiv["detail"].as_str().unwrap().contains("bad query"));
    }
    assert_eq!(
        up.arxiv.received_requests().await.unwrap().len(),
        6,
        "each refused query reached arXiv once (a 400 is not retried)"
    );
    let (status, body) = app
        .search(
            &careful,
            json!({"query": "a fine question", "sources": ["arxiv"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["source_status"]["arxiv"]["status"], "ok",
        "the circuit stayed closed: {body}"
    );
    assert_eq!(body["total_results"], 1);
}

/// `pacing = "off"` for a mirror: concurrent searches reach it at once (arXiv's etiquette would
/// send them one at a time, each after the previous answer).
#[tokio::test]
async fn pacing_off_sends_a_mirror_every_request_at_once() {
    let up = Upstreams::start().await;
    let mirror = Recorder::new(
        atom_response(atom(&[("2401.00017", "A paper", None, "Text.")]))
            .set_delay(Duration::from_millis(300)),
    );
    Mock::given(path("/api/query"))
        .respond_with(mirror.clone())
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 0;
        c.search.arxiv.pacing = pake::config::PacingMode::Off;
        c.search.budget_ms = 5000;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "mirror", "enterprise").await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let body = json!({"query": format!("mirror topic {i}"), "sources": ["arxiv"]});
            spawn_search(&app, &admin, &body)
        })
        .collect();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["source_status"]["arxiv"]["status"], "ok", "{body}");
    }
    let spread: Duration = mirror.gaps().iter().sum();
    assert_eq!(mirror.arrivals.lock().unwrap().len(), 6);
    assert!(
        spread < Duration::from_millis(250),
        "six requests within {spread:?} (paced, one at a time: 1.5 s or more)"
    );
}

/// An unpaced mirror cannot hand requests on to another host: redirects are not followed.
#[tokio::test]
async fn an_unpaced_mirror_cannot_redirect_the_requests() {
    let up = Upstreams::start().await;
    let elsewhere = wiremock::MockServer::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .mount(&elsewhere)
        .await;
    Mock::given(path("/api/query"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/api/query", elsewhere.uri())),
        )
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 0;
        c.search.arxiv.pacing = pake::config::PacingMode::Off;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "redirected", "enterprise").await;
    let (status, body) = app
        .search(
            &admin,
            json!({"query": "redirect me", "sources": ["arxiv"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source_status"]["arxiv"]["status"], "error", "{body}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

/// `timeout_ms`: an interactive client gets what arrived within its own deadline; more than the
/// server's budget, or zero, is a 400 naming the field.
#[tokio::test]
async fn a_search_answers_within_its_own_deadline() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(
            atom_response(atom(&[("2401.00017", "A paper", None, "Text.")]))
                .set_delay(Duration::from_millis(1200)),
        )
        .mount(&up.arxiv)
        .await;
    mount_pubmed(
        &up.pubmed,
        &[("39000011", "Fast paper.", "10.5555/fast", "Quick.")],
    )
    .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.budget_ms = 3000;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "deadline", "enterprise").await;
    let started = std::time::Instant::now();
    let (status, body) = app
        .search(
            &admin,
            json!({"query": "deadline", "sources": ["arxiv", "pubmed"], "timeout_ms": 400}),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["source_status"]["arxiv"]["status"], "timeout",
        "{body}"
    );
    assert_eq!(body["source_status"]["pubmed"]["status"], "ok", "{body}");
    assert!(
        took < Duration::from_millis(1100),
        "answered after {took:?}"
    );
    for bad in [json!(0), json!(3001), json!(-1), json!("soon")] {
        let (status, body) = app
            .search(&admin, json!({"query": "deadline", "timeout_ms": bad}))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (_, body) = app
        .search(&admin, json!({"query": "deadline", "timeout_ms": 3001}))
        .await;
    assert!(body.to_string().contains("timeout_ms"), "{body}");
}
