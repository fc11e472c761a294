//! The composition root: config in, a running server out.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use pake_core::{BootstrapOptions, BootstrapOutcome, Deps, Services};
use pake_crypto::{Argon2Hasher, HashingOptions, OsSecrets};
use pake_http::{AppState, HttpOptions};
use pake_ports::SystemClock;
use pake_store_sqlite::{SqliteOptions, SqliteStore};
use secrecy::ExposeSecret;

use crate::config::Config;

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The data directory or database could not be opened or migrated.
    #[error("store: {0}")]
    Store(String),
    /// Bootstrap failed.
    #[error("bootstrap: {0}")]
    Bootstrap(#[from] pake_core::CoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Anything else at start-up.
    #[error("{0}")]
    Other(String),
}

/// Opens the embedded store in the configured data directory, creating it.
///
/// # Errors
/// [`StartupError::Store`] when the directory or database cannot be created or opened.
pub fn open_store(config: &Config) -> Result<SqliteStore, StartupError> {
    let dir = &config.store.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| StartupError::Store(format!("cannot create {}: {e}", dir.display())))?;
    let options = SqliteOptions {
        pool_size: config.store.sqlite_pool_size,
        ..SqliteOptions::default()
    };
    SqliteStore::open(&dir.join("pake.db"), &options)
        .map_err(|e| StartupError::Store(e.to_string()))
}

/// Applies pending migrations; returns the versions applied.
///
/// # Errors
/// [`StartupError::Store`] when a migration fails.
pub fn migrate(store: &SqliteStore) -> Result<Vec<String>, StartupError> {
    store
        .migrate()
        .map_err(|e| StartupError::Store(e.to_string()))
}

/// A built application, ready to serve.
pub struct Application {
    port: u16,
    server: Server,
    bootstrap: BootstrapOutcome,
}

impl Application {
    /// Opens and migrates the embedded store, bootstraps the platform on first start, builds the
    /// services and binds the listener (port 0 picks a free port).
    ///
    /// # Errors
    /// A [`StartupError`] naming what failed.
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let store = open_store(config)?;
        // The embedded store migrates itself: it has one user and no operator to ask.
        let store = tokio::task::spawn_blocking(move || migrate(&store).map(|_| store))
            .await
            .map_err(|e| StartupError::Other(e.to_string()))??;

        let p = &config.passwords;
        let defaults = HashingOptions::default();
        let hasher = Argon2Hasher::new(HashingOptions {
            memory_kib: p.argon2_memory_kib,
            iterations: p.argon2_iterations,
            parallelism: p.argon2_parallelism,
            max_concurrent: if p.max_concurrent_hashes == 0 {
                defaults.max_concurrent
            } else {
                p.max_concurrent_hashes
            },
        })
        .map_err(|e| StartupError::Other(e.to_string()))?;

        let deps = Deps {
            repos: store.repositories(),
            hasher: Arc::new(hasher),
            clock: Arc::new(SystemClock),
            secrets: Arc::new(OsSecrets),
            plans: Arc::new(config.plan_catalog()?),
        };
        let services = Services::new(&deps);
        let b = &config.bootstrap;
        let bootstrap = services
            .bootstrap
            .ensure_platform(&BootstrapOptions {
                admin_username: b.admin_username.clone(),
                admin_email: b.admin_email.clone(),
                admin_password: b
                    .admin_password
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned()),
            })
            .await?;

        let addr = config.server.bind;
        let listener =
            TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let options = HttpOptions {
            workers: config.server.workers,
            body_limit: config.server.body_limit_bytes,
            shutdown_timeout: Duration::from_secs(config.server.shutdown_timeout_secs),
            log_probes: config.log.access_log_probes,
        };
        let server = pake_http::run(listener, AppState::new(services), &options)
            .map_err(|e| StartupError::Other(e.to_string()))?;
        Ok(Self {
            port,
            server,
            bootstrap,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the bootstrap did at this start.
    pub fn bootstrap(&self) -> &BootstrapOutcome {
        &self.bootstrap
    }

    /// A handle to stop the server from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until shutdown (SIGTERM, ctrl-c or a handle's `stop`).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
