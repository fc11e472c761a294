//! Bootstrap on the in-memory store (held to the repository contract) and the fakes of
//! `pake_core::testing`: no database, no argon2, no signing keys.

use std::sync::Arc;

use pake_core::testing::MemoryStore;
use pake_core::{BootstrapOptions, BootstrapOutcome, CoreError, Counters, Deps, Services};
use pake_domain::{Role, TenantSlug};
use pake_ports::{PasswordCheck, SystemClock};

/// A core on the in-memory store and fakes, with the in-process limits and cache.
fn deps() -> Deps {
    let slots = Arc::new(pake_cache::MemoryQuotas::new());
    let counters = Counters {
        limiter: Arc::new(pake_cache::MemoryRateLimiter::new()),
        quotas: slots.clone(),
        slots,
        policy: pake_core::LimitPolicy::default(),
    };
    let cache = Arc::new(pake_cache::MemoryCache::new(1 << 20));
    pake_core::testing::deps(&MemoryStore::new(), Arc::new(SystemClock), counters, cache)
}

#[tokio::test]
async fn first_start_creates_the_super_admin_once_with_a_one_time_password() {
    let deps = deps();
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
    let deps = deps();
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
