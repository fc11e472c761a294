//! The background work of a running server: identity sync, usage flush, identity events, the
//! sweep of kept results past their plan's retention.

use std::sync::Arc;
use std::time::Duration;

use pake_cache::{FallbackLimits, RedisEvents};
use pake_core::Services;

/// Re-reads the tenant directory and the revocations every `every`, so changes made by other
/// replicas take effect here within that interval.
pub(super) fn spawn_sync(services: Services, every: Duration) {
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
pub(super) fn spawn_usage_flush(services: Services, limits: Arc<FallbackLimits>) {
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

/// Applies the identity events other replicas publish (ended sessions, changed tenants).
///
/// Waits (up to two seconds) until the subscription is in place, so a replica that starts serving
/// has missed no event since; if Redis does not answer, the periodic sync covers the gap.
pub(super) async fn spawn_event_listener(services: Services, bus: &RedisEvents) {
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

/// Every hour (and once soon after start), deletes the kept search results each tenant's plan no
/// longer keeps. Every replica may run it: a sweep deletes what is past the cut-off, so two at
/// once delete nothing twice.
pub(super) fn spawn_snapshot_sweeper(services: Services) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match services.search.sweep_expired_snapshots().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pages = n, "expired search results swept"),
                Err(e) => tracing::warn!(error = %e, "expired search results not swept; next hour"),
            }
        }
    });
}
