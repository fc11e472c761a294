//! `[log]`, `[metrics]` and `[tracing]`: what the server tells its operator.

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::redact;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable, for terminals.
    Pretty,
    /// One JSON object per line, for collectors.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `pake=debug,actix_web=warn`, …); `RUST_LOG` overrides it.
    pub level: String,
    /// Also write access-log lines for `/health` probes.
    pub access_log_probes: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
            access_log_probes: false,
        }
    }
}

/// Prometheus metrics: `/metrics` is served on `bind` (open: keep that address on the monitoring
/// network), and/or on the API listener behind `token`; with neither it is not served and requests
/// are not counted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A separate listen address for `/metrics` (e.g. `0.0.0.0:9100`).
    pub bind: Option<SocketAddr>,
    /// The bearer token `/metrics` on the API listener requires.
    #[serde(serialize_with = "redact")]
    pub token: Option<SecretString>,
}

/// OpenTelemetry trace export over OTLP/HTTP: on when `otlp_endpoint` (or the standard
/// `OTEL_EXPORTER_OTLP_ENDPOINT`) is set, off otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// The collector's base URL (`http://otel-collector:4318`); `/v1/traces` is appended.
    pub otlp_endpoint: Option<String>,
    /// The fraction of new traces sampled (a sampled parent's `traceparent` is always followed).
    pub sample_ratio: f64,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sample_ratio: 0.1,
            service_name: "pake".into(),
        }
    }
}

impl MetricsConfig {
    /// Whether `/metrics` is served (on its own listener or behind a token).
    pub fn enabled(&self) -> bool {
        self.bind.is_some() || self.token.is_some()
    }
}
