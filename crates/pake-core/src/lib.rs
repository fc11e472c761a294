//! PAKE's use cases, written against the ports only.
//!
//! Another Rust service can embed these with its own adapters: build a [`Deps`] from your
//! repositories, hasher and clock, then [`Services::new`]. The HTTP crate is one client of these
//! services; it holds no business rules of its own.

mod bootstrap;
mod error;
mod health;

use std::sync::Arc;

use pake_domain::PlanCatalog;
use pake_ports::{Clock, PasswordHasher, Repositories, SecretGenerator};

pub use bootstrap::{BootstrapOptions, BootstrapOutcome, BootstrapService};
pub use error::CoreError;
pub use health::{ComponentHealth, HealthService, Readiness};

/// Everything the services need from the outside.
#[derive(Clone)]
pub struct Deps {
    /// The store.
    pub repos: Repositories,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The plans in force.
    pub plans: Arc<PlanCatalog>,
}

/// Every service, built once by the composition root.
#[derive(Clone)]
pub struct Services {
    /// First-start bootstrap of the platform tenant and its super admin.
    pub bootstrap: BootstrapService,
    /// Liveness and readiness.
    pub health: HealthService,
}

impl Services {
    /// Builds every service from `deps`.
    pub fn new(deps: &Deps) -> Self {
        Self {
            bootstrap: BootstrapService::new(deps.clone()),
            health: HealthService::new(deps.clone()),
        }
    }
}
