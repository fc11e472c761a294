//! Route table.

pub mod audit;
pub mod auth;
pub mod collections;
pub mod docs;
pub mod export;
pub mod health;
pub mod metrics;
pub mod search;
pub mod system;
pub mod tenants;
pub mod users;

use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, CONTENT_TYPE};
use actix_web::{HttpResponse, Resource, ResponseError as _, web};

use crate::error::{ApiError, ErrorCode};

/// A resource. Its unsupported methods get actix's own 405, which carries an `Allow` header
/// listing the methods the resource has; [`method_not_allowed`] (in the response policy) gives it
/// the problem+json body. (A `default_service` of our own would lose `Allow`: the methods a
/// resource has are known only to actix's default.)
pub fn resource(path: &str) -> Resource {
    web::resource(path)
}

/// Turns actix's bare 405 (`Allow`, no body) into the problem+json 405, keeping `Allow`. Any
/// other response is returned as it is.
pub fn method_not_allowed(res: ServiceResponse) -> ServiceResponse {
    if res.status() != StatusCode::METHOD_NOT_ALLOWED || res.headers().contains_key(CONTENT_TYPE) {
        return res;
    }
    let allow = res.headers().get(ALLOW).cloned();
    let (req, _) = res.into_parts();
    let mut problem = ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this method is not allowed here",
    )
    .error_response();
    if let Some(allow) = allow {
        problem.headers_mut().insert(ALLOW, allow);
    }
    ServiceResponse::new(req, problem)
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
    collections::configure(cfg);
    system::configure(cfg);
    metrics::configure(cfg);
}
