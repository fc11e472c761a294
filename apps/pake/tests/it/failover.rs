//! The database going away and coming back, on a private PostgreSQL this test starts on a free
//! port (never the shared one): the endpoints that need it answer 503 with `Retry-After`,
//! readiness fails, liveness stays up, and everything recovers without a restart.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pake::startup::Application;
use secrecy::SecretString;

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// Where a private cluster lives and listens.
#[derive(Clone)]
struct Cluster {
    dir: PathBuf,
    port: u16,
}

/// A PostgreSQL cluster of its own, run as the `postgres` user, stopped and removed on drop.
struct PrivatePg(Cluster);

fn as_postgres(program: &str, args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{BIN}/{program}")])
        .args(args)
        .output()
        .expect("runuser")
}

impl PrivatePg {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("pake-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Command::new("chown")
            .args(["-R", "postgres:postgres", dir.to_str().unwrap()])
            .status()
            .unwrap();
        let data = dir.join("data");
        let out = as_postgres(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster { dir, port };
        cluster.up();
        Self(cluster)
    }
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn up(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        let out = as_postgres(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn down(&self) {
        let out = as_postgres(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = as_postgres(
            "pg_ctl",
            &[
                "-D",
                self.0.data().to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ],
        );
        let _ = std::fs::remove_dir_all(&self.0.dir);
    }
}

fn psql(pg: &Cluster, sql: &str) {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port.to_string(),
            "-U",
            "postgres",
            "-qc",
            sql,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn until(what: &str, timeout: Duration, mut ok: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !ok().await {
        assert!(start.elapsed() < timeout, "{what} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_goes_away_and_comes_back() {
    assert!(
        Path::new(BIN).exists(),
        "PostgreSQL 15 server binaries are needed at {BIN} (apt-get install postgresql-15)"
    );
    let private = tokio::task::spawn_blocking(PrivatePg::start).await.unwrap();
    let pg = private.0.clone();
    psql(&pg, "CREATE DATABASE pake");
    let owner = pg.url("postgres", "pake");
    tokio::task::spawn_blocking(move || pake_store_postgres::migrate(&owner).unwrap())
        .await
        .unwrap();
    psql(
        &pg,
        "CREATE ROLE pake_server LOGIN; GRANT pake_app TO pake_server",
    );

    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config(&dir);
    config.store.database_url = Some(SecretString::from(pg.url("pake_server", "pake")));
    config.store.pg_pool_size = 4;
    let app = Application::build(&config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let body = serde_json::json!({"tenant": "platform", "username": "admin", "password": common::ADMIN_PASSWORD});
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let users = || {
        client
            .get(format!("{base}/api/v1/users/"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(users().await.unwrap().status(), 200);

    let cluster = pg.clone();
    tokio::task::spawn_blocking(move || cluster.down())
        .await
        .unwrap();
    let res = users().await.unwrap();
    assert_eq!(res.status(), 503, "a request that needs the database");
    assert!(res.headers().contains_key("retry-after"));
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "service_unavailable");
    assert_eq!(
        client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "liveness stays up"
    );
    assert_eq!(
        client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        503,
        "readiness fails"
    );

    let cluster = pg.clone();
    tokio::task::spawn_blocking(move || cluster.up())
        .await
        .unwrap();
    until("readiness recovers", Duration::from_secs(20), async || {
        client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    until(
        "requests recover without a restart",
        Duration::from_secs(20),
        async || users().await.is_ok_and(|r| r.status() == 200),
    )
    .await;
    handle.stop(false).await;
    drop(private);
}
