//! Usage counters.

use pake_domain::PlanId;
use pake_domain::usage::UsageMetric;
use pake_ports::Repositories;
use time::{Date, Month};

use crate::fixtures::{self};

/// Usage counters: atomic increments per day and metric, series.
pub async fn usage(r: &Repositories) {
    let t = fixtures::tenant("usage", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let d1 = Date::from_calendar_date(2026, Month::January, 31).unwrap();
    let d2 = d1.next_day().unwrap();
    assert_eq!(
        r.usage.get(t.id, d1, UsageMetric::ApiCalls).await.unwrap(),
        0
    );
    assert_eq!(
        r.usage
            .increment(t.id, d1, UsageMetric::ApiCalls, 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        r.usage
            .increment(t.id, d1, UsageMetric::ApiCalls, 4)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        r.usage
            .increment(t.id, d1, UsageMetric::Searches, 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        r.usage
            .increment(t.id, d2, UsageMetric::ApiCalls, 7)
            .await
            .unwrap(),
        7
    );
    assert_eq!(
        r.usage.get(t.id, d1, UsageMetric::ApiCalls).await.unwrap(),
        5
    );
    assert_eq!(
        r.usage
            .series(t.id, d1, d2, UsageMetric::ApiCalls)
            .await
            .unwrap(),
        vec![(d1, 5), (d2, 7)]
    );
    assert_eq!(
        r.usage
            .series(t.id, d2, d2, UsageMetric::ApiCalls)
            .await
            .unwrap(),
        vec![(d2, 7)]
    );

    // concurrent increments are never lost
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let usage = r.usage.clone();
        tasks.push(tokio::spawn(async move {
            usage.increment(t.id, d2, UsageMetric::Searches, 1).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        r.usage.get(t.id, d2, UsageMetric::Searches).await.unwrap(),
        20
    );
}
