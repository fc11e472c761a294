//! The repository contract: what every store must do, as executable checks — one module per
//! repository, named as the ports and the adapters name theirs.

mod audit;
mod collections;
mod history;
mod isolation;
mod saved_searches;
mod sessions;
mod tenants;
mod usage;
mod users;

use pake_domain::PageRequest;
use pake_domain::session::RefreshTokenHash;
use pake_ports::Repositories;

pub use audit::audit;
pub use collections::collections;
pub use history::{history, history_batches, history_pages};
pub use isolation::tenant_isolation;
pub use saved_searches::saved_searches;
pub use sessions::{refresh_rotation, sessions};
pub use tenants::{tenant_purge, tenants};
pub use usage::usage;
pub use users::{lockout_survives_stale_writes, login_failures, users};

fn page(limit: u32, offset: u64) -> PageRequest {
    PageRequest::new(Some(limit), Some(offset)).unwrap()
}

fn token(n: u8) -> RefreshTokenHash {
    RefreshTokenHash([n; 32])
}

/// Health: a working store answers the ping.
pub async fn health(r: &Repositories) {
    r.health.ping().await.unwrap();
}
