//! `GET /metrics`: Prometheus text, on a separate listener (open) or on the API listener behind a
//! bearer token (configurable); not served at all otherwise.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(guarded));
}

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn render(state: &AppState) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(("cache-control", "no-store"))
        .body(
            state
                .metrics
                .render(&state.services, state.started.elapsed()),
        )
}

/// Equal in time whatever the difference (the token is a secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// On the API listener: only with the configured bearer token (404 when none is configured).
async fn guarded(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(token) = &state.metrics_token else {
        return Err(ApiError::route_not_found());
    };
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same(presented.trim().as_bytes(), token.as_bytes()) {
        return Err(pake_core::CoreError::Unauthorized.into());
    }
    Ok(render(&state))
}

/// On the metrics listener: open.
pub(crate) async fn open(state: web::Data<AppState>) -> HttpResponse {
    render(&state)
}
