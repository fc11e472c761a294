//! Tenants' lifecycle under attack: plan caps, suspension and deletion, super admins acting on a
//! tenant, interrupted provisioning.

use crate::common::{self, TENANT_ADMIN_PASSWORD, TestApp, USER_PASSWORD};
use pake_domain::{Role, TenantId, UserId};
use serde_json::json;
use time::OffsetDateTime;

async fn the_plan_caps_users_and_gates_the_audit_log(app: TestApp) {
    let root = app.root().await;
    let (basic, admin) = app.tenant(&root, "small", "basic").await;
    for n in 1..=4 {
        app.user(&admin, &format!("member{n}"), "user").await;
    }
    let sixth =
        json!({"username": "member5", "email": "m5@example.org", "password": USER_PASSWORD});
    let (status, body) = app
        .call("POST", "/api/v1/users/", Some(&admin), Some(sixth.clone()))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("plan_limit_reached")),
        "basic allows 5 users"
    );
    let (status, body) = app.call("GET", "/api/v1/audit/", Some(&admin), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("feature_not_in_plan"))
    );

    // the super admin raises the tenant's limit: it applies at once
    let raise = json!({"limits": {"max_users": 6}});
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/tenants/{basic}"),
            Some(&root),
            Some(raise)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.call("POST", "/api/v1/users/", Some(&admin), Some(sixth))
            .await
            .0,
        201
    );
    // moving to enterprise opens the audit log
    let up = json!({"plan": "enterprise"});
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/tenants/{basic}"),
            Some(&root),
            Some(up)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.call("GET", "/api/v1/audit/", Some(&admin), None)
            .await
            .0,
        200
    );
    let manager = {
        app.call(
            "PATCH",
            &format!("/api/v1/tenants/{basic}"),
            Some(&root),
            Some(json!({"limits": {"max_users": 7}})),
        )
        .await;
        app.user(&admin, "boss2", "manager").await;
        app.token("small", "boss2", USER_PASSWORD).await
    };
    assert_eq!(
        app.call("GET", "/api/v1/audit/", Some(&manager), None)
            .await
            .0,
        403,
        "managers do not read the audit log"
    );
}

async fn suspended_and_deleted_tenants_are_locked_out_and_purged(app: TestApp) {
    let root = app.root().await;
    let (acme, admin) = app.tenant(&root, "acme", "basic").await;
    let (ada, user) = app.member(&admin, "acme", "ada", "user").await;

    let (status, body) = app
        .call(
            "DELETE",
            &format!("/api/v1/tenants/{acme}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(
        (status, body["tenant"]["status"].as_str()),
        (200, Some("suspended"))
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&user), None)
            .await
            .0,
        401,
        "tokens stop at once"
    );
    assert_eq!(app.login("acme", "ada", USER_PASSWORD).await.0, 401);
    let back = json!({"status": "active"});
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/tenants/{acme}"),
            Some(&root),
            Some(back)
        )
        .await
        .0,
        200
    );
    let user = app.token("acme", "ada", USER_PASSWORD).await;
    let bad = json!({"status": "provisioning"});
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/tenants/{acme}"),
            Some(&root),
            Some(bad)
        )
        .await
        .0,
        409
    );

    let (status, _) = app
        .call(
            "DELETE",
            &format!("/api/v1/tenants/{acme}?force=true"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&user), None)
            .await
            .0,
        401
    );
    assert_eq!(app.login("acme", "ada", USER_PASSWORD).await.0, 401);
    assert_eq!(
        app.call("GET", &format!("/api/v1/tenants/{acme}"), Some(&root), None)
            .await
            .0,
        404
    );

    // nothing of it is left in the store
    let repos = app.store();
    let tid = TenantId::parse(&acme).unwrap();
    let page = pake_domain::PageRequest::first();
    assert!(repos.tenants.find(tid).await.unwrap().is_none());
    assert_eq!(repos.users.count(tid).await.unwrap(), 0);
    assert!(
        repos
            .users
            .find(tid, UserId::parse(&ada).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        repos
            .audit
            .list(tid, &pake_domain::audit::AuditFilter::default(), page)
            .await
            .unwrap()
            .total,
        0
    );
    assert!(
        repos
            .sessions
            .list_active(tid, UserId::parse(&ada).unwrap(), OffsetDateTime::now_utc())
            .await
            .unwrap()
            .is_empty()
    );

    // its name is free again
    let (again, _) = app.tenant(&root, "acme", "basic").await;
    assert_ne!(again, acme);
    // the platform tenant cannot be deleted
    let (_, me) = app.call("GET", "/api/v1/auth/me", Some(&root), None).await;
    let platform = me["user"]["tenant_id"].as_str().unwrap();
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/tenants/{platform}?force=true"),
            Some(&root),
            None
        )
        .await
        .0,
        403
    );
    let deleted = app.audit(&root, "tenant_deleted").await;
    assert_eq!(deleted["pagination"]["total"], 1);
}

async fn super_admins_act_on_a_tenant_by_naming_it_and_that_is_audited(app: TestApp) {
    let root = app.root().await;
    let (acme, admin) = app.tenant(&root, "acme", "enterprise").await;
    let (_, other_admin) = app.tenant(&root, "globex", "enterprise").await;
    app.user(&admin, "ada", "user").await;
    let (status, users) = app
        .call_with(
            "GET",
            "/api/v1/users/",
            Some(&root),
            None,
            &[("x-tenant-id", "acme")],
        )
        .await;
    assert_eq!(
        (status, users["pagination"]["total"].as_u64()),
        (200, Some(2))
    );
    let (status, _) = app
        .call_with(
            "GET",
            "/api/v1/users/",
            Some(&root),
            None,
            &[("x-tenant-id", &acme)],
        )
        .await;
    assert_eq!(status, 200, "by id too");
    let body = json!({"username": "carl", "email": "carl@acme.org", "role": "admin", "password": USER_PASSWORD});
    assert_eq!(
        app.call_with(
            "POST",
            "/api/v1/users/",
            Some(&root),
            Some(body),
            &[("x-tenant-id", "acme")]
        )
        .await
        .0,
        201
    );
    assert_eq!(
        app.call_with(
            "GET",
            "/api/v1/users/",
            Some(&root),
            None,
            &[("x-tenant-id", "nowhere")]
        )
        .await
        .0,
        404
    );
    let trail = app.audit(&admin, "tenant_impersonated").await;
    assert!(
        trail["pagination"]["total"].as_u64().unwrap() >= 3,
        "{trail}"
    );
    assert!(trail["audit_events"][0]["actor_tenant_id"].is_string());

    // a tenant token naming another tenant: 403, audited in its own tenant
    let (status, body) = app
        .call_with(
            "GET",
            "/api/v1/users/",
            Some(&other_admin),
            None,
            &[("x-tenant-id", "acme")],
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let denied = app.audit(&other_admin, "cross_tenant_denied").await;
    assert_eq!(denied["pagination"]["total"], 1);
    // naming its own tenant is fine
    assert_eq!(
        app.call_with(
            "GET",
            "/api/v1/users/",
            Some(&admin),
            None,
            &[("x-tenant-id", "acme")]
        )
        .await
        .0,
        200
    );
    let _ = TENANT_ADMIN_PASSWORD;
}

#[tokio::test]
async fn an_interrupted_provisioning_resumes_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    // a tenant left half-provisioned by a crash: one step done, status still provisioning
    {
        let store = pake_store_sqlite::SqliteStore::open(
            &dir.path().join("pake.db"),
            &pake_store_sqlite::SqliteOptions::default(),
        )
        .unwrap();
        store.migrate().unwrap();
        let repos = store.repositories();
        let mut tenant = pake_contract::fixtures::tenant("halfway", pake_domain::PlanId::Basic);
        tenant.status = pake_domain::TenantStatus::Provisioning;
        tenant.provisioning.completed_steps = vec!["default_settings".into()];
        tenant.provisioning.attempts = 1;
        let admin = pake_contract::fixtures::user(tenant.id, "admin", Role::Admin);
        repos
            .tenants
            .create_with_admin(&tenant, &admin)
            .await
            .unwrap();
    }
    let app = common::spawn_in(dir, |_| {}).await;
    let root = app.root().await;
    let (_, list) = app
        .call(
            "GET",
            "/api/v1/tenants/?status=provisioning",
            Some(&root),
            None,
        )
        .await;
    let _ = list;
    let (_, all) = app.call("GET", "/api/v1/tenants/", Some(&root), None).await;
    let id = all["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "halfway")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_active(&root, &id).await;
    let (_, t) = app
        .call("GET", &format!("/api/v1/tenants/{id}"), Some(&root), None)
        .await;
    let steps = t["tenant"]["provisioning"]["completed_steps"]
        .as_array()
        .unwrap();
    assert_eq!(
        steps,
        &vec![
            json!("default_settings"),
            json!("admin_ready"),
            json!("directory_entry")
        ]
    );
    assert_eq!(t["tenant"]["provisioning"]["attempts"], 2);
}

/// Finding 8: a suspended tenant's sessions end, and reactivation does not revive them.
async fn suspension_ends_sessions_for_good(app: TestApp) {
    let root = app.root().await;
    let (tenant, _) = app.tenant(&root, "acme", "enterprise").await;
    let (_, login) = app.login("acme", "admin", TENANT_ADMIN_PASSWORD).await;
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/api/v1/tenants/{tenant}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{tenant}"),
            Some(&root),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&access), None)
            .await
            .0,
        401,
        "the old access token stays dead"
    );
    assert_eq!(
        app.refresh(&refresh).await.0,
        401,
        "and so does its refresh token"
    );
    let app = app.restart(|_| {}).await;
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&access), None)
            .await
            .0,
        401,
        "also after a restart"
    );
    assert_eq!(
        app.login("acme", "admin", TENANT_ADMIN_PASSWORD).await.0,
        200
    );
}

on_both_stores!(
    the_plan_caps_users_and_gates_the_audit_log,
    suspended_and_deleted_tenants_are_locked_out_and_purged,
    super_admins_act_on_a_tenant_by_naming_it_and_that_is_audited,
    suspension_ends_sessions_for_good,
);
