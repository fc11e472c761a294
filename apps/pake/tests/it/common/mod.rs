//! A real server on an ephemeral port over a fresh embedded store, as the binary builds it.

pub(crate) mod process;

use pake::config::Config;
use pake::startup::Application;
use secrecy::SecretString;
use serde_json::{Value, json};

/// The super admin's password in tests.
pub(crate) const ADMIN_PASSWORD: &str = "Quiet-Harbour-42!";

/// A running test server.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// A client without redirects, so redirects can be asserted.
    pub client: reqwest::Client,
    /// The metrics listener's port, when `metrics.bind` is set.
    pub metrics_port: Option<u16>,
    handle: actix_web::dev::ServerHandle,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    dir: tempfile::TempDir,
    db: Option<pake_store_postgres::test_db::TestDb>,
    /// The server's services (for what no endpoint triggers: a background sweep).
    pub services: pake_core::Services,
}

impl TestApp {
    /// The URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The server's store, opened beside it (PostgreSQL as the superuser owner, so nothing is
    /// hidden by row-level security; or the SQLite file).
    pub(crate) fn store(&self) -> pake_ports::Repositories {
        match &self.db {
            Some(db) => pake_store_postgres::PgStore::connect(
                &db.owner_url,
                &pake_store_postgres::PgOptions::default(),
            )
            .expect("pool")
            .repositories(),
            None => pake_store_sqlite::SqliteStore::open(
                &self.dir.path().join("pake.db"),
                &pake_store_sqlite::SqliteOptions::default(),
            )
            .expect("sqlite")
            .repositories(),
        }
    }

    /// Stops the server gracefully, waits until it has finished (its last usage flush
    /// included), and starts a new one on the same data directory (and the same PostgreSQL
    /// database and Redis, in the production configuration).
    pub(crate) async fn restart(mut self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        self.handle.stop(true).await;
        if let Some(served) = self.served.take() {
            served.await.expect("server task").expect("server");
        }
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let db = self.db.take();
        let shared = db.as_ref().map(|d| d.app_url.clone());
        let mut app = spawn_in(dir, |c| {
            if let Some(url) = shared {
                production(c, url);
            }
            tweak(c);
        })
        .await;
        app.db = db;
        app
    }

    /// Starts another replica on the same PostgreSQL database and Redis, with a data directory of
    /// its own (production configuration only).
    pub(crate) async fn replica(&self) -> TestApp {
        let url = self
            .db
            .as_ref()
            .expect("a replica shares PostgreSQL")
            .app_url
            .clone();
        spawn_with(|c| production(c, url)).await
    }

    /// The server's signing keys (each call builds the key set anew): the key files of the
    /// embedded store, or the sealed keys in PostgreSQL opened with [`TEST_KEK`].
    pub(crate) async fn signing_keys(&self) -> Box<dyn Fn() -> pake_crypto::KeySet> {
        use pake_ports::SigningKeyStore;
        if let Some(db) = &self.db {
            {
                let pg = pake_store_postgres::PgStore::connect(
                    &db.owner_url,
                    &pake_store_postgres::PgOptions::default(),
                )
                .expect("pool");
                let stored = pg.list_signing_keys().await.expect("stored keys");
                Box::new(move || {
                    let sealer = pake_crypto::KeySealer::from_base64(TEST_KEK).expect("kek");
                    pake_crypto::KeySet::from_stored(
                        &stored,
                        &sealer,
                        time::OffsetDateTime::now_utc(),
                    )
                    .expect("keys open")
                })
            }
        } else {
            let dir = self.dir.path().join("keys");
            Box::new(move || pake_crypto::KeySet::load_or_generate(&dir, None).expect("keys"))
        }
    }

    /// The server's data directory.
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Sends a JSON request; returns the status and the JSON body (`Null` when empty).
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_with(method, path, token, body, &[]).await
    }

    /// As [`TestApp::call`], with extra headers.
    pub(crate) async fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let bytes = res.bytes().await.expect("body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, json)
    }

    /// Logs in; returns the status and body.
    pub(crate) async fn login(&self, tenant: &str, username: &str, password: &str) -> (u16, Value) {
        let body = json!({"tenant": tenant, "username": username, "password": password});
        self.call("POST", "/api/v1/auth/login", None, Some(body))
            .await
    }

    /// Exchanges a refresh token; returns the status and body.
    pub(crate) async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let body = json!({"refresh_token": refresh_token});
        self.call("POST", "/api/v1/auth/refresh", None, Some(body))
            .await
    }

    /// Runs a search as `token`; returns the status and body.
    pub(crate) async fn search(&self, token: &str, body: Value) -> (u16, Value) {
        self.call("POST", "/api/v1/search/", Some(token), Some(body))
            .await
    }

    /// Logs in and returns the access token, panicking on failure.
    pub(crate) async fn token(&self, tenant: &str, username: &str, password: &str) -> String {
        let (status, body) = self.login(tenant, username, password).await;
        assert_eq!(status, 200, "login {tenant}/{username}: {body}");
        body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// The platform super admin's token.
    pub(crate) async fn root(&self) -> String {
        self.token("platform", "admin", ADMIN_PASSWORD).await
    }

    /// Creates a tenant on `plan` with an admin whose password is [`TENANT_ADMIN_PASSWORD`], waits
    /// until it is active, and returns its id and the admin's token.
    pub(crate) async fn tenant(&self, root: &str, name: &str, plan: &str) -> (String, String) {
        let body = json!({"name": name, "display_name": format!("{name} Labs"), "plan": plan,
            "admin_email": format!("admin@{name}.org"), "admin_password": TENANT_ADMIN_PASSWORD});
        let (status, created) = self
            .call("POST", "/api/v1/tenants/", Some(root), Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["tenant"]["id"].as_str().expect("id").to_owned();
        self.wait_active(root, &id).await;
        let token = self.token(name, "admin", TENANT_ADMIN_PASSWORD).await;
        (id, token)
    }

    /// Waits until a tenant's provisioning finished.
    pub(crate) async fn wait_active(&self, root: &str, id: &str) {
        for _ in 0..100 {
            let (_, t) = self
                .call("GET", &format!("/api/v1/tenants/{id}"), Some(root), None)
                .await;
            if t["tenant"]["status"] == "active" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("tenant {id} never became active");
    }

    /// Creates a user with `role` and password [`USER_PASSWORD`]; returns its id.
    pub(crate) async fn user(&self, admin: &str, username: &str, role: &str) -> String {
        let body = json!({"username": username, "email": format!("{username}@example.org"), "role": role, "password": USER_PASSWORD});
        let (status, created) = self
            .call("POST", "/api/v1/users/", Some(admin), Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        created["user"]["id"].as_str().expect("id").to_owned()
    }
}

impl TestApp {
    /// Creates a user with `role` in `tenant` (through its `admin`) and logs it in; returns its
    /// id and access token.
    pub(crate) async fn member(
        &self,
        admin: &str,
        tenant: &str,
        username: &str,
        role: &str,
    ) -> (String, String) {
        let id = self.user(admin, username, role).await;
        (id, self.token(tenant, username, USER_PASSWORD).await)
    }

    /// The audit trail's first page (up to 100) of events of `kind` that `token` may read,
    /// newest first (the body with `audit_events` and `pagination`).
    pub(crate) async fn audit(&self, token: &str, kind: &str) -> Value {
        let path = format!("/api/v1/audit/?type={kind}&limit=100");
        let (status, page) = self.call("GET", &path, Some(token), None).await;
        assert_eq!(status, 200, "{page}");
        page
    }

    /// The events of [`TestApp::audit`].
    pub(crate) async fn audit_events(&self, token: &str, kind: &str) -> Vec<Value> {
        let page = self.audit(token, kind).await;
        page["audit_events"]
            .as_array()
            .expect("audit events")
            .clone()
    }
}

/// Tenant admins' password in tests.
pub(crate) const TENANT_ADMIN_PASSWORD: &str = "Granite-Falcon-77#";
/// Other users' password in tests.
pub(crate) const USER_PASSWORD: &str = "Velvet-Compass-19%";

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// The key-encryption key of the test servers (32 bytes, base64): with PostgreSQL the signing keys
/// are sealed with it in the database.
pub(crate) const TEST_KEK: &str = "cGFrZS10ZXN0LWtleS1lbmNyeXB0aW9uLWtleS0zMmI=";

/// The test configuration: port 0, a temporary data directory, cheap hashing.
pub(crate) fn test_config(dir: &tempfile::TempDir) -> Config {
    let mut config = Config::default();
    config.auth.key_encryption_key = Some(SecretString::from(TEST_KEK));
    config.server.bind = "127.0.0.1:0".parse().expect("address");
    config.server.workers = 1;
    config.store.data_dir = dir.path().to_path_buf();
    config.passwords.argon2_memory_kib = 1024;
    config.passwords.argon2_iterations = 1;
    config.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    // Every test logs in from 127.0.0.1, and with Redis the address bucket is shared by all test
    // servers: the address limit has its own test.
    config.limits.address_per_minute = 1_000_000;
    config
}

/// Starts a server with `config` adjusted by `tweak`.
pub(crate) async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_in(tempfile::tempdir().expect("temp dir"), tweak).await
}

/// Starts a server on an existing data directory.
pub(crate) async fn spawn_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_at(dir, std::sync::Arc::new(pake_ports::SystemClock), tweak).await
}

/// A clock the test moves by hand.
pub(crate) struct ManualClock(std::sync::Mutex<time::OffsetDateTime>);

impl ManualClock {
    /// A clock showing `now`.
    pub(crate) fn new(now: time::OffsetDateTime) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(std::sync::Mutex::new(now)))
    }

    /// Moves the clock to `to`.
    pub(crate) fn set(&self, to: time::OffsetDateTime) {
        *self.0.lock().unwrap() = to;
    }
}

impl pake_ports::Clock for ManualClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// Starts a server with the test configuration adjusted by `tweak` and `clock` for time.
pub(crate) async fn spawn_with_clock(
    clock: std::sync::Arc<dyn pake_ports::Clock>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_at(tempfile::tempdir().expect("temp dir"), clock, tweak).await
}

async fn spawn_at(
    dir: tempfile::TempDir,
    clock: std::sync::Arc<dyn pake_ports::Clock>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = test_config(&dir);
    tweak(&mut config);
    let app = Application::build_with_clock(&config, clock)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_port = app.metrics_port();
    let handle = app.handle();
    let services = app.services();
    let served = Some(tokio::spawn(app.run_until_stopped()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("pake-tests")
        .build()
        .expect("client");
    TestApp {
        address,
        client,
        metrics_port,
        handle,
        served,
        dir,
        db: None,
        services,
    }
}

/// Starts a server in the production configuration: PostgreSQL (a database of its own, as the
/// application role) and Redis (`PAKE_TEST_REDIS_URL`, default the local one).
pub(crate) async fn spawn_pg_app() -> TestApp {
    spawn_pg_with(|_| {}).await
}

/// As [`spawn_pg_app`], with the configuration adjusted by `tweak`.
pub(crate) async fn spawn_pg_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let db = tokio::task::spawn_blocking(pake_store_postgres::test_db::TestDb::new)
        .await
        .expect("test database");
    let url = db.app_url.clone();
    let mut app = spawn_with(|c| {
        production(c, url);
        tweak(c);
    })
    .await;
    app.db = Some(db);
    app
}

/// Points `config` at PostgreSQL (`url`, as the application role) and Redis
/// (`PAKE_TEST_REDIS_URL`, default the local one).
fn production(config: &mut Config, url: String) {
    let redis =
        std::env::var("PAKE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    config.store.database_url = Some(SecretString::from(url));
    config.cache.redis_url = Some(SecretString::from(redis));
}

impl TestApp {
    /// Whether the server runs in the production configuration.
    pub(crate) fn is_production(&self) -> bool {
        self.db.is_some()
    }
}

/// Runs each named scenario (`async fn name(app: TestApp)`) twice: in the embedded configuration
/// (SQLite, in-process cache) and in the production one (PostgreSQL and Redis).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::spawn_app().await).await;
                }
            )+
        }
        mod production {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::spawn_pg_app().await).await;
                }
            )+
        }
    };
}

/// Starts a server with the test configuration.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}
