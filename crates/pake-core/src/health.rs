//! Liveness and readiness.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pake_ports::{Cache, Probe, StoreHealth};

use crate::Access;
use crate::search::SearchSetup;

/// One dependency's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    /// Its name (`database`, `cache`, …).
    pub name: &'static str,
    /// Whether it answered in time.
    pub ok: bool,
    /// Whether the server is not ready without it (the cache's Redis layer is not: without it the
    /// server serves degraded from memory).
    pub required: bool,
    /// How long the check took.
    pub latency: Duration,
    /// Why it failed, for operators (never shown with internal detail to clients).
    pub detail: Option<String>,
}

/// Whether the server can serve traffic that needs its dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Every dependency checked.
    pub components: Vec<ComponentHealth>,
}

impl Readiness {
    /// Ready when every required dependency is.
    pub fn is_ready(&self) -> bool {
        self.components.iter().all(|c| c.ok || !c.required)
    }
}

/// Checks the dependencies.
#[derive(Clone)]
pub struct HealthService {
    store_health: Arc<dyn StoreHealth>,
    cache: Arc<dyn Cache>,
    probes: Vec<(&'static str, Arc<dyn Probe>)>,
    access: Access,
    setup: Arc<SearchSetup>,
}

impl HealthService {
    /// How long one dependency may take before it counts as down.
    pub const TIMEOUT: Duration = Duration::from_secs(2);

    pub(crate) fn new(
        store_health: Arc<dyn StoreHealth>,
        cache: Arc<dyn Cache>,
        probes: Vec<(&'static str, Arc<dyn Probe>)>,
        access: Access,
        setup: Arc<SearchSetup>,
    ) -> Self {
        Self {
            store_health,
            cache,
            probes,
            access,
            setup,
        }
    }

    /// Pings every dependency, each within [`HealthService::TIMEOUT`].
    #[tracing::instrument(skip_all)]
    pub async fn readiness(&self) -> Readiness {
        let started = Instant::now();
        let outcome = tokio::time::timeout(Self::TIMEOUT, self.store_health.ping()).await;
        let (ok, detail) = match outcome {
            Ok(Ok(())) => (true, None),
            Ok(Err(e)) => (false, Some(e.to_string())),
            Err(_) => (false, Some("timed out".to_owned())),
        };
        let mut components = vec![ComponentHealth {
            name: "database",
            ok,
            required: true,
            latency: started.elapsed(),
            detail,
        }];
        for (name, probe) in &self.probes {
            let started = std::time::Instant::now();
            let outcome = tokio::time::timeout(Self::TIMEOUT, probe.probe()).await;
            let (ok, detail) = match outcome {
                Ok(Ok(())) => (true, None),
                Ok(Err(e)) => (false, Some(e)),
                Err(_) => (false, Some("timed out".to_owned())),
            };
            components.push(ComponentHealth {
                name,
                ok,
                required: false,
                latency: started.elapsed(),
                detail,
            });
        }
        Readiness { components }
    }
}

/// What the platform operator sees of this replica.
#[derive(Debug, Clone)]
pub struct SystemStatus {
    /// Every dependency, checked now.
    pub readiness: Readiness,
    /// Each search source's circuit (`closed`, `open`, `half_open`).
    pub circuits: Vec<(pake_domain::search::SourceId, &'static str)>,
    /// Requests refused by a limit since this process started, by plan and limit.
    pub refusals: Vec<crate::limits::Refusals>,
    /// Tenants this replica knows.
    pub tenants: usize,
    /// The store's pool: `(connections, idle)`.
    pub store_pool: Option<(u32, u32)>,
}

impl HealthService {
    /// Tenants this replica knows.
    pub fn tenant_count(&self) -> usize {
        self.access.directory.len()
    }

    /// Cache lookups by where they were answered.
    pub fn cache_stats(&self) -> pake_ports::CacheStats {
        self.cache.stats()
    }

    /// The store's pool: `(connections, idle)`.
    pub fn store_pool(&self) -> Option<(u32, u32)> {
        self.store_health.pool()
    }

    /// The operator's view (super admin).
    ///
    /// # Errors
    /// [`crate::CoreError::Forbidden`] for anyone else.
    pub async fn system(
        &self,
        caller: &crate::Caller,
        limits: &crate::LimitService,
    ) -> Result<SystemStatus, crate::CoreError> {
        self.access
            .authorize(caller, pake_domain::Permission::ViewSystemStatus)?;
        Ok(SystemStatus {
            readiness: self.readiness().await,
            circuits: self.setup.circuits(),
            refusals: limits.refusals(),
            tenants: self.access.directory.len(),
            store_pool: self.store_health.pool(),
        })
    }
}
