//! Logging (human-readable in a terminal, JSON in production) and, when an OTLP endpoint is
//! configured, OpenTelemetry trace export over OTLP/HTTP (protobuf) with W3C `traceparent`
//! propagation. Nothing is exported when no endpoint is set.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogConfig, LogFormat, TracingConfig};

/// Keeps the trace pipeline alive; dropping it flushes the spans still batched.
#[must_use = "hold the guard until the process ends, or batched spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// The OTLP endpoint: the configuration's, else `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn endpoint(tracing: &TracingConfig) -> Option<String> {
    tracing
        .otlp_endpoint
        .clone()
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
        .filter(|e| !e.trim().is_empty())
}

fn provider(endpoint: &str, tracing: &TracingConfig) -> Option<SdkTracerProvider> {
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()
        .map_err(|e| eprintln!("pake: tracing export disabled: {e}"))
        .ok()?;
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
        tracing.sample_ratio.clamp(0.0, 1.0),
    )));
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(tracing.service_name.clone())
        .build();
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(resource)
            .build(),
    )
}

/// Installs the global subscriber (and the trace export when configured). `RUST_LOG`, when set,
/// overrides the configured filter.
#[allow(clippy::print_stderr)] // before the subscriber exists there is nowhere else to say it
pub fn init(config: &LogConfig, tracing: &TracingConfig) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt: Box<dyn Layer<_> + Send + Sync> = match config.format {
        LogFormat::Pretty => Box::new(fmt.with_target(true)),
        LogFormat::Json => Box::new(
            fmt.json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false),
        ),
    };
    let provider = endpoint(tracing).and_then(|e| provider(&e, tracing));
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        tracing_opentelemetry::layer().with_tracer(p.tracer("pake"))
    });
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    Telemetry { provider }
}
