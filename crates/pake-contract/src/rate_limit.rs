//! The rate-limiter contract: GCRA semantics every limiter must keep.

use std::sync::Arc;
use std::time::Duration;

use pake_domain::TenantId;
use pake_ports::{CacheKey, Quota, RateLimiter};

/// Bursts up to the limit, refusals that take nothing and say when to retry, independent keys,
/// exactness under concurrency, and refill over time. Keys expire by themselves within a period.
pub async fn contract(limiter: Arc<dyn RateLimiter>) {
    let tenant = TenantId::new();
    let quota = Quota {
        limit: 5,
        period: Duration::from_secs(2),
    };
    let key = CacheKey::tenant(tenant, "rl", "tenant");
    let mut remaining = Vec::new();
    let mut allowed = 0;
    for _ in 0..8 {
        let d = limiter.check(&key, quota, 1).await.unwrap();
        assert_eq!(d.limit, 5);
        assert!(d.reset_after <= quota.period);
        if d.allowed {
            allowed += 1;
            remaining.push(d.remaining);
            assert!(d.retry_after.is_none());
        } else {
            let retry = d.retry_after.expect("a refusal says when to retry");
            assert!(
                retry > Duration::ZERO && retry <= Duration::from_millis(400),
                "{retry:?}"
            );
            assert_eq!(d.remaining, 0);
        }
    }
    assert_eq!(allowed, 5, "exactly the burst");
    assert_eq!(remaining, vec![4, 3, 2, 1, 0]);

    let other = CacheKey::tenant(TenantId::new(), "rl", "tenant");
    assert!(
        limiter.check(&other, quota, 1).await.unwrap().allowed,
        "another tenant's bucket is its own"
    );

    // concurrent checks on one fresh bucket admit exactly the limit
    let crowd = CacheKey::tenant(tenant, "rl", "crowd");
    let burst = Quota {
        limit: 10,
        period: Duration::from_secs(2),
    };
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let (limiter, crowd) = (Arc::clone(&limiter), crowd.clone());
        tasks.push(tokio::spawn(async move {
            limiter.check(&crowd, burst, 1).await.unwrap().allowed
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += u32::from(t.await.unwrap());
    }
    assert_eq!(admitted, 10, "atomic under concurrency");

    // one interval later (period / limit = 400 ms) one more request passes, and only one
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(
        limiter.check(&key, quota, 1).await.unwrap().allowed,
        "refilled by one"
    );
    assert!(!limiter.check(&key, quota, 1).await.unwrap().allowed);
    // a cost larger than what is left is refused whole
    let costly = CacheKey::tenant(tenant, "rl", "costly");
    assert!(limiter.check(&costly, quota, 5).await.unwrap().allowed);
    assert!(!limiter.check(&costly, quota, 1).await.unwrap().allowed);
    // refunded tokens can be spent again, and a refund never overfills the bucket
    limiter.refund(&costly, quota, 2).await.unwrap();
    assert!(limiter.check(&costly, quota, 2).await.unwrap().allowed);
    assert!(!limiter.check(&costly, quota, 1).await.unwrap().allowed);
    limiter.refund(&costly, quota, 50).await.unwrap();
    let full = limiter.check(&costly, quota, 1).await.unwrap();
    assert_eq!(full.remaining, 4, "at most a full burst");
    limiter
        .refund(&CacheKey::tenant(tenant, "rl", "never"), quota, 3)
        .await
        .unwrap();
}

/// Generates a `#[tokio::test]` running the rate-limiter contract on `$factory`.
#[macro_export]
macro_rules! rate_limit_contract_test {
    ($name:ident, $factory:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let limiter: std::sync::Arc<dyn pake_ports::RateLimiter> =
                std::sync::Arc::new($factory);
            $crate::rate_limit::contract(limiter).await;
        }
    };
}
