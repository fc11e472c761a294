//! `[limits]`: request rates besides the plans' tenant rates, and the leases that let replicas
//! share them through Redis.

use std::time::Duration;

use pake_cache::LeasePolicy;
use pake_core::LimitPolicy;
use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

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

impl LimitsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.user_fraction > 0.0 && self.user_fraction <= 1.0)
            || self.address_per_minute == 0
            || self.lease_max == 0
            || self.lease_ms == 0
            || self.search_lease_secs == 0
        {
            return Err(invalid(
                "limits.user_fraction must be in (0, 1]; limits.address_per_minute, lease_max, \
                 lease_ms and search_lease_secs at least 1",
            ));
        }
        Ok(())
    }

    /// The limit rules of the core.
    pub fn policy(&self) -> LimitPolicy {
        LimitPolicy {
            user_fraction: self.user_fraction,
            address_per_minute: self.address_per_minute,
            search_lease: Duration::from_secs(self.search_lease_secs),
        }
    }

    /// How replicas lease tokens and quota units from Redis.
    pub fn lease(&self) -> LeasePolicy {
        LeasePolicy {
            max: self.lease_max,
            ttl: Duration::from_millis(self.lease_ms),
        }
    }
}
