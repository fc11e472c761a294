//! The transport over real connections: a stalled request body is answered 408 and its
//! connection closed, every 405 says which methods the resource has, and a client's
//! `X-Request-ID` is echoed only when it is short and harmless.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{spawn_app, spawn_with};
use serde_json::Value;

fn port(app: &common::TestApp) -> u16 {
    app.address.rsplit(':').next().unwrap().parse().unwrap()
}

/// Sends `request` raw and reads until the server closes the connection (or `within` passes);
/// returns the text read, how long it took, and whether the server closed the connection.
fn exchange(port: u16, request: &[u8], within: Duration) -> (String, Duration, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(within)).unwrap();
    let started = Instant::now();
    s.write_all(request).unwrap();
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => read.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false, // timed out: still open
        }
    };
    (
        String::from_utf8_lossy(&read).into_owned(),
        started.elapsed(),
        closed,
    )
}

fn body_of(response: &str) -> Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_408_and_the_connection_closes() {
    let app = spawn_with(|c| c.server.client_body_timeout_ms = 300).await;
    let port = port(&app);
    // the head and one byte of a 100,000-byte body, then nothing
    let stalled =
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                    Content-Length: 100000\r\n\r\n{";
    let (response, took, closed) =
        tokio::task::spawn_blocking(move || exchange(port, stalled, Duration::from_secs(10)))
            .await
            .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{response}"
    );
    assert!(lower.contains("connection: close"), "{response}");
    let body = body_of(&response);
    assert_eq!(body["code"], "request_timeout", "{response}");
    assert_eq!(body["status"], 408);
    assert!(closed, "the server closed the connection");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "closed after about the timeout: {took:?}"
    );

    // the same stall on a path that never reads its body: the connection still ends
    let ignored = b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{";
    let (response, took, closed) =
        tokio::task::spawn_blocking(move || exchange(port, ignored, Duration::from_secs(10)))
            .await
            .unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(closed && took < Duration::from_secs(3), "{took:?}");

    // a body that arrives in time is served as before, on a connection that stays usable
    let (status, body) = app.login("platform", "admin", common::ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn every_405_lists_the_methods_of_its_resource() {
    let app = spawn_app().await;
    let cases: [(&str, &str, &[&str]); 5] = [
        ("DELETE", "/health", &["GET"]),
        ("GET", "/api/v1/auth/login", &["POST"]),
        ("PUT", "/api/v1/users/", &["GET", "POST"]),
        (
            "POST",
            "/api/v1/tenants/00000000-0000-0000-0000-000000000000",
            &["GET", "PUT", "PATCH", "DELETE"],
        ),
        ("PATCH", "/api/v1/auth/sessions/abc", &["DELETE"]),
    ];
    for (method, path, expected) in cases {
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        let allow = res
            .headers()
            .get("allow")
            .unwrap_or_else(|| panic!("{method} {path}: no Allow"))
            .to_str()
            .unwrap()
            .to_owned();
        let mut listed: Vec<&str> = allow.split(',').map(str::trim).collect();
        listed.sort_unstable();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(listed, expected, "{method} {path}: Allow: {allow}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        assert_eq!(
            res.headers()["x-content-type-options"],
            "nosniff",
            "the response policy still applies"
        );
        let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
        assert_eq!(body["request_id"], request_id.as_str());
    }
}

#[tokio::test]
async fn only_short_safe_request_ids_are_kept() {
    let app = spawn_app().await;
    let echoed = |value: &'static str| {
        let app = &app;
        async move {
            let res = app
                .client
                .get(app.url("/api/v1/nothing"))
                .header("x-request-id", value)
                .send()
                .await
                .unwrap();
            let header = res.headers()["x-request-id"].to_str().unwrap().to_owned();
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["request_id"], header.as_str(), "body and header agree");
            header
        }
    };
    assert_eq!(echoed("trace-abc.123:9_Z").await, "trace-abc.123:9_Z");
    let longest: &'static str = "a".repeat(64).leak();
    assert_eq!(echoed(longest).await, longest);
    let long: &'static str = "a".repeat(300).leak();
    for replaced in [long, "a b", "<script>", "x;y=1", "tab\there"] {
        let got = echoed(replaced).await;
        assert_ne!(got, replaced);
        assert_eq!(got.len(), 32, "a generated id: {got}");
        assert!(got.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    // CR, LF, ESC and NUL cannot even reach the server's code: the HTTP parser refuses the
    // request, and nothing of the id comes back
    let port = port(&app);
    for bad in [
        &b"evil\x1b[31mred"[..],
        b"nul\x00byte",
        b"split\rhere",
        b"fold\r\n continued",
    ] {
        let mut request =
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-ID: ".to_vec();
        request.extend_from_slice(bad);
        request.extend_from_slice(b"\r\n\r\n");
        let (response, _, _) =
            tokio::task::spawn_blocking(move || exchange(port, &request, Duration::from_secs(5)))
                .await
                .unwrap();
        assert!(response.starts_with("HTTP/1.1 400"), "{bad:?}: {response}");
        let text = String::from_utf8_lossy(bad);
        let first = text.split(['\x1b', '\0', '\r']).next().unwrap();
        assert!(!response.contains(first), "{bad:?} not echoed: {response}");
    }
}
