//! Typed, layered configuration: built-in defaults → optional TOML file → `PAKE_…` environment.
//!
//! Loaded once at start-up and handed out section by section: each adapter sees only its own.
//! Secrets are [`SecretString`]s: they never print, and `pake config` shows them as `<redacted>`.
//! Environment keys use `__` between levels: `PAKE_SERVER__BIND=0.0.0.0:8000`,
//! `PAKE_PLANS__BASIC__MAX_USERS=10`. `PAKE_BOOTSTRAP_ADMIN_PASSWORD` sets the first super admin's
//! password.

mod auth;
mod cache;
mod limits;
mod search;
mod server;
mod store;
mod telemetry;

use std::collections::BTreeMap;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use pake_domain::{PlanCatalog, PlanId, PlanOverride};
use secrecy::SecretString;
use serde::{Deserialize, Serialize, Serializer};

pub use auth::{AuthConfig, BootstrapConfig, PasswordConfig};
pub use cache::CacheConfig;
pub use limits::LimitsConfig;
pub use search::{PacingMode, SearchConfig, UpstreamConfig};
pub use server::ServerConfig;
pub use store::StoreConfig;
pub use telemetry::{LogConfig, LogFormat, MetricsConfig, TracingConfig};

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
        self.server.validate()?;
        self.store.validate()?;
        self.auth.validate()?;
        self.limits.validate()?;
        self.search.validate()?;
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
        self.server.trusted_proxies()
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

/// A configuration error with `message`.
fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(message.into())
}

#[expect(
    clippy::ref_option,
    reason = "the signature serde's `serialize_with` requires"
)]
pub(crate) fn redact<S: Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_str("<redacted>"),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail's closures return its error type"
)]
mod tests {
    use std::net::SocketAddr;
    use std::path::PathBuf;

    use super::*;
    use pake_domain::search::SourceId;
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
    fn pacing_off_only_for_a_mirror() {
        figment::Jail::expect_with(|jail| {
            for (url, ok) in [
                ("http://127.0.0.1:9000", true),
                ("https://arxiv-mirror.lab.example", true),
                ("https://export.arxiv.org", false),
                ("https://ARXIV.ORG.", false),
                ("http://export.arxiv.org:8080/api", false),
            ] {
                jail.create_file(
                    "p.toml",
                    &format!("[search.arxiv]\nbase_url = \"{url}\"\npacing = \"off\"\n"),
                )?;
                let loaded = Config::load(Some(Path::new("p.toml")));
                assert_eq!(loaded.is_ok(), ok, "{url}: {:?}", loaded.err());
                if let Ok(c) = loaded {
                    assert!(c.search.pacing(SourceId::Arxiv).is_off());
                    assert!(!c.search.pacing(SourceId::Pubmed).is_off());
                }
            }
            // the default hosts are the public ones: off with no mirror URL is refused
            for source in ["pubmed", "web"] {
                jail.create_file("d.toml", &format!("[search.{source}]\npacing = \"off\"\n"))?;
                assert!(Config::load(Some(Path::new("d.toml"))).is_err(), "{source}");
            }
            jail.create_file(
                "both.toml",
                "[search.web]\nbase_url = \"http://10.0.0.5\"\npacing = \"off\"\ninterval_ms = 5\n",
            )?;
            assert!(Config::load(Some(Path::new("both.toml"))).is_err());
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
