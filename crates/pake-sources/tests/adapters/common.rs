//! What every adapter test shares: the fixtures, a source configuration pointed at the mock,
//! requests, and a gate that counts turns.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pake_domain::TenantId;
use pake_domain::search::QueryText;
use pake_ports::{SourceError, SourceRequest, Turn, UpstreamGate};
use pake_sources::SourceConfig;
use wiremock::{MockServer, ResponseTemplate};

pub(crate) const UA: &str = "PAKE-test/1.0 (+https://example.invalid/pake; ops@example.invalid)";

pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub(crate) fn config(server: &MockServer, key: Option<&str>) -> SourceConfig {
    SourceConfig {
        follow_redirects: true,
        base_url: server.uri(),
        api_key: key.map(str::to_owned),
        timeout: Duration::from_millis(800),
        max_bytes: 64 * 1024,
        user_agent: UA.into(),
        headers: None,
    }
}

pub(crate) fn request(q: &str, max: u32) -> SourceRequest {
    SourceRequest::new(TenantId::new(), QueryText::parse(q).unwrap(), max)
}

pub(crate) fn atom(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body, "application/atom+xml; charset=utf-8")
}

/// Counts the turns an adapter takes (one per HTTP request).
#[derive(Default)]
pub(crate) struct CountingGate(pub(crate) AtomicU32);

#[async_trait::async_trait]
impl UpstreamGate for CountingGate {
    async fn turn(&self) -> Result<Turn, SourceError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Turn::free())
    }
}
