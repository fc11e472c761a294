//! Search history and its aggregates.

use pake_domain::search::{HistoryFilter, SourceId};
use pake_domain::{PlanId, Role, SavedSearchId, TenantId};
use pake_ports::Repositories;
use time::{Date, Duration, Month};

use super::page;
use crate::fixtures::{self};

/// History: append, list with filters, stats and popular queries with real aggregates.
pub async fn history(r: &Repositories) {
    let t = fixtures::tenant("history", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    let alice = fixtures::user(t.id, "alice", Role::User);
    let bob = fixtures::user(t.id, "bob", Role::User);
    r.users.create(&alice, None).await.unwrap();
    r.users.create(&bob, None).await.unwrap();
    let day1 = Date::from_calendar_date(2026, Month::March, 1)
        .unwrap()
        .midnight()
        .assume_utc();
    let day2 = day1 + Duration::days(1) + Duration::hours(3);
    let mut s1 = fixtures::search(
        &alice,
        "CRISPR  Cas9",
        &[SourceId::Arxiv, SourceId::Pubmed],
        day1,
    );
    s1.execution_ms = 100;
    let mut s2 = fixtures::search(&alice, "crispr cas9", &[SourceId::Pubmed], day2);
    s2.execution_ms = 300;
    s2.cache_hit = true;
    s2.source_status = serde_json::json!({"pubmed": {"status": "cached"}});
    let mut s3 = fixtures::search(
        &bob,
        "dark matter",
        &[SourceId::Arxiv, SourceId::Web, SourceId::Pubmed],
        day2 + Duration::minutes(1),
    );
    s3.execution_ms = 200;
    s3.saved_search_id = Some(SavedSearchId::new());
    for s in [&s1, &s2, &s3] {
        r.history.append(s).await.unwrap();
    }
    let all = HistoryFilter::default();
    let listed = r.history.list(t.id, &all, page(2, 0)).await.unwrap();
    assert_eq!(listed.total, 3);
    assert_eq!(
        listed.items,
        vec![s3.clone(), s2.clone()],
        "newest first, all fields kept"
    );
    let alice_only = HistoryFilter {
        user_id: Some(alice.id),
        ..HistoryFilter::default()
    };
    assert_eq!(
        r.history
            .list(t.id, &alice_only, page(10, 0))
            .await
            .unwrap()
            .total,
        2
    );
    let since_day2 = HistoryFilter {
        since: Some(day2),
        ..HistoryFilter::default()
    };
    assert_eq!(
        r.history
            .list(t.id, &since_day2, page(10, 0))
            .await
            .unwrap()
            .total,
        2
    );

    let stats = r.history.stats(t.id, &all).await.unwrap();
    assert_eq!((stats.total, stats.cache_hits), (3, 1));
    assert!((stats.average_ms - 200.0).abs() < f64::EPSILON);
    assert_eq!(
        stats.by_source,
        vec![
            (SourceId::Pubmed, 3),
            (SourceId::Arxiv, 2),
            (SourceId::Web, 1)
        ]
    );
    assert_eq!(stats.per_day, vec![(day1.date(), 1), (day2.date(), 2)]);
    let alice_stats = r.history.stats(t.id, &alice_only).await.unwrap();
    assert_eq!((alice_stats.total, alice_stats.cache_hits), (2, 1));
    let empty = r.history.stats(TenantId::new(), &all).await.unwrap();
    assert_eq!(
        (empty.total, empty.average_ms, empty.by_source.len()),
        (0, 0.0, 0)
    );

    let popular = r.history.popular(t.id, &all, 10).await.unwrap();
    assert_eq!(popular.len(), 2);
    assert_eq!(popular[0].count, 2, "grouped case- and space-insensitively");
    assert!(
        popular[0].query.eq_ignore_ascii_case("crispr cas9") || popular[0].query == "CRISPR  Cas9"
    );
    assert_eq!(
        (popular[1].query.as_str(), popular[1].count),
        ("dark matter", 1)
    );
    assert_eq!(r.history.popular(t.id, &all, 1).await.unwrap().len(), 1);
}

/// Batches: several tenants' searches in one call, all recorded; a batch holding a duplicate
/// records none of its searches (one transaction), and the others can be written after.
pub async fn history_batches(r: &Repositories) {
    let at = fixtures::now();
    let mut users = Vec::new();
    for name in ["batch-a", "batch-b"] {
        let t = fixtures::tenant(name, PlanId::Basic);
        r.tenants.create(&t).await.unwrap();
        let u = fixtures::user(t.id, "searcher", Role::User);
        r.users.create(&u, None).await.unwrap();
        users.push(u);
    }
    let batch: Vec<_> = (0..300)
        .map(|i| {
            let u = &users[i % 2];
            fixtures::search(u, &format!("query {i}"), &[SourceId::Arxiv], at)
        })
        .collect();
    r.history.append_many(&batch).await.unwrap();
    let all = HistoryFilter::default();
    for u in &users {
        let listed = r.history.list(u.tenant_id, &all, page(1, 0)).await.unwrap();
        assert_eq!(listed.total, 150, "each tenant sees its own half");
    }
    let fresh = fixtures::search(&users[0], "fresh", &[SourceId::Pubmed], at);
    let doomed = vec![fresh.clone(), batch[0].clone()];
    assert!(
        r.history.append_many(&doomed).await.is_err(),
        "a duplicate id fails the batch"
    );
    let t0 = users[0].tenant_id;
    assert_eq!(
        r.history.list(t0, &all, page(1, 0)).await.unwrap().total,
        150,
        "nothing of a failed batch is kept"
    );
    r.history.append_many(&[fresh]).await.unwrap();
    r.history.append_many(&[]).await.unwrap();
    assert_eq!(
        r.history.list(t0, &all, page(1, 0)).await.unwrap().total,
        151
    );
}

/// Pages: a search read back whole (its paging state with hostile text intact), one more page
/// recorded only from the page count it was read at (a second writer from the same count is
/// refused), never across tenants.
pub async fn history_pages(r: &Repositories) {
    let t = fixtures::tenant("pages", PlanId::Basic);
    let other = fixtures::tenant("pages-other", PlanId::Basic);
    r.tenants.create(&t).await.unwrap();
    r.tenants.create(&other).await.unwrap();
    let alice = fixtures::user(t.id, "alice", Role::User);
    r.users.create(&alice, None).await.unwrap();
    let mut s = fixtures::search(&alice, "paged", &[SourceId::Crossref], fixtures::now());
    s.paging =
        Some(serde_json::json!({"next": {"crossref": "20"}, "note": "é \u{1F600} ' \" ;--"}));
    // any bytes: the search service's compressed results
    let first: Vec<u8> = (0..=255u8).chain([0, 0, 0xff]).collect();
    s.snapshot = Some(first.clone());
    r.history.append(&s).await.unwrap();
    let read = r.history.get(t.id, s.id).await.unwrap().expect("stored");
    assert_eq!(read.pages, 1);
    assert_eq!(read.paging, s.paging);
    assert_eq!(read.result_count, 10);
    assert!(
        r.history.get(other.id, s.id).await.unwrap().is_none(),
        "not another tenant's"
    );
    assert!(
        r.history
            .get(t.id, pake_domain::SearchId::new())
            .await
            .unwrap()
            .is_none()
    );

    assert!(read.snapshot.is_none(), "the snapshot is read on its own");
    let kept = r.history.snapshot(t.id, s.id).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].page, &kept[0].body), (1, &first));
    assert!(r.history.snapshot(other.id, s.id).await.unwrap().is_empty());

    let state = serde_json::json!({"next": {"crossref": "40"}});
    let second = pake_domain::search::SnapshotPage {
        page: 2,
        created_at: fixtures::now() + time::Duration::days(10),
        body: b"page two".to_vec(),
    };
    assert!(
        !r.history
            .add_page(other.id, s.id, 1, &state, 5, &second)
            .await
            .unwrap(),
        "other tenant"
    );
    assert!(
        r.history
            .add_page(t.id, s.id, 1, &state, 5, &second)
            .await
            .unwrap()
    );
    assert!(
        !r.history
            .add_page(t.id, s.id, 1, &state, 5, &second)
            .await
            .unwrap(),
        "the page count moved on: a second writer from 1 is refused"
    );
    let kept = r.history.snapshot(t.id, s.id).await.unwrap();
    assert_eq!(kept.iter().map(|p| p.page).collect::<Vec<_>>(), [1, 2]);
    // retention: pages fetched before the cut-off go, the entry stays; never another tenant's
    assert_eq!(
        r.history
            .purge_snapshots(other.id, fixtures::now() + time::Duration::days(5))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        r.history
            .purge_snapshots(t.id, fixtures::now() + time::Duration::days(5))
            .await
            .unwrap(),
        1
    );
    let kept = r.history.snapshot(t.id, s.id).await.unwrap();
    assert_eq!(kept.iter().map(|p| p.page).collect::<Vec<_>>(), [2]);
    let read = r.history.get(t.id, s.id).await.unwrap().unwrap();
    assert_eq!((read.pages, read.result_count), (2, 15));
    assert_eq!(read.paging, Some(state));
    let listed = r
        .history
        .list(t.id, &HistoryFilter::default(), page(10, 0))
        .await
        .unwrap();
    assert_eq!(listed.items[0].pages, 2);
}
