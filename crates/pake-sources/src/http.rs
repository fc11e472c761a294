//! The HTTP side every adapter shares: client, User-Agent, timeout, bounded bodies.

use std::time::Duration;

use pake_ports::SourceError;
use reqwest::header::HeaderMap;

/// Headers to add to every upstream request, computed per request (W3C trace context).
#[derive(Clone)]
pub struct HeaderHook(pub std::sync::Arc<dyn Fn() -> Vec<(String, String)> + Send + Sync>);

impl std::fmt::Debug for HeaderHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeaderHook")
    }
}

/// An adapter's connection settings.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The upstream's base URL (tests point it at a local mock server).
    pub base_url: String,
    /// The API key, when the upstream takes one.
    pub api_key: Option<String>,
    /// Time allowed for one HTTP request, connection included.
    pub timeout: Duration,
    /// The largest response body accepted, in bytes.
    pub max_bytes: usize,
    /// The User-Agent sent.
    pub user_agent: String,
    /// Extra headers per request (the caller's trace context), if any.
    pub headers: Option<HeaderHook>,
    /// Follow redirects (off for an unpaced mirror, so it cannot hand the requests on to the
    /// public upstream unpaced: a 3xx is then an upstream error).
    pub follow_redirects: bool,
}

/// A response read in full (up to the bound).
pub(crate) struct Body {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Body {
    /// The body as text (lossy), trimmed to a short message for errors.
    pub(crate) fn message(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        let text = text.trim();
        text.chars().take(200).collect()
    }

    /// `Retry-After` in seconds, when sent.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }
}

/// Builds the shared client.
pub(crate) fn client(config: &SourceConfig) -> reqwest::Client {
    let redirects = if config.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .redirect(redirects)
        .user_agent(config.user_agent.clone())
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .build()
        .unwrap_or_default()
}

fn transport(e: &reqwest::Error) -> SourceError {
    if e.is_timeout() {
        SourceError::Timeout
    } else {
        SourceError::Upstream {
            status: 0,
            message: "connection failed".into(),
        }
    }
}

/// Sends `request` (with the hook's headers) and reads the body, refusing more than `max_bytes`.
pub(crate) async fn send(
    mut request: reqwest::RequestBuilder,
    config: &SourceConfig,
) -> Result<Body, SourceError> {
    if let Some(hook) = &config.headers {
        for (name, value) in (hook.0)() {
            request = request.header(name, value);
        }
    }
    let max_bytes = config.max_bytes;
    let mut response = request.send().await.map_err(|e| transport(&e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    if response
        .content_length()
        .is_some_and(|n| n > max_bytes as u64)
    {
        return Err(too_large(max_bytes));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(too_large(max_bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        status,
        headers,
        bytes,
    })
}

fn too_large(max: usize) -> SourceError {
    SourceError::InvalidResponse(format!("response larger than {max} bytes"))
}
