//! The HTTP skeleton over a real server: health, readiness, OpenAPI, docs, errors, request ids.

use crate::common;

use common::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn health_answers_with_a_request_id() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let id = res
        .headers()
        .get("x-request-id")
        .expect("request id")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32, "a generated id");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn incoming_request_ids_are_kept_when_sane() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "trace-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc.123");
    let long = "x".repeat(200);
    let res = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    assert_ne!(
        res.headers()["x-request-id"].to_str().unwrap(),
        long,
        "an oversized id is replaced"
    );
}

#[tokio::test]
async fn readiness_checks_the_store() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"]["status"], "ok");
}

#[tokio::test]
async fn openapi_document_is_openapi_3_1_at_both_paths() {
    let app = spawn_app().await;
    for path in ["/openapi.json", "/api/v1/openapi.json"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        let doc: Value = res.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "PAKE");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        for p in [
            "/health",
            "/health/ready",
            "/openapi.json",
            "/.well-known/jwks.json",
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/logout",
            "/api/v1/auth/logout-all",
            "/api/v1/auth/me",
            "/api/v1/auth/password",
            "/api/v1/auth/sessions",
            "/api/v1/auth/sessions/{id}",
            "/api/v1/tenants/",
            "/api/v1/tenants/{id}",
            "/api/v1/users/",
            "/api/v1/users/{id}",
            "/api/v1/users/{id}/unlock",
            "/api/v1/users/{id}/reset-password",
            "/api/v1/audit/",
        ] {
            assert!(doc["paths"][p].is_object(), "{p} documented");
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let me = &doc["paths"]["/api/v1/auth/me"]["get"];
        assert!(
            me["security"].is_array(),
            "authenticated paths name the bearer scheme"
        );
        assert!(me["responses"]["401"].is_object(), "and document their 401");
    }
}

#[tokio::test]
async fn swagger_ui_and_redoc_are_served_from_built_in_assets() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), 301);
    assert_eq!(res.headers()["location"], "/docs/");
    let html = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let init = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let res = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{asset}");
    }

    let redoc = app
        .client
        .get(app.url("/redoc"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(redoc.contains("spec-url=\"/openapi.json\""));
    assert!(redoc.contains("/redoc/redoc.standalone.js"));
    assert!(
        !redoc.contains("https://"),
        "no asset is fetched from the network"
    );
    let js = app
        .client
        .get(app.url("/redoc/redoc.standalone.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.bytes().await.unwrap().len() > 500_000);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problem_json() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .header("x-request-id", "r-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["request_id"], "r-1");
    assert_eq!(body["type"], "urn:pake:error:not_found");

    let res = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    assert_eq!(
        body["request_id"],
        request_id.as_str(),
        "the body names the same request"
    );
}

#[tokio::test]
async fn a_real_json_endpoint_answers_malformed_oversized_and_mistyped_bodies_with_problems() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/auth/login");
    let send = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: [(Vec<u8>, &str, u16, &str); 5] = [
        (b"{".to_vec(), "application/json", 400, "malformed_json"),
        (
            br#"{"tenant":"platform","username":"admin"}"#.to_vec(),
            "application/json",
            400,
            "malformed_json",
        ),
        (
            br#"{"tenant":"platform","username":"admin","password":1}"#.to_vec(),
            "application/json",
            400,
            "malformed_json",
        ),
        (
            vec![b' '; 300 * 1024],
            "application/json",
            413,
            "payload_too_large",
        ),
        (
            br#"{"password":"x"}"#.to_vec(),
            "text/plain",
            415,
            "unsupported_media_type",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let res = send(body, content_type).await.unwrap();
        assert_eq!(res.status(), status, "{code}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], code);
    }
}
