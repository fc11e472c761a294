//! Typed, layered configuration: built-in defaults → optional TOML file → `PAKE_…` environment.
//!
//! Loaded once at start-up and handed out section by section: each adapter sees only its own.
//! Secrets are [`SecretString`]s: they never print, and `pake config` shows them as `<redacted>`.
//! Environment keys use `__` between levels: `PAKE_SERVER__BIND=0.0.0.0:8000`,
//! `PAKE_PLANS__BASIC__MAX_USERS=10`. `PAKE_BOOTSTRAP_ADMIN_PASSWORD` sets the first super admin's
//! password.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use pake_domain::{PlanCatalog, PlanId, PlanOverride};
use secrecy::SecretString;
use serde::{Deserialize, Serialize, Serializer};

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// HTTP server.
    pub server: ServerConfig,
    /// Persistent store.
    pub store: StoreConfig,
    /// Logging.
    pub log: LogConfig,
    /// Password hashing.
    pub passwords: PasswordConfig,
    /// Tokens, sessions and lockout.
    pub auth: AuthConfig,
    /// The cache (and Redis).
    pub cache: CacheConfig,
    /// Request-rate limits besides the plans' tenant rates.
    pub limits: LimitsConfig,
    /// Federated search and its upstreams.
    pub search: SearchConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// OpenTelemetry trace export.
    pub tracing: TracingConfig,
    /// First-start bootstrap.
    pub bootstrap: BootstrapConfig,
    /// Operator overrides of the plan defaults, by plan name.
    pub plans: BTreeMap<PlanId, PlanOverride>,
}

/// HTTP server settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address.
    pub bind: SocketAddr,
    /// Worker threads (default: one per CPU).
    pub workers: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Seconds shutdown waits for in-flight requests.
    pub shutdown_timeout_secs: u64,
    /// Milliseconds a request body may take to arrive after the request head; a client still
    /// sending (or stalled) then gets 408 `request_timeout` and its connection is closed.
    pub client_body_timeout_ms: u64,
    /// Send `Strict-Transport-Security` (set it when clients reach PAKE over TLS, directly or
    /// through a TLS-terminating proxy).
    pub hsts: bool,
    /// Compress JSON, text and documentation bodies of at least this many bytes with brotli or
    /// gzip, as the client accepts (0: never).
    pub compress_min_bytes: usize,
    /// Origins a browser may call the API from (`https://app.example.org`; `*` for any). Empty:
    /// no CORS headers. Credentials are never allowed: the API takes bearer tokens.
    pub cors_allowed_origins: Vec<String>,
    /// Proxies (addresses or networks, `10.0.0.0/8`) whose `Forwarded` / `X-Forwarded-For` name
    /// the client; the client address of limits and audit comes only through these hops.
    pub trusted_proxies: Vec<String>,
    /// PEM certificate chain (leaf first): with `tls_key_path`, PAKE serves HTTPS (rustls, HTTP/2
    /// and HTTP/1.1) and sends `Strict-Transport-Security`.
    pub tls_cert_path: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub tls_key_path: Option<PathBuf>,
}

/// Store settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Where the embedded store keeps its files (and the default key directory).
    pub data_dir: PathBuf,
    /// SQLite connections in the pool.
    pub sqlite_pool_size: u32,
    /// PostgreSQL URL of the application role (also `DATABASE_URL`); when set, PAKE runs on
    /// PostgreSQL instead of the embedded SQLite store.
    #[serde(serialize_with = "redact")]
    pub database_url: Option<SecretString>,
    /// PostgreSQL URL of the schema owner for `pake migrate` (default: `database_url`).
    #[serde(serialize_with = "redact")]
    pub migrate_database_url: Option<SecretString>,
    /// PostgreSQL connections in the pool.
    pub pg_pool_size: usize,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable, for terminals.
    Pretty,
    /// One JSON object per line, for collectors.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `pake=debug,actix_web=warn`, …); `RUST_LOG` overrides it.
    pub level: String,
    /// Also write access-log lines for `/health` probes.
    pub access_log_probes: bool,
}

/// argon2id parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Memory in KiB.
    pub argon2_memory_kib: u32,
    /// Iterations.
    pub argon2_iterations: u32,
    /// Lanes.
    pub argon2_parallelism: u32,
    /// Hashes allowed at once (0 = one per CPU).
    pub max_concurrent_hashes: usize,
}

/// Rate-limit settings (the tenant rate itself is the plan's `requests_per_minute`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// The fraction of the tenant's requests per minute one user may use.
    pub user_fraction: f64,
    /// Login and refresh attempts per client address per minute (in front of the lockout).
    pub address_per_minute: u32,
    /// With Redis: the most tokens (or quota units) a replica takes in one round trip and spends
    /// locally (1 = one round trip per request per limit). Batches follow demand and shrink near
    /// a limit; see `docs/production.md`.
    pub lease_max: u32,
    /// With Redis: how long a replica may spend leased units, in milliseconds.
    pub lease_ms: u64,
    /// How long a search's concurrency slot lives unless renewed, in seconds (a replica that
    /// dies mid-search frees its slots within this).
    pub search_lease_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let d = pake_core::LimitPolicy::default();
        Self {
            user_fraction: d.user_fraction,
            address_per_minute: d.address_per_minute,
            lease_max: 512,
            lease_ms: 250,
            search_lease_secs: d.search_lease.as_secs(),
        }
    }
}

/// Cache settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Redis URL (also `REDIS_URL`): the shared L2 cache and the cross-replica identity events.
    #[serde(serialize_with = "redact")]
    pub redis_url: Option<SecretString>,
    /// Size of the in-process cache, MiB.
    pub memory_mib: u64,
    /// How long a value read from Redis stays in the in-process layer, seconds.
    pub l1_ttl_secs: u64,
    /// Redis connections in the pool.
    pub redis_pool_size: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            memory_mib: 64,
            l1_ttl_secs: 30,
            redis_pool_size: 16,
        }
    }
}

/// Prometheus metrics: `/metrics` is served on `bind` (open: keep that address on the monitoring
/// network), and/or on the API listener behind `token`; with neither it is not served and requests
/// are not counted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A separate listen address for `/metrics` (e.g. `0.0.0.0:9100`).
    pub bind: Option<SocketAddr>,
    /// The bearer token `/metrics` on the API listener requires.
    #[serde(serialize_with = "redact")]
    pub token: Option<SecretString>,
}

/// OpenTelemetry trace export over OTLP/HTTP: on when `otlp_endpoint` (or the standard
/// `OTEL_EXPORTER_OTLP_ENDPOINT`) is set, off otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// The collector's base URL (`http://otel-collector:4318`); `/v1/traces` is appended.
    pub otlp_endpoint: Option<String>,
    /// The fraction of new traces sampled (a sampled parent's `traceparent` is always followed).
    pub sample_ratio: f64,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sample_ratio: 0.1,
            service_name: "pake".into(),
        }
    }
}

/// Federated search settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// How long a search waits for its sources, milliseconds (what arrived by then is answered).
    pub budget_ms: u64,
    /// Retries of a throttled or failed (5xx) upstream call within the budget.
    pub retries: u32,
    /// The first retry's backoff, milliseconds (doubling, plus jitter).
    pub backoff_ms: u64,
    /// Consecutive failures that open a source's circuit.
    pub breaker_failures: u32,
    /// How long an open circuit stays open, seconds.
    pub breaker_cooldown_secs: u64,
    /// The User-Agent sent upstream (name, version, and a way to reach the operator).
    pub user_agent: String,
    /// The operator's e-mail, sent to NCBI as `email`.
    pub contact_email: String,
    /// arXiv (Atom API).
    pub arxiv: UpstreamConfig,
    /// PubMed (E-utilities).
    pub pubmed: UpstreamConfig,
    /// The web (Firecrawl `/search`); without `api_key` the source reports itself unavailable.
    pub web: UpstreamConfig,
}

/// One upstream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Base URL.
    pub base_url: String,
    /// API key (PubMed: raises NCBI's rate from 3/s to 10/s; web: required).
    #[serde(serialize_with = "redact")]
    pub api_key: Option<SecretString>,
    /// At least this long between two requests across every replica, milliseconds (0: the
    /// upstream's default: arXiv 3000, PubMed 334 or 100 with a key, web 100).
    pub interval_ms: u64,
    /// Time allowed for one HTTP request, milliseconds.
    pub timeout_ms: u64,
    /// The largest answer accepted, bytes.
    pub max_bytes: usize,
    /// How long its results stay cached, seconds.
    pub cache_ttl_secs: u64,
}

impl UpstreamConfig {
    fn new(base_url: &str, timeout_ms: u64, cache_ttl_secs: u64) -> Self {
        Self {
            base_url: base_url.to_owned(),
            api_key: None,
            interval_ms: 0,
            timeout_ms,
            max_bytes: 4 * 1024 * 1024,
            cache_ttl_secs,
        }
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self::new("", 8000, 600)
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            budget_ms: 10_000,
            retries: 2,
            backoff_ms: 500,
            breaker_failures: 5,
            breaker_cooldown_secs: 30,
            user_agent: format!(
                "PAKE/{} (research search; +https://example.invalid/pake)",
                env!("CARGO_PKG_VERSION")
            ),
            contact_email: "ops@example.invalid".into(),
            arxiv: UpstreamConfig::new("https://export.arxiv.org", 8000, 3600),
            pubmed: UpstreamConfig::new(
                "https://eutils.ncbi.nlm.nih.gov/entrez/eutils",
                8000,
                3600,
            ),
            web: UpstreamConfig::new("https://api.firecrawl.dev", 8000, 600),
        }
    }
}

/// Authentication settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The `iss` of access tokens.
    pub issuer: String,
    /// The `aud` of access tokens.
    pub audience: String,
    /// Access-token lifetime, seconds.
    pub access_token_ttl_secs: u64,
    /// Session (refresh-token family) lifetime with `remember_me`, days.
    pub session_ttl_days: u64,
    /// Session lifetime without `remember_me`, hours.
    pub short_session_ttl_hours: u64,
    /// Consecutive failed logins that lock an account.
    pub lockout_threshold: u32,
    /// Lock duration, minutes.
    pub lockout_minutes: u64,
    /// Directory of Ed25519 signing keys (PKCS#8 PEM); default `<data_dir>/keys`. A key is
    /// generated there on first start when none exists.
    pub keys_dir: Option<PathBuf>,
    /// The kid of the key that signs (default: the newest key file).
    pub signing_kid: Option<String>,
    /// How often the tenant directory and revocations are re-read from the store, seconds (how
    /// soon another replica's changes arrive).
    pub sync_interval_secs: u64,
    /// With PostgreSQL: the key-encryption key that seals the signing keys kept in the store, 32
    /// random bytes in base64 (`openssl rand -base64 32`), the same on every replica. Required
    /// with `store.database_url`; unused by the embedded store, which keeps key files.
    #[serde(serialize_with = "redact")]
    pub key_encryption_key: Option<SecretString>,
    /// Seconds a key added by `pake keys rotate` waits before it signs, so every replica has
    /// loaded it (it verifies at once); never less than twice `sync_interval_secs`.
    pub key_activation_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "pake".into(),
            audience: "pake-api".into(),
            access_token_ttl_secs: 15 * 60,
            session_ttl_days: 30,
            short_session_ttl_hours: 24,
            lockout_threshold: 5,
            lockout_minutes: 15,
            keys_dir: None,
            signing_kid: None,
            sync_interval_secs: 5,
            key_encryption_key: None,
            key_activation_secs: 60,
        }
    }
}

/// Bootstrap settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    /// The first super admin's username.
    pub admin_username: String,
    /// The first super admin's e-mail address.
    pub admin_email: String,
    /// The first super admin's password; generated (and printed once) when absent.
    #[serde(serialize_with = "redact")]
    pub admin_password: Option<SecretString>,
}

#[allow(clippy::ref_option)] // the signature serde's `serialize_with` requires
fn redact<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_str("<redacted>"),
        None => s.serialize_none(),
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        let http = pake_http::HttpOptions::default();
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            workers: http.workers,
            body_limit_bytes: http.body_limit,
            shutdown_timeout_secs: http.shutdown_timeout.as_secs(),
            hsts: http.hsts,
            compress_min_bytes: http.compress_min_bytes,
            client_body_timeout_ms: u64::try_from(http.client_body_timeout.as_millis())
                .unwrap_or(u64::MAX),
            cors_allowed_origins: http.cors_origins,
            trusted_proxies: Vec::new(),
            tls_cert_path: None,
            tls_key_path: None,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./pake-data"),
            sqlite_pool_size: 8,
            database_url: None,
            migrate_database_url: None,
            pg_pool_size: 16,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
            access_log_probes: false,
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        let d = pake_crypto::HashingOptions::default();
        Self {
            argon2_memory_kib: d.memory_kib,
            argon2_iterations: d.iterations,
            argon2_parallelism: d.parallelism,
            max_concurrent_hashes: 0,
        }
    }
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        let d = pake_core::BootstrapOptions::default();
        Self {
            admin_username: d.admin_username,
            admin_email: d.admin_email,
            admin_password: None,
        }
    }
}

/// The configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer has a bad value or an unknown key.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then the TOML file at `file` (when given, it must exist; otherwise
    /// `./pake.toml` when present), then the environment.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the bad key or value.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, Env::prefixed("PAKE_"))
    }

    fn load_from(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError::Invalid(format!(
                    "config file {} not found",
                    path.display()
                )));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("pake.toml").exists() => {
                figment = figment.merge(Toml::file_exact("pake.toml"));
            }
            None => {}
        }
        let figment = figment
            // The bootstrap password has a flat, documented name.
            .merge(
                Env::raw()
                    .only(&["PAKE_BOOTSTRAP_ADMIN_PASSWORD"])
                    .map(|_| "bootstrap.admin_password".into()),
            )
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "store.database_url".into()),
            )
            .merge(
                Env::raw()
                    .only(&["REDIS_URL"])
                    .map(|_| "cache.redis_url".into()),
            )
            // `PAKE_TEST_*` belongs to the test pipeline, not to the server.
            .merge(
                env.ignore(&["CONFIG", "BOOTSTRAP_ADMIN_PASSWORD"])
                    .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"))
                    .split("__"),
            );
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.server.workers == 0 {
            return Err(ConfigError::Invalid(
                "server.workers must be at least 1".into(),
            ));
        }
        if self.server.client_body_timeout_ms == 0 {
            return Err(ConfigError::Invalid(
                "server.client_body_timeout_ms must be at least 1".into(),
            ));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "server.body_limit_bytes must be at least 1024".into(),
            ));
        }
        let a = &self.auth;
        if a.access_token_ttl_secs < 30 || a.session_ttl_days == 0 || a.short_session_ttl_hours == 0
        {
            return Err(ConfigError::Invalid(
                "auth lifetimes must be positive (access tokens ≥ 30 s)".into(),
            ));
        }
        if self.server.tls_cert_path.is_some() != self.server.tls_key_path.is_some() {
            return Err(ConfigError::Invalid(
                "server.tls_cert_path and server.tls_key_path go together".into(),
            ));
        }
        for proxy in &self.server.trusted_proxies {
            pake_http::extract::ProxyNet::parse(proxy)
                .map_err(|e| ConfigError::Invalid(format!("server.trusted_proxies: {e}")))?;
        }
        if !(self.limits.user_fraction > 0.0 && self.limits.user_fraction <= 1.0)
            || self.limits.address_per_minute == 0
            || self.limits.lease_max == 0
            || self.limits.lease_ms == 0
            || self.limits.search_lease_secs == 0
        {
            return Err(ConfigError::Invalid(
                "limits.user_fraction must be in (0, 1]; limits.address_per_minute, lease_max, \
                 lease_ms and search_lease_secs at least 1"
                    .into(),
            ));
        }
        if a.lockout_threshold == 0 || a.lockout_minutes == 0 || a.sync_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "auth.lockout_* and auth.sync_interval_secs must be at least 1".into(),
            ));
        }
        if let Some(url) = &self.store.database_url {
            use secrecy::ExposeSecret;
            let url = url.expose_secret();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::Invalid(
                    "store.database_url (DATABASE_URL) must be a postgres:// URL".into(),
                ));
            }
        }
        if self.store.sqlite_pool_size == 0 || self.store.pg_pool_size == 0 {
            return Err(ConfigError::Invalid(
                "store.sqlite_pool_size and store.pg_pool_size must be at least 1".into(),
            ));
        }
        self.plan_catalog()?;
        Ok(())
    }

    /// The plans in force.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a zero limit.
    pub fn plan_catalog(&self) -> Result<PlanCatalog, ConfigError> {
        PlanCatalog::with_overrides(self.plans.iter().map(|(id, o)| (*id, o)))
            .map_err(|e| ConfigError::Invalid(format!("plans: {e}")))
    }

    /// The trusted proxy networks (validated at load).
    pub fn trusted_proxies(&self) -> Vec<pake_http::extract::ProxyNet> {
        self.server
            .trusted_proxies
            .iter()
            .filter_map(|p| pake_http::extract::ProxyNet::parse(p).ok())
            .collect()
    }

    /// The effective configuration as JSON, every secret shown as `<redacted>`.
    pub fn redacted_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The configuration as TOML with every secret shown as `<redacted>`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when it cannot be rendered.
    pub fn to_redacted_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return its error type
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_then_file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "[server]\nbind = \"127.0.0.1:9000\"\nworkers = 3\n[plans.basic]\nmax_users = 7\n",
            )?;
            jail.set_env("PAKE_SERVER__WORKERS", "5");
            jail.set_env("PAKE_STORE__DATA_DIR", "/tmp/pake-x");
            jail.set_env("PAKE_BOOTSTRAP_ADMIN_PASSWORD", "Quiet-Harbour-42!");
            jail.set_env("PAKE_TEST_DATABASE_URL", "postgres://test-pipeline-only");
            jail.set_env("DATABASE_URL", "postgres://app@db/pake");
            jail.set_env("REDIS_URL", "redis://cache:6379");
            let config = Config::load(Some(Path::new("custom.toml"))).map_err(|e| e.to_string())?;
            let url = |s: Option<&SecretString>| s.map(|u| u.expose_secret().to_owned());
            assert_eq!(
                url(config.store.database_url.as_ref()).as_deref(),
                Some("postgres://app@db/pake")
            );
            assert_eq!(
                url(config.cache.redis_url.as_ref()).as_deref(),
                Some("redis://cache:6379"),
                "REDIS_URL switches the cache, limits and events to Redis"
            );
            assert_eq!(
                config.server.bind,
                "127.0.0.1:9000".parse::<SocketAddr>().unwrap()
            );
            assert_eq!(config.server.workers, 5, "environment beats file");
            assert_eq!(config.store.data_dir, PathBuf::from("/tmp/pake-x"));
            assert_eq!(config.log.level, "info", "defaults fill the rest");
            assert_eq!(
                config
                    .plan_catalog()
                    .unwrap()
                    .get(PlanId::Basic)
                    .limits
                    .max_users,
                7
            );
            let password = config.bootstrap.admin_password.as_ref().unwrap();
            assert_eq!(password.expose_secret(), "Quiet-Harbour-42!");
            let shown = config.to_redacted_toml().unwrap();
            assert!(!shown.contains("Quiet-Harbour"), "{shown}");
            assert!(shown.contains("<redacted>"));
            assert!(!format!("{config:?}").contains("Quiet-Harbour"));
            Ok(())
        });
    }

    #[test]
    fn bad_values_and_unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[server]\nbnid = \"x\"\n")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            jail.create_file("zero.toml", "[plans.basic]\nmax_users = 0\n")?;
            assert!(Config::load(Some(Path::new("zero.toml"))).is_err());
            assert!(Config::load(Some(Path::new("missing.toml"))).is_err());
            jail.set_env("PAKE_SERVER__WORKERS", "many");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn data_directory_defaults_to_pake_data() {
        assert_eq!(
            Config::default().store.data_dir,
            PathBuf::from("./pake-data")
        );
    }
}
