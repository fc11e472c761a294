//! The repository contract suite, run against PostgreSQL as the application role (row-level
//! security on), each suite in a database of its own.

#![expect(
    clippy::unwrap_used,
    reason = "a test stops at the line that cannot set up"
)]

use pake_ports::Repositories;
use pake_store_postgres::test_db::TestDb;

async fn fresh_store() -> (Repositories, TestDb) {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    (db.store(4).repositories(), db)
}

pake_contract::repository_contract_tests!(crate::fresh_store);

#[tokio::test]
async fn migrations_round_trip_up_down_up() {
    let db = tokio::task::spawn_blocking(TestDb::empty).await.unwrap();
    let owner = db.owner_url.clone();
    tokio::task::spawn_blocking(move || {
        assert!(!pake_store_postgres::migrate(&owner).unwrap().is_empty());
        assert!(
            pake_store_postgres::migrate(&owner).unwrap().is_empty(),
            "nothing pending the second time"
        );
        pake_store_postgres::revert_all(&owner).unwrap();
        assert!(!pake_store_postgres::migrate(&owner).unwrap().is_empty());
    })
    .await
    .unwrap();
    db.store(1).repositories().health.ping().await.unwrap();
}
