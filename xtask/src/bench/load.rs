//! A small HTTP/1.1 load generator over loopback.
//!
//! Fixed concurrency (keep-alive connections) for a fixed duration. Two modes:
//! - closed loop (`rate: None`): each connection sends its next request as soon as the previous
//!   answer arrived; measures the most the server can do;
//! - open loop (`rate: Some(r)`): each connection sends on a fixed schedule and latency is counted
//!   from the *scheduled* send time, so a stalled server cannot hide its stall by slowing the
//!   client down (no coordinated omission, as in wrk2).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request to send, pre-rendered (or, for unique requests, rendered per send).
#[derive(Clone)]
pub(super) struct RequestSpec {
    bytes: Arc<Vec<u8>>,
    /// For unique requests: the head without its length and the body around `{n}`.
    unique: Option<Arc<(String, String, String, AtomicU64)>>,
    /// The status a successful answer has.
    pub expect_status: u16,
}

impl RequestSpec {
    /// A request with `method`, `path`, extra `headers` and an optional JSON `body`.
    pub(super) fn new(
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&str>,
        expect_status: u16,
    ) -> Self {
        use std::fmt::Write as _;
        let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (k, v) in headers {
            let _ = write!(text, "{k}: {v}\r\n");
        }
        if let Some(body) = body {
            let _ = write!(
                text,
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        } else {
            text.push_str("\r\n");
        }
        Self {
            bytes: Arc::new(text.into_bytes()),
            unique: None,
            expect_status,
        }
    }

    /// A POST of a JSON `body` in which `{n}` becomes a number no other request of this spec
    /// had (so a cache never answers it).
    pub(super) fn unique(path: &str, headers: &[(&str, String)], body: &str) -> Self {
        use std::fmt::Write as _;
        let mut head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (k, v) in headers {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        head.push_str("Content-Type: application/json\r\n");
        let (before, after) = body.split_once("{n}").unwrap_or((body, ""));
        Self {
            bytes: Arc::new(Vec::new()),
            unique: Some(Arc::new((
                head,
                before.to_owned(),
                after.to_owned(),
                AtomicU64::new(0),
            ))),
            expect_status: 200,
        }
    }

    fn render(&self) -> Cow<'_, [u8]> {
        match &self.unique {
            None => Cow::Borrowed(&self.bytes),
            Some(u) => {
                let (head, before, after, counter) = &**u;
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let body = format!("{before}{n}{after}");
                Cow::Owned(
                    format!("{head}Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes(),
                )
            }
        }
    }

    /// `GET path` expecting 200.
    pub(super) fn get(path: &str) -> Self {
        Self::new("GET", path, &[], None, 200)
    }
}

/// The shape of a load.
#[derive(Clone, Copy)]
pub(super) struct Load {
    /// Connections.
    pub connections: usize,
    /// How long.
    pub duration: Duration,
    /// Total requests per second for open loop; `None` for closed loop.
    pub rate: Option<f64>,
}

/// What a load measured.
pub(super) struct Outcome {
    /// Answers with the expected status.
    pub ok: u64,
    /// Other answers and connection failures.
    pub errors: u64,
    /// Latencies in microseconds.
    pub latency: Histogram<u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Outcome {
    /// Successful requests per second.
    pub(super) fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// A latency percentile in milliseconds.
    pub(super) fn percentile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// The `Content-Length` of a response head (0 when absent), without allocating.
fn content_length(head: &[u8]) -> usize {
    const NAME: &[u8] = b"content-length:";
    head.split(|b| *b == b'\n')
        .find(|line| line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME))
        .and_then(|line| std::str::from_utf8(&line[NAME.len()..]).ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Reads one response; returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = &buf[..header_end];
    let status = std::str::from_utf8(head.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length = content_length(head);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

async fn connection(
    addr: String,
    spec: RequestSpec,
    load: Load,
    index: usize,
    start: Instant,
) -> (u64, u64, Histogram<u64>) {
    let (mut ok, mut errors, mut hist) = (0u64, 0u64, new_histogram());
    let end = start + load.duration;
    let interval = load
        .rate
        .map(|r| Duration::from_secs_f64(load.connections as f64 / r));
    // Stagger open-loop connections across one interval.
    let mut next = interval.map(|i| start + i.mul_f64(index as f64 / load.connections as f64));
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        let scheduled = match next {
            Some(at) => {
                if at >= end {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                at
            }
            None => Instant::now(),
        };
        if scheduled >= end {
            break;
        }
        if stream.is_none() {
            stream = TcpStream::connect(&addr).await.ok();
            if let Some(s) = &stream {
                let _ = s.set_nodelay(true);
            }
        }
        let result = match stream.as_mut() {
            Some(s) => match s.write_all(&spec.render()).await {
                Ok(()) => read_response(s, &mut buf).await,
                Err(e) => Err(e),
            },
            None => Err(std::io::ErrorKind::ConnectionRefused.into()),
        };
        let micros = u64::try_from(scheduled.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        match result {
            Ok(status) if status == spec.expect_status => {
                ok += 1;
                let _ = hist.record(micros.min(60_000_000));
            }
            Ok(_) => errors += 1,
            Err(_) => {
                errors += 1;
                stream = None;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        if let (Some(at), Some(i)) = (next.as_mut(), interval) {
            *at += i;
        }
    }
    (ok, errors, hist)
}

/// Drives `spec` at `addr` (`127.0.0.1:PORT`) with `load`.
pub(super) async fn drive(addr: &str, spec: &RequestSpec, load: Load) -> Outcome {
    let start = Instant::now() + Duration::from_millis(20);
    let tasks: Vec<_> = (0..load.connections)
        .map(|i| {
            tokio::spawn(Box::pin(connection(
                addr.to_owned(),
                spec.clone(),
                load,
                i,
                start,
            )))
        })
        .collect();
    let mut outcome = Outcome {
        ok: 0,
        errors: 0,
        latency: new_histogram(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        if let Ok((ok, errors, hist)) = task.await {
            outcome.ok += ok;
            outcome.errors += errors;
            let _ = outcome.latency.add(&hist);
        }
    }
    outcome.elapsed = start.elapsed();
    outcome
}
