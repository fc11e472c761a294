//! `GET /health` (liveness) and `GET /health/ready` (readiness).

use std::collections::BTreeMap;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::routes::resource;

/// Liveness answer.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok` while the process serves requests.
    pub status: &'static str,
}

/// One dependency in the readiness answer.
#[derive(Serialize, ToSchema)]
pub struct Check {
    /// `ok`, `degraded` (an optional dependency is down: served without it) or `unavailable`.
    pub status: &'static str,
    /// How long the check took.
    pub latency_ms: f64,
}

/// Readiness answer.
#[derive(Serialize, ToSchema)]
pub struct ReadinessBody {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Each dependency.
    pub checks: BTreeMap<&'static str, Check>,
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health").get(live))
        .service(resource("/health/ready").get(ready));
}

/// Liveness: the process is up. Public and cheap: touches no dependency.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "The server is alive", body = Liveness)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(r#"{"status":"ok"}"#)
}

/// Readiness: every dependency answers. 503 when one does not, so load balancers stop routing here.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = ReadinessBody),
        (status = 503, description = "A dependency is down", body = ReadinessBody)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let readiness = state.services.health.readiness().await;
    let checks = readiness
        .components
        .iter()
        .map(|c| {
            if let Some(detail) = &c.detail {
                tracing::warn!(component = c.name, detail = %detail, "readiness check failed");
            }
            let status = match (c.ok, c.required) {
                (true, _) => "ok",
                (false, false) => "degraded",
                (false, true) => "unavailable",
            };
            (
                c.name,
                Check {
                    status,
                    latency_ms: c.latency.as_secs_f64() * 1000.0,
                },
            )
        })
        .collect();
    let ready = readiness.is_ready();
    let body = ReadinessBody {
        status: if ready { "ready" } else { "not_ready" },
        checks,
    };
    let mut response = if ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(body)
}
