//! The repository contract suite, run against the SQLite store.

#![expect(
    clippy::expect_used,
    reason = "a test stops at the line that cannot set up"
)]

use pake_ports::Repositories;
use pake_store_sqlite::{SqliteOptions, SqliteStore};
use tempfile::TempDir;

/// A fresh, migrated store in its own temporary directory (removed when the guard drops).
#[expect(
    clippy::unused_async,
    reason = "the contract macro awaits the factory: a PostgreSQL one is async"
)]
async fn fresh_store() -> (Repositories, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(&dir.path().join("pake.db"), &SqliteOptions::default()).expect("open");
    store.migrate().expect("migrate");
    (store.repositories(), dir)
}

pake_contract::repository_contract_tests!(crate::fresh_store);

#[tokio::test]
async fn migrations_round_trip_up_down_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(&dir.path().join("pake.db"), &SqliteOptions::default()).expect("open");
    assert!(!store.migrate().expect("up").is_empty());
    assert!(
        store.migrate().expect("up again").is_empty(),
        "nothing pending the second time"
    );
    store.revert_all().expect("down");
    assert!(!store.migrate().expect("up after down").is_empty());
    store.repositories().health.ping().await.expect("ping");
}
