//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto;
use crate::error::{ErrorCode, FieldError, Problem};
use crate::routes::{audit, auth, collections, docs, health, search, system, tenants, users};

/// PAKE's API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "PAKE",
        description = "Multi-tenant research search: federated arXiv, PubMed and web search with \
                       tenants, users, roles and plans. Errors are application/problem+json with a \
                       stable `code` (see docs/errors.md). Authenticate with `Authorization: Bearer \
                       <access token>` from `POST /api/v1/auth/login`.",
        license(name = "Apache-2.0")
    ),
    paths(
        health::live, health::ready, docs::openapi_json,
        auth::jwks, auth::login, auth::refresh, auth::logout, auth::logout_all, auth::me,
        auth::change_password, auth::sessions, auth::revoke_session,
        tenants::create, tenants::list, tenants::get, tenants::update, tenants::delete,
        tenants::analytics,
        users::create, users::list, users::get, users::update, users::delete, users::unlock,
        users::reset_password,
        audit::list,
        search::search, search::quick, search::more, search::history::history,
        search::history::analytics,
        search::history::popular, search::saved::create_saved, search::saved::list_saved,
        search::saved::get_saved, search::saved::update_saved, search::saved::delete_saved,
        search::saved::run_saved, search::history::entry, search::history::export,
        search::saved::export_saved, collections::create, collections::list, collections::get,
        collections::update, collections::delete, collections::add_item, collections::items,
        collections::update_item, collections::delete_item, collections::export,
        system::status, system::metrics,
    ),
    components(schemas(
        Problem, ErrorCode, FieldError, health::Liveness, health::ReadinessBody, health::Check,
        dto::Pagination, dto::UserDto, dto::TenantDto, dto::LimitsDto, dto::ProvisioningDto,
        dto::SessionDto, dto::AuditEventDto,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "docs", description = "This document"),
        (name = "auth", description = "Login, tokens, sessions"),
        (name = "tenants", description = "Organisations (super admin; admins read and update their own)"),
        (name = "users", description = "Users of the caller's tenant"),
        (name = "audit", description = "The tenant's audit trail"),
        (name = "collections", description = "Shared reading lists: collections of papers kept from searches"),
        (name = "export", description = "Kept results as BibTeX, RIS, CSL-JSON or CSV (plan feature `export`)"),
        (name = "system", description = "The platform operator's view of a replica (super admin)"),
        (name = "search", description = "Federated search over arXiv, PubMed, Europe PMC, Crossref, OpenAlex, Semantic Scholar and the web; paging, history, analytics, saved searches")
    )
)]
pub struct ApiDoc;

/// Declares the bearer (JWT) security scheme the paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The document, with the running version.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    env!("CARGO_PKG_VERSION").clone_into(&mut doc.info.version);
    doc
}
