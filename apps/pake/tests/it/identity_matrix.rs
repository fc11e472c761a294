//! The cross-tenant matrix: every identity endpoint × every role × own/other tenant ×
//! existing/missing object. Another tenant's object must be indistinguishable from a missing one,
//! and nothing of the other tenant may change.

use crate::common;

use common::{TestApp, USER_PASSWORD};
use serde_json::{Value, json};

const ROLES: [&str; 4] = ["admin", "manager", "user", "viewer"];

struct Side {
    tenant: String,
    name: &'static str,
    admin: String,
    tokens: Vec<(&'static str, String)>,
}

async fn side(app: &TestApp, root: &str, name: &'static str) -> Side {
    let (tenant, admin) = app.tenant(root, name, "enterprise").await;
    let mut tokens = vec![("admin", admin.clone())];
    for role in &ROLES[1..] {
        let username = format!("{role}1");
        app.user(&admin, &username, role).await;
        tokens.push((role, app.token(name, &username, USER_PASSWORD).await));
    }
    Side {
        tenant,
        name,
        admin,
        tokens,
    }
}

struct Endpoint {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    /// Expected status on an existing object of the caller's own tenant, per role
    /// (admin, manager, user, viewer).
    own: [u16; 4],
}

fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: "GET",
            path: "/api/v1/users/{id}",
            body: None,
            own: [200, 200, 404, 404],
        },
        Endpoint {
            method: "PATCH",
            path: "/api/v1/users/{id}",
            body: Some(json!({"full_name": "Changed"})),
            own: [200, 403, 404, 404],
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/users/{id}/unlock",
            body: None,
            own: [200, 403, 403, 403],
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/users/{id}/reset-password",
            body: None,
            own: [200, 403, 403, 403],
        },
        Endpoint {
            method: "DELETE",
            path: "/api/v1/users/{id}",
            body: None,
            own: [204, 403, 403, 403],
        },
    ]
}

async fn no_role_reaches_another_tenants_users_and_missing_looks_the_same(app: TestApp) {
    let root = app.root().await;
    let a = side(&app, &root, "tenant-a").await;
    let b = side(&app, &root, "tenant-b").await;
    let victim = app.user(&b.admin, "victim", "user").await;
    let missing = uuid_string();

    for (i, (role, token)) in a.tokens.iter().enumerate() {
        for e in endpoints() {
            // own tenant, existing object: a fresh target each time (some calls destroy it)
            let own_target = app
                .user(
                    &a.admin,
                    &format!("t-{role}-{}", e.path.len() + e.method.len()),
                    "user",
                )
                .await;
            let (own, body) = app
                .call(
                    e.method,
                    &e.path.replace("{id}", &own_target),
                    Some(token),
                    e.body.clone(),
                )
                .await;
            assert_eq!(own, e.own[i], "{role} {} {} own: {body}", e.method, e.path);

            let (other, other_body) = app
                .call(
                    e.method,
                    &e.path.replace("{id}", &victim),
                    Some(token),
                    e.body.clone(),
                )
                .await;
            let (miss, miss_body) = app
                .call(
                    e.method,
                    &e.path.replace("{id}", &missing),
                    Some(token),
                    e.body.clone(),
                )
                .await;
            assert!(
                other == 403 || other == 404,
                "{role} {} {} other tenant: {other}",
                e.method,
                e.path
            );
            assert_eq!(
                (other, &other_body["code"]),
                (miss, &miss_body["code"]),
                "{role} {} {}: other tenant must look missing",
                e.method,
                e.path
            );
            let _ = app
                .call(
                    "DELETE",
                    &format!("/api/v1/users/{own_target}"),
                    Some(&a.admin),
                    None,
                )
                .await;
        }
        // a session of another user (own tenant), of the other tenant, and a missing one: all 404
        let (_, sessions) = app
            .call("GET", "/api/v1/auth/sessions", Some(&b.admin), None)
            .await;
        let foreign_session = sessions["sessions"][0]["id"].as_str().unwrap().to_owned();
        let (_, own_sessions) = app
            .call("GET", "/api/v1/auth/sessions", Some(&a.admin), None)
            .await;
        let colleague_session = own_sessions["sessions"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for sid in [&foreign_session, &missing] {
            assert_eq!(
                app.call(
                    "DELETE",
                    &format!("/api/v1/auth/sessions/{sid}"),
                    Some(token),
                    None
                )
                .await
                .0,
                404,
                "{role}"
            );
        }
        if *role != "admin" {
            let status = app
                .call(
                    "DELETE",
                    &format!("/api/v1/auth/sessions/{colleague_session}"),
                    Some(token),
                    None,
                )
                .await
                .0;
            assert_eq!(status, 404, "{role}: a colleague's session is not yours");
        }
    }

    // the super admin acts on the platform unless it names a tenant
    let (status, _) = app
        .call("GET", &format!("/api/v1/users/{victim}"), Some(&root), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call_with(
            "GET",
            &format!("/api/v1/users/{victim}"),
            Some(&root),
            None,
            &[("x-tenant-id", b.name)],
        )
        .await;
    assert_eq!(status, 200);

    // the other tenant is untouched
    let (_, victim_now) = app
        .call(
            "GET",
            &format!("/api/v1/users/{victim}"),
            Some(&b.admin),
            None,
        )
        .await;
    assert_eq!(victim_now["user"]["full_name"], Value::Null);
    assert_eq!(
        victim_now["user"]["must_change_password"], false,
        "not reset"
    );
    assert_eq!(app.login(b.name, "victim", USER_PASSWORD).await.0, 200);
    for (role, token) in &b.tokens {
        assert_eq!(
            app.call("GET", "/api/v1/auth/me", Some(token), None)
                .await
                .0,
            200,
            "{role} of B still logged in"
        );
    }
    let _ = &a.tenant;
}

async fn tenant_paths_naming_another_tenant_are_403_for_every_tenant_role(app: TestApp) {
    let root = app.root().await;
    let a = side(&app, &root, "tenant-a").await;
    let b = side(&app, &root, "tenant-b").await;
    let missing = uuid_string();
    // expected on the caller's own tenant: admin, manager, user, viewer
    let cases: [(&str, Option<Value>, [u16; 4]); 3] = [
        ("GET", None, [200, 200, 403, 403]),
        (
            "PATCH",
            Some(json!({"display_name": "Renamed"})),
            [200, 403, 403, 403],
        ),
        ("DELETE", None, [403, 403, 403, 403]),
    ];
    for (i, (role, token)) in a.tokens.iter().enumerate() {
        for (method, body, own) in &cases {
            let path = |id: &str| format!("/api/v1/tenants/{id}");
            assert_eq!(
                app.call(method, &path(&a.tenant), Some(token), body.clone())
                    .await
                    .0,
                own[i],
                "{role} {method} own"
            );
            let (other, ob) = app
                .call(method, &path(&b.tenant), Some(token), body.clone())
                .await;
            let (miss, mb) = app
                .call(method, &path(&missing), Some(token), body.clone())
                .await;
            assert_eq!(other, 403, "{role} {method} other tenant");
            assert_eq!((other, &ob["code"]), (miss, &mb["code"]), "{role} {method}");
        }
        assert_eq!(
            app.call("GET", "/api/v1/tenants/", Some(token), None)
                .await
                .0,
            403,
            "{role} lists tenants"
        );
        let create = json!({"name": "rogue", "display_name": "Rogue", "plan": "basic", "admin_email": "r@r.org"});
        assert_eq!(
            app.call("POST", "/api/v1/tenants/", Some(token), Some(create))
                .await
                .0,
            403,
            "{role} creates tenants"
        );
        let (status, _) = app
            .call_with(
                "GET",
                "/api/v1/users/",
                Some(token),
                None,
                &[("x-tenant-id", &b.tenant)],
            )
            .await;
        assert_eq!(status, 403, "{role} naming tenant B");
    }
    let (_, tb) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{}", b.tenant),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(tb["tenant"]["display_name"], "tenant-b Labs", "B unchanged");
    assert_eq!(tb["tenant"]["status"], "active");
    // the super admin gets 404 for a tenant that does not exist
    assert_eq!(
        app.call(
            "GET",
            &format!("/api/v1/tenants/{missing}"),
            Some(&root),
            None
        )
        .await
        .0,
        404
    );
}

async fn users_and_viewers_see_only_themselves(app: TestApp) {
    let root = app.root().await;
    let a = side(&app, &root, "tenant-a").await;
    for (role, token) in &a.tokens {
        let (status, list) = app.call("GET", "/api/v1/users/", Some(token), None).await;
        assert_eq!(status, 200);
        let total = list["pagination"]["total"].as_u64().unwrap();
        match *role {
            "admin" | "manager" => assert_eq!(total, 4, "{role}"),
            _ => {
                assert_eq!(total, 1, "{role}");
                assert_eq!(list["users"][0]["role"], *role);
            }
        }
    }
    // malformed ids are plain 404s, never 5xx
    let admin = &a.tokens[0].1;
    for path in [
        "/api/v1/users/not-a-uuid",
        "/api/v1/tenants/123",
        "/api/v1/auth/sessions/zzz",
    ] {
        let method = if path.contains("sessions") {
            "DELETE"
        } else {
            "GET"
        };
        assert_eq!(
            app.call(method, path, Some(admin), None).await.0,
            404,
            "{path}"
        );
    }
    // bad paging is a 400
    assert_eq!(
        app.call("GET", "/api/v1/users/?limit=0", Some(admin), None)
            .await
            .0,
        400
    );
    assert_eq!(
        app.call("GET", "/api/v1/users/?limit=abc", Some(admin), None)
            .await
            .0,
        400
    );
}

fn uuid_string() -> String {
    pake_domain::UserId::new().to_string()
}

on_both_stores!(
    no_role_reaches_another_tenants_users_and_missing_looks_the_same,
    tenant_paths_naming_another_tenant_are_403_for_every_tenant_role,
    users_and_viewers_see_only_themselves,
);
