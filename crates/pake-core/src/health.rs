//! Liveness and readiness.

use std::time::{Duration, Instant};

use crate::Deps;

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
    deps: Deps,
}

impl HealthService {
    /// How long one dependency may take before it counts as down.
    pub const TIMEOUT: Duration = Duration::from_secs(2);

    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Pings every dependency, each within [`HealthService::TIMEOUT`].
    #[tracing::instrument(skip_all)]
    pub async fn readiness(&self) -> Readiness {
        let started = Instant::now();
        let outcome = tokio::time::timeout(Self::TIMEOUT, self.deps.repos.health.ping()).await;
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
        for (name, probe) in &self.deps.optional_probes {
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
        self.deps.directory.len()
    }

    /// Cache lookups by where they were answered.
    pub fn cache_stats(&self) -> pake_ports::CacheStats {
        self.deps.cache.stats()
    }

    /// The store's pool: `(connections, idle)`.
    pub fn store_pool(&self) -> Option<(u32, u32)> {
        self.deps.repos.health.pool()
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
        self.deps
            .authorize(caller, pake_domain::Permission::ViewSystemStatus)?;
        Ok(SystemStatus {
            readiness: self.readiness().await,
            circuits: self.deps.search.circuits(),
            refusals: limits.refusals(),
            tenants: self.deps.directory.len(),
            store_pool: self.deps.repos.health.pool(),
        })
    }
}
