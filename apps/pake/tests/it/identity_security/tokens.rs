//! Tampered, forged, expired and foreign tokens are 401.

use super::without_request_id;
use crate::common::TestApp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pake_crypto::{JwtOptions, JwtTokens, KeySet};
use pake_domain::{Role, SessionId, TenantId, UserId};
use pake_ports::{AccessClaims, TokenIssuer};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

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

on_both_stores!(tampered_forged_expired_and_foreign_tokens_are_401,);
