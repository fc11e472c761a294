//! The quota-counter and concurrency-limiter contracts.

use std::sync::Arc;
use std::time::Duration;

use pake_domain::TenantId;
use pake_ports::{CacheKey, ConcurrencyLimiter, QuotaCounter};

/// Takes never pass the limit (also concurrently), a missing counter starts where the store
/// left it, give-backs return units, and counters expire with their window.
pub async fn quota_contract(quotas: Arc<dyn QuotaCounter>) {
    let tenant = TenantId::new();
    let day = Duration::from_secs(60);
    let key = CacheKey::tenant(tenant, "quota", "api:2026-01-01");
    assert_eq!(quotas.current(&key).await.unwrap(), None);
    let first = quotas.take(&key, 10, 1, 4, day).await.unwrap();
    assert_eq!(
        (first.granted, first.used),
        (1, 5),
        "starts at the stored 4"
    );
    let later = quotas.take(&key, 10, 1, 0, day).await.unwrap();
    assert_eq!(later.used, 6, "the start applies only to a new counter");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (quotas, key) = (Arc::clone(&quotas), key.clone());
        tasks.push(tokio::spawn(async move {
            quotas.take(&key, 10, 1, 0, day).await.unwrap().granted
        }));
    }
    let mut granted = 0;
    for t in tasks {
        granted += t.await.unwrap();
    }
    assert_eq!(granted, 4, "exactly up to the limit under concurrency");
    assert_eq!(quotas.current(&key).await.unwrap(), Some(10));
    let refused = quotas.take(&key, 10, 1, 0, day).await.unwrap();
    assert_eq!((refused.granted, refused.used), (0, 10));

    quotas.give_back(&key, 3).await.unwrap();
    let partial = quotas.take(&key, 10, 5, 0, day).await.unwrap();
    assert_eq!((partial.granted, partial.used), (3, 10), "what is left");
    quotas.give_back(&key, 100).await.unwrap();
    assert_eq!(
        quotas.current(&key).await.unwrap(),
        Some(0),
        "never below zero"
    );
    let raised = quotas.take(&key, 20, 1, 0, day).await.unwrap();
    assert_eq!(raised.used, 1, "a raised limit applies at once");

    let other = CacheKey::tenant(TenantId::new(), "quota", "api:2026-01-01");
    assert_eq!(quotas.take(&other, 10, 1, 0, day).await.unwrap().used, 1);

    let short = CacheKey::tenant(tenant, "quota", "short");
    quotas
        .take(&short, 10, 2, 0, Duration::from_millis(200))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(quotas.current(&short).await.unwrap(), None, "expired");
    quotas.give_back(&short, 1).await.unwrap();
    assert_eq!(
        quotas.current(&short).await.unwrap(),
        None,
        "a give-back creates nothing"
    );
}

/// At most `limit` unexpired leases at once (also concurrently), release frees a slot, renewal
/// keeps one, and a lease nobody renews expires by itself (a dead replica's slot comes back).
pub async fn concurrency_contract(slots: Arc<dyn ConcurrencyLimiter>) {
    let key = CacheKey::tenant(TenantId::new(), "slots", "search");
    let ttl = Duration::from_millis(600);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (slots, key) = (Arc::clone(&slots), key.clone());
        tasks.push(tokio::spawn(async move {
            slots
                .acquire(&key, &format!("h{i}"), 3, ttl)
                .await
                .unwrap()
                .then_some(i)
        }));
    }
    let mut holders = Vec::new();
    for t in tasks {
        holders.extend(t.await.unwrap());
    }
    assert_eq!(holders.len(), 3, "exactly the limit under concurrency");
    assert_eq!(slots.held(&key).await.unwrap(), 3);
    assert!(!slots.acquire(&key, "late", 3, ttl).await.unwrap());

    slots
        .release(&key, &format!("h{}", holders[0]))
        .await
        .unwrap();
    assert!(slots.acquire(&key, "late", 3, ttl).await.unwrap(), "freed");
    slots.release(&key, "nobody").await.unwrap();
    assert_eq!(slots.held(&key).await.unwrap(), 3);

    // "late" is renewed; the others are abandoned, as by a replica that died
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(slots.renew(&key, "late", ttl).await.unwrap());
    }
    assert_eq!(
        slots.held(&key).await.unwrap(),
        1,
        "abandoned leases expired"
    );
    assert!(
        !slots
            .renew(&key, &format!("h{}", holders[1]), ttl)
            .await
            .unwrap(),
        "an expired lease cannot be renewed"
    );
    assert!(slots.acquire(&key, "again", 3, ttl).await.unwrap());
    slots.release(&key, "late").await.unwrap();
    slots.release(&key, "again").await.unwrap();
    assert_eq!(slots.held(&key).await.unwrap(), 0);
}

/// Generates `#[tokio::test]`s running the quota and concurrency contracts on `$factory`.
#[macro_export]
macro_rules! quota_contract_test {
    ($name:ident, $factory:expr) => {
        mod $name {
            #[expect(
                unused_imports,
                reason = "the trait is needed by some of the generated tests only"
            )]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn quotas() {
                let quotas: std::sync::Arc<dyn pake_ports::QuotaCounter> =
                    std::sync::Arc::new($factory);
                $crate::quota::quota_contract(quotas).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrency() {
                let slots: std::sync::Arc<dyn pake_ports::ConcurrencyLimiter> =
                    std::sync::Arc::new($factory);
                $crate::quota::concurrency_contract(slots).await;
            }
        }
    };
}
