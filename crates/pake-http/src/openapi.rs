//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;

use crate::error::{ErrorCode, FieldError, Problem};
use crate::routes::{docs, health};

/// PAKE's API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "PAKE",
        description = "Multi-tenant research search: federated arXiv, PubMed and web search with \
                       tenants, users, roles and plans. Errors are application/problem+json with a \
                       stable `code` (see docs/errors.md).",
        license(name = "Apache-2.0")
    ),
    paths(health::live, health::ready, docs::openapi_json),
    components(schemas(Problem, ErrorCode, FieldError, health::Liveness, health::ReadinessBody, health::Check)),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "docs", description = "This document")
    )
)]
pub struct ApiDoc;

/// The document, with the running version.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    env!("CARGO_PKG_VERSION").clone_into(&mut doc.info.version);
    doc
}
