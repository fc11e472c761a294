//! What every response carries: security headers (a strict Content-Security-Policy for the API, a
//! looser one that lets `/docs` and `/redoc` run), `Strict-Transport-Security` when configured,
//! CORS headers for the configured origins (preflights answered here), and compression (brotli or
//! gzip, as the client accepts) of compressible bodies above a threshold. A 405 gets its
//! problem+json body here, beside the `Allow` header actix computed.
//!
//! CORS never refuses a request: a request from an origin not on the list simply gets no
//! `Access-Control-Allow-Origin`, and the browser keeps the answer from the page. Credentials are
//! never allowed (the API authenticates with bearer tokens), so `*` is safe to configure.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_http::encoding::Encoder;
use actix_web::Error;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ContentEncoding, HeaderName, HeaderValue,
};
use futures_util::future::LocalBoxFuture;

/// The API's policy: nothing may load or frame anything.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
/// The documentation pages' policy: their own scripts, styles and workers (Swagger UI and ReDoc
/// are served from this server), still never framed.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' \
     'unsafe-inline' https://fonts.googleapis.com; font-src 'self' data: https://fonts.gstatic.com; \
     img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'self'";

/// Response policy settings.
#[derive(Debug, Clone)]
pub struct ResponsePolicy {
    /// Send `Strict-Transport-Security` (serving TLS, or behind a TLS-terminating proxy).
    pub hsts: bool,
    /// Compress bodies of at least this many bytes (0: never compress).
    pub compress_min_bytes: usize,
    /// Origins allowed by CORS (`*`: any); empty: no CORS headers at all.
    pub cors: std::sync::Arc<Vec<String>>,
}

const CORS_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const CORS_HEADERS: &str = "authorization, content-type, accept, x-tenant-id, x-request-id";
const CORS_EXPOSE: &str =
    "ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after, x-request-id";

impl ResponsePolicy {
    /// The `Access-Control-Allow-Origin` value for `origin`, when allowed.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?;
        let text = origin.to_str().ok()?;
        if self.cors.iter().any(|o| o == "*") {
            Some(HeaderValue::from_static("*"))
        } else if self.cors.iter().any(|o| o.eq_ignore_ascii_case(text)) {
            Some(origin.clone())
        } else {
            None
        }
    }
}

impl<S> Transform<S, ServiceRequest> for ResponsePolicy
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = Error> + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = ResponsePolicyService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ResponsePolicyService {
            service: Rc::new(service),
            policy: self.clone(),
        }))
    }
}

/// The middleware's service.
pub struct ResponsePolicyService<S> {
    service: Rc<S>,
    policy: ResponsePolicy,
}

/// The encoding to use for a request's `Accept-Encoding`: brotli, then gzip; never one the
/// client refused with `q=0`.
fn negotiate(accept: Option<&HeaderValue>) -> Option<ContentEncoding> {
    let accept = accept?.to_str().ok()?;
    let accepted = |name: &str| {
        accept.split(',').any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if accepted("br") {
        Some(ContentEncoding::Brotli)
    } else if accepted("gzip") {
        Some(ContentEncoding::Gzip)
    } else {
        None
    }
}

fn compressible(res: &ServiceResponse<BoxBody>) -> bool {
    let kind = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ["json", "text/", "javascript", "css", "xml", "svg"]
        .iter()
        .any(|k| kind.contains(k))
}

fn set_default(res: &mut ServiceResponse<BoxBody>, name: &'static str, value: &'static str) {
    let name = HeaderName::from_static(name);
    if !res.headers().contains_key(&name) {
        res.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
}

impl<S> Service<ServiceRequest> for ResponsePolicyService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = Error> + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let docs = {
            let p = req.path();
            p == "/docs" || p.starts_with("/docs/") || p == "/redoc" || p.starts_with("/redoc/")
        };
        let encoding = (self.policy.compress_min_bytes > 0)
            .then(|| negotiate(req.headers().get(ACCEPT_ENCODING)))
            .flatten();
        let allowed = self.policy.allow_origin(req.headers().get(header::ORIGIN));
        let preflight = req.method() == actix_web::http::Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight && !self.policy.cors.is_empty() {
            let mut answer = actix_web::HttpResponse::NoContent();
            if let Some(origin) = allowed {
                answer
                    .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
                    .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, CORS_METHODS))
                    .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, CORS_HEADERS))
                    .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
            }
            answer.insert_header((header::VARY, "Origin"));
            let res = req.into_response(answer.finish());
            return Box::pin(async move { Ok(res) });
        }
        let (service, policy) = (Rc::clone(&self.service), self.policy.clone());
        Box::pin(async move {
            let mut res = crate::routes::method_not_allowed(service.call(req).await?);
            if !policy.cors.is_empty() {
                if let Some(origin) = allowed {
                    let h = res.headers_mut();
                    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                    h.insert(
                        header::ACCESS_CONTROL_EXPOSE_HEADERS,
                        HeaderValue::from_static(CORS_EXPOSE),
                    );
                }
                res.headers_mut()
                    .append(header::VARY, HeaderValue::from_static("Origin"));
            }
            set_default(&mut res, "x-content-type-options", "nosniff");
            set_default(&mut res, "x-frame-options", "DENY");
            set_default(&mut res, "referrer-policy", "no-referrer");
            set_default(&mut res, "cross-origin-opener-policy", "same-origin");
            set_default(
                &mut res,
                "content-security-policy",
                if docs { DOCS_CSP } else { API_CSP },
            );
            if policy.hsts {
                set_default(
                    &mut res,
                    "strict-transport-security",
                    "max-age=31536000; includeSubDomains",
                );
            }
            res.headers_mut().remove(header::SERVER);
            let Some(encoding) = encoding else {
                return Ok(res);
            };
            let large = matches!(res.response().body().size(),
                BodySize::Sized(n) if n >= policy.compress_min_bytes as u64);
            let status = res.status();
            if !large
                || !compressible(&res)
                || res.headers().contains_key(CONTENT_ENCODING)
                || status == StatusCode::NO_CONTENT
                || status == StatusCode::PARTIAL_CONTENT
            {
                return Ok(res);
            }
            Ok(res.map_body(|head, body| Encoder::response(encoding, head, body).boxed()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_first_then_gzip_never_a_refused_one() {
        let n = |v: &'static str| negotiate(Some(&HeaderValue::from_static(v)));
        assert_eq!(n("gzip, deflate, br"), Some(ContentEncoding::Brotli));
        assert_eq!(n("gzip"), Some(ContentEncoding::Gzip));
        assert_eq!(n("br;q=0, gzip;q=0.5"), Some(ContentEncoding::Gzip));
        assert_eq!(n("identity"), None);
        assert_eq!(negotiate(None), None);
    }
}
