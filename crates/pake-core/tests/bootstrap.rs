//! Bootstrap against a real (SQLite) store.

#![expect(
    clippy::unwrap_used,
    reason = "a test stops at the line that cannot set up"
)]

use std::sync::Arc;

use pake_core::{
    AuthPolicy, BootstrapOptions, BootstrapOutcome, CoreError, Counters, Credentials, Deps,
    Environment, Identity, RevocationList, Services, TenantDirectory,
};
use pake_crypto::{Argon2Hasher, HashingOptions, JwtOptions, JwtTokens, KeySet, OsSecrets};
use pake_domain::{PlanCatalog, Role, TenantSlug};
use pake_ports::{PasswordCheck, SystemClock};
use pake_store_sqlite::{SqliteOptions, SqliteStore};

fn deps(dir: &tempfile::TempDir) -> Deps {
    let store = SqliteStore::open(&dir.path().join("pake.db"), &SqliteOptions::default()).unwrap();
    store.migrate().unwrap();
    let cheap = HashingOptions {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 2,
    };
    let tokens = Arc::new(JwtTokens::new(
        KeySet::load_or_generate(&dir.path().join("keys"), None).unwrap(),
        JwtOptions::default(),
    ));
    let policy = AuthPolicy::default();
    let limiter: Arc<dyn pake_ports::RateLimiter> = Arc::new(pake_cache::MemoryRateLimiter::new());
    let slots: Arc<dyn pake_ports::ConcurrencyLimiter> = Arc::new(pake_cache::MemoryQuotas::new());
    Deps {
        repos: store.repositories(),
        env: Environment {
            clock: Arc::new(SystemClock),
            secrets: Arc::new(OsSecrets),
        },
        plans: Arc::new(PlanCatalog::default()),
        identity: Identity {
            directory: Arc::new(TenantDirectory::default()),
            revocations: Arc::new(RevocationList::new(policy.access_ttl)),
            users_cache: Identity::user_cache(1000),
            events: Arc::new(pake_ports::LocalEvents),
        },
        credentials: Credentials {
            hasher: Arc::new(Argon2Hasher::new(cheap).unwrap()),
            hash_gate: pake_core::FairGate::new(2),
            issuer: tokens.clone(),
            verifier: tokens,
            policy,
        },
        counters: Counters {
            limiter: Arc::clone(&limiter),
            quotas: Arc::new(pake_cache::MemoryQuotas::new()),
            slots: Arc::clone(&slots),
            policy: pake_core::LimitPolicy::default(),
        },
        cache: Arc::new(NoCache),
        optional_probes: Vec::new(),
        search: Arc::new(pake_core::SearchSetup::new(
            Vec::new(),
            pake_core::search::SearchPolicy::default(),
            &limiter,
            &slots,
        )),
    }
}

/// The bootstrap never touches the cache.
struct NoCache;

#[async_trait::async_trait]
impl pake_ports::Cache for NoCache {
    async fn get(
        &self,
        _: &pake_ports::CacheKey,
    ) -> Result<Option<Vec<u8>>, pake_ports::CacheError> {
        Ok(None)
    }
    async fn set(
        &self,
        _: &pake_ports::CacheKey,
        _: Vec<u8>,
        _: std::time::Duration,
    ) -> Result<(), pake_ports::CacheError> {
        Ok(())
    }
    async fn delete(&self, _: &pake_ports::CacheKey) -> Result<(), pake_ports::CacheError> {
        Ok(())
    }
}

#[tokio::test]
async fn first_start_creates_the_super_admin_once_with_a_one_time_password() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(&dir);
    let services = Services::new(&deps);
    let first = services
        .bootstrap
        .ensure_platform(&BootstrapOptions::default())
        .await
        .unwrap();
    let BootstrapOutcome::Created {
        tenant_id,
        generated_password: Some(password),
    } = first
    else {
        panic!("expected a generated password, got {first:?}");
    };
    let tenant = deps
        .repos
        .tenants
        .find_by_slug(&TenantSlug::platform())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tenant.id, tenant_id);
    let admin = deps
        .repos
        .users
        .find_by_login(tenant_id, "admin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Role::SuperAdmin);
    assert!(
        admin.must_change_password,
        "generated passwords are one-time"
    );
    assert_eq!(
        deps.credentials
            .hasher
            .verify(password.expose(), Some(&admin.password_hash))
            .await
            .unwrap(),
        PasswordCheck::Match {
            needs_rehash: false
        }
    );
    // the second start creates nothing and knows no password
    let second = services
        .bootstrap
        .ensure_platform(&BootstrapOptions::default())
        .await
        .unwrap();
    assert_eq!(second, BootstrapOutcome::AlreadyDone);
    assert_eq!(deps.repos.users.count(tenant_id).await.unwrap(), 1);
}

#[tokio::test]
async fn an_operator_chosen_password_is_checked_and_not_one_time() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(&dir);
    let services = Services::new(&deps);
    let weak = BootstrapOptions {
        admin_password: Some("password".into()),
        ..BootstrapOptions::default()
    };
    assert!(matches!(
        services.bootstrap.ensure_platform(&weak).await,
        Err(CoreError::Validation(_))
    ));
    let with_name = BootstrapOptions {
        admin_password: Some("Xadmin-2026-!q".into()),
        ..BootstrapOptions::default()
    };
    assert!(matches!(
        services.bootstrap.ensure_platform(&with_name).await,
        Err(CoreError::Validation(_))
    ));

    let chosen = BootstrapOptions {
        admin_password: Some("Quiet-Harbour-42!".into()),
        ..BootstrapOptions::default()
    };
    let outcome = services.bootstrap.ensure_platform(&chosen).await.unwrap();
    assert!(matches!(
        outcome,
        BootstrapOutcome::Created {
            generated_password: None,
            ..
        }
    ));
    let tenant = deps
        .repos
        .tenants
        .find_by_slug(&TenantSlug::platform())
        .await
        .unwrap()
        .unwrap();
    let admin = deps
        .repos
        .users
        .find_by_login(tenant.id, "admin")
        .await
        .unwrap()
        .unwrap();
    assert!(!admin.must_change_password);
}
