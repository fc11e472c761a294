//! The cache contract, run against the in-process cache, Redis, and the two tiered.

#![expect(
    clippy::expect_used,
    reason = "a test stops at the line that cannot set up"
)]

use std::time::Duration;

use pake_cache::{MemoryCache, RedisCache, TieredCache};
use pake_ports::{Cache, CacheError, CacheKey};

fn redis_url() -> String {
    std::env::var("PAKE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn redis() -> RedisCache {
    RedisCache::connect(&redis_url(), 4, Duration::from_secs(2)).expect("redis pool")
}

pake_contract::cache_contract_test!(in_process, MemoryCache::new(16 * 1024 * 1024));
pake_contract::cache_contract_test!(on_redis, redis());
pake_contract::cache_contract_test!(
    tiered,
    TieredCache::new(
        MemoryCache::new(16 * 1024 * 1024),
        Some(redis()),
        Duration::from_millis(100)
    )
);

#[tokio::test]
async fn redis_keys_carry_the_tenant_hash_tag_and_globals_are_allow_listed() {
    let cache = redis();
    let tenant = pake_domain::TenantId::new();
    let key = CacheKey::tenant(tenant, "search", "k");
    cache
        .set(&key, b"v".to_vec(), Duration::from_secs(30))
        .await
        .unwrap();
    let client = deadpool_redis::redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let raw: Option<Vec<u8>> = deadpool_redis::redis::cmd("GET")
        .arg(format!("t:{{{tenant}}}:search:k"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        raw.as_deref(),
        Some(&b"v"[..]),
        "stored under t:{{tenant}}:…"
    );
    cache.delete(&key).await.unwrap();
    let forbidden = CacheKey::global("anything", "x");
    assert!(matches!(
        cache.set(&forbidden, vec![1], Duration::from_secs(1)).await,
        Err(CacheError::NotAllowed("anything"))
    ));
}

#[tokio::test]
async fn the_tiered_cache_serves_from_memory_when_redis_is_down() {
    // nothing listens on this port
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = RedisCache::connect(
        &format!("redis://127.0.0.1:{port}"),
        2,
        Duration::from_millis(300),
    )
    .unwrap();
    let cache = TieredCache::new(
        MemoryCache::new(1024 * 1024),
        Some(dead),
        Duration::from_secs(60),
    );
    let key = CacheKey::tenant(pake_domain::TenantId::new(), "search", "k");
    cache
        .set(&key, b"local".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(cache.is_degraded(), "the failed write marked it degraded");
    assert_eq!(
        cache.get(&key).await.unwrap().as_deref(),
        Some(&b"local"[..]),
        "still served from memory"
    );
    let other = CacheKey::tenant(pake_domain::TenantId::new(), "search", "k");
    assert_eq!(
        cache.get(&other).await.unwrap(),
        None,
        "a miss, not an error"
    );
    assert!(cache.ping().await.is_err());
}

pake_contract::rate_limit_contract_test!(
    rate_limits_in_process,
    pake_cache::MemoryRateLimiter::new()
);
pake_contract::rate_limit_contract_test!(
    rate_limits_on_redis,
    pake_cache::RedisRateLimiter::new(redis().pool())
);

fn lease() -> pake_cache::LeasePolicy {
    pake_cache::LeasePolicy {
        max: 64,
        ttl: Duration::from_millis(250),
    }
}

pake_contract::rate_limit_contract_test!(
    rate_limits_leased_on_redis,
    pake_cache::LeasedRateLimiter::new(pake_cache::RedisRateLimiter::new(redis().pool()), lease())
);
pake_contract::quota_contract_test!(quotas_in_process, pake_cache::MemoryQuotas::new());
pake_contract::quota_contract_test!(
    quotas_on_redis,
    pake_cache::RedisQuotas::new(redis().pool())
);
pake_contract::quota_contract_test!(
    limits_with_fallback,
    pake_cache::FallbackLimits::new(Some(redis().pool()), lease())
);
