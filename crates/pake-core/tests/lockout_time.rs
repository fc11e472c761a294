//! What only a clock the test moves can show: a lock lasts exactly its duration, and an access
//! token dies at its expiry — on the in-memory store and fakes of `pake_core::testing`.

use std::sync::Arc;

use pake_core::testing::{ManualClock, MemoryStore};
use pake_core::{BootstrapOptions, CoreError, Counters, LoginInput, RequestMeta, Services};
use time::{Duration, OffsetDateTime};

const PASSWORD: &str = "Quiet-Harbour-42!";

fn login(password: &str) -> LoginInput {
    LoginInput {
        tenant: Some("platform".into()),
        login: "admin".into(),
        password: password.into(),
        remember_me: false,
    }
}

#[tokio::test]
async fn a_lock_lasts_its_duration_and_a_token_its_lifetime() {
    let start =
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or_else(|e| panic!("{e}"));
    let clock = ManualClock::new(start);
    let store = MemoryStore::new();
    let slots = Arc::new(pake_cache::MemoryQuotas::new());
    let counters = Counters {
        limiter: Arc::new(pake_cache::MemoryRateLimiter::new()),
        quotas: slots.clone(),
        slots,
        policy: pake_core::LimitPolicy::default(),
    };
    let deps = pake_core::testing::deps(
        &store,
        clock.clone(),
        counters,
        Arc::new(pake_cache::MemoryCache::new(1 << 20)),
    );
    let services = Services::new(&deps);
    let chosen = BootstrapOptions {
        admin_password: Some(PASSWORD.into()),
        ..BootstrapOptions::default()
    };
    services
        .bootstrap
        .ensure_platform(&chosen)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    deps.identity
        .directory
        .reload(deps.repos.tenants.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let meta = RequestMeta::default();

    for _ in 0..5 {
        let wrong = services.auth.login(login("Wrong-Guess-00!"), &meta).await;
        assert!(
            matches!(wrong, Err(CoreError::InvalidCredentials)),
            "{wrong:?}"
        );
    }
    let locked = services.auth.login(login(PASSWORD), &meta).await;
    assert!(
        locked.is_err(),
        "locked: even the right password is refused"
    );

    clock.advance(Duration::minutes(15) - Duration::seconds(1));
    assert!(
        services.auth.login(login(PASSWORD), &meta).await.is_err(),
        "a second before the lock ends"
    );
    clock.advance(Duration::seconds(1));
    let signed_in = services
        .auth
        .login(login(PASSWORD), &meta)
        .await
        .unwrap_or_else(|e| panic!("the lock is over: {e:?}"));

    let token = signed_in.tokens.access_token;
    assert!(
        services
            .auth
            .authenticate(&token, None, &meta)
            .await
            .is_ok()
    );
    clock.advance(Duration::seconds(signed_in.tokens.expires_in));
    assert!(
        services
            .auth
            .authenticate(&token, None, &meta)
            .await
            .is_err(),
        "dead at its expiry"
    );
}
