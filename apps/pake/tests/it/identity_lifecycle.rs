//! The identity lifecycle over HTTP: tenants on three plans, their admins, users of every role,
//! one-time passwords, refresh, logout, sessions, role changes ending sessions.

use crate::common;

use common::{TENANT_ADMIN_PASSWORD, TestApp, USER_PASSWORD};
use serde_json::json;

async fn three_tenants_three_plans_full_lifecycle(app: TestApp) {
    let root = app.root().await;
    for (name, plan) in [
        ("alpha", "basic"),
        ("beta", "professional"),
        ("gamma", "enterprise"),
    ] {
        // created without admin_password: a one-time password comes back once
        let body = json!({"name": name, "display_name": format!("{name} Labs"), "plan": plan, "admin_email": format!("boss@{name}.org")});
        let (status, created) = app
            .call("POST", "/api/v1/tenants/", Some(&root), Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["tenant"]["status"], "provisioning");
        assert_eq!(created["tenant"]["plan"], plan);
        assert_eq!(created["admin_user"]["role"], "admin");
        assert_eq!(created["admin_user"]["must_change_password"], true);
        let one_time = created["admin_password"].as_str().unwrap().to_owned();
        let id = created["tenant"]["id"].as_str().unwrap().to_owned();
        app.wait_active(&root, &id).await;
        let (_, t) = app
            .call("GET", &format!("/api/v1/tenants/{id}"), Some(&root), None)
            .await;
        assert_eq!(
            t["tenant"]["provisioning"]["completed_steps"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert!(t["tenant"]["provisioning"]["finished_at"].is_string());

        // the admin logs in with the one-time password: only /auth/me and /auth/password work
        let (status, login) = app
            .login(name, &format!("boss@{name}.org"), &one_time)
            .await;
        assert_eq!(status, 200, "login by e-mail: {login}");
        assert_eq!(login["must_change_password"], true);
        let limited = login["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            app.call("GET", "/api/v1/auth/me", Some(&limited), None)
                .await
                .0,
            200
        );
        let (status, body) = app
            .call("GET", "/api/v1/users/", Some(&limited), None)
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("password_change_required"))
        );
        let change = json!({"current_password": one_time, "new_password": TENANT_ADMIN_PASSWORD});
        let (status, changed) = app
            .call(
                "POST",
                "/api/v1/auth/password",
                Some(&limited),
                Some(change),
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        let admin = changed["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            app.call("GET", "/api/v1/users/", Some(&admin), None)
                .await
                .0,
            200
        );
        assert_eq!(
            app.login(name, "admin", &one_time).await.0,
            401,
            "the one-time password is gone"
        );

        // the admin creates a manager, a user and a viewer; each logs in
        for role in ["manager", "user", "viewer"] {
            let username = format!("{role}-{name}");
            app.user(&admin, &username, role).await;
            let (status, login) = app.login(name, &username, USER_PASSWORD).await;
            assert_eq!(status, 200);
            assert_eq!(login["user"]["role"], role);
            assert_eq!(login["token_type"], "Bearer");
            assert_eq!(login["expires_in"], 900);
            assert!(login["permissions"].as_array().unwrap().len() >= 2);
        }
        let (_, users) = app.call("GET", "/api/v1/users/", Some(&admin), None).await;
        assert_eq!(users["pagination"]["total"], 4);
    }
    let (_, tenants) = app
        .call("GET", "/api/v1/tenants/?limit=2", Some(&root), None)
        .await;
    assert_eq!(
        tenants["pagination"],
        json!({"total": 4, "limit": 2, "offset": 0}),
        "three tenants and the platform"
    );
    let (_, basic) = app
        .call("GET", "/api/v1/tenants/?plan=basic", Some(&root), None)
        .await;
    assert_eq!(basic["pagination"]["total"], 1);
    // listing tenants is a platform-wide read: it is on the platform's audit trail
    let trail = app.audit(&root, "tenants_listed").await;
    assert!(
        trail["pagination"]["total"].as_u64().unwrap() >= 2,
        "{trail}"
    );
}

async fn refresh_rotates_and_logout_ends_the_session_at_once(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "basic").await;
    app.user(&admin, "ada", "user").await;
    let (_, login) = app.login("acme", "ada", USER_PASSWORD).await;
    let access = login["access_token"].as_str().unwrap().to_owned();
    let r1 = login["refresh_token"].as_str().unwrap().to_owned();

    let (status, refreshed) = app.refresh(&r1).await;
    assert_eq!(status, 200, "{refreshed}");
    let r2 = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let access2 = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&access2), None)
            .await
            .0,
        200
    );

    assert_eq!(
        app.call("POST", "/api/v1/auth/logout", Some(&access2), None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&access), None)
            .await
            .0,
        401,
        "every token of the session"
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&access2), None)
            .await
            .0,
        401
    );
    let (status, _) = app.refresh(&r2).await;
    assert_eq!(status, 401, "the session's refresh token died with it");
}

async fn reusing_a_refresh_token_revokes_the_whole_family(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "basic").await;
    app.user(&admin, "ada", "user").await;
    let (_, login) = app.login("acme", "ada", USER_PASSWORD).await;
    let r1 = login["refresh_token"].as_str().unwrap().to_owned();
    let (_, second) = app.refresh(&r1).await;
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    let access2 = second["access_token"].as_str().unwrap().to_owned();

    // an attacker replays r1
    let (status, _) = app.refresh(&r1).await;
    assert_eq!(status, 401);
    // the legitimate holder's r2 and access token are dead too
    assert_eq!(app.refresh(&r2).await.0, 401);
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&access2), None)
            .await
            .0,
        401
    );
    let audit = app.audit(&root, "refresh_reuse_detected").await;
    assert_eq!(
        audit["pagination"]["total"], 0,
        "recorded in the tenant's trail, not the platform's"
    );
    let (_, audit) = app
        .call_with(
            "GET",
            "/api/v1/audit/?type=refresh_reuse_detected",
            Some(&root),
            None,
            &[("x-tenant-id", "acme")],
        )
        .await;
    assert_eq!(audit["pagination"]["total"], 1, "{audit}");
    // garbage refresh tokens are 401, never 5xx
    for junk in ["", "x", "not-base64-!!!", &"A".repeat(64)] {
        assert_eq!(app.refresh(junk).await.0, 401);
    }
}

async fn sessions_are_listed_and_ended_one_by_one_or_all(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "basic").await;
    let (_, a) = app.member(&admin, "acme", "ada", "user").await;
    let b = app.token("acme", "ada", USER_PASSWORD).await;
    let c = app.token("acme", "ada", USER_PASSWORD).await;
    let (_, list) = app
        .call("GET", "/api/v1/auth/sessions", Some(&a), None)
        .await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let (_, me_b) = app
        .call("GET", "/api/v1/auth/sessions", Some(&b), None)
        .await;
    let b_id = me_b["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/auth/sessions/{b_id}"),
            Some(&a),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&b), None).await.0,
        401
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&a), None).await.0,
        200
    );
    // another user's session id is not found
    let other = app.token("acme", "admin", TENANT_ADMIN_PASSWORD).await;
    let (_, admin_sessions) = app
        .call("GET", "/api/v1/auth/sessions", Some(&other), None)
        .await;
    let admin_sid = admin_sessions["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/auth/sessions/{admin_sid}"),
            Some(&a),
            None
        )
        .await
        .0,
        404
    );

    assert_eq!(
        app.call("POST", "/api/v1/auth/logout-all", Some(&a), None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&a), None).await.0,
        401
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&c), None).await.0,
        401
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&other), None)
            .await
            .0,
        200,
        "other users keep theirs"
    );
}

async fn role_change_disable_password_change_and_reset_end_sessions(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "acme", "professional").await;
    let (ada, t) = app.member(&admin, "acme", "ada", "user").await;

    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{ada}"),
            Some(&admin),
            Some(json!({"role": "manager"})),
        )
        .await;
    assert_eq!(
        (status, body["user"]["role"].as_str()),
        (200, Some("manager"))
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&t), None).await.0,
        401,
        "role change ends sessions"
    );

    let t = app.token("acme", "ada", USER_PASSWORD).await;
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/users/{ada}"),
            Some(&admin),
            Some(json!({"status": "disabled"}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&t), None).await.0,
        401,
        "disabling ends sessions"
    );
    assert_eq!(
        app.login("acme", "ada", USER_PASSWORD).await.0,
        401,
        "and login"
    );
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/users/{ada}"),
            Some(&admin),
            Some(json!({"status": "active"}))
        )
        .await
        .0,
        200
    );

    let keep = app.token("acme", "ada", USER_PASSWORD).await;
    let other = app.token("acme", "ada", USER_PASSWORD).await;
    let change = json!({"current_password": USER_PASSWORD, "new_password": "Amber-Lighthouse-3!"});
    let (status, changed) = app
        .call("POST", "/api/v1/auth/password", Some(&keep), Some(change))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&other), None)
            .await
            .0,
        401,
        "other sessions end"
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&keep), None)
            .await
            .0,
        401,
        "the old access token of this session ends too"
    );
    let keep = changed["access_token"].as_str().unwrap().to_owned();
    assert!(changed["refresh_token"].is_string(), "{changed}");
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&keep), None)
            .await
            .0,
        200,
        "the new session's token works"
    );
    let wrong =
        json!({"current_password": "Not-The-Password-1!", "new_password": "Amber-Lighthouse-4!"});
    assert_eq!(
        app.call("POST", "/api/v1/auth/password", Some(&keep), Some(wrong))
            .await
            .0,
        400
    );
    let weak = json!({"current_password": "Amber-Lighthouse-3!", "new_password": "password"});
    let (status, body) = app
        .call("POST", "/api/v1/auth/password", Some(&keep), Some(weak))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("new_password"))
    );

    // an admin reset: a one-time password, sessions ended
    let (status, reset) = app
        .call(
            "POST",
            &format!("/api/v1/users/{ada}/reset-password"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["user"]["must_change_password"], true);
    let one_time = reset["password"].as_str().unwrap();
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&keep), None)
            .await
            .0,
        401
    );
    let (status, login) = app.login("acme", "ada", one_time).await;
    assert_eq!(
        (status, login["must_change_password"].as_bool()),
        (200, Some(true))
    );

    // deleting a user ends their sessions too
    let t = app.token("acme", "ada", one_time).await;
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/users/{ada}"),
            Some(&admin),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&t), None).await.0,
        401
    );
    assert_eq!(
        app.call("GET", &format!("/api/v1/users/{ada}"), Some(&admin), None)
            .await
            .0,
        404
    );
}

async fn jwks_publishes_the_signing_key(app: TestApp) {
    let (status, jwks) = app.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(status, 200);
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let root = app.root().await;
    let header: serde_json::Value = {
        use base64::Engine;
        let part = root.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header["kid"], key["kid"]);
    assert_eq!(header["alg"], "EdDSA");
    // one key: a file of the embedded store, or a sealed row of PostgreSQL (no file at all)
    let keys = app.signing_keys().await;
    assert_eq!(keys().kids().count(), 1);
    let files = std::fs::read_dir(app.data_dir().join("keys")).map_or(0, Iterator::count);
    assert_eq!(files, usize::from(!app.is_production()));
}

on_both_stores!(
    three_tenants_three_plans_full_lifecycle,
    refresh_rotates_and_logout_ends_the_session_at_once,
    reusing_a_refresh_token_revokes_the_whole_family,
    sessions_are_listed_and_ended_one_by_one_or_all,
    role_change_disable_password_change_and_reset_end_sessions,
    jwks_publishes_the_signing_key,
);
