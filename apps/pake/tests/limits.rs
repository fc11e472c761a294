//! Rate limits over HTTP: a user's share and the tenant's plan rate refuse with 429, a code
//! naming the limit, `Retry-After` and `RateLimit-*` headers; the per-address limit of login
//! stops guessing before the account lockout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestApp, USER_PASSWORD, spawn_with};
use serde_json::json;

async fn get_users(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/users/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> u64 {
    let value = res
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing ({}): {:?}", res.status(), res.headers()));
    value.to_str().unwrap().parse().unwrap()
}

async fn users_share_the_tenant_rate(app: TestApp) {
    let root = app.root().await;
    let (id, admin) = app.tenant(&root, "busy", "basic").await;
    app.user(&admin, "ann", "user").await;
    app.user(&admin, "bob", "user").await;
    let ann = app.token("busy", "ann", USER_PASSWORD).await;
    let bob = app.token("busy", "bob", USER_PASSWORD).await;
    // 4 requests a minute for the tenant: 2 for each user
    let limits = json!({"limits": {"requests_per_minute": 4}});
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/tenants/{id}"),
            Some(&root),
            Some(limits)
        )
        .await
        .0,
        200
    );
    // The admin's two requests so far counted at the plan's 60/min (one second each): let them
    // drain, so the tenant starts the new limit with its whole budget.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let first = get_users(&app, &ann).await;
    assert_eq!(first.status(), 200);
    assert_eq!(
        (
            header(&first, "ratelimit-limit"),
            header(&first, "ratelimit-remaining")
        ),
        (2, 1)
    );
    assert!(header(&first, "ratelimit-reset") <= 60);
    assert_eq!(get_users(&app, &ann).await.status(), 200);
    let refused = get_users(&app, &ann).await;
    assert_eq!(refused.status(), 429);
    assert!(header(&refused, "retry-after") >= 1);
    assert_eq!(header(&refused, "ratelimit-remaining"), 0);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "user_rate_limited");

    // bob has his own share, and then the tenant's budget is spent for everyone
    assert_eq!(get_users(&app, &bob).await.status(), 200);
    assert_eq!(get_users(&app, &bob).await.status(), 200);
    // the admin still has a share of their own, but the tenant has nothing left
    let (status, problem) = app.call("GET", "/api/v1/auth/me", Some(&admin), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (429, Some("tenant_rate_limited"))
    );

    // another tenant is not slowed at all
    let (_, other) = app.tenant(&root, "calm", "basic").await;
    assert_eq!(get_users(&app, &other).await.status(), 200);
}

on_both_stores!(users_share_the_tenant_rate);

#[tokio::test]
async fn logins_from_one_address_are_limited_before_the_lockout() {
    let app = spawn_with(|c| c.limits.address_per_minute = 3).await;
    let root = app.root().await; // one attempt
    let (_, admin) = app.tenant(&root, "acme", "basic").await; // the admin's login: two
    let ada = app.user(&admin, "ada", "user").await;
    let (status, _) = app.login("acme", "ada", "Wrong-Password-1!").await; // three
    assert_eq!(status, 401);
    let (status, problem) = app.login("acme", "ada", "Wrong-Password-1!").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (429, Some("address_rate_limited"))
    );
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": "x"})),
        )
        .await;
    assert_eq!(status, 429, "refresh shares the address limit");
    let (_, user) = app
        .call("GET", &format!("/api/v1/users/{ada}"), Some(&admin), None)
        .await;
    assert_eq!(
        user["user"]["failed_login_attempts"],
        serde_json::Value::Null
    );
    assert_eq!(
        user["user"]["is_locked"], false,
        "the guessing stopped before the lockout"
    );
}
