//! PAKE's HTTP layer: actix-web handlers, middleware, problem+json errors, and the OpenAPI document
//! with Swagger UI (`/docs`) and ReDoc (`/redoc`).
//!
//! Handlers are thin: extract, call one service, map the result. [`run`] serves an [`AppState`] on
//! a listener the caller bound (port 0 in tests), so the binary and the tests start the very same
//! server.

pub mod body_deadline;
pub mod dto;
pub mod error;
pub mod extract;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod policy;
pub mod request_id;
pub mod routes;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use pake_core::Services;
use pake_domain::PlanCatalog;

use crate::body_deadline::BodyDeadline;
use crate::error::{json_error, path_error, query_error};
use crate::policy::ResponsePolicy;
use crate::request_id::RequestIdentity;
use crate::routes::docs::Docs;

/// Everything the handlers share: one typed state, not many `web::Data` lookups.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub services: Services,
    /// The plans in force (to show a tenant's effective limits).
    pub plans: Arc<PlanCatalog>,
    /// Pre-rendered documentation.
    pub docs: Arc<Docs>,
    /// When this process started serving.
    pub started: std::time::Instant,
    /// The effective configuration with secrets redacted (for the system status).
    pub config_summary: Arc<serde_json::Value>,
    /// Prometheus metrics.
    pub metrics: Arc<metrics::HttpMetrics>,
    /// The bearer token `/metrics` on the API listener requires (none: not served there).
    pub metrics_token: Option<Arc<str>>,
    /// Proxies whose `Forwarded`/`X-Forwarded-For` name the client (for limits and audit).
    pub trusted_proxies: Arc<Vec<extract::ProxyNet>>,
}

impl AppState {
    /// State over `services`, rendering the OpenAPI document once.
    pub fn new(services: Services, plans: Arc<PlanCatalog>) -> Self {
        Self {
            services,
            plans,
            docs: Arc::new(Docs::new(&openapi::document())),
            started: std::time::Instant::now(),
            config_summary: Arc::new(serde_json::Value::Null),
            metrics: Arc::new(metrics::HttpMetrics::new()),
            metrics_token: None,
            trusted_proxies: Arc::default(),
        }
    }

    /// The same state trusting `proxies` to name the client.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: Vec<extract::ProxyNet>) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// The same state serving `/metrics` on the API listener behind `token`.
    #[must_use]
    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        self.metrics_token = token.map(Arc::from);
        self
    }

    /// The same state showing `summary` (secrets redacted) as the configuration.
    #[must_use]
    pub fn with_config_summary(mut self, summary: serde_json::Value) -> Self {
        self.config_summary = Arc::new(summary);
        self
    }
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Worker threads.
    pub workers: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How long a request body may take to arrive after the head (then 408 and the connection
    /// closes).
    pub client_body_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Whether `/health` probes are written to the access log.
    pub log_probes: bool,
    /// Send `Strict-Transport-Security` (TLS here or at a trusted proxy).
    pub hsts: bool,
    /// Compress compressible bodies of at least this many bytes (0: never).
    pub compress_min_bytes: usize,
    /// Origins allowed by CORS (`*`: any origin, then without credentials); empty: CORS off.
    pub cors_origins: Vec<String>,
    /// Count requests for Prometheus (when `/metrics` is served anywhere).
    pub metrics: bool,
    /// Serve HTTPS with this configuration (HTTP/2 and HTTP/1.1 by ALPN).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            body_limit: 256 * 1024,
            client_body_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(30),
            log_probes: false,
            hsts: false,
            compress_min_bytes: 1024,
            cors_origins: Vec::new(),
            metrics: false,
            tls: None,
        }
    }
}

/// Registers the application (state, extractor limits, middleware, routes) on `cfg`; used by
/// [`run`] and by in-process tests.
pub fn configure(
    state: &web::Data<AppState>,
    options: &HttpOptions,
) -> impl Fn(&mut web::ServiceConfig) + Clone + use<> {
    let state = state.clone();
    let limit = options.body_limit;
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .app_data(json_config(limit))
            .app_data(web::PayloadConfig::new(limit))
            .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(e).into()))
            .app_data(web::PathConfig::default().error_handler(|e, _| path_error(e).into()))
            .configure(routes::configure);
    }
}

/// The JSON extractor's settings: bodies over `limit` bytes → 413, malformed → 400, wrong content
/// type → 415, all as problem+json.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|e, _| json_error(e).into())
}

/// A TLS configuration from PEM files: the certificate chain (leaf first) and its private key.
///
/// # Errors
/// A message naming the file that could not be read or used.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves only `GET /metrics`, without authentication, on `listener` (a separate address that only
/// the monitoring network reaches).
///
/// # Errors
/// When the listener cannot be used.
pub fn run_metrics(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(routes::metrics::open))
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

/// Serves `state` on `listener`. Signals are the caller's: stop the server through its handle
/// (`stop(true)` stops accepting and lets in-flight requests finish within `shutdown_timeout`).
///
/// # Errors
/// When the listener cannot be used.
pub fn run(
    listener: TcpListener,
    state: AppState,
    options: &HttpOptions,
) -> std::io::Result<Server> {
    let metrics = options.metrics.then(|| Arc::clone(&state.metrics));
    let state = web::Data::new(state);
    let routes = configure(&state, options);
    let log_probes = options.log_probes;
    let deadline = BodyDeadline {
        timeout: options.client_body_timeout,
    };
    let policy = ResponsePolicy {
        hsts: options.hsts,
        compress_min_bytes: options.compress_min_bytes,
        cors: Arc::new(options.cors_origins.clone()),
    };
    let server = HttpServer::new(move || {
        App::new()
            .wrap(deadline)
            .wrap(policy.clone())
            .wrap(RequestIdentity {
                log_probes,
                metrics: metrics.clone(),
            })
            .configure(routes.clone())
            .default_service(web::to(routes::not_found))
    })
    .workers(options.workers)
    .shutdown_timeout(options.shutdown_timeout.as_secs())
    .disable_signals();
    let server = match &options.tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls.as_ref().clone())?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}
