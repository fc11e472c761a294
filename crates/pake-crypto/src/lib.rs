//! PAKE's crypto adapters.
//!
//! - [`Argon2Hasher`]: the password-hasher port with argon2id in PHC strings, run on tokio's blocking
//!   pool behind a semaphore so at most a configured number of hashes run at once and logins never
//!   starve the async workers; unknown users are checked against a dummy hash of the same cost.
//! - [`generate_password`]: one-time passwords that satisfy the domain's policy.

mod argon;
mod generate;

pub use argon::{Argon2Hasher, HashingOptions};
pub use generate::{OsSecrets, generate_password, random_bytes};
