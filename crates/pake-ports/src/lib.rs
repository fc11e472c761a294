//! Ports: the traits PAKE's core needs, and nothing else.
//!
//! Every trait is `Send + Sync` and injected as `Arc<dyn Trait>`. Each method documents the errors an
//! implementation must return, so adapters (SQLite, PostgreSQL, in-process, Redis, arXiv, …) behave
//! alike; the contract suites in `pake-contract` hold them to it. Every repository method that
//! touches tenant data takes the tenant as its first argument.

pub mod cache;
pub mod clock;
pub mod error;
pub mod events;
pub mod keys;
pub mod password;
pub mod rate_limit;
pub mod repository;
pub mod search_source;
pub mod secrets;
pub mod token;

pub use cache::{Cache, CacheError, CacheKey, CacheScope, CacheStats};
pub use clock::{Clock, SystemClock};
pub use error::{BoxError, Conflict, RepoError};
pub use events::{IdentityEvent, IdentityEvents, LocalEvents, Probe};
pub use keys::{SigningKeyStore, StoredSigningKey};
pub use password::{HashError, PasswordCheck, PasswordHasher};
pub use rate_limit::{
    ConcurrencyLimiter, LimitError, Quota, QuotaCounter, QuotaTake, RateDecision, RateLimiter,
};
pub use repository::{
    AuditRepository, CollectionRepository, Repositories, SavedSearchRepository,
    SearchHistoryRepository, SessionRepository, StoreHealth, TenantFilter, TenantRepository,
    UsageRepository, UserRepository,
};
pub use search_source::{
    Filter, OpenAccess, OpenGate, SearchSource, SortOrder, SourceAvailability, SourceError,
    SourcePage, SourceRecord, SourceRequest, Turn, UpstreamGate, publication_type,
};
pub use secrets::SecretGenerator;
pub use token::{AccessClaims, IssuedToken, TokenError, TokenIssuer, TokenVerifier};
