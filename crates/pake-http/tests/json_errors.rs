//! Malformed, oversized and mistyped JSON bodies get 400/413/415 problem+json, never a 5xx, through
//! the same extractor configuration and middleware the server installs.

use actix_web::{App, HttpResponse, test, web};
use pake_http::json_config;
use pake_http::request_id::RequestIdentity;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields read through Debug in failure messages")]
struct Body {
    name: String,
    count: u32,
}

async fn echo(_body: web::Json<Body>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn call(payload: &'static [u8], content_type: &str) -> (u16, serde_json::Value, String) {
    let app = test::init_service(
        App::new()
            .wrap(RequestIdentity {
                log_probes: false,
                metrics: None,
            })
            .app_data(json_config(1024))
            .route("/echo", web::post().to(echo)),
    )
    .await;
    let req = test::TestRequest::post()
        .uri("/echo")
        .insert_header(("content-type", content_type))
        .insert_header(("x-request-id", "req-42"))
        .set_payload(payload)
        .to_request();
    let res = test::call_service(&app, req).await;
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let body = test::read_body(res).await;
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, json, content_type)
}

#[actix_web::test]
async fn well_formed_body_passes() {
    let (status, _, _) = call(br#"{"name":"a","count":1}"#, "application/json").await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn malformed_json_is_400_problem() {
    for payload in [
        &b"{"[..],
        b"not json",
        br#"{"name":1,"count":1}"#,
        br#"{"name":"a"}"#,
        b"",
    ] {
        let (status, body, ct) = call(payload, "application/json").await;
        assert_eq!(status, 400, "{payload:?}");
        assert_eq!(ct, "application/problem+json");
        assert_eq!(body["code"], "malformed_json");
        assert_eq!(body["status"], 400);
        assert_eq!(body["request_id"], "req-42");
    }
}

#[actix_web::test]
async fn unknown_fields_are_rejected() {
    let (status, body, _) = call(
        br#"{"name":"a","count":1,"role":"admin"}"#,
        "application/json",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "malformed_json");
}

#[actix_web::test]
async fn oversized_body_is_413_problem() {
    static BIG: [u8; 4096] = [b' '; 4096];
    let (status, body, ct) = call(&BIG, "application/json").await;
    assert_eq!(status, 413);
    assert_eq!(ct, "application/problem+json");
    assert_eq!(body["code"], "payload_too_large");
}

#[actix_web::test]
async fn wrong_content_type_is_415_problem() {
    let (status, body, _) = call(br#"{"name":"a","count":1}"#, "text/plain").await;
    assert_eq!(status, 415);
    assert_eq!(body["code"], "unsupported_media_type");
}
