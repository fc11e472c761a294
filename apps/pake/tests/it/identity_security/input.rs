//! Hostile input: mass assignment and unknown fields, NUL and control characters.

use crate::common::{TestApp, USER_PASSWORD};
use pake_domain::TenantId;
use serde_json::json;

async fn mass_assignment_and_unknown_fields_are_refused(app: TestApp) {
    let root = app.root().await;
    let (acme, admin) = app.tenant(&root, "acme", "basic").await;
    let (ada, user) = app.member(&admin, "acme", "ada", "user").await;
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

on_both_stores!(
    mass_assignment_and_unknown_fields_are_refused,
    control_characters_are_refused_naming_the_field,
);
