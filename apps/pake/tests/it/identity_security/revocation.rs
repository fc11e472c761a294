//! Revocation that lasts: a deleted admin's token stays dead after a restart and on a new
//! replica; a password change ends every old token.

use crate::common::{TENANT_ADMIN_PASSWORD, TestApp, USER_PASSWORD};
use serde_json::{Value, json};

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
    let (x, x_token) = app.member(&admin, "acme", "xavier", "admin").await;
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
    let (ada, ada_token) = app.member(&admin, "acme", "ada", "user").await;
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
    assert_eq!(app.refresh(&old_refresh).await.0, 401);
    let new_access = changed["access_token"].as_str().unwrap();
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(new_access), None)
            .await
            .0,
        200
    );
    let refresh = changed["refresh_token"].as_str().unwrap();
    assert_eq!(app.refresh(refresh).await.0, 200);
}

on_both_stores!(
    a_deleted_admins_token_stays_dead_after_a_restart_and_on_a_new_replica,
    own_passwords_change_only_with_the_current_one,
);
