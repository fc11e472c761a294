//! The composition root: config in, a running server out. Reads top to bottom: open the store
//! (`store`), build the adapters (`adapters`, `keys`) and the services over them, bootstrap,
//! start the background work (`tasks`) and serve.

mod adapters;
mod keys;
mod store;
mod tasks;

pub use keys::rotate_keys;
pub use store::{Store, migrate, open_store};

use adapters::{build_cache, build_hasher, build_search};
use keys::{build_tokens, spawn_key_reload};
use store::prepare_schema;
use tasks::{spawn_event_listener, spawn_snapshot_sweeper, spawn_sync, spawn_usage_flush};

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use pake_cache::{FallbackLimits, RedisEvents};
use pake_core::{
    BootstrapOutcome, Counters, Credentials, Deps, Environment, Identity, RevocationList, Services,
    TenantDirectory,
};
use pake_crypto::OsSecrets;
use pake_http::AppState;
use pake_ports::{Clock, IdentityEvents, LocalEvents, Probe, SystemClock};
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

/// Binds the API listener (and the metrics listener when `metrics.bind` is set) and starts
/// serving `state` on them.
fn serve(
    config: &Config,
    state: AppState,
) -> Result<(Server, u16, Option<Server>, Option<u16>), StartupError> {
    let bind = |addr: std::net::SocketAddr| {
        let listener =
            TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        Ok::<_, StartupError>((listener, port))
    };
    let (listener, port) = bind(config.server.bind)?;
    let options = config
        .server
        .http_options(config.log.access_log_probes, config.metrics.enabled())
        .map_err(|e| StartupError::Other(format!("tls: {e}")))?;
    let state = state
        .with_config_summary(config.redacted_json())
        .with_trusted_proxies(config.trusted_proxies())
        .with_metrics_token(
            config
                .metrics
                .token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
        );
    let (metrics_server, metrics_port) = match config.metrics.bind {
        Some(addr) => {
            let (listener, port) = bind(addr)?;
            let server = pake_http::run_metrics(listener, state.clone())
                .map_err(|e| StartupError::Other(e.to_string()))?;
            (Some(server), Some(port))
        }
        None => (None, None),
    };
    let server = pake_http::run(listener, state, &options)
        .map_err(|e| StartupError::Other(e.to_string()))?;
    Ok((server, port, metrics_server, metrics_port))
}

/// What [`build_core`] makes: the services and what the server around them still needs.
struct Core {
    services: Services,
    plans: Arc<pake_domain::PlanCatalog>,
    bus: Option<RedisEvents>,
    limiter: Arc<FallbackLimits>,
}

/// Opens the store (checking its schema), builds every adapter and the services over them;
/// starts nothing.
async fn build_core(config: &Config, clock: Arc<dyn Clock>) -> Result<Core, StartupError> {
    let store = open_store(config)?;
    prepare_schema(&store).await?;

    let (hasher, hash_gate) = build_hasher(config)?;

    let policy = config.auth.policy();
    let tokens = build_tokens(config, &policy, &store, clock.as_ref()).await?;
    spawn_key_reload(config, &store, &tokens, Arc::clone(&clock))?;
    let plans = Arc::new(config.plan_catalog()?);
    let (tiered, bus, limiter) = build_cache(config)?;
    let limiter = Arc::new(limiter);
    let optional_probes: Vec<(&'static str, Arc<dyn Probe>)> = if tiered.has_redis() {
        vec![
            ("cache", Arc::new(tiered.clone())),
            ("limits", limiter.clone()),
        ]
    } else {
        Vec::new()
    };
    let events: Arc<dyn IdentityEvents> = match &bus {
        Some(b) => Arc::new(b.clone()),
        None => Arc::new(LocalEvents),
    };
    let deps = Deps {
        repos: store.repositories(),
        env: Environment {
            clock,
            secrets: Arc::new(OsSecrets),
        },
        plans: Arc::clone(&plans),
        identity: Identity {
            directory: Arc::new(TenantDirectory::default()),
            revocations: Arc::new(RevocationList::new(policy.access_ttl + policy.leeway)),
            users_cache: Identity::user_cache(100_000),
            events,
        },
        credentials: Credentials {
            hasher: Arc::new(hasher),
            hash_gate,
            issuer: tokens.clone(),
            verifier: tokens,
            policy,
        },
        counters: Counters {
            limiter: limiter.clone(),
            quotas: limiter.clone(),
            slots: limiter.clone(),
            policy: config.limits.policy(),
        },
        optional_probes,
        cache: Arc::new(tiered),
        search: Arc::new(build_search(config, &limiter)),
    };
    Ok(Core {
        services: Services::new(&deps),
        plans,
        bus,
        limiter,
    })
}

/// `pake admin unlock`: clears the lockout of `login` in the tenant `tenant` (the way back in for
/// the only super admin after strangers' guesses locked it).
///
/// # Errors
/// [`StartupError`]; [`StartupError::Bootstrap`] with `NotFound` when no such account exists.
pub async fn unlock_account(
    config: &Config,
    tenant: &str,
    login: &str,
) -> Result<(), StartupError> {
    let core = Box::pin(build_core(config, Arc::new(SystemClock))).await?;
    core.services.users.operator_unlock(tenant, login).await?;
    Ok(())
}

/// A built application, ready to serve.
pub struct Application {
    /// Boxed: the services are large, and the server future carries them.
    services: Box<Services>,
    metrics_server: Option<Server>,
    metrics_port: Option<u16>,
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
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] with another clock (tests move time to day boundaries with it).
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_clock(
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        // The start-up future is large: keep it on the heap, not on every caller's stack.
        Box::pin(Self::build_inner(config, clock)).await
    }

    async fn build_inner(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let Core {
            services,
            plans,
            bus,
            limiter,
        } = build_core(config, clock).await?;
        let bootstrap = services
            .bootstrap
            .ensure_platform(&config.bootstrap.options())
            .await?;
        // Subscribe before the first sync: nothing another replica does from here on is missed.
        if let Some(bus) = &bus {
            Box::pin(spawn_event_listener(services.clone(), bus)).await;
        }
        services.sync_identity().await?;
        let resumed = services.provisioning.resume_all().await?;
        if resumed > 0 {
            tracing::info!(tenants = resumed, "resumed unfinished tenant provisioning");
        }
        spawn_sync(
            services.clone(),
            Duration::from_secs(config.auth.sync_interval_secs),
        );
        spawn_usage_flush(services.clone(), limiter);
        spawn_snapshot_sweeper(services.clone());

        let (server, port, metrics_server, metrics_port) =
            serve(config, AppState::new(services.clone(), plans))?;
        Ok(Self {
            services: Box::new(services),
            metrics_server,
            metrics_port,
            port,
            server,
            bootstrap,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The metrics listener's port, when `metrics.bind` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// What the bootstrap did at this start.
    pub fn bootstrap(&self) -> &BootstrapOutcome {
        &self.bootstrap
    }

    /// The services (shared with the server: what a test or an embedding triggers directly).
    pub fn services(&self) -> Services {
        (*self.services).clone()
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
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        let served = self.server.await;
        if let Some(handle) = metrics {
            handle.stop(true).await;
        }
        if let Err(e) = self.services.limits.flush_usage().await {
            tracing::warn!(error = %e, "usage counts of the last seconds not written");
        }
        served
    }
}
