//! The composition root: config in, a running server out.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use pake_cache::{FallbackLimits, LeasePolicy, MemoryCache, RedisCache, RedisEvents, TieredCache};
use pake_core::search::{BreakerPolicy, Pacing, SearchPolicy};
use pake_core::{
    AuthPolicy, BootstrapOptions, BootstrapOutcome, Deps, FairGate, LimitPolicy, RevocationList,
    SearchSetup, Services, TenantDirectory,
};
use pake_crypto::{
    Argon2Hasher, HashingOptions, JwtOptions, JwtTokens, KeySealer, KeySet, OsSecrets,
};
use pake_domain::search::SourceId;
use pake_http::{AppState, HttpOptions};
use pake_ports::{
    Clock, ConcurrencyLimiter, IdentityEvents, LocalEvents, Probe, RateLimiter, SearchSource,
    SigningKeyStore, SystemClock,
};
use pake_sources::{Arxiv, Firecrawl, HeaderHook, Pubmed, SourceConfig};
use pake_store_postgres::{PgOptions, PgStore};
use pake_store_sqlite::{SqliteOptions, SqliteStore};
use secrecy::ExposeSecret;

use crate::config::{Config, UpstreamConfig};

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

/// The store the configuration selects.
pub enum Store {
    /// The embedded SQLite store (the default).
    Embedded(SqliteStore),
    /// PostgreSQL (`DATABASE_URL`).
    Postgres(PgStore),
}

impl Store {
    /// Its repositories.
    pub fn repositories(&self) -> pake_ports::Repositories {
        match self {
            Self::Embedded(s) => s.repositories(),
            Self::Postgres(s) => s.repositories(),
        }
    }
}

/// Opens the store the configuration selects: PostgreSQL when `store.database_url` is set, else
/// the embedded store in the data directory (created if needed).
///
/// # Errors
/// [`StartupError::Store`] when the directory or database cannot be created or opened.
pub fn open_store(config: &Config) -> Result<Store, StartupError> {
    if let Some(url) = &config.store.database_url {
        let options = PgOptions {
            pool_size: config.store.pg_pool_size,
            ..PgOptions::default()
        };
        return PgStore::connect(url.expose_secret(), &options)
            .map(Store::Postgres)
            .map_err(|e| StartupError::Store(e.to_string()));
    }
    let dir = &config.store.data_dir;
    private_dir(dir).map_err(StartupError::Store)?;
    let options = SqliteOptions {
        pool_size: config.store.sqlite_pool_size,
        ..SqliteOptions::default()
    };
    SqliteStore::open(&dir.join("pake.db"), &options)
        .map(Store::Embedded)
        .map_err(|e| StartupError::Store(e.to_string()))
}

/// Creates `dir` (and missing parents) accessible to this user only (0700), whatever the umask,
/// and tightens it when it exists with a looser mode: the data directory holds password hashes,
/// refresh-token digests, the audit trail and the signing keys. A directory that cannot be
/// tightened (a mount owned by someone else) is a warning, not a refusal to start.
///
/// # Errors
/// A message naming the directory when it cannot be created.
fn private_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mode = std::fs::metadata(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        restrict(dir, 0o700);
    }
    Ok(())
}

/// Sets `path`'s mode, warning when it cannot.
fn restrict(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), error = %e,
            "cannot restrict to the owner; other local users may read it");
    }
}

/// The embedded store's key directory, private (0700) like the data directory, with every key
/// file in it readable by this user only (0600): new key files are created so, older or copied
/// ones are tightened.
///
/// # Errors
/// [`StartupError::Other`] naming the directory when it cannot be created or read.
fn private_keys_dir(dir: &std::path::Path) -> Result<(), StartupError> {
    use std::os::unix::fs::PermissionsExt as _;
    private_dir(dir).map_err(StartupError::Other)?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| StartupError::Other(format!("cannot read {}: {e}", dir.display())))?;
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let loose = std::fs::metadata(&path)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o077 != 0);
        if loose {
            restrict(&path, 0o600);
        }
    }
    Ok(())
}

/// Applies pending migrations (blocking); returns the versions applied. PostgreSQL migrations
/// run as the schema owner: `store.migrate_database_url`, else `store.database_url`.
///
/// # Errors
/// [`StartupError::Store`] when a migration fails.
pub fn migrate(config: &Config, store: &Store) -> Result<Vec<String>, StartupError> {
    let result = match store {
        Store::Embedded(s) => s.migrate().map_err(|e| e.to_string()),
        Store::Postgres(_) => {
            let url = config
                .store
                .migrate_database_url
                .as_ref()
                .or(config.store.database_url.as_ref());
            let url = url
                .map(|u| u.expose_secret().to_owned())
                .unwrap_or_default();
            pake_store_postgres::migrate(&url).map_err(|e| e.to_string())
        }
    };
    result.map_err(StartupError::Store)
}

/// Brings the schema up to date (embedded store) or checks that it is (PostgreSQL).
async fn prepare_schema(store: &Store) -> Result<(), StartupError> {
    match store {
        // The embedded store migrates itself: it has one user and no operator to ask.
        Store::Embedded(s) => {
            let s = s.clone();
            tokio::task::spawn_blocking(move || s.migrate())
                .await
                .map_err(|e| StartupError::Other(e.to_string()))?
                .map_err(|e| StartupError::Store(e.to_string()))?;
        }
        // PostgreSQL is migrated by the operator (`pake migrate`), never silently at boot.
        Store::Postgres(s) => {
            let pending = s
                .pending_migrations()
                .await
                .map_err(|e| StartupError::Store(e.to_string()))?;
            if !pending.is_empty() {
                return Err(StartupError::Store(format!(
                    "the database schema is behind ({} migration(s) pending: {}); run `pake migrate`",
                    pending.len(),
                    pending.join(", ")
                )));
            }
            match s.check_login_role().await {
                Ok(Some(warning)) => tracing::warn!("{warning}"),
                Ok(None) => {}
                Err(e) => return Err(StartupError::Store(e.to_string())),
            }
        }
    }
    Ok(())
}

/// The authentication rules from config.
fn policy(config: &Config) -> AuthPolicy {
    let a = &config.auth;
    let secs = |s: u64| time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 4));
    AuthPolicy {
        access_ttl: secs(a.access_token_ttl_secs),
        session_ttl: secs(a.session_ttl_days * 86_400),
        short_session_ttl: secs(a.short_session_ttl_hours * 3_600),
        lockout_threshold: a.lockout_threshold,
        lockout_duration: secs(a.lockout_minutes * 60),
        ..AuthPolicy::default()
    }
}

fn jwt_options(config: &Config, policy: &AuthPolicy) -> JwtOptions {
    let a = &config.auth;
    JwtOptions {
        issuer: a.issuer.clone(),
        audience: a.audience.clone(),
        leeway_secs: u64::try_from(policy.leeway.whole_seconds()).unwrap_or(30),
        ..JwtOptions::default()
    }
}

/// The directory of the embedded store's key files.
fn keys_dir(config: &Config) -> std::path::PathBuf {
    config
        .auth
        .keys_dir
        .clone()
        .unwrap_or_else(|| config.store.data_dir.join("keys"))
}

/// The key-encryption key that seals the signing keys in a shared store.
///
/// # Errors
/// [`StartupError::Other`] saying what to set when it is missing or malformed.
fn key_sealer(config: &Config) -> Result<KeySealer, StartupError> {
    let kek = config.auth.key_encryption_key.as_ref().ok_or_else(|| {
        StartupError::Other(
            "with store.database_url (DATABASE_URL) set, the signing keys live in the database, \
             sealed with a key-encryption key: set auth.key_encryption_key \
             (PAKE_AUTH__KEY_ENCRYPTION_KEY) to 32 random bytes in base64 \
             (openssl rand -base64 32), the same on every replica"
                .into(),
        )
    })?;
    KeySealer::from_base64(kek.expose_secret()).map_err(|e| StartupError::Other(e.to_string()))
}

/// The signing keys in a shared store, with a first key added (once, whichever replica gets
/// there first) when it holds none.
async fn store_keys(
    keys: &dyn SigningKeyStore,
    sealer: &KeySealer,
    now: time::OffsetDateTime,
) -> Result<KeySet, StartupError> {
    let store_err = |e: pake_ports::RepoError| StartupError::Store(format!("signing keys: {e}"));
    let key_err = |e: pake_crypto::KeyError| StartupError::Other(e.to_string());
    let mut stored = keys.list_signing_keys().await.map_err(store_err)?;
    if stored.is_empty() {
        let first = KeySet::generate_stored(sealer, now, now).map_err(key_err)?;
        keys.add_first_signing_key(&first)
            .await
            .map_err(store_err)?;
        stored = keys.list_signing_keys().await.map_err(store_err)?;
    }
    KeySet::from_stored(&stored, sealer, now).map_err(key_err)
}

/// The access-token service: over the key files of the embedded store, or over the keys every
/// replica shares through PostgreSQL (then also kept current by [`spawn_key_reload`]).
async fn build_tokens(
    config: &Config,
    policy: &AuthPolicy,
    store: &Store,
    clock: &dyn Clock,
) -> Result<Arc<JwtTokens>, StartupError> {
    let keys = match store {
        Store::Embedded(_) => {
            let dir = keys_dir(config);
            private_keys_dir(&dir)?;
            KeySet::load_or_generate(&dir, config.auth.signing_kid.as_deref())
                .map_err(|e| StartupError::Other(e.to_string()))?
        }
        Store::Postgres(pg) => store_keys(pg, &key_sealer(config)?, clock.now()).await?,
    };
    Ok(Arc::new(JwtTokens::new(keys, jwt_options(config, policy))))
}

/// With a shared store, re-reads the signing keys every `every`: a key another replica or
/// `pake keys rotate` added verifies here from then on, and signs once its activation time comes.
fn spawn_key_reload(
    config: &Config,
    store: &Store,
    tokens: &Arc<JwtTokens>,
    clock: Arc<dyn Clock>,
) -> Result<(), StartupError> {
    let Store::Postgres(pg) = store else {
        return Ok(());
    };
    let (pg, tokens, sealer) = (pg.clone(), Arc::clone(tokens), key_sealer(config)?);
    let every = Duration::from_secs(config.auth.sync_interval_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let stored = match pg.list_signing_keys().await {
                Ok(stored) => stored,
                Err(e) => {
                    tracing::warn!(error = %e, "signing keys not re-read; keeping the loaded ones");
                    continue;
                }
            };
            match KeySet::from_stored(&stored, &sealer, clock.now()) {
                Ok(keys) => {
                    let current = tokens.keys();
                    if keys.signing_kid() != current.signing_kid()
                        || keys.kids().count() != current.kids().count()
                    {
                        tracing::info!(
                            signing_kid = keys.signing_kid(),
                            keys = keys.kids().count(),
                            "signing keys reloaded"
                        );
                        tokens.replace_keys(keys);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "stored signing keys do not open; keeping the loaded ones");
                }
            }
        }
    });
    Ok(())
}

/// `pake keys rotate`: adds a new signing key. With PostgreSQL it is stored sealed and signs after
/// `auth.key_activation_secs` (every replica verifies with it as soon as it has re-read the keys);
/// the embedded store gets a new key file, which signs from the next start. Returns its kid and
/// when it signs.
///
/// # Errors
/// [`StartupError`] naming what failed.
pub async fn rotate_keys(config: &Config) -> Result<(String, String), StartupError> {
    match open_store(config)? {
        Store::Embedded(_) => {
            let dir = keys_dir(config);
            private_keys_dir(&dir)?;
            let path =
                KeySet::generate_into(&dir).map_err(|e| StartupError::Other(e.to_string()))?;
            Ok((path.display().to_string(), "at the next start".into()))
        }
        Store::Postgres(pg) => {
            let sealer = key_sealer(config)?;
            let now = time::OffsetDateTime::now_utc();
            let a = &config.auth;
            let wait = a.key_activation_secs.max(2 * a.sync_interval_secs);
            let delay = time::Duration::seconds(i64::try_from(wait).unwrap_or(i64::MAX / 4));
            let key = KeySet::generate_stored(&sealer, now, now + delay)
                .map_err(|e| StartupError::Other(e.to_string()))?;
            // Every stored key must open with this replica's key-encryption key.
            let stored = pg
                .list_signing_keys()
                .await
                .map_err(|e| StartupError::Store(e.to_string()))?;
            if !stored.is_empty() {
                KeySet::from_stored(&stored, &sealer, now)
                    .map_err(|e| StartupError::Other(e.to_string()))?;
            }
            pg.add_signing_key(&key)
                .await
                .map_err(|e| StartupError::Store(e.to_string()))?;
            Ok((key.kid, (now + delay).to_string()))
        }
    }
}

/// Re-reads the tenant directory and the revocations every `every`, so changes made by other
/// replicas take effect here within that interval.
fn spawn_sync(services: Services, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = services.sync_identity().await {
                tracing::warn!(error = %e, "identity sync failed; keeping the last known state");
            }
        }
    });
}

/// Every second, gives back quota units leased but not used in time; every five, writes the API
/// calls counted since to the store (one write per active tenant, not one per request). The
/// server flushes once more when it stops.
fn spawn_usage_flush(services: Services, limits: Arc<FallbackLimits>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        for n in 0u64.. {
            tick.tick().await;
            limits.sweep().await;
            if n % 5 == 4
                && let Err(e) = services.limits.flush_usage().await
            {
                tracing::warn!(error = %e, "usage counts not written; kept for the next flush");
            }
        }
    });
}

/// The search sources with their pacing, sharing spacing and connection slots through `limits`.
fn build_search(config: &Config, limits: &Arc<FallbackLimits>) -> SearchSetup {
    let c = &config.search;
    let source = |u: &UpstreamConfig| SourceConfig {
        base_url: u.base_url.clone(),
        api_key: u.api_key.as_ref().map(|k| k.expose_secret().to_owned()),
        timeout: Duration::from_millis(u.timeout_ms),
        max_bytes: u.max_bytes,
        user_agent: c.user_agent.clone(),
        headers: Some(HeaderHook(Arc::new(pake_http::request_id::trace_headers))),
    };
    let interval = |u: &UpstreamConfig, default: u64| {
        Duration::from_millis(if u.interval_ms == 0 {
            default
        } else {
            u.interval_ms
        })
    };
    let pubmed_default = if c.pubmed.api_key.is_some() { 100 } else { 334 };
    let sources: Vec<(Arc<dyn SearchSource>, Pacing)> = vec![
        (
            Arc::new(Arxiv::new(source(&c.arxiv))),
            Pacing {
                interval: interval(&c.arxiv, 3000),
                one_at_a_time: true,
            },
        ),
        (
            Arc::new(Pubmed::new(source(&c.pubmed), "pake", &c.contact_email)),
            Pacing {
                interval: interval(&c.pubmed, pubmed_default),
                one_at_a_time: false,
            },
        ),
        (
            Arc::new(Firecrawl::new(source(&c.web))),
            Pacing {
                interval: interval(&c.web, 100),
                one_at_a_time: false,
            },
        ),
    ];
    let policy = SearchPolicy {
        budget: Duration::from_millis(c.budget_ms),
        retries: c.retries,
        backoff: Duration::from_millis(c.backoff_ms),
        breaker: BreakerPolicy {
            failures: c.breaker_failures,
            cooldown: Duration::from_secs(c.breaker_cooldown_secs),
        },
        cache_ttl: [
            (SourceId::Arxiv, Duration::from_secs(c.arxiv.cache_ttl_secs)),
            (
                SourceId::Pubmed,
                Duration::from_secs(c.pubmed.cache_ttl_secs),
            ),
            (SourceId::Web, Duration::from_secs(c.web.cache_ttl_secs)),
        ]
        .into(),
    };
    let limiter: Arc<dyn RateLimiter> = limits.clone();
    let slots: Arc<dyn ConcurrencyLimiter> = limits.clone();
    SearchSetup::new(sources, policy, &limiter, &slots)
}

/// The argon2id hasher the configuration asks for.
fn build_hasher(config: &Config) -> Result<Argon2Hasher, StartupError> {
    let p = &config.passwords;
    let max_concurrent = if p.max_concurrent_hashes == 0 {
        HashingOptions::default().max_concurrent
    } else {
        p.max_concurrent_hashes
    };
    Argon2Hasher::new(HashingOptions {
        memory_kib: p.argon2_memory_kib,
        iterations: p.argon2_iterations,
        parallelism: p.argon2_parallelism,
        max_concurrent,
    })
    .map_err(|e| StartupError::Other(e.to_string()))
}

/// The cache, identity event bus and limits: in process, or shared through Redis.
type Shared = (TieredCache, Option<RedisEvents>, FallbackLimits);

fn build_cache(config: &Config) -> Result<Shared, StartupError> {
    let c = &config.cache;
    let memory = MemoryCache::new(c.memory_mib * 1024 * 1024);
    let l1_ttl = Duration::from_secs(c.l1_ttl_secs);
    let lease = LeasePolicy {
        max: config.limits.lease_max,
        ttl: Duration::from_millis(config.limits.lease_ms),
    };
    let Some(url) = &c.redis_url else {
        return Ok((
            TieredCache::new(memory, None, l1_ttl),
            None,
            FallbackLimits::new(None, lease),
        ));
    };
    let redis = RedisCache::connect(
        url.expose_secret(),
        c.redis_pool_size,
        Duration::from_secs(2),
    )
    .map_err(|e| StartupError::Other(format!("redis: {e}")))?;
    let bus = RedisEvents::new(url.expose_secret(), redis.pool());
    let limiter = FallbackLimits::new(Some(redis.pool()), lease);
    Ok((
        TieredCache::new(memory, Some(redis), l1_ttl),
        Some(bus),
        limiter,
    ))
}

/// Applies the identity events other replicas publish (ended sessions, changed tenants).
///
/// Waits (up to two seconds) until the subscription is in place, so a replica that starts serving
/// has missed no event since; if Redis does not answer, the periodic sync covers the gap.
async fn spawn_event_listener(services: Services, bus: &RedisEvents) {
    let (mut events, mut subscribed) = bus.subscribe();
    let wait = subscribed.wait_for(|s| *s);
    if tokio::time::timeout(Duration::from_secs(2), wait)
        .await
        .is_err()
    {
        tracing::warn!("identity events: not subscribed yet; the periodic sync covers the gap");
    }
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Err(e) = services.auth.apply_event(event).await {
                tracing::warn!(error = %e, "identity event not applied; the next sync will");
            }
        }
    });
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
    let tls = match (&config.server.tls_cert_path, &config.server.tls_key_path) {
        (Some(cert), Some(key)) => Some(
            pake_http::tls_config(cert, key)
                .map_err(|e| StartupError::Other(format!("tls: {e}")))?,
        ),
        _ => None,
    };
    let options = HttpOptions {
        workers: config.server.workers,
        body_limit: config.server.body_limit_bytes,
        shutdown_timeout: Duration::from_secs(config.server.shutdown_timeout_secs),
        log_probes: config.log.access_log_probes,
        hsts: config.server.hsts || tls.is_some(),
        compress_min_bytes: config.server.compress_min_bytes,
        client_body_timeout: Duration::from_millis(config.server.client_body_timeout_ms),
        cors_origins: config.server.cors_allowed_origins.clone(),
        metrics: config.metrics.bind.is_some() || config.metrics.token.is_some(),
        tls,
    };
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

    let hasher = build_hasher(config)?;
    let hash_gate = FairGate::new(hasher.max_concurrent());

    let policy = policy(config);
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
        hasher: Arc::new(hasher),
        hash_gate,
        issuer: tokens.clone(),
        verifier: tokens,
        clock,
        secrets: Arc::new(OsSecrets),
        plans: Arc::clone(&plans),
        policy,
        directory: Arc::new(TenantDirectory::default()),
        revocations: Arc::new(RevocationList::new(policy.access_ttl + policy.leeway)),
        users_cache: Deps::user_cache(100_000),
        events,
        optional_probes,
        cache: Arc::new(tiered),
        limiter: limiter.clone(),
        quotas: limiter.clone(),
        slots: limiter.clone(),
        limit_policy: LimitPolicy {
            user_fraction: config.limits.user_fraction,
            address_per_minute: config.limits.address_per_minute,
            search_lease: Duration::from_secs(config.limits.search_lease_secs),
        },
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
