//! What a stranger can write into a tenant's audit trail: a failed login's login name is stored
//! as the event's target, so it is capped and escaped before it is stored, on both stores.

use crate::common;

use common::TestApp;
use serde_json::json;

async fn a_strangers_login_name_is_stored_capped_and_escaped(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "capped", "enterprise").await;

    // 200,000 characters for a login name: an unknown user, audited with the name as target
    let long = "a".repeat(200_000);
    let (status, body) = app.login("capped", &long, "Wrong-Password-1!").await;
    assert_eq!(status, 401, "{body}");

    // control characters in the name are refused at the edge before anything is audited
    let forged = format!(
        "{}\u{1b}[2J\r\nlogin_succeeded admin\u{0}",
        "b".repeat(100_000)
    );
    let body = json!({"tenant": "capped", "username": forged, "password": "Wrong-Password-1!"});
    let (status, answer) = app
        .call("POST", "/api/v1/auth/login", None, Some(body))
        .await;
    assert_eq!(status, 400, "{answer}");

    // line breaks and tabs pass the edge (multi-line fields allow them): the name reaches the
    // audit, and its line breaks are stored escaped
    let lines = format!("c\r\nlogin_succeeded admin\t{}", "c".repeat(199_970));
    let (status, body) = app.login("capped", &lines, "Wrong-Password-1!").await;
    assert!(status == 401 || status == 400, "{status} {body}");
    let lines_audited = status == 401;

    let events = app.audit_events(&admin, "login_failed").await;
    let target = events
        .iter()
        .filter_map(|e| e["target"].as_str())
        .find(|t| t.starts_with("aaaa"))
        .expect("the long login's failure is audited");
    let (kept, marker) = target.split_once('\u{2026}').expect("a truncation marker");
    assert_eq!(kept, "a".repeat(256));
    assert_eq!(marker, format!("[+{}]", 200_000 - 256));
    if lines_audited {
        let target = events
            .iter()
            .filter_map(|e| e["target"].as_str())
            .find(|t| t.starts_with('c'))
            .expect("the multi-line login's failure is audited");
        assert!(
            target.starts_with(r"c\r\nlogin_succeeded admin\tccc"),
            "{target}"
        );
        // 25 characters stored as 28 (three escapes), then `c`s up to 256
        let kept = 25 + (256 - 28);
        let dropped = lines.chars().count() - kept;
        assert!(
            target.ends_with(&format!("\u{2026}[+{dropped}]")),
            "{target}"
        );
        assert_eq!(
            target.chars().count(),
            256 + format!("\u{2026}[+{dropped}]").chars().count()
        );
    }
    for event in &events {
        let target = event["target"].as_str().unwrap_or_default();
        assert!(target.chars().count() <= 256 + 16, "{target}");
        assert!(!target.chars().any(char::is_control), "{target:?}");
        assert!(
            !target.starts_with("bbbb"),
            "the refused login left no event"
        );
    }
    // the audit page stays small however long the names were
    let (_, page) = app.call("GET", "/api/v1/audit/", Some(&admin), None).await;
    assert!(
        page.to_string().len() < 20_000,
        "{}",
        page.to_string().len()
    );
}

on_both_stores!(a_strangers_login_name_is_stored_capped_and_escaped);
