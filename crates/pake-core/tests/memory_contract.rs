//! The repository contract suites, run against the in-memory store of `pake_core::testing`: the
//! fake keeps the same rules as the real stores, so a core test on it tests the real behaviour.

use pake_core::testing::MemoryStore;
use pake_ports::Repositories;

/// A fresh, empty store (nothing to clean up).
#[expect(
    clippy::unused_async,
    reason = "the contract macro awaits the factory: a PostgreSQL one is async"
)]
async fn fresh_store() -> (Repositories, ()) {
    (MemoryStore::new().repositories(), ())
}

pake_contract::repository_contract_tests!(crate::fresh_store);
