//! Fakes for tests of the core and of services that embed it (feature `test-support`): every
//! repository in memory ([`MemoryStore`], held to the same contract suites as the real stores),
//! a hasher and token pair without real cryptography, a clock the test moves, and predictable
//! secrets. With them a core test needs no database, no argon2 and no signing keys.
//!
//! Never use these outside tests: [`PlainHasher`] keeps passwords readable and [`FakeTokens`]
//! signs nothing.

mod fakes;
mod memory;

use std::sync::Arc;

use pake_domain::PlanCatalog;
use pake_domain::search::SourceId;
use pake_ports::{Cache, Clock, LocalEvents, SourceRecord};

pub use fakes::{CountingSecrets, FakeTokens, ManualClock, PlainHasher};
pub use memory::MemoryStore;

use crate::{
    AuthPolicy, Counters, Credentials, Deps, Environment, FairGate, Identity, RevocationList,
    SearchSetup, TenantDirectory,
};

/// The dependencies of a core under test: `store`'s repositories, `clock`, the fakes above, and
/// the rate, quota and concurrency `counters` and `cache` the test chooses (the in-process
/// adapters of `pake-cache` are the usual ones), with no search sources.
pub fn deps(
    store: &MemoryStore,
    clock: Arc<dyn Clock>,
    counters: Counters,
    cache: Arc<dyn Cache>,
) -> Deps {
    let policy = AuthPolicy::default();
    let tokens = Arc::new(FakeTokens::new(Arc::clone(&clock)));
    let search = Arc::new(SearchSetup::new(
        Vec::new(),
        crate::search::SearchPolicy::default(),
        &counters.limiter,
        &counters.slots,
    ));
    Deps {
        repos: store.repositories(),
        env: Environment {
            clock,
            secrets: Arc::new(CountingSecrets::default()),
        },
        plans: Arc::new(PlanCatalog::default()),
        identity: Identity {
            directory: Arc::new(TenantDirectory::default()),
            revocations: Arc::new(RevocationList::new(policy.access_ttl)),
            users_cache: Identity::user_cache(1000),
            events: Arc::new(LocalEvents),
        },
        credentials: Credentials {
            hasher: Arc::new(PlainHasher),
            hash_gate: FairGate::new(2),
            issuer: tokens.clone(),
            verifier: tokens,
            policy,
        },
        counters,
        cache,
        optional_probes: Vec::new(),
        search,
    }
}

/// Merges, ranks and enhances `records` for `query` exactly as a search does (summaries, the
/// digest and the key topics), with no cache: the entry of the enhancement micro-benchmark.
/// Returns the results, the digest and the key topics.
pub fn enhance(
    query: &str,
    records: Vec<(SourceId, SourceRecord)>,
) -> (
    Vec<crate::search::SearchResult>,
    Option<String>,
    Vec<String>,
) {
    crate::search::enhance_for_bench(query, records)
}
