//! Rate limits over HTTP: a user's share and the tenant's plan rate refuse with 429, a code
//! naming the limit, `Retry-After` and `RateLimit-*` headers; the per-address limit of login
//! stops guessing before the account lockout.

use crate::common;

use common::{TestApp, spawn_with};
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
    let (_, ann) = app.member(&admin, "busy", "ann", "user").await;
    let (_, bob) = app.member(&admin, "busy", "bob", "user").await;
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

async fn set_limits(app: &TestApp, root: &str, id: &str, limits: serde_json::Value) {
    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{id}"),
            Some(root),
            Some(json!({ "limits": limits })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn analytics(app: &TestApp, root: &str, id: &str) -> serde_json::Value {
    let (status, body) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{id}/analytics"),
            Some(root),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["analytics"].clone()
}

async fn the_daily_quota_counts_authenticated_calls(app: TestApp) {
    let root = app.root().await;
    let (id, admin) = app.tenant(&root, "counted", "basic").await;
    let before = analytics(&app, &root, &id).await;
    assert_eq!(before["api_calls"]["today"], 0, "logins are not API calls");
    assert_eq!(before["api_calls"]["limit"], 1000, "the basic plan's quota");
    set_limits(&app, &root, &id, json!({"max_api_calls_per_day": 3})).await;

    for _ in 0..3 {
        let (status, _) = app.call("GET", "/api/v1/auth/me", Some(&admin), None).await;
        assert_eq!(status, 200);
    }
    let refused = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let retry = header(&refused, "retry-after");
    assert!((1..=86_400).contains(&retry), "until 00:00 UTC: {retry}");
    assert_eq!(header(&refused, "ratelimit-limit"), 3);
    assert_eq!(header(&refused, "ratelimit-remaining"), 0);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "daily_quota_exceeded");
    let (status, _) = app.call("GET", "/api/v1/users/", Some(&admin), None).await;
    assert_eq!(status, 429, "every authenticated endpoint counts");

    // the super admin's reads count on the platform, not on this tenant
    let after = analytics(&app, &root, &id).await;
    assert_eq!(
        after["api_calls"]["today"], 3,
        "refused calls are not counted: {after}"
    );
    assert_eq!(after["api_calls"]["limit"], 3);
    assert_eq!(after["api_calls"]["remaining_today"], 0);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(
        after["api_calls"]["per_day"],
        json!([{"date": today, "count": 3}])
    );
    assert_eq!(after["users"], json!({"total": 1, "active": 1, "limit": 5}));
    assert_eq!(after["searches"]["total"], 0);

    // raising the quota applies at once
    set_limits(&app, &root, &id, json!({"max_api_calls_per_day": 5})).await;
    let (status, _) = app.call("GET", "/api/v1/auth/me", Some(&admin), None).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{id}/analytics"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        status, 200,
        "the tenant's admin reads its analytics: {body}"
    );
    assert_eq!(body["analytics"]["api_calls"]["today"], 5);
}

on_both_stores!(
    users_share_the_tenant_rate,
    the_daily_quota_counts_authenticated_calls
);

#[tokio::test]
async fn analytics_are_for_admins_and_managers_of_the_tenant() {
    let app = common::spawn_app().await;
    let root = app.root().await;
    let (id, admin) = app.tenant(&root, "seen", "basic").await;
    let (other_id, _) = app.tenant(&root, "unseen", "basic").await;
    let (_, mia) = app.member(&admin, "seen", "mia", "manager").await;
    let (_, uli) = app.member(&admin, "seen", "uli", "user").await;
    let path = format!("/api/v1/tenants/{id}/analytics?days=7");
    assert_eq!(app.call("GET", &path, Some(&mia), None).await.0, 200);
    assert_eq!(app.call("GET", &path, Some(&uli), None).await.0, 403);
    let (status, _) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{other_id}/analytics"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 403, "another tenant's analytics");
    for bad in ["days=0", "days=366", "days=x", "nope=1"] {
        let (status, problem) = app
            .call(
                "GET",
                &format!("/api/v1/tenants/{id}/analytics?{bad}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 400, "{bad}: {problem}");
    }
    let (_, body) = app.call("GET", &path, Some(&admin), None).await;
    assert_eq!(body["analytics"]["days"], 7);
    assert_eq!(body["analytics"]["users"]["total"], 3);
}

#[tokio::test]
async fn the_quota_resets_at_utc_midnight() {
    let start = time::OffsetDateTime::now_utc();
    let clock = common::ManualClock::new(start);
    let app = common::spawn_with_clock(clock.clone(), |_| {}).await;
    let root = app.root().await;
    let (id, admin) = app.tenant(&root, "nightly", "basic").await;
    set_limits(&app, &root, &id, json!({"max_api_calls_per_day": 2})).await;
    for _ in 0..2 {
        assert_eq!(
            app.call("GET", "/api/v1/auth/me", Some(&admin), None)
                .await
                .0,
            200
        );
    }
    let refused = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let midnight = start.date().next_day().unwrap().midnight().assume_utc();
    let expected = u64::try_from((midnight - start).whole_seconds()).unwrap();
    let retry = header(&refused, "retry-after");
    assert!(retry.abs_diff(expected) <= 1, "{retry} vs {expected}");

    // one second before midnight: still refused; at midnight: a new day
    clock.set(midnight - time::Duration::seconds(1));
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&admin), None)
            .await
            .0,
        429
    );
    clock.set(midnight + time::Duration::seconds(1));
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&admin), None)
            .await
            .0,
        200
    );
    let after = analytics(&app, &root, &id).await;
    assert_eq!(after["api_calls"]["today"], 1);
}

#[tokio::test]
async fn counted_calls_survive_a_restart() {
    let app = common::spawn_app().await;
    let root = app.root().await;
    let (id, admin) = app.tenant(&root, "durable", "basic").await;
    set_limits(&app, &root, &id, json!({"max_api_calls_per_day": 4})).await;
    for _ in 0..3 {
        assert_eq!(
            app.call("GET", "/api/v1/auth/me", Some(&admin), None)
                .await
                .0,
            200
        );
    }
    let app = app.restart(|_| {}).await;
    let root = app.root().await;
    assert_eq!(analytics(&app, &root, &id).await["api_calls"]["today"], 3);
    let admin = app
        .token("durable", "admin", common::TENANT_ADMIN_PASSWORD)
        .await;
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&admin), None)
            .await
            .0,
        200
    );
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&admin), None)
            .await
            .0,
        429,
        "the quota continues where it was"
    );
}

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
    let (status, _) = app.refresh("x").await;
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

#[tokio::test]
async fn the_operator_sees_refusals_by_plan_and_reason_and_the_replica_status() {
    let app = common::spawn_app().await;
    let root = app.root().await;
    let (id, admin) = app.tenant(&root, "refused", "basic").await;
    set_limits(&app, &root, &id, json!({"max_api_calls_per_day": 1})).await;
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&admin), None)
            .await
            .0,
        200
    );
    for _ in 0..2 {
        assert_eq!(
            app.call("GET", "/api/v1/auth/me", Some(&admin), None)
                .await
                .0,
            429
        );
    }
    let (status, m) = app
        .call("GET", "/api/v1/system/metrics", Some(&root), None)
        .await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        m["limit_refusals"],
        json!([{"plan": "basic", "reason": "daily_quota", "count": 2}])
    );
    assert_eq!(m["open_circuits"], json!([]));
    assert_eq!(m["tenants"], 2, "platform and refused");

    let (status, s) = app
        .call("GET", "/api/v1/system/status", Some(&root), None)
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["status"], "ready");
    assert_eq!(s["dependencies"]["database"]["status"], "ok");
    assert_eq!(
        s["circuits"],
        json!({"arxiv": "closed", "crossref": "closed", "europepmc": "closed",
            "openalex": "closed", "pubmed": "closed", "semantic_scholar": "closed",
            "web": "closed"})
    );
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert!(s["store_pool"]["connections"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(s["config"]["bootstrap"]["admin_password"], "<redacted>");
    assert!(
        !s.to_string().contains(common::ADMIN_PASSWORD),
        "no secret in the status"
    );

    // operators only
    let (_, other) = app.tenant(&root, "curious", "enterprise").await;
    for path in ["/api/v1/system/status", "/api/v1/system/metrics"] {
        assert_eq!(app.call("GET", path, Some(&other), None).await.0, 403);
    }
}

async fn login_from(app: &TestApp, forwarded: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"tenant": "proxied", "username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_client_address_comes_through_trusted_proxies_only() {
    let app = common::spawn_with(|c| {
        c.server.trusted_proxies = vec!["127.0.0.0/8".into()];
        c.limits.address_per_minute = 2;
    })
    .await;
    let root = app.root().await; // one attempt from 127.0.0.1
    let (_, admin) = app.tenant(&root, "proxied", "enterprise").await; // and another
    // behind the trusted proxy (the test client on 127.0.0.1), each client has its own budget
    assert_eq!(
        login_from(&app, "203.0.113.9", "Wrong-Password-1!").await,
        401
    );
    assert_eq!(
        login_from(&app, "203.0.113.9", "Wrong-Password-1!").await,
        401
    );
    assert_eq!(
        login_from(&app, "203.0.113.9", "Wrong-Password-1!").await,
        429
    );
    assert_eq!(
        login_from(&app, "6.6.6.6, 203.0.113.10", common::TENANT_ADMIN_PASSWORD).await,
        200,
        "the nearest untrusted hop counts, not what the client prepended"
    );
    let audit = app.audit(&admin, "login_failed").await;
    let ips: Vec<&str> = audit["audit_events"]
        .as_array()
        .unwrap_or_else(|| panic!("{audit}"))
        .iter()
        .filter_map(|e| e["ip"].as_str())
        .collect();
    assert_eq!(ips, vec!["203.0.113.9", "203.0.113.9"], "{audit}");

    // without trusted proxies the header is the client's word and ignored
    let plain = common::spawn_with(|c| c.limits.address_per_minute = 1_000).await;
    let root = plain.root().await;
    let (_, admin) = plain.tenant(&root, "proxied", "enterprise").await;
    assert_eq!(
        login_from(&plain, "203.0.113.9", "Wrong-Password-1!").await,
        401
    );
    let audit = plain.audit(&admin, "login_failed").await;
    assert_eq!(audit["audit_events"][0]["ip"], "127.0.0.1", "{audit}");
}
