//! The cache contract: what every cache adapter must do.

use std::time::Duration;

use pake_domain::TenantId;
use pake_ports::{Cache, CacheKey};

/// Round trips, overwrites, tenant separation, expiry and deletion. Cleans up what it wrote.
pub async fn contract(cache: &dyn Cache) {
    let (a, b) = (TenantId::new(), TenantId::new());
    let key_a = CacheKey::tenant(a, "search", "q1");
    let key_b = CacheKey::tenant(b, "search", "q1");
    let minute = Duration::from_secs(60);

    assert_eq!(
        cache.get(&key_a).await.unwrap(),
        None,
        "a missing key is a miss"
    );
    cache.set(&key_a, b"alpha".to_vec(), minute).await.unwrap();
    assert_eq!(
        cache.get(&key_a).await.unwrap().as_deref(),
        Some(&b"alpha"[..])
    );
    assert_eq!(
        cache.get(&key_b).await.unwrap(),
        None,
        "the same key of another tenant is another key"
    );
    cache.set(&key_b, b"beta".to_vec(), minute).await.unwrap();
    cache
        .set(&key_a, b"alpha-2".to_vec(), minute)
        .await
        .unwrap();
    assert_eq!(
        cache.get(&key_a).await.unwrap().as_deref(),
        Some(&b"alpha-2"[..]),
        "set overwrites"
    );
    assert_eq!(
        cache.get(&key_b).await.unwrap().as_deref(),
        Some(&b"beta"[..])
    );

    let short = CacheKey::tenant(a, "search", "short");
    cache
        .set(&short, vec![1, 2, 3], Duration::from_millis(150))
        .await
        .unwrap();
    assert!(cache.get(&short).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.get(&short).await.unwrap(), None, "entries expire");

    let global = CacheKey::global("upstream", format!("arxiv-{a}"));
    cache.set(&global, b"g".to_vec(), minute).await.unwrap();
    assert_eq!(
        cache.get(&global).await.unwrap().as_deref(),
        Some(&b"g"[..])
    );

    let big = vec![7u8; 256 * 1024];
    cache
        .set(&CacheKey::tenant(a, "search", "big"), big.clone(), minute)
        .await
        .unwrap();
    assert_eq!(
        cache
            .get(&CacheKey::tenant(a, "search", "big"))
            .await
            .unwrap(),
        Some(big)
    );

    for key in [
        &key_a,
        &key_b,
        &global,
        &CacheKey::tenant(a, "search", "big"),
    ] {
        cache.delete(key).await.unwrap();
        assert_eq!(cache.get(key).await.unwrap(), None, "deleted");
    }
    cache.delete(&key_a).await.unwrap();
}

/// Generates one `#[tokio::test]` running the cache contract on the cache `$factory` returns.
#[macro_export]
macro_rules! cache_contract_test {
    ($name:ident, $factory:expr) => {
        #[tokio::test]
        async fn $name() {
            let cache = $factory;
            $crate::cache::contract(&cache).await;
        }
    };
}
