//! Limits across replicas: two `pake` server processes sharing PostgreSQL and Redis admit exactly
//! a tenant's rate and daily quota between them (N concurrent requests against a limit of L admit
//! L ± 1), as one server does; and a tenant hammering its limit does not change another tenant's
//! admitted count or latency.

use crate::common;
use crate::common::process::{Process, call, tenant, token};

use std::time::{Duration, Instant};

use serde_json::json;

/// A server process with a directory of its own.
struct Server {
    process: Process,
    base: String,
    _dir: tempfile::TempDir,
}

fn serve(database_url: &str, redis_url: &str, keys: &std::path::Path) -> Server {
    serve_with(database_url, redis_url, keys, &[])
}

fn serve_with(
    database_url: &str,
    redis_url: &str,
    keys: &std::path::Path,
    env: &[(&str, String)],
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("REDIS_URL", redis_url.to_owned()),
    ];
    all.extend(env.iter().cloned());
    let process = Process::start(dir.path(), keys, &all);
    Server {
        base: process.base.clone(),
        process,
        _dir: dir,
    }
}

/// Fires `n` concurrent `GET /auth/me` with `token`, spread over `bases`; returns how many were
/// admitted and the codes of the refusals.
async fn flood(
    client: &reqwest::Client,
    bases: &[&str],
    token: &str,
    n: usize,
) -> (usize, Vec<String>) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let url = format!("{}/api/v1/auth/me", bases[i % bases.len()]);
        let (client, token) = (client.clone(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            call(&client, "GET", &url, Some(&token), None).await
        }));
    }
    let (mut admitted, mut refused) = (0, Vec::new());
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => admitted += 1,
            429 => refused.push(body["code"].as_str().unwrap_or("?").to_owned()),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    (admitted, refused)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn timed_calls(client: &reqwest::Client, base: &str, token: &str, n: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..n {
        let started = Instant::now();
        let (status, body) = call(
            client,
            "GET",
            &format!("{base}/api/v1/auth/me"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, 200, "the calm tenant is never refused: {body}");
        times.push(started.elapsed());
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_share_every_limit_exactly() {
    let db = tokio::task::spawn_blocking(pake_store_postgres::test_db::TestDb::new)
        .await
        .unwrap();
    let redis =
        std::env::var("PAKE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let keys = tempfile::tempdir().unwrap();
    let one = serve(&db.app_url, &redis, keys.path());
    let two = serve(&db.app_url, &redis, keys.path());
    let both = [one.base.as_str(), two.base.as_str()];
    let client = reqwest::Client::new();
    let root = token(&client, &one.base, "platform", common::ADMIN_PASSWORD).await;

    // the tenant's rate: 20 a minute, 60 requests at once over both processes
    let (_, rush) = tenant(
        &client,
        &one.base,
        &root,
        "rush",
        json!({"requests_per_minute": 20}),
    )
    .await;
    let (admitted, refused) = flood(&client, &both, &rush, 60).await;
    println!("two processes, rate 20/min: {admitted} of 60 admitted");
    assert!(
        (19..=21).contains(&admitted),
        "admitted {admitted} of a limit of 20"
    );
    assert!(
        refused
            .iter()
            .all(|c| c == "tenant_rate_limited" || c == "user_rate_limited"),
        "{refused:?}"
    );

    // the daily quota: 25 calls, 60 requests at once over both processes
    let (daily_id, daily) = tenant(
        &client,
        &two.base,
        &root,
        "daily",
        json!({"max_api_calls_per_day": 25, "requests_per_minute": 100_000}),
    )
    .await;
    let (admitted, refused) = flood(&client, &both, &daily, 60).await;
    println!("two processes, daily quota 25: {admitted} of 60 admitted");
    assert!(
        (24..=26).contains(&admitted),
        "admitted {admitted} of a quota of 25"
    );
    assert!(
        refused.iter().all(|c| c == "daily_quota_exceeded"),
        "{refused:?}"
    );
    // both processes report the same count, the one that was admitted
    for base in both {
        let (status, body) = call(
            &client,
            "GET",
            &format!("{base}/api/v1/tenants/{daily_id}/analytics"),
            Some(&root),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["analytics"]["api_calls"]["today"],
            json!(admitted),
            "{base}"
        );
    }

    // a tenant hammering its spent limit does not slow another tenant down
    let (_, calm) = tenant(
        &client,
        &one.base,
        &root,
        "calm",
        json!({"requests_per_minute": 1000}),
    )
    .await;
    let baseline = median(timed_calls(&client, &one.base, &calm, 20).await);
    let hammer = {
        let (client, rush) = (client.clone(), rush.clone());
        let bases = [one.base.clone(), two.base.clone()];
        tokio::spawn(async move {
            let refs = [bases[0].as_str(), bases[1].as_str()];
            let mut total = 0;
            for _ in 0..10 {
                let (admitted, refused) = flood(&client, &refs, &rush, 40).await;
                total += admitted;
                assert!(refused.iter().all(|c| c.ends_with("rate_limited")));
            }
            total
        })
    };
    let during = median(timed_calls(&client, &one.base, &calm, 20).await);
    let hammered_admitted = hammer.await.unwrap();
    assert!(
        hammered_admitted <= 2,
        "the spent tenant stays refused: {hammered_admitted}"
    );
    println!("calm tenant median latency: {baseline:?} alone, {during:?} while another hammers");
    assert!(
        during <= baseline * 4 + Duration::from_millis(20),
        "{during:?} against {baseline:?}"
    );
}

#[tokio::test]
async fn one_server_admits_exactly_the_limit_of_concurrent_requests() {
    let app = common::spawn_app().await;
    let root = app.root().await;
    let (id, admin) = app.tenant(&root, "crowd", "basic").await;
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{id}"),
            Some(&root),
            Some(json!({"limits": {"requests_per_minute": 40}})),
        )
        .await;
    assert_eq!(status, 200);
    // the admin's share is half the tenant's: 20
    let (admitted, refused) = flood(&app.client, &[app.address.as_str()], &admin, 60).await;
    assert_eq!(admitted, 20);
    assert!(
        refused.iter().all(|c| c == "user_rate_limited"),
        "{refused:?}"
    );
}

/// A replica killed in the middle of searches does not keep the tenant's concurrent-search slots:
/// their leases expire and the other replica admits searches again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_slots_of_a_killed_replica_come_back() {
    use wiremock::matchers::{path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let pubmed = MockServer::start().await;
    let empty = json!({"header": {"type": "esearch", "version": "0.3"},
        "esearchresult": {"count": "0", "retmax": "0", "retstart": "0", "idlist": []}});
    Mock::given(path("/esearch.fcgi"))
        .and(query_param("term", "after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty.clone()))
        .with_priority(1)
        .mount(&pubmed)
        .await;
    Mock::given(path("/esearch.fcgi"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(empty)
                .set_delay(Duration::from_secs(30)),
        )
        .with_priority(2)
        .mount(&pubmed)
        .await;
    let db = tokio::task::spawn_blocking(pake_store_postgres::test_db::TestDb::new)
        .await
        .unwrap();
    let redis =
        std::env::var("PAKE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let keys = tempfile::tempdir().unwrap();
    let env = [
        ("PAKE_SEARCH__PUBMED__BASE_URL", pubmed.uri()),
        ("PAKE_SEARCH__PUBMED__INTERVAL_MS", "1".to_owned()),
        ("PAKE_SEARCH__PUBMED__TIMEOUT_MS", "60000".to_owned()),
        ("PAKE_SEARCH__BUDGET_MS", "60000".to_owned()),
        ("PAKE_LIMITS__SEARCH_LEASE_SECS", "2".to_owned()),
    ];
    let mut doomed = serve_with(&db.app_url, &redis, keys.path(), &env);
    let survivor = serve_with(&db.app_url, &redis, keys.path(), &env);
    let client = reqwest::Client::new();
    let root = token(&client, &doomed.base, "platform", common::ADMIN_PASSWORD).await;
    // basic plan: three searches at once
    let (_, admin) = tenant(&client, &doomed.base, &root, "slots", json!({})).await;
    let search = |base: String, query: &'static str| {
        let (client, admin) = (client.clone(), admin.clone());
        async move {
            call(
                &client,
                "POST",
                &format!("{base}/api/v1/search/"),
                Some(&admin),
                Some(json!({"query": query, "sources": ["pubmed"]})),
            )
            .await
        }
    };
    for query in ["hang one", "hang two", "hang three"] {
        // these never get an answer: their server is killed under them
        let request = client
            .post(format!("{}/api/v1/search/", doomed.base))
            .bearer_auth(&admin)
            .json(&json!({"query": query, "sources": ["pubmed"]}));
        tokio::spawn(async move { drop(request.send().await) });
    }
    for _ in 0..100 {
        if pubmed.received_requests().await.unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        pubmed.received_requests().await.unwrap().len(),
        3,
        "three searches hang"
    );
    let (status, body) = search(survivor.base.clone(), "after").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("concurrent_search_limit")),
        "the slots are shared: {body}"
    );

    // the replica dies without releasing anything
    doomed.process.child.kill().unwrap();
    doomed.process.child.wait().unwrap();
    let killed = Instant::now();
    let mut recovered = None;
    while killed.elapsed() < Duration::from_secs(10) {
        let (status, body) = search(survivor.base.clone(), "after").await;
        if status == 200 {
            recovered = Some(killed.elapsed());
            break;
        }
        assert_eq!(body["code"], "concurrent_search_limit", "{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered = recovered.expect("the dead replica's slots came back");
    println!("slots free again {recovered:?} after the kill (lease 2 s)");
    assert!(recovered <= Duration::from_secs(4), "{recovered:?}");
}
