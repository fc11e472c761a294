//! Extractors: the authenticated caller and the request's audit facts.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, USER_AGENT};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use pake_core::{Caller, CoreError, RequestMeta};

use crate::AppState;
use crate::error::ApiError;
use crate::request_id::RequestId;

/// The request's audit facts: client address, user agent, request id.
pub struct Meta(pub RequestMeta);

fn meta_of(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        ip: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
        request_id: req
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.to_string()),
    }
}

impl FromRequest for Meta {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(meta_of(req))))
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn authenticate(
    req: HttpRequest,
    allow_password_change: bool,
) -> Result<(Caller, RequestMeta), ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(CoreError::Unauthorized)?
        .clone();
    let token = bearer(&req).ok_or(CoreError::Unauthorized)?;
    let x_tenant = req
        .headers()
        .get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let meta = meta_of(&req);
    let caller = state
        .services
        .auth
        .authenticate(&token, x_tenant.as_deref(), &meta)
        .await?;
    if caller.password_change_required && !allow_password_change {
        return Err(CoreError::PasswordChangeRequired.into());
    }
    // Limits come before any database or upstream work of the handler.
    let decision = state.services.limits.admit(&caller).await?;
    req.extensions_mut().insert(decision);
    // for the access log line
    req.extensions_mut().insert(caller.clone());
    Ok((caller, meta))
}

/// An authenticated caller whose password is in order. A token issued for a one-time password
/// gets 403 `password_change_required` here.
pub struct Auth(pub Caller);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req, false).await.map(|(c, _)| Self(c)) })
    }
}

/// An authenticated caller, also with a one-time password still to change (for `/auth/me` and
/// `/auth/password` only).
pub struct AuthAllowingPasswordChange(pub Caller);

impl FromRequest for AuthAllowingPasswordChange {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req, true).await.map(|(c, _)| Self(c)) })
    }
}

/// Counts a login or refresh attempt against the client address's limit (in front of the account
/// lockout); the decision goes on the response's `RateLimit-*` headers.
pub async fn admit_address(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let address = req
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    let decision = state.services.limits.admit_address(&address).await?;
    req.extensions_mut().insert(decision);
    Ok(())
}
