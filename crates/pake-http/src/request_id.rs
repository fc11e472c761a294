//! Request ids and the access log.
//!
//! Every request gets an id: the incoming `X-Request-ID` when it is safe to echo, log and store
//! (1–64 characters of `A-Z a-z 0-9 . _ : -`), else a fresh one. The id is set on the response, stored in the request's
//! extensions, made current for the request's task (so error bodies carry it), and written on the
//! request's log lines. The same middleware writes the one access-log line per request.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};
use futures_util::future::LocalBoxFuture;
use tracing::Instrument;

/// The header carrying the id.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: RequestId;
}

/// A request's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

/// The id of the request being served on this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.to_string()).ok()
}

/// A fresh id: 32 hex digits, a random per-process prefix and a counter. Unique without a system
/// call per request (a random UUID costs a `getrandom` call each time).
fn generate() -> Arc<str> {
    static PREFIX: LazyLock<u64> = LazyLock::new(|| {
        let random = uuid::Uuid::new_v4().as_u64_pair().0;
        random ^ u64::from(std::process::id())
    });
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Arc::from(format!("{:016x}{n:016x}", *PREFIX))
}

/// The longest client-chosen id kept.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// The client's id when it is short and made of characters that are harmless in a log line, a
/// header, a problem body and the audit trail; anything else (control bytes, spaces, quotes,
/// non-ASCII, over [`MAX_CLIENT_ID_LEN`]) is replaced by a generated id.
fn accept(value: &HeaderValue) -> Option<Arc<str>> {
    let bytes = value.as_bytes();
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    let acceptable = (1..=MAX_CLIENT_ID_LEN).contains(&bytes.len()) && bytes.iter().all(allowed);
    acceptable.then(|| Arc::from(String::from_utf8_lossy(bytes)))
}

/// The middleware. `log_probes` decides whether `/health` probes get an access-log line.
#[derive(Clone)]
pub struct RequestIdentity {
    /// Log liveness/readiness probes too.
    pub log_probes: bool,
    /// Count every request for Prometheus.
    pub metrics: Option<std::sync::Arc<crate::metrics::HttpMetrics>>,
}

impl<S, B> Transform<S, ServiceRequest> for RequestIdentity
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestIdentityService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestIdentityService {
            service: Rc::new(service),
            log_probes: self.log_probes,
            metrics: self.metrics.clone(),
        }))
    }
}

/// The middleware's service.
pub struct RequestIdentityService<S> {
    service: Rc<S>,
    log_probes: bool,
    metrics: Option<std::sync::Arc<crate::metrics::HttpMetrics>>,
}

impl<S, B> Service<ServiceRequest> for RequestIdentityService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let id = req
            .headers()
            .get(&HEADER)
            .and_then(accept)
            .unwrap_or_else(generate);
        req.extensions_mut().insert(RequestId(Arc::clone(&id)));
        let log = self.log_probes || !req.path().starts_with("/health");
        let method = (log || self.metrics.is_some()).then(|| req.method().clone());
        let metrics = self.metrics.clone();
        let service = Rc::clone(&self.service);
        // Every log line written while serving the request carries its id.
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            http.method = %req.method(),
            http.route = tracing::field::Empty,
            http.status_code = tracing::field::Empty,
            tenant_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        if req.headers().contains_key("traceparent") {
            // continue the caller's trace (W3C trace context), when tracing export is on
            use tracing_opentelemetry::OpenTelemetrySpanExt as _;
            let parent = opentelemetry::global::get_text_map_propagator(|p| {
                p.extract(&Headers(req.headers()))
            });
            let _ = span.set_parent(parent);
        }
        Box::pin(
            CURRENT.scope(
                RequestId(Arc::clone(&id)),
                async move {
                    let mut res = service.call(req).await?;
                    let current = tracing::Span::current();
                    if let Some(route) = res.request().match_pattern() {
                        current.record("http.route", route.as_str());
                    }
                    current.record("http.status_code", res.status().as_u16());
                    if let Ok(value) = HeaderValue::from_str(&id) {
                        res.headers_mut().insert(HEADER.clone(), value);
                    }
                    add_rate_headers(&mut res);
                    if let Some(method) = method {
                        let route = res
                            .request()
                            .match_pattern()
                            .unwrap_or_else(|| "<unmatched>".to_owned());
                        let took = started.elapsed();
                        let status = res.status().as_u16();
                        if let Some(metrics) = &metrics {
                            metrics.observe_request(&method, &route, status, took);
                        }
                        if log {
                            let caller = res
                                .request()
                                .extensions()
                                .get::<pake_core::Caller>()
                                .map(|c| (c.tenant_id, c.user_id));
                            tracing::info!(
                                target: "pake::access",
                                method = %method,
                                route = %route,
                                status,
                                duration_ms = took.as_secs_f64() * 1000.0,
                                tenant_id = caller.map(|c| tracing::field::display(c.0)),
                                user_id = caller.map(|c| tracing::field::display(c.1)),
                                "request"
                            );
                        }
                    }
                    Ok(res)
                }
                .instrument(span),
            ),
        )
    }
}

/// Request headers as the propagator reads them.
struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl opentelemetry::propagation::Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(actix_web::http::header::HeaderName::as_str)
            .collect()
    }
}

/// The W3C trace-context headers (`traceparent`, `tracestate`) of the current span, for outgoing
/// requests (empty when tracing export is off or the span is not sampled).
pub fn trace_headers() -> Vec<(String, String)> {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let cx = tracing::Span::current().context();
    let mut headers = std::collections::HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut headers));
    headers.into_iter().collect()
}

/// Puts the request's rate-limit decision (left by the authentication extractor) on the response
/// as `RateLimit-*` headers, unless an error response set them already.
fn add_rate_headers<B>(res: &mut ServiceResponse<B>) {
    let decision = res
        .request()
        .extensions()
        .get::<pake_ports::RateDecision>()
        .copied();
    let Some(decision) = decision else { return };
    if res.headers().contains_key("ratelimit-limit") {
        return;
    }
    for (name, value) in crate::error::rate_headers(&decision) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            res.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_kept() {
        assert_eq!(
            accept(&HeaderValue::from_static("abc-123")).as_deref(),
            Some("abc-123")
        );
        assert_eq!(accept(&HeaderValue::from_static("")), None);
        assert_eq!(accept(&HeaderValue::from_static("has space")), None);
        let longest = "x".repeat(MAX_CLIENT_ID_LEN);
        assert!(accept(&HeaderValue::from_str(&longest).unwrap()).is_some());
        let long = "x".repeat(MAX_CLIENT_ID_LEN + 1);
        assert_eq!(accept(&HeaderValue::from_str(&long).unwrap()), None);
        // (CR, LF, NUL, ESC and DEL never get this far: the HTTP parser refuses them)
        for bad in [
            &b"a\tb"[..],
            b"<script>",
            b"a;b",
            b"a/b",
            "\u{e9}t\u{e9}".as_bytes(),
        ] {
            assert_eq!(
                accept(&HeaderValue::from_bytes(bad).unwrap()),
                None,
                "{bad:?}"
            );
        }
        assert_eq!(
            accept(&HeaderValue::from_static("Root:1-5e8.c_d-e")).as_deref(),
            Some("Root:1-5e8.c_d-e")
        );
    }

    #[test]
    fn generated_ids_are_unique_and_32_hex_digits() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
