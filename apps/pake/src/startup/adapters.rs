//! The adapters the configuration asks for: password hasher, cache and limits, search sources.

use std::sync::Arc;
use std::time::Duration;

use pake_cache::{FallbackLimits, MemoryCache, RedisCache, RedisEvents, TieredCache};
use pake_core::search::Pacing;
use pake_core::{FairGate, SearchSetup};
use pake_crypto::Argon2Hasher;
use pake_domain::search::SourceId;
use pake_ports::{ConcurrencyLimiter, RateLimiter, SearchSource};
use pake_sources::{Arxiv, Crossref, EuropePmc, Firecrawl, OpenAlex, Pubmed, SemanticScholar};
use secrecy::ExposeSecret;

use crate::config::Config;

use super::StartupError;

/// The search sources with their pacing, sharing spacing and connection slots through `limits`.
pub(super) fn build_search(config: &Config, limits: &Arc<FallbackLimits>) -> SearchSetup {
    let c = &config.search;
    let sources: Vec<(Arc<dyn SearchSource>, Pacing)> = vec![
        (
            Arc::new(Arxiv::new(c.source(SourceId::Arxiv))),
            c.pacing(SourceId::Arxiv),
        ),
        (
            Arc::new(Pubmed::new(
                c.source(SourceId::Pubmed),
                "pake",
                &c.contact_email,
            )),
            c.pacing(SourceId::Pubmed),
        ),
        (
            Arc::new(Firecrawl::new(c.source(SourceId::Web))),
            c.pacing(SourceId::Web),
        ),
        (
            Arc::new(EuropePmc::new(c.source(SourceId::Europepmc))),
            c.pacing(SourceId::Europepmc),
        ),
        (
            Arc::new(Crossref::new(
                c.source(SourceId::Crossref),
                &c.contact_email,
            )),
            c.pacing(SourceId::Crossref),
        ),
        (
            Arc::new(OpenAlex::new(
                c.source(SourceId::Openalex),
                &c.contact_email,
            )),
            c.pacing(SourceId::Openalex),
        ),
        (
            Arc::new(SemanticScholar::new(c.source(SourceId::SemanticScholar))),
            c.pacing(SourceId::SemanticScholar),
        ),
    ];
    let limiter: Arc<dyn RateLimiter> = limits.clone();
    let slots: Arc<dyn ConcurrencyLimiter> = limits.clone();
    SearchSetup::new(sources, c.policy(), &limiter, &slots)
}

/// The argon2id hasher the configuration asks for, and the fair gate in front of it: one permit
/// per configured hash at once, plus one spare for a tenant with no hash running (so a tenant
/// asking now and then never waits behind another tenant's flood); the hasher allows both.
pub(super) fn build_hasher(config: &Config) -> Result<(Argon2Hasher, Arc<FairGate>), StartupError> {
    let mut options = config.passwords.hashing_options();
    let gate = FairGate::with_spares(options.max_concurrent, 1);
    options.max_concurrent = gate.permits();
    let hasher = Argon2Hasher::new(options).map_err(|e| StartupError::Other(e.to_string()))?;
    Ok((hasher, gate))
}

/// The cache, identity event bus and limits: in process, or shared through Redis.
pub(super) type Shared = (TieredCache, Option<RedisEvents>, FallbackLimits);

pub(super) fn build_cache(config: &Config) -> Result<Shared, StartupError> {
    let c = &config.cache;
    let memory = MemoryCache::new(c.memory_mib * 1024 * 1024);
    let l1_ttl = Duration::from_secs(c.l1_ttl_secs);
    let lease = config.limits.lease();
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
