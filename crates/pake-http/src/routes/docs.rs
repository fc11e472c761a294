//! The OpenAPI document, Swagger UI and ReDoc, all served from assets built into the binary.

use std::sync::Arc;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, LOCATION};
use actix_web::{HttpResponse, ResponseError, web};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::routes::resource;

/// ReDoc 2.5.4's standalone bundle (MIT, see `assets/redoc/LICENSE`), vendored so nothing is
/// downloaded at build or run time.
const REDOC_JS: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

const REDOC_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1"/>
    <title>PAKE API reference</title>
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="/openapi.json"></redoc>
    <script src="/redoc/redoc.standalone.js"></script>
  </body>
</html>
"#;

/// The pre-rendered documentation assets.
pub struct Docs {
    /// The OpenAPI document as JSON bytes.
    pub openapi_json: web::Bytes,
    swagger: Arc<utoipa_swagger_ui::Config<'static>>,
}

impl Docs {
    /// Renders the OpenAPI document once.
    pub fn new(openapi: &utoipa::openapi::OpenApi) -> Self {
        let json = serde_json::to_vec(openapi).unwrap_or_default();
        Self {
            openapi_json: web::Bytes::from(json),
            swagger: Arc::new(utoipa_swagger_ui::Config::from("/openapi.json")),
        }
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/openapi.json").get(openapi_json))
        .service(resource("/api/v1/openapi.json").get(openapi_json))
        .service(resource("/docs").get(|| async { redirect("/docs/") }))
        .service(resource("/docs/{tail:.*}").get(swagger_ui))
        .service(resource("/redoc").get(redoc))
        .service(resource("/redoc/redoc.standalone.js").get(redoc_js));
}

fn redirect(to: &'static str) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((LOCATION, to))
        .finish()
}

/// The OpenAPI 3.1 document of this server, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "docs",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(state.docs.openapi_json.clone())
}

async fn swagger_ui(tail: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    match utoipa_swagger_ui::serve(&tail, Arc::clone(&state.docs.swagger)) {
        Ok(Some(file)) => {
            let mut response = HttpResponse::Ok();
            response.insert_header((CONTENT_TYPE, file.content_type));
            response.insert_header((CACHE_CONTROL, "public, max-age=3600"));
            if file.gzpipped {
                response.insert_header((CONTENT_ENCODING, "gzip"));
            }
            response.body(file.bytes.into_owned())
        }
        Ok(None) => ApiError::route_not_found().error_response(),
        Err(e) => {
            tracing::error!(error = %e, "swagger ui asset failed");
            ApiError::new(ErrorCode::InternalError, "documentation unavailable").error_response()
        }
    }
}

async fn redoc() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(REDOC_HTML)
}

async fn redoc_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/javascript"))
        .insert_header((CACHE_CONTROL, "public, max-age=86400"))
        .body(REDOC_JS)
}
