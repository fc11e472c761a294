//! Contract test suites for PAKE's ports, written once and run against every adapter.
//!
//! An adapter crate runs the whole repository contract with one line in its tests:
//!
//! ```ignore
//! pake_contract::repository_contract_tests!(crate::fresh_store);
//! ```
//!
//! where `fresh_store` is an `async fn() -> (Repositories, Guard)` giving an empty, migrated store
//! (the guard removes it when dropped). Each suite runs on its own store, so suites run in parallel.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the line that cannot set up"
)]

pub mod cache;
pub mod fixtures;
pub mod quota;
pub mod rate_limit;
pub mod repository;
pub mod schema;

/// Generates one `#[tokio::test]` per repository suite, each on a fresh store from `$factory`.
#[macro_export]
macro_rules! repository_contract_tests {
    ($factory:path) => {
        $crate::repository_contract_tests!(@tests $factory;
            tenants, tenant_purge, users, login_failures, lockout_survives_stale_writes, sessions, refresh_rotation, audit,
            history, history_batches, history_pages, saved_searches, collections, usage, health, tenant_isolation);
    };
    (@tests $factory:path; $($suite:ident),+) => {
        mod repository_contract {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $suite() {
                    let (repos, _guard) = $factory().await;
                    $crate::repository::$suite(&repos).await;
                }
            )+
        }
    };
}
