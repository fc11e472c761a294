//! Logging (human-readable in a terminal, JSON in production) and, when an OTLP endpoint is
//! configured, OpenTelemetry trace export over OTLP/HTTP (protobuf) with W3C `traceparent`
//! propagation. Nothing is exported when no endpoint is set.
//!
//! Connections the HTTP layer refuses or loses because of the client (a malformed request head,
//! two `Content-Length`s, a stalled or vanished client) are not errors of PAKE: actix-http would
//! log each at ERROR, so anyone could flood the error log. [`RefusedConnections`] turns them into
//! at most one WARN line per [`REFUSED_LOG_EVERY`], counting the ones it stands for.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogConfig, LogFormat, TracingConfig};

/// Keeps the trace pipeline alive; dropping it flushes the spans still batched.
#[must_use = "hold the guard until the process ends, or batched spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    refused: RefusedConnections,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.refused.report_now();
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
    let refused = RefusedConnections::default();
    // A second init (tests) keeps the first subscriber.
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(refused.clone())
        .with(fmt)
        .with(otel)
        .try_init();
    if installed.is_ok() {
        refused.spawn_reporter(REFUSED_LOG_EVERY);
    }
    Telemetry { provider, refused }
}

/// At most one line about refused connections per this interval.
pub const REFUSED_LOG_EVERY: Duration = Duration::from_secs(10);

/// What actix-http's connection dispatcher says when it ends a connection with an error.
const DISPATCHER: &str = "actix_http::h1::dispatcher";
const STREAM_ERROR: &str = "stream error: ";
/// The dispatcher errors a client causes (`actix_http::error::DispatchError`'s texts): a request
/// the parser refuses, a head or body too slow, a client that left or did not close in time.
/// Anything else the dispatcher reports (service, body, upgrade, internal errors) stays ERROR.
const CLIENT_FAULTS: [&str; 5] = [
    "request parse error",
    "request did not complete within the specified timeout",
    "handler dropped payload before reading EOF",
    "I/O error",
    "connection shutdown timeout",
];

/// The layer that keeps client faults out of the error log: it disables actix-http's ERROR event
/// for each and counts it; a reporter thread writes the count as one WARN line (target
/// `pake::http`, with the latest reason) as soon as there is one, then at most once per interval,
/// and [`Telemetry`] writes what is left when it is dropped. (The line cannot be written from
/// inside the layer: `tracing` drops an event raised while another is being dispatched.)
#[derive(Clone, Default)]
pub struct RefusedConnections {
    shared: Arc<(Mutex<Unreported>, Condvar)>,
}

#[derive(Default)]
struct Unreported {
    connections: u64,
    reason: String,
}

impl RefusedConnections {
    fn count(&self, reason: String) {
        let (state, wake) = &*self.shared;
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        state.connections += 1;
        state.reason = reason;
        wake.notify_one();
    }

    /// The connections counted since the last take, and the latest reason.
    fn take(&self) -> Unreported {
        let (state, _) = &*self.shared;
        std::mem::take(&mut *state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Waits until a connection was counted, then takes the count.
    fn wait_and_take(&self) -> Unreported {
        let (state, wake) = &*self.shared;
        let guard = state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut state = wake
            .wait_while(guard, |s| s.connections == 0)
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *state)
    }

    /// Writes the count since the last line, if there is one.
    pub fn report_now(&self) {
        report(&self.take());
    }

    /// Starts the thread that writes the counts, at most one line per `every`.
    fn spawn_reporter(&self, every: Duration) {
        let this = self.clone();
        let _ = std::thread::Builder::new()
            .name("pake-refused-log".into())
            .spawn(move || {
                loop {
                    report(&this.wait_and_take());
                    std::thread::sleep(every);
                }
            });
    }
}

fn report(unreported: &Unreported) {
    if unreported.connections == 0 {
        return;
    }
    tracing::warn!(
        target: "pake::http",
        connections = unreported.connections,
        reason = %unreported.reason,
        "connections refused or ended because of the client (malformed request, stalled or \
         vanished client), counted since the previous such line"
    );
}

/// The reason of a dispatcher ERROR event that a client caused, if it is one.
fn client_fault(event: &Event<'_>) -> Option<String> {
    let meta = event.metadata();
    if *meta.level() != Level::ERROR || meta.target() != DISPATCHER {
        return None;
    }
    let mut message = Message(None);
    event.record(&mut message);
    let reason = message.0?.strip_prefix(STREAM_ERROR)?.to_owned();
    CLIENT_FAULTS
        .iter()
        .any(|fault| reason.starts_with(fault))
        .then_some(reason)
}

struct Message(Option<String>);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S: Subscriber> Layer<S> for RefusedConnections {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        match client_fault(event) {
            Some(reason) => {
                self.count(reason);
                false
            }
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Every event that reaches the output: level, target, message.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<(Level, String, String)>>>);

    impl<S: Subscriber> Layer<S> for Written {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let mut message = Message(None);
            event.record(&mut message);
            let meta = event.metadata();
            self.0.lock().unwrap().push((
                *meta.level(),
                meta.target().to_owned(),
                message.0.unwrap_or_default(),
            ));
        }
    }

    #[test]
    fn client_faults_are_counted_into_one_warning_real_errors_stay_errors() {
        let written = Written::default();
        let refused = RefusedConnections::default();
        let subscriber = tracing_subscriber::registry()
            .with(refused.clone())
            .with(written.clone());
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..50 {
                tracing::error!(target: "actix_http::h1::dispatcher",
                    "stream error: {}", "request parse error: invalid Header provided");
                tracing::error!(target: "actix_http::h1::dispatcher",
                    "stream error: request did not complete within the specified timeout");
            }
            tracing::error!(target: "actix_http::h1::dispatcher", "stream error: service error");
            tracing::error!(target: "actix_http::h1::dispatcher",
                "Response payload stream error: boom");
            tracing::error!(target: "pake", "stream error: request parse error: not actix");
            refused.report_now();
            refused.report_now(); // nothing new: no second line
        });
        let lines = written.0.lock().unwrap().clone();
        let errors: Vec<_> = lines.iter().filter(|l| l.0 == Level::ERROR).collect();
        assert_eq!(errors.len(), 3, "real errors stay: {lines:?}");
        assert!(errors.iter().all(|e| !e.2.contains("invalid Header")));
        let warnings: Vec<_> = lines.iter().filter(|l| l.0 == Level::WARN).collect();
        assert_eq!(warnings.len(), 1, "{lines:?}");
        assert_eq!(warnings[0].1, "pake::http");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn the_count_restarts_after_each_take() {
        let refused = RefusedConnections::default();
        for n in 0..3 {
            refused.count(format!("request parse error {n}"));
        }
        let first = refused.take();
        assert_eq!(
            (first.connections, first.reason.as_str()),
            (3, "request parse error 2")
        );
        assert_eq!(refused.take().connections, 0);
        refused.count("I/O error".into());
        assert_eq!(refused.wait_and_take().connections, 1);
    }
}
