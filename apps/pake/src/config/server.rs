//! `[server]`: the HTTP listener, its limits, TLS, CORS and trusted proxies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use pake_http::HttpOptions;
use pake_http::extract::ProxyNet;
use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// HTTP server settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address.
    pub bind: SocketAddr,
    /// Worker threads (default: one per CPU).
    pub workers: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Seconds shutdown waits for in-flight requests.
    pub shutdown_timeout_secs: u64,
    /// Milliseconds a request body may take to arrive after the request head; a client still
    /// sending (or stalled) then gets 408 `request_timeout` and its connection is closed.
    pub client_body_timeout_ms: u64,
    /// Send `Strict-Transport-Security` (set it when clients reach PAKE over TLS, directly or
    /// through a TLS-terminating proxy).
    pub hsts: bool,
    /// Compress JSON, text and documentation bodies of at least this many bytes with brotli or
    /// gzip, as the client accepts (0: never).
    pub compress_min_bytes: usize,
    /// Origins a browser may call the API from (`https://app.example.org`; `*` for any). Empty:
    /// no CORS headers. Credentials are never allowed: the API takes bearer tokens.
    pub cors_allowed_origins: Vec<String>,
    /// Proxies (addresses or networks, `10.0.0.0/8`) whose `Forwarded` / `X-Forwarded-For` name
    /// the client; the client address of limits and audit comes only through these hops.
    pub trusted_proxies: Vec<String>,
    /// PEM certificate chain (leaf first): with `tls_key_path`, PAKE serves HTTPS (rustls, HTTP/2
    /// and HTTP/1.1) and sends `Strict-Transport-Security`.
    pub tls_cert_path: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub tls_key_path: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let http = pake_http::HttpOptions::default();
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            workers: http.workers,
            body_limit_bytes: http.body_limit,
            shutdown_timeout_secs: http.shutdown_timeout.as_secs(),
            hsts: http.hsts,
            compress_min_bytes: http.compress_min_bytes,
            client_body_timeout_ms: u64::try_from(http.client_body_timeout.as_millis())
                .unwrap_or(u64::MAX),
            cors_allowed_origins: http.cors_origins,
            trusted_proxies: Vec::new(),
            tls_cert_path: None,
            tls_key_path: None,
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.workers == 0 {
            return Err(invalid("server.workers must be at least 1"));
        }
        if self.client_body_timeout_ms == 0 {
            return Err(invalid("server.client_body_timeout_ms must be at least 1"));
        }
        if self.body_limit_bytes < 1024 {
            return Err(invalid("server.body_limit_bytes must be at least 1024"));
        }
        if self.tls_cert_path.is_some() != self.tls_key_path.is_some() {
            return Err(invalid(
                "server.tls_cert_path and server.tls_key_path go together",
            ));
        }
        for proxy in &self.trusted_proxies {
            ProxyNet::parse(proxy).map_err(|e| invalid(format!("server.trusted_proxies: {e}")))?;
        }
        Ok(())
    }

    /// The trusted proxy networks (validated at load).
    pub fn trusted_proxies(&self) -> Vec<ProxyNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| ProxyNet::parse(p).ok())
            .collect()
    }

    /// The HTTP server's options: `log_probes` from `[log]`, `metrics` whether `/metrics` is
    /// served; HTTPS when both PEM files are configured (and then always HSTS).
    ///
    /// # Errors
    /// A message naming the PEM file that cannot be read or parsed.
    pub fn http_options(&self, log_probes: bool, metrics: bool) -> Result<HttpOptions, String> {
        let tls = match (&self.tls_cert_path, &self.tls_key_path) {
            (Some(cert), Some(key)) => Some(pake_http::tls_config(cert, key)?),
            _ => None,
        };
        Ok(HttpOptions {
            workers: self.workers,
            body_limit: self.body_limit_bytes,
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout_secs),
            log_probes,
            hsts: self.hsts || tls.is_some(),
            compress_min_bytes: self.compress_min_bytes,
            client_body_timeout: Duration::from_millis(self.client_body_timeout_ms),
            cors_origins: self.cors_allowed_origins.clone(),
            metrics,
            tls,
        })
    }
}
