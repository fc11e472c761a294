//! Two replicas sharing PostgreSQL and Redis: what one does, the other knows at once (the
//! periodic store sync is switched off here, so only the Redis events can carry it); and Redis
//! going away, on a private redis-server this test starts: the server keeps serving, degraded,
//! and picks Redis up again by itself.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use pake::config::Config;
use pake::startup::Application;
use pake_store_postgres::test_db::TestDb;
use secrecy::SecretString;
use serde_json::{Value, json};

struct Replica {
    base: String,
    handle: actix_web::dev::ServerHandle,
}

async fn replica(config: &Config) -> Replica {
    let app = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    Replica { base, handle }
}

fn shared_config(
    dir: &tempfile::TempDir,
    keys: &std::path::Path,
    db: &TestDb,
    redis: &str,
) -> Config {
    let mut config = common::test_config(dir);
    config.store.database_url = Some(SecretString::from(db.app_url.clone()));
    config.cache.redis_url = Some(SecretString::from(redis.to_owned()));
    config.auth.keys_dir = Some(keys.to_path_buf());
    // No periodic sync: only the event bus can tell the other replica.
    config.auth.sync_interval_secs = 3600;
    config
}

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn login(r: &Replica, tenant: &str, user: &str, password: &str) -> (u16, Value) {
    let body = json!({"tenant": tenant, "username": user, "password": password});
    call(
        reqwest::Method::POST,
        format!("{}/api/v1/auth/login", r.base),
        None,
        Some(body),
    )
    .await
}

async fn me(r: &Replica, token: &str) -> u16 {
    call(
        reqwest::Method::GET,
        format!("{}/api/v1/auth/me", r.base),
        Some(token),
        None,
    )
    .await
    .0
}

async fn eventually(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !ok().await {
        assert!(start.elapsed() < Duration::from_secs(5), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_replica_does_the_other_knows_at_once() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let redis =
        std::env::var("PAKE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let keys = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = replica(&shared_config(&dir_a, keys.path(), &db, &redis)).await;
    let b = replica(&shared_config(&dir_b, keys.path(), &db, &redis)).await;

    let (_, root) = login(&a, "platform", "admin", common::ADMIN_PASSWORD).await;
    let root = root["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        me(&b, &root).await,
        200,
        "a token of one replica works on the other"
    );

    // a tenant created on A can log in on B
    let body = json!({"name": "acme", "display_name": "Acme", "plan": "basic", "admin_email": "a@acme.org",
        "admin_password": common::TENANT_ADMIN_PASSWORD});
    let (status, created) = call(
        reqwest::Method::POST,
        format!("{}/api/v1/tenants/", a.base),
        Some(&root),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    eventually("the new tenant is usable on B", async || {
        login(&b, "acme", "admin", common::TENANT_ADMIN_PASSWORD)
            .await
            .0
            == 200
    })
    .await;

    // logout on A ends the session on B too
    let (_, session) = login(&b, "acme", "admin", common::TENANT_ADMIN_PASSWORD).await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&a, &token).await, 200);
    assert_eq!(
        call(
            reqwest::Method::POST,
            format!("{}/api/v1/auth/logout", a.base),
            Some(&token),
            None
        )
        .await
        .0,
        204
    );
    eventually("B refuses the logged-out token", async || {
        me(&b, &token).await == 401
    })
    .await;

    // suspending the tenant on A locks its tokens out on B
    let (_, again) = login(&a, "acme", "admin", common::TENANT_ADMIN_PASSWORD).await;
    let token = again["access_token"].as_str().unwrap().to_owned();
    let id = created["tenant"]["id"].as_str().unwrap();
    assert_eq!(
        call(
            reqwest::Method::DELETE,
            format!("{}/api/v1/tenants/{id}", a.base),
            Some(&root),
            None
        )
        .await
        .0,
        200
    );
    eventually("B refuses the suspended tenant's token", async || {
        me(&b, &token).await == 401
    })
    .await;
    a.handle.stop(false).await;
    b.handle.stop(false).await;
}

/// A redis-server of its own on a free port; stopped on drop.
struct PrivateRedis {
    port: u16,
    pidfile: std::path::PathBuf,
}

impl PrivateRedis {
    fn start(port: u16, dir: &std::path::Path) -> Self {
        let pidfile = dir.join(format!("redis-{port}.pid"));
        let status = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
            ])
            .args([
                "--pidfile",
                pidfile.to_str().unwrap(),
                "--dir",
                dir.to_str().unwrap(),
            ])
            .status()
            .expect("redis-server (apt-get install redis-server)");
        assert!(status.success());
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, pidfile }
    }

    fn stop(&self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pidfile) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn readiness(r: &Replica) -> (u16, Value) {
    call(
        reqwest::Method::GET,
        format!("{}/health/ready", r.base),
        None,
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_degrades_and_comes_back_by_itself() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = PrivateRedis::start(port, tmp.path());
    let url = format!("redis://127.0.0.1:{port}");
    let keys = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = replica(&shared_config(&dir_a, keys.path(), &db, &url)).await;
    let b = replica(&shared_config(&dir_b, keys.path(), &db, &url)).await;
    let (status, ready) = readiness(&a).await;
    assert_eq!(
        (status, ready["checks"]["cache"]["status"].as_str()),
        (200, Some("ok"))
    );

    redis.stop();
    let (status, ready) = readiness(&a).await;
    assert_eq!(status, 200, "Redis is not required: {ready}");
    assert_eq!(ready["checks"]["cache"]["status"], "degraded");
    let (status, login_body) = login(&a, "platform", "admin", common::ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "the API keeps serving: {login_body}");
    let token = login_body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&b, &token).await, 200);
    let (status, ready) = readiness(&a).await;
    assert_eq!(status, 200);
    assert_eq!(
        ready["checks"]["limits"]["status"], "degraded",
        "limits fell back to this replica: {ready}"
    );

    let _redis = PrivateRedis::start(port, tmp.path());
    eventually("the cache is whole again", async || {
        readiness(&a).await.1["checks"]["cache"]["status"] == "ok"
    })
    .await;
    // the event subscription came back by itself: a logout on A reaches B again
    eventually("events flow again", async || {
        let (_, fresh) = login(&a, "platform", "admin", common::ADMIN_PASSWORD).await;
        let t = fresh["access_token"].as_str().unwrap().to_owned();
        call(
            reqwest::Method::POST,
            format!("{}/api/v1/auth/logout", a.base),
            Some(&t),
            None,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        me(&b, &t).await == 401
    })
    .await;
    assert_eq!(
        readiness(&a).await.1["checks"]["limits"]["status"],
        "ok",
        "limits are shared again"
    );
    a.handle.stop(false).await;
    b.handle.stop(false).await;
}
