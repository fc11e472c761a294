//! Route table.

pub mod audit;
pub mod auth;
pub mod docs;
pub mod health;
pub mod metrics;
pub mod search;
pub mod system;
pub mod tenants;
pub mod users;

use actix_web::{HttpResponse, Resource, web};

use crate::error::{ApiError, ErrorCode};

/// A resource whose unsupported methods answer 405 problem+json.
pub fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this method is not allowed here",
    ))
}

/// Answers every unknown path with 404 problem+json.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::route_not_found())
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    docs::configure(cfg);
    auth::configure(cfg);
    tenants::configure(cfg);
    users::configure(cfg);
    audit::configure(cfg);
    search::configure(cfg);
    system::configure(cfg);
    metrics::configure(cfg);
}
