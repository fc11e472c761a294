//! Builders of valid domain objects for tests.

use pake_domain::search::{QueryText, SavedSearch, SearchRecord, SourceId};
use pake_domain::session::Session;
use pake_domain::tenant::Provisioning;
use pake_domain::{
    DisplayName, Email, LimitsOverride, PasswordHash, PlanId, Role, SavedSearchId, SearchId,
    SessionId, Tenant, TenantId, TenantSlug, TenantStatus, User, Username,
};
use time::{Duration, OffsetDateTime};

/// A fixed instant with whole microseconds (stores keep microseconds).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// An active tenant on `plan` named `slug`.
pub fn tenant(slug: &str, plan: PlanId) -> Tenant {
    let at = now();
    Tenant {
        id: TenantId::new(),
        slug: TenantSlug::parse_any(slug).expect("valid slug"),
        display_name: DisplayName::parse(&format!("{slug} Inc.")).expect("valid name"),
        domain: None,
        plan,
        status: TenantStatus::Active,
        limits_override: LimitsOverride::default(),
        settings: serde_json::Map::new(),
        provisioning: Provisioning::default(),
        created_at: at,
        updated_at: at,
    }
}

/// An active user of `tenant` named `name` with `role`.
pub fn user(tenant: TenantId, name: &str, role: Role) -> User {
    let username = Username::parse(name).expect("valid username");
    let email = Email::parse(&format!("{name}@example.org")).expect("valid email");
    let hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    User {
        full_name: Some(DisplayName::parse("Test User").expect("valid name")),
        ..User::new(tenant, username, email, role, hash, now())
    }
}

/// A fresh 30-day session of `user`.
pub fn session(user: &User) -> Session {
    let at = now();
    Session {
        tenant_id: user.tenant_id,
        id: SessionId::new(),
        user_id: user.id,
        created_at: at,
        last_used_at: at,
        expires_at: at + Duration::days(30),
        revoked_at: None,
        ip: Some("127.0.0.1".into()),
        user_agent: Some("contract-test".into()),
    }
}

/// A search by `user` for `query` over `sources` at `at`.
pub fn search(user: &User, query: &str, sources: &[SourceId], at: OffsetDateTime) -> SearchRecord {
    SearchRecord {
        tenant_id: user.tenant_id,
        id: SearchId::new(),
        user_id: user.id,
        query: QueryText::parse(query).expect("valid query"),
        sources: sources.to_vec(),
        result_count: 10,
        execution_ms: 100,
        cache_hit: false,
        source_status: serde_json::json!({}),
        saved_search_id: None,
        created_at: at,
        pages: 1,
        paging: None,
        snapshot: None,
    }
}

/// A private saved search of `user`.
pub fn saved_search(user: &User, name: &str) -> SavedSearch {
    let at = now();
    SavedSearch {
        tenant_id: user.tenant_id,
        id: SavedSearchId::new(),
        owner_id: user.id,
        name: DisplayName::parse(name).expect("valid name"),
        description: None,
        query: QueryText::parse("graph neural networks").expect("valid query"),
        parameters: serde_json::json!({"sources": ["arxiv"], "max_results": 10}),
        is_public: false,
        run_count: 0,
        last_run_at: None,
        created_at: at,
        updated_at: at,
    }
}
