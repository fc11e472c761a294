//! Identity under attack, over HTTP: token tampering, lockout, identical failures, mass
//! assignment, plan limits, suspended and deleted tenants, impersonation and the audit trail.

use crate::common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TENANT_ADMIN_PASSWORD, TestApp, USER_PASSWORD, spawn_with};
use pake_crypto::{JwtOptions, JwtTokens, KeySet};
use pake_domain::{Role, SessionId, TenantId, UserId};
use pake_ports::{AccessClaims, TokenIssuer};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn without_request_id(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("request_id");
    v
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

async fn tampered_forged_expired_and_foreign_tokens_are_401(app: TestApp) {
    let root = app.root().await;
    let (_, me) = app.call("GET", "/api/v1/auth/me", Some(&root), None).await;
    let user_id = UserId::parse(me["user"]["id"].as_str().unwrap()).unwrap();
    let tenant_id = TenantId::parse(me["user"]["tenant_id"].as_str().unwrap()).unwrap();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let claims = |issued: OffsetDateTime| AccessClaims {
        user_id,
        tenant_id,
        role: Role::SuperAdmin,
        session_id: SessionId::new(),
        token_id: "t".into(),
        issued_at: issued,
        expires_at: issued + Duration::minutes(15),
        password_change_required: false,
    };
    // the server's own key, minting tokens it must still refuse
    let keys = app.signing_keys().await;
    let server_key = JwtTokens::new(keys(), JwtOptions::default());
    let expired = server_key
        .issue(claims(now - Duration::hours(2)))
        .unwrap()
        .token;
    let future = server_key
        .issue(claims(now + Duration::minutes(10)))
        .unwrap()
        .token;
    let wrong_aud = JwtTokens::new(
        keys(),
        JwtOptions {
            audience: "other".into(),
            ..JwtOptions::default()
        },
    )
    .issue(claims(now))
    .unwrap()
    .token;
    let wrong_iss = JwtTokens::new(
        keys(),
        JwtOptions {
            issuer: "evil".into(),
            ..JwtOptions::default()
        },
    )
    .issue(claims(now))
    .unwrap()
    .token;
    let stranger_dir = tempfile::tempdir().unwrap();
    let wrong_kid = JwtTokens::new(
        KeySet::load_or_generate(stranger_dir.path(), None).unwrap(),
        JwtOptions::default(),
    )
    .issue(claims(now))
    .unwrap()
    .token;

    let parts: Vec<&str> = root.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]})),
        parts[1]
    );
    let jwks = app
        .call("GET", "/.well-known/jwks.json", None, None)
        .await
        .1;
    let public = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let signing_input = format!(
        "{}.{}",
        b64(&json!({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]})),
        parts[1]
    );
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public),
        signing_input.as_bytes(),
    );
    let hs_confusion = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
    let mut promoted = payload.clone();
    promoted["tid"] = json!(TenantId::new().to_string());
    let tampered = format!("{}.{}.{}", parts[0], b64(&promoted), parts[2]);
    let mut refresh_typed = header.clone();
    refresh_typed["typ"] = json!("JWT");
    let wrong_typ = format!("{}.{}.{}", b64(&refresh_typed), parts[1], parts[2]);

    let cases = [
        ("expired", expired),
        ("not yet valid", future),
        ("wrong audience", wrong_aud),
        ("wrong issuer", wrong_iss),
        ("unknown kid", wrong_kid),
        ("alg none", alg_none),
        ("HS256 with the public key", hs_confusion),
        ("tampered payload", tampered),
        ("wrong typ", wrong_typ),
        ("garbage", "abc.def.ghi".into()),
    ];
    let (_, reference) = app.call("GET", "/api/v1/auth/me", None, None).await;
    for (name, token) in cases {
        let (status, body) = app.call("GET", "/api/v1/auth/me", Some(&token), None).await;
        assert_eq!(status, 401, "{name}");
        assert_eq!(
            without_request_id(body),
            without_request_id(reference.clone()),
            "{name}: one answer for all"
        );
    }
    // the genuine token still works
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&root), None)
            .await
            .0,
        200
    );
    let res = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
}

async fn five_failures_lock_the_account_until_an_admin_unlocks_it(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "enterprise").await;
    let ada = app.user(&admin, "ada", "user").await;
    for _ in 0..5 {
        assert_eq!(app.login("acme", "ada", "Wrong-Password-1!").await.0, 401);
    }
    assert_eq!(
        app.login("acme", "ada", USER_PASSWORD).await.0,
        401,
        "locked: even the right password fails"
    );
    let (_, user) = app
        .call("GET", &format!("/api/v1/users/{ada}"), Some(&admin), None)
        .await;
    assert_eq!(user["user"]["is_locked"], true);
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/v1/users/{ada}/unlock"),
            Some(&admin),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(app.login("acme", "ada", USER_PASSWORD).await.0, 200);
    let (_, audit) = app
        .call(
            "GET",
            "/api/v1/audit/?type=account_locked",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["pagination"]["total"], 1, "{audit}");
    let (_, audit) = app
        .call(
            "GET",
            "/api/v1/audit/?type=account_unlocked",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["pagination"]["total"], 1);
    let (_, audit) = app
        .call(
            "GET",
            "/api/v1/audit/?type=login_failed",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["pagination"]["total"], 6);
    let first = &audit["audit_events"][0];
    assert!(
        first["ip"].is_string()
            && first["request_id"].is_string()
            && first["user_agent"].is_string()
    );
}

#[tokio::test]
async fn the_lockout_threshold_is_configurable() {
    let app = spawn_with(|c| c.auth.lockout_threshold = 2).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "basic").await;
    app.user(&admin, "ada", "user").await;
    for _ in 0..2 {
        app.login("acme", "ada", "Wrong-Password-1!").await;
    }
    assert_eq!(app.login("acme", "ada", USER_PASSWORD).await.0, 401);
}

async fn every_login_failure_looks_the_same(app: TestApp) {
    let root = app.root().await;
    let (acme, admin) = app.tenant(&root, "acme", "basic").await;
    let ada = app.user(&admin, "ada", "user").await;
    let eve = app.user(&admin, "eve", "user").await;
    app.call(
        "PATCH",
        &format!("/api/v1/users/{eve}"),
        Some(&admin),
        Some(json!({"status": "disabled"})),
    )
    .await;
    for _ in 0..5 {
        app.login("acme", "ada", "Wrong-Password-1!").await;
    }
    let bob = app.user(&admin, "bob", "user").await;
    let _ = (ada, bob);
    let cases = [
        (
            "unknown tenant",
            app.login("nowhere", "bob", USER_PASSWORD).await,
        ),
        (
            "unknown user",
            app.login("acme", "nobody", USER_PASSWORD).await,
        ),
        (
            "wrong password",
            app.login("acme", "bob", "Wrong-Password-1!").await,
        ),
        (
            "disabled user",
            app.login("acme", "eve", USER_PASSWORD).await,
        ),
        ("locked user", app.login("acme", "ada", USER_PASSWORD).await),
        (
            "tenant by id, unknown user",
            app.login(&acme, "nobody", USER_PASSWORD).await,
        ),
    ];
    let reference = without_request_id(cases[0].1.1.clone());
    assert_eq!(reference["code"], "invalid_credentials");
    for (name, (status, body)) in cases {
        assert_eq!(status, 401, "{name}");
        assert_eq!(without_request_id(body), reference, "{name}");
    }
    // the tenant can come from X-Tenant-ID too
    let body = json!({"username": "bob", "password": USER_PASSWORD});
    let (status, _) = app
        .call_with(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(body),
            &[("x-tenant-id", "acme")],
        )
        .await;
    assert_eq!(status, 200);
}

async fn mass_assignment_and_unknown_fields_are_refused(app: TestApp) {
    let root = app.root().await;
    let (acme, admin) = app.tenant(&root, "acme", "basic").await;
    let ada = app.user(&admin, "ada", "user").await;
    let user = app.token("acme", "ada", USER_PASSWORD).await;
    let other_tenant = TenantId::new().to_string();
    for body in [
        json!({"tenant_id": other_tenant}),
        json!({"locked_until": null}),
        json!({"failed_login_attempts": 0}),
        json!({"password_hash": "x"}),
        json!({"must_change_password": false}),
    ] {
        let (status, problem) = app
            .call(
                "PATCH",
                &format!("/api/v1/users/{ada}"),
                Some(&user),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 400, "{body}: {problem}");
    }
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{ada}"),
            Some(&user),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, 403, "no self-promotion");
    let (status, me) = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{ada}"),
            Some(&user),
            Some(json!({"full_name": "Ada L."})),
        )
        .await;
    assert_eq!(
        (status, me["user"]["full_name"].as_str()),
        (200, Some("Ada L.")),
        "own profile fields are fine"
    );

    let create = json!({"username": "mallory", "email": "m@x.org", "role": "user", "tenant_id": other_tenant});
    assert_eq!(
        app.call("POST", "/api/v1/users/", Some(&admin), Some(create))
            .await
            .0,
        400
    );
    let above = json!({"username": "mallory", "email": "m@x.org", "role": "super_admin"});
    assert_eq!(
        app.call("POST", "/api/v1/users/", Some(&admin), Some(above))
            .await
            .0,
        403,
        "nobody grants above their own role"
    );
    let plan = json!({"plan": "enterprise"});
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/tenants/{acme}"),
            Some(&admin),
            Some(plan)
        )
        .await
        .0,
        403
    );
    let status_change = json!({"status": "suspended"});
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/tenants/{acme}"),
            Some(&admin),
            Some(status_change)
        )
        .await
        .0,
        403
    );
    let (status, t) = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{acme}"),
            Some(&admin),
            Some(json!({"display_name": "Acme Research"})),
        )
        .await;
    assert_eq!(
        (status, t["tenant"]["display_name"].as_str()),
        (200, Some("Acme Research"))
    );
    let unknown = json!({"name": "x-corp", "display_name": "X", "plan": "basic", "admin_email": "a@x.org", "status": "active"});
    assert_eq!(
        app.call("POST", "/api/v1/tenants/", Some(&root), Some(unknown))
            .await
            .0,
        400
    );
    let login =
        json!({"tenant": "acme", "username": "ada", "password": USER_PASSWORD, "role": "admin"});
    assert_eq!(
        app.call("POST", "/api/v1/auth/login", None, Some(login))
            .await
            .0,
        400
    );
}

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
    let ada = app.user(&admin, "ada", "user").await;
    let user = app.token("acme", "ada", USER_PASSWORD).await;

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
    let (_, deleted) = app
        .call(
            "GET",
            "/api/v1/audit/?type=tenant_deleted",
            Some(&root),
            None,
        )
        .await;
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
    let (_, trail) = app
        .call(
            "GET",
            "/api/v1/audit/?type=tenant_impersonated",
            Some(&admin),
            None,
        )
        .await;
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
    let (_, denied) = app
        .call(
            "GET",
            "/api/v1/audit/?type=cross_tenant_denied",
            Some(&other_admin),
            None,
        )
        .await;
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

/// Audit events of `kind` in the tenant, newest first (up to 100).
async fn audit_of(app: &TestApp, admin: &str, kind: &str) -> Vec<Value> {
    let (status, audit) = app
        .call(
            "GET",
            &format!("/api/v1/audit/?type={kind}&limit=100"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{audit}");
    audit["audit_events"].as_array().unwrap().clone()
}

/// The deleted admin's token answers 401, also when it tries to create an admin.
async fn assert_dead(app: &TestApp, x_token: &str, create: &Value, label: &str) {
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(x_token), None)
            .await
            .0,
        401,
        "{label}"
    );
    assert_eq!(
        app.call(
            "POST",
            "/api/v1/users/",
            Some(x_token),
            Some(create.clone())
        )
        .await
        .0,
        401,
        "{label}: no admin created"
    );
}

/// Finding 1: a deleted admin's access token stays dead after a restart (and, in production, on
/// a replica started later), and cannot create users.
async fn a_deleted_admins_token_stays_dead_after_a_restart_and_on_a_new_replica(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "enterprise").await;
    let x = app.user(&admin, "xavier", "admin").await;
    let x_token = app.token("acme", "xavier", USER_PASSWORD).await;
    let (status, _) = app
        .call("DELETE", &format!("/api/v1/users/{x}"), Some(&admin), None)
        .await;
    assert_eq!(status, 204);
    let create = json!({"username": "mallory", "email": "m@example.org", "role": "admin",
        "password": USER_PASSWORD});
    assert_dead(&app, &x_token, &create, "at once").await;
    if app.is_production() {
        let fresh = app.replica().await;
        assert_dead(&fresh, &x_token, &create, "on a replica started later").await;
        // the replicas share their signing keys through the store: tokens cross both ways
        let from_fresh = fresh.token("acme", "admin", TENANT_ADMIN_PASSWORD).await;
        assert_eq!(
            app.call("GET", "/api/v1/auth/me", Some(&from_fresh), None)
                .await
                .0,
            200
        );
        assert_eq!(
            fresh
                .call("GET", "/api/v1/auth/me", Some(&admin), None)
                .await
                .0,
            200
        );
    }
    let app = app.restart(|_| {}).await;
    assert_dead(&app, &x_token, &create, "after a restart").await;
    let (_, users) = app.call("GET", "/api/v1/users/", Some(&admin), None).await;
    assert!(
        !users.to_string().contains("mallory"),
        "nobody was created: {users}"
    );
}

/// Logs in to `acme` as `username` with every one of `passwords` at once; the statuses.
async fn concurrent_logins(
    app: &TestApp,
    username: &str,
    passwords: impl Iterator<Item = String>,
) -> Vec<u16> {
    let mut logins = tokio::task::JoinSet::new();
    for password in passwords {
        let (client, url) = (app.client.clone(), app.url("/api/v1/auth/login"));
        let body = json!({"tenant": "acme", "username": username, "password": password});
        logins.spawn(async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    logins.join_all().await
}

/// Finding 2: 30 concurrent guesses at one account evaluate at most the lockout threshold, and
/// the account ends locked unless the right password was among the evaluated ones.
async fn thirty_concurrent_guesses_evaluate_at_most_five(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "enterprise").await;
    let ada = app.user(&admin, "ada", "user").await;
    let passwords = (0..30).map(|i| {
        if i == 17 {
            USER_PASSWORD.to_owned()
        } else {
            format!("Wrong-Guess-{i}!")
        }
    });
    let statuses = concurrent_logins(&app, "ada", passwords).await;
    let successes = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
    let wrong = audit_of(&app, &admin, "login_failed")
        .await
        .iter()
        .filter(|e| e["details"]["reason"] == "wrong_password")
        .count();
    // A success racing the wrong guesses does not reset their count: at most five are evaluated.
    assert!(
        wrong <= 5 && successes <= 1,
        "{wrong} wrong passwords evaluated, {successes} successes"
    );
    let (_, user) = app
        .call("GET", &format!("/api/v1/users/{ada}"), Some(&admin), None)
        .await;
    if successes == 0 {
        assert_eq!(user["user"]["is_locked"], true, "{user}");
    }

    // all wrong: exactly five evaluated, then locked
    let bob = app.user(&admin, "bob", "user").await;
    let wrong_guesses = (0..30).map(|i| format!("Wrong-{i}-Xx!"));
    let statuses = concurrent_logins(&app, "bob", wrong_guesses).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let wrong = audit_of(&app, &admin, "login_failed")
        .await
        .iter()
        .filter(|e| e["target"] == bob.as_str() && e["details"]["reason"] == "wrong_password")
        .count();
    assert_eq!(wrong, 5);
    let (_, user) = app
        .call("GET", &format!("/api/v1/users/{bob}"), Some(&admin), None)
        .await;
    assert_eq!(user["user"]["is_locked"], true);
    assert_eq!(app.login("acme", "bob", USER_PASSWORD).await.0, 401);
}

/// Findings 3 and 4 (first half), 8 (password change): an own password changes only with the
/// current one, wrong current passwords lock the account, and a change gives a new token pair
/// while every old token dies.
async fn own_passwords_change_only_with_the_current_one(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "enterprise").await;
    let (_, me) = app.call("GET", "/api/v1/auth/me", Some(&admin), None).await;
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    let reset = format!("/api/v1/users/{admin_id}/reset-password");
    let (status, body) = app
        .call(
            "POST",
            &reset,
            Some(&admin),
            Some(json!({"password": "Taken-Over-99!"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (_, rme) = app.call("GET", "/api/v1/auth/me", Some(&root), None).await;
    let root_id = rme["user"]["id"].as_str().unwrap();
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/v1/users/{root_id}/reset-password"),
            Some(&root),
            None
        )
        .await
        .0,
        403,
        "the super admin neither"
    );

    // a body that is present but invalid is refused, and nothing happens to the user
    let ada = app.user(&admin, "ada", "user").await;
    let ada_token = app.token("acme", "ada", USER_PASSWORD).await;
    let ada_reset = app.url(&format!("/api/v1/users/{ada}/reset-password"));
    for (ctype, bytes, want) in [
        ("application/json", r#"{"pasword": "Typo-Typo-12!"}"#, 400),
        ("application/json", r#"{"password": "Trunc"#, 400),
        ("application/json", r#"{"password": 12}"#, 400),
        ("text/plain", r#"{"password": "Plain-Text-12!"}"#, 415),
    ] {
        let res = app
            .client
            .post(&ada_reset)
            .bearer_auth(&admin)
            .header("content-type", ctype)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), want, "{ctype} {bytes}");
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
    }
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&ada_token), None)
            .await
            .0,
        200,
        "no reset happened: ada's session lives"
    );

    // wrong current passwords count towards the lockout
    for i in 0..5 {
        let wrong = json!({"current_password": format!("Not-It-{i}-Aa!"), "new_password": "Amber-Lighthouse-3!"});
        assert_eq!(
            app.call(
                "POST",
                "/api/v1/auth/password",
                Some(&ada_token),
                Some(wrong)
            )
            .await
            .0,
            400
        );
    }
    let right = json!({"current_password": USER_PASSWORD, "new_password": "Amber-Lighthouse-3!"});
    assert_eq!(
        app.call(
            "POST",
            "/api/v1/auth/password",
            Some(&ada_token),
            Some(right.clone())
        )
        .await
        .0,
        400,
        "locked: the current password is no longer evaluated"
    );
    assert_eq!(
        app.login("acme", "ada", USER_PASSWORD).await.0,
        401,
        "locked"
    );
    app.call(
        "POST",
        &format!("/api/v1/users/{ada}/unlock"),
        Some(&admin),
        None,
    )
    .await;

    // a change answers with a new pair; the old access and refresh tokens die
    let (_, login) = app.login("acme", "ada", USER_PASSWORD).await;
    let old_access = login["access_token"].as_str().unwrap().to_owned();
    let old_refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let (status, changed) = app
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(&old_access),
            Some(right),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&old_access), None)
            .await
            .0,
        401
    );
    let refresh = json!({"refresh_token": old_refresh});
    assert_eq!(
        app.call("POST", "/api/v1/auth/refresh", None, Some(refresh))
            .await
            .0,
        401
    );
    let new_access = changed["access_token"].as_str().unwrap();
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(new_access), None)
            .await
            .0,
        200
    );
    let refresh = json!({"refresh_token": changed["refresh_token"]});
    assert_eq!(
        app.call("POST", "/api/v1/auth/refresh", None, Some(refresh))
            .await
            .0,
        200
    );
}

/// Finding 6: NUL and other control characters are refused with 400 naming the field, on every
/// store, unauthenticated or not.
async fn control_characters_are_refused_naming_the_field(app: TestApp) {
    let root = app.root().await;
    let (tenant, admin) = app.tenant(&root, "acme", "enterprise").await;
    let cases = [
        (
            "POST",
            "/api/v1/auth/login".to_owned(),
            None,
            json!({"tenant": "acme", "username": "ad\u{0}min", "password": "x"}),
            "username",
        ),
        (
            "POST",
            "/api/v1/auth/login".to_owned(),
            None,
            json!({"tenant": "acme", "email": "a\u{0}@acme.org", "password": "x"}),
            "email",
        ),
        (
            "POST",
            "/api/v1/search/saved".to_owned(),
            Some(admin.clone()),
            json!({"name": "n\u{0}", "query": "graphs"}),
            "name",
        ),
        (
            "POST",
            "/api/v1/search/saved".to_owned(),
            Some(admin.clone()),
            json!({"name": "n", "query": "graphs", "description": "esc \u{1b}[31m"}),
            "description",
        ),
        (
            "PATCH",
            format!("/api/v1/tenants/{tenant}"),
            Some(admin.clone()),
            json!({"settings": {"k\u{0}": "v"}}),
            "settings.k?",
        ),
        (
            "PATCH",
            format!("/api/v1/tenants/{tenant}"),
            Some(admin.clone()),
            json!({"settings": {"theme": ["ok", "b\u{0}d"]}}),
            "settings.theme[1]",
        ),
        (
            "POST",
            "/api/v1/users/".to_owned(),
            Some(admin.clone()),
            json!({"username": "eve", "email": "eve@acme.org", "full_name": "E\u{7f}ve"}),
            "full_name",
        ),
    ];
    for (method, path, token, body, field) in cases {
        let (status, problem) = app.call(method, &path, token.as_deref(), Some(body)).await;
        assert_eq!(status, 400, "{method} {path}: {problem}");
        assert_eq!(problem["code"], "validation_failed", "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    // newlines are fine where a field allows them
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/search/saved",
            Some(&admin),
            Some(json!({"name": "n", "query": "graphs", "description": "two\nlines"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// Finding 8: a suspended tenant's sessions end, and reactivation does not revive them.
async fn suspension_ends_sessions_for_good(app: TestApp) {
    let root = app.root().await;
    let (tenant, _) = app.tenant(&root, "acme", "enterprise").await;
    let (_, login) = app.login("acme", "admin", TENANT_ADMIN_PASSWORD).await;
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = json!({"refresh_token": login["refresh_token"]});
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
        app.call("POST", "/api/v1/auth/refresh", None, Some(refresh))
            .await
            .0,
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

/// Finding 8: strangers' guesses lock the only super admin; the operator's command unlocks it.
#[tokio::test]
async fn the_operator_unlocks_a_locked_super_admin() {
    let app = common::spawn_app().await;
    for _ in 0..5 {
        assert_eq!(
            app.login("platform", "admin", "Guess-Guess-1!").await.0,
            401
        );
    }
    assert_eq!(
        app.login("platform", "admin", common::ADMIN_PASSWORD)
            .await
            .0,
        401
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pake"))
        .args(["admin", "unlock", "--tenant", "platform", "--user", "admin"])
        .env("PAKE_STORE__DATA_DIR", app.data_dir())
        .env("PAKE_BOOTSTRAP_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .env("PAKE_LOG__LEVEL", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.login("platform", "admin", common::ADMIN_PASSWORD)
            .await
            .0,
        200
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pake"))
        .args([
            "admin", "unlock", "--tenant", "platform", "--user", "nobody",
        ])
        .env("PAKE_STORE__DATA_DIR", app.data_dir())
        .env("PAKE_LOG__LEVEL", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown account is an error");
}

on_both_stores!(
    tampered_forged_expired_and_foreign_tokens_are_401,
    five_failures_lock_the_account_until_an_admin_unlocks_it,
    every_login_failure_looks_the_same,
    mass_assignment_and_unknown_fields_are_refused,
    the_plan_caps_users_and_gates_the_audit_log,
    suspended_and_deleted_tenants_are_locked_out_and_purged,
    super_admins_act_on_a_tenant_by_naming_it_and_that_is_audited,
    a_deleted_admins_token_stays_dead_after_a_restart_and_on_a_new_replica,
    thirty_concurrent_guesses_evaluate_at_most_five,
    own_passwords_change_only_with_the_current_one,
    control_characters_are_refused_naming_the_field,
    suspension_ends_sessions_for_good,
);
