//! Lockout: failures lock an account until an admin (or, for the super admin, the operator)
//! unlocks it; concurrent guesses evaluate at most the threshold; every failure looks the same.

use super::without_request_id;
use crate::common::{self, TestApp, USER_PASSWORD, spawn_with};
use serde_json::json;

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
    let audit = app.audit(&admin, "account_locked").await;
    assert_eq!(audit["pagination"]["total"], 1, "{audit}");
    let audit = app.audit(&admin, "account_unlocked").await;
    assert_eq!(audit["pagination"]["total"], 1);
    let audit = app.audit(&admin, "login_failed").await;
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
    let wrong = app
        .audit_events(&admin, "login_failed")
        .await
        .iter()
        .filter(|e| e["details"]["reason"] == "wrong_password")
        .count();
    // As if the 30 had come one by one in the order they were admitted: a success clears the
    // count only when no other check is in flight, so at most four wrong guesses are evaluated
    // before it (the fifth would have locked the account) and at most five after it. Without the
    // reset, at most five in all.
    assert!(
        successes <= 1 && wrong <= 4 + 5 && (successes == 1 || wrong <= 5),
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
    let wrong = app
        .audit_events(&admin, "login_failed")
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
    five_failures_lock_the_account_until_an_admin_unlocks_it,
    every_login_failure_looks_the_same,
    thirty_concurrent_guesses_evaluate_at_most_five,
);
