//! The server's integration tests, one binary (linking the whole server once): each module is a
//! capability tried through the real path — HTTP in, store out — on the embedded store and, where
//! the store matters, on PostgreSQL + Redis (`PAKE_TEST_DATABASE_URL`, `PAKE_TEST_REDIS_URL`).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test that cannot set up its scenario should stop at that line"
)]

#[macro_use]
mod common;

mod audit_targets;
mod binary;
mod binary_hardening;
mod failover;
mod history_crash;
mod http_policy;
mod http_skeleton;
mod identity_lifecycle;
mod identity_matrix;
mod identity_security;
mod limits;
mod limits_replicas;
mod metrics;
mod postgres;
mod replicas;
mod search;
mod trace_export;
mod transport;
