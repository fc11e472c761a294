//! PAKE's crypto adapters.
//!
//! - [`Argon2Hasher`]: the password-hasher port with argon2id in PHC strings, run on tokio's blocking
//!   pool behind a semaphore so at most a configured number of hashes run at once and logins never
//!   starve the async workers; unknown users are checked against a dummy hash of the same cost.
//! - [`generate_password`]: one-time passwords that satisfy the domain's policy.
//! - [`JwtTokens`]: EdDSA access tokens (issue, verify with a cache of verified tokens, JWKS) over a
//!   [`KeySet`] loaded from, or generated into, a key directory.

mod argon;
mod generate;
mod jwt;
mod keys;

pub use argon::{Argon2Hasher, HashingOptions};
pub use generate::{OsSecrets, generate_password, random_bytes};
pub use jwt::{CLAIM_TYP, HEADER_TYP, JwtOptions, JwtTokens};
pub use keys::{KeyError, KeySealer, KeySet};
