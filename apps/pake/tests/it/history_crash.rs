//! Group commit loses no answered search: concurrent searches against a `pake` process, the
//! process killed with SIGKILL in the middle of them, restarted on the same store: every search
//! that got a 200 is in the history (SQLite, and PostgreSQL + Redis).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::process::{Process, call, tenant, token};
use crate::common::{self, ADMIN_PASSWORD};

const ATOM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>q</title><id>x</id>
<entry><id>http://arxiv.org/abs/2401.00017v1</id><title>Vortex lattices</title>
<summary>Vortex lattices melt. They melt fast.</summary><published>2024-01-02T00:00:00Z</published>
<author><name>A. Author</name></author><link href="http://arxiv.org/abs/2401.00017v1" rel="alternate" type="text/html"/></entry>
</feed>"#;

/// Keeps `workers` searches (distinct queries) running until `stop`; returns the ids of the
/// searches answered 200.
async fn search_until(
    base: &str,
    admin: &str,
    stop: Arc<AtomicBool>,
    workers: usize,
) -> Vec<String> {
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (base, admin, stop) = (base.to_owned(), admin.to_owned(), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut ids = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = json!({"query": format!("crash {w} {i}"), "sources": ["arxiv"]});
                let sent = client
                    .post(format!("{base}/api/v1/search/"))
                    .bearer_auth(&admin)
                    .json(&body)
                    .send()
                    .await;
                // the server dies under some of them: no answer, nothing promised
                let Ok(res) = sent else { break };
                if res.status() != 200 {
                    continue;
                }
                let Ok(answer) = res.json::<Value>().await else {
                    break;
                };
                ids.push(answer["search_id"].as_str().unwrap().to_owned());
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    ids
}

/// Every search id in the tenant's history.
async fn history(base: &str, admin: &str) -> HashSet<String> {
    let client = reqwest::Client::new();
    let mut seen = HashSet::new();
    for offset in (0..).step_by(100) {
        let url = format!("{base}/api/v1/search/history?limit=100&offset={offset}");
        let (status, page) = call(&client, "GET", &url, Some(admin), None).await;
        assert_eq!(status, 200, "{page}");
        let items = page["search_history"].as_array().unwrap();
        seen.extend(items.iter().map(|h| h["id"].as_str().unwrap().to_owned()));
        if items.len() < 100 {
            break;
        }
    }
    seen
}

async fn answered_searches_survive_sigkill(dir: &Path, env: &[(&str, String)]) {
    let mirror = MockServer::start().await;
    Mock::given(path("/api/query"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/atom+xml")
                .set_body_string(ATOM)
                .set_delay(Duration::from_millis(2)),
        )
        .mount(&mirror)
        .await;
    let mut env = env.to_vec();
    env.extend([
        ("PAKE_SEARCH__ARXIV__BASE_URL", mirror.uri()),
        ("PAKE_SEARCH__ARXIV__PACING", "off".to_owned()),
        ("PAKE_SEARCH__BUDGET_MS", "5000".to_owned()),
    ]);
    let keys = dir.join("keys");
    let mut first = Process::start(dir, &keys, &env);
    let client = reqwest::Client::new();
    let root = token(&client, &first.base, "platform", ADMIN_PASSWORD).await;
    let limits = json!({"max_concurrent_searches": 100, "requests_per_minute": 1_000_000,
        "max_api_calls_per_day": 1_000_000});
    let (_, admin) = tenant(&client, &first.base, &root, "crash", limits).await;

    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn({
        let (base, admin, stop) = (first.base.clone(), admin.clone(), Arc::clone(&stop));
        async move { search_until(&base, &admin, stop, 24).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    first.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let answered = running.await.unwrap();
    drop(first);
    assert!(
        answered.len() > 50,
        "only {} searches answered",
        answered.len()
    );

    let second = Process::start(dir, &keys, &env);
    let admin = token(
        &client,
        &second.base,
        "crash",
        common::TENANT_ADMIN_PASSWORD,
    )
    .await;
    let kept = history(&second.base, &admin).await;
    let lost: Vec<&String> = answered.iter().filter(|id| !kept.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} answered searches not in the history ({} kept): {lost:?}",
        lost.len(),
        answered.len(),
        kept.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_searches_survive_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    answered_searches_survive_sigkill(dir.path(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_searches_survive_sigkill_on_postgres_and_redis() {
    let db = tokio::task::spawn_blocking(pake_store_postgres::test_db::TestDb::new)
        .await
        .unwrap();
    let redis =
        std::env::var("PAKE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.app_url.clone()), ("REDIS_URL", redis)];
    answered_searches_survive_sigkill(dir.path(), &env).await;
}
