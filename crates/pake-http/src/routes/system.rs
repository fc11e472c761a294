//! `/api/v1/system/*`: the platform operator's view of this replica (super admin).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Auth;
use crate::routes::resource;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/system/status").get(status))
        .service(resource("/api/v1/system/metrics").get(metrics));
}

/// A dependency's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct DependencyDto {
    /// `ok`, `degraded` (optional, serving without it) or `unavailable`.
    pub status: &'static str,
    /// Check latency, ms.
    pub latency_ms: f64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A count of refused requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalDto {
    /// The acting tenant's plan (absent for the per-address login limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<&'static str>,
    /// `tenant_rate`, `user_rate`, `address_rate`, `daily_quota` or `concurrent_searches`.
    pub reason: &'static str,
    /// Refused since the process started.
    pub count: u64,
}

/// A connection pool now.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolDto {
    /// Connections held.
    pub connections: u32,
    /// Of which idle.
    pub idle: u32,
}

/// The operator's view.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemStatusDto {
    /// The server's version.
    pub version: &'static str,
    /// Seconds since this process started.
    pub uptime_secs: u64,
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Each dependency, checked now.
    pub dependencies: BTreeMap<&'static str, DependencyDto>,
    /// Each search source's circuit: `closed`, `open` or `half_open`.
    pub circuits: BTreeMap<&'static str, &'static str>,
    /// Tenants this replica knows.
    pub tenants: usize,
    /// The store's connection pool.
    pub store_pool: Option<PoolDto>,
    /// The effective configuration, secrets shown as `<redacted>`.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// Key figures of this replica.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemMetricsDto {
    /// Seconds since this process started.
    pub uptime_secs: u64,
    /// Tenants this replica knows.
    pub tenants: usize,
    /// Requests refused by a limit, by plan and reason.
    pub limit_refusals: Vec<RefusalDto>,
    /// Search sources whose circuit is not closed.
    pub open_circuits: Vec<&'static str>,
}

/// This replica's version, uptime, dependencies, circuits and configuration (super admin).
#[utoipa::path(get, path = "/api/v1/system/status", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = SystemStatusDto), (status = 403, body = crate::error::Problem)))]
pub async fn status(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let s = state
        .services
        .health
        .system(&auth.0, &state.services.limits)
        .await?;
    let dependencies = s
        .readiness
        .components
        .iter()
        .map(|c| {
            let status = match (c.ok, c.required) {
                (true, _) => "ok",
                (false, false) => "degraded",
                (false, true) => "unavailable",
            };
            (
                c.name,
                DependencyDto {
                    status,
                    latency_ms: (c.latency.as_secs_f64() * 1e5).round() / 100.0,
                    detail: c.detail.clone(),
                },
            )
        })
        .collect();
    Ok(HttpResponse::Ok().json(SystemStatusDto {
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.started.elapsed().as_secs(),
        status: if s.readiness.is_ready() {
            "ready"
        } else {
            "not_ready"
        },
        dependencies,
        circuits: s.circuits.iter().map(|(id, c)| (id.as_str(), *c)).collect(),
        tenants: s.tenants,
        store_pool: s
            .store_pool
            .map(|(connections, idle)| PoolDto { connections, idle }),
        config: state.config_summary.as_ref().clone(),
    }))
}

/// Key figures of this replica as JSON (super admin).
#[utoipa::path(get, path = "/api/v1/system/metrics", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = SystemMetricsDto), (status = 403, body = crate::error::Problem)))]
pub async fn metrics(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let s = state
        .services
        .health
        .system(&auth.0, &state.services.limits)
        .await?;
    Ok(HttpResponse::Ok().json(SystemMetricsDto {
        uptime_secs: state.started.elapsed().as_secs(),
        tenants: s.tenants,
        limit_refusals: s
            .refusals
            .iter()
            .map(|r| RefusalDto {
                plan: r.plan.map(pake_domain::PlanId::as_str),
                reason: r.kind.as_str(),
                count: r.count,
            })
            .collect(),
        open_circuits: s
            .circuits
            .iter()
            .filter(|(_, c)| *c != "closed")
            .map(|(id, _)| id.as_str())
            .collect(),
    }))
}
