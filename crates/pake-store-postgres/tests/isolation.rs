//! Isolation proven at the database, as the application role: no tenant set → no rows; a
//! transaction of tenant A cannot write B's rows; a pool of 2 connections under 200 concurrent
//! requests alternating tenants never returns a foreign row and never keeps a tenant setting.

#![expect(
    clippy::unwrap_used,
    reason = "a test stops at the line that cannot set up"
)]

use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use pake_contract::fixtures;
use pake_domain::search::SourceId;
use pake_domain::session::RefreshTokenHash;
use pake_domain::usage::UsageMetric;
use pake_domain::{PageRequest, PlanId, Role, TenantId};
use pake_ports::Repositories;
use pake_store_postgres::test_db::TestDb;

const TABLES: [&str; 8] = [
    "tenants",
    "users",
    "sessions",
    "refresh_tokens",
    "audit_events",
    "search_history",
    "saved_searches",
    "usage_counters",
];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Two tenants with a row in every table; returns their ids.
async fn populate(r: &Repositories) -> (TenantId, TenantId) {
    let mut ids = Vec::new();
    for (i, slug) in ["tenant-a", "tenant-b"].into_iter().enumerate() {
        let t = fixtures::tenant(slug, PlanId::Basic);
        r.tenants.create(&t).await.unwrap();
        let u = fixtures::user(t.id, "alice", Role::Admin);
        r.users.create(&u, None).await.unwrap();
        r.sessions
            .create(
                &fixtures::session(&u),
                RefreshTokenHash([u8::try_from(i).unwrap(); 32]),
            )
            .await
            .unwrap();
        r.history
            .append(&fixtures::search(
                &u,
                "q",
                &[SourceId::Arxiv],
                fixtures::now(),
            ))
            .await
            .unwrap();
        r.saved_searches
            .create(&fixtures::saved_search(&u, "s"))
            .await
            .unwrap();
        r.usage
            .increment(t.id, fixtures::now().date(), UsageMetric::ApiCalls, 1)
            .await
            .unwrap();
        let event = pake_domain::audit::AuditEvent {
            tenant_id: t.id,
            id: pake_domain::AuditEventId::new(),
            at: fixtures::now(),
            kind: pake_domain::audit::AuditKind::UserCreated,
            actor_id: None,
            actor_tenant_id: None,
            target: None,
            ip: None,
            user_agent: None,
            request_id: None,
            details: serde_json::json!({}),
        };
        r.audit.append(&event).await.unwrap();
        ids.push(t.id);
    }
    (ids[0], ids[1])
}

fn counts(conn: &mut PgConnection) -> Vec<(&'static str, i64)> {
    TABLES
        .iter()
        .map(|t| {
            (
                *t,
                diesel::sql_query(format!("SELECT count(*) AS n FROM {t}"))
                    .get_result::<Count>(conn)
                    .unwrap()
                    .n,
            )
        })
        .collect()
}

#[tokio::test]
async fn without_a_tenant_every_table_is_empty_for_the_app_role() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    populate(&db.store(2).repositories()).await;
    let (app, owner) = (db.app_url.clone(), db.owner_url.clone());
    tokio::task::spawn_blocking(move || {
        let mut as_app = PgConnection::establish(&app).unwrap();
        assert!(
            counts(&mut as_app).iter().all(|(_, n)| *n == 0),
            "{:?}",
            counts(&mut as_app)
        );
        // an empty setting (what a finished transaction leaves) is no tenant either
        diesel::sql_query("SELECT set_config('app.tenant_id', '', false)")
            .execute(&mut as_app)
            .unwrap();
        assert!(counts(&mut as_app).iter().all(|(_, n)| *n == 0));
        // the rows are there: the test cluster's superuser (which bypasses RLS, as superusers do;
        // the server never connects as one) sees two of each
        let mut as_superuser = PgConnection::establish(&owner).unwrap();
        assert!(
            counts(&mut as_superuser).iter().all(|(_, n)| *n == 2),
            "{:?}",
            counts(&mut as_superuser)
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_transaction_of_tenant_a_cannot_write_tenant_b() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let (a, b) = populate(&db.store(2).repositories()).await;
    let app = db.app_url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&app).unwrap();
        conn.transaction::<(), diesel::result::Error, _>(|c| {
            diesel::sql_query(format!("SELECT set_config('app.tenant_id', '{a}', true)")).execute(c)?;
            let seen = counts(c);
            assert!(seen.iter().all(|(_, n)| *n == 1), "only A's row of each table: {seen:?}");
            let updated = diesel::sql_query(format!("UPDATE users SET full_name = 'pwned' WHERE tenant_id = '{b}'")).execute(c)?;
            assert_eq!(updated, 0, "B's rows are invisible to an update");
            let moved = diesel::sql_query(format!("UPDATE users SET tenant_id = '{b}' WHERE tenant_id = '{a}'")).execute(c);
            assert!(moved.is_err(), "a row cannot be moved into B");
            Err(diesel::result::Error::RollbackTransaction)
        })
        .ok();
        let inserted = conn.transaction::<_, diesel::result::Error, _>(|c| {
            diesel::sql_query(format!("SELECT set_config('app.tenant_id', '{a}', true)")).execute(c)?;
            diesel::sql_query(format!(
                "INSERT INTO usage_counters (tenant_id, day, metric, value) VALUES ('{b}', CURRENT_DATE, 'x', 1)"
            ))
            .execute(c)
        });
        let err = inserted.unwrap_err().to_string();
        assert!(err.contains("row-level security"), "{err}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_two_hundred_requests_never_leak_a_tenant() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let store = db.store(2);
    let r = store.repositories();
    let a = fixtures::tenant("tenant-a", PlanId::Enterprise);
    let b = fixtures::tenant("tenant-b", PlanId::Enterprise);
    for (t, n) in [(&a, 3), (&b, 5)] {
        r.tenants.create(t).await.unwrap();
        for i in 0..n {
            r.users
                .create(&fixtures::user(t.id, &format!("user{i}"), Role::User), None)
                .await
                .unwrap();
        }
    }
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (tenant, expected) = if i % 2 == 0 { (a.id, 3) } else { (b.id, 5) };
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let page = r.users.list(tenant, PageRequest::first()).await.unwrap();
            assert_eq!(page.total, expected);
            assert!(
                page.items.iter().all(|u| u.tenant_id == tenant),
                "a foreign row leaked"
            );
            let t = r.tenants.find(tenant).await.unwrap().unwrap();
            assert_eq!(t.id, tenant);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let leftovers = store.leftover_tenant_settings().await.unwrap();
    assert_eq!(leftovers.len(), 2);
    assert!(
        leftovers
            .iter()
            .all(|v| v.as_deref().unwrap_or("").is_empty()),
        "{leftovers:?}"
    );
}

/// A newcomer's `DATABASE_URL` names a superuser (which bypasses row-level security by itself):
/// every unit of work still runs as `pake_app`, so a tenant sees only its own rows.
#[tokio::test]
async fn with_a_superuser_login_a_tenant_still_sees_no_foreign_row() {
    let db = TestDb::new();
    let store = pake_store_postgres::PgStore::connect(
        &db.owner_url,
        &pake_store_postgres::PgOptions::default(),
    )
    .unwrap();
    let warning = store.check_login_role().await.unwrap();
    assert!(warning.is_some(), "a superuser login is worth a warning");
    let r = store.repositories();
    let (a, b) = populate(&r).await;
    for table in TABLES.into_iter().filter(|t| *t != "tenants") {
        assert_eq!(
            store.rows_visible_to(a, table).await.unwrap(),
            1,
            "{table} as A"
        );
        assert_eq!(
            store.rows_visible_to(b, table).await.unwrap(),
            1,
            "{table} as B"
        );
    }
    assert_eq!(store.rows_visible_to(a, "tenants").await.unwrap(), 1);
    assert!(
        store.rows_visible_to(a, "signing_keys").await.is_err(),
        "tenant work has no right to the signing keys at all"
    );
    // the application role itself logs in without a warning
    let app = db.store(2);
    assert_eq!(app.check_login_role().await.unwrap(), None);
}
