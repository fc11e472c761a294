//! What every response carries, checked over real connections: security headers (and a CSP that
//! still lets the documentation run), no server banner, CORS for configured origins only, and
//! compression of large bodies.

use crate::common;

use common::{spawn_app, spawn_with};

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn security_headers_on_api_errors_and_docs_and_no_banner() {
    let app = spawn_with(|c| c.server.hsts = true).await;
    for path in ["/health", "/api/v1/auth/me", "/nowhere", "/openapi.json"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            header(&res, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(header(&res, "x-frame-options"), Some("DENY"));
        assert_eq!(header(&res, "referrer-policy"), Some("no-referrer"));
        let csp = header(&res, "content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert!(
            header(&res, "strict-transport-security")
                .unwrap()
                .contains("max-age=")
        );
        assert!(res.headers().get("server").is_none(), "no banner");
    }
    for path in ["/docs/", "/redoc"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let csp = header(&res, "content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
    }
    let plain = spawn_app().await;
    let res = plain.client.get(plain.url("/health")).send().await.unwrap();
    assert!(
        res.headers().get("strict-transport-security").is_none(),
        "HSTS only when configured"
    );
}

#[tokio::test]
async fn cors_answers_configured_origins_only() {
    let app =
        spawn_with(|c| c.server.cors_allowed_origins = vec!["https://app.example.org".into()])
            .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/search/"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("https://app.example.org").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        header(&ok, "access-control-allow-origin"),
        Some("https://app.example.org")
    );
    assert!(
        header(&ok, "access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(
        header(&ok, "access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let simple = app
        .client
        .get(app.url("/health"))
        .header("origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&simple, "access-control-allow-origin"),
        Some("https://app.example.org")
    );
    assert!(
        header(&simple, "access-control-expose-headers")
            .unwrap()
            .contains("ratelimit-remaining")
    );

    let off = spawn_app().await;
    let res = off
        .client
        .get(off.url("/health"))
        .header("origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "no CORS configured: served, without CORS headers"
    );
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn large_bodies_are_compressed_small_ones_are_not() {
    let app = spawn_app().await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let plain = raw.get(app.url("/openapi.json")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let full = plain.bytes().await.unwrap().len();
    for (accept, expected) in [("gzip", "gzip"), ("gzip, br", "br")] {
        let res = raw
            .get(app.url("/openapi.json"))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(header(&res, "content-encoding"), Some(expected));
        assert!(
            header(&res, "vary")
                .unwrap()
                .to_lowercase()
                .contains("accept-encoding")
        );
        let compressed = res.bytes().await.unwrap().len();
        assert!(
            compressed * 3 < full,
            "{expected}: {compressed} of {full} bytes"
        );
    }
    // a client that decodes gzip gets the same document
    let decoded: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(decoded["openapi"], "3.1.0");
    let small = raw
        .get(app.url("/health"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert!(
        small.headers().get("content-encoding").is_none(),
        "below the threshold"
    );
}

#[tokio::test]
async fn tls_with_a_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    let (cert, key, ca) = (file("cert.pem"), file("key.pem"), file("ca.pem"));
    std::fs::write(
        file("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: Vec<Vec<std::ffi::OsString>> = vec![
        // a throwaway CA …
        ["req", "-x509"]
            .iter()
            .chain(&ec)
            .chain(&["-days", "2", "-subj", "/CN=PAKE test CA", "-keyout"])
            .map(Into::into)
            .chain([file("ca.key").into(), "-out".into(), ca.clone().into()])
            .collect(),
        // … and a server certificate it signs
        ["req"]
            .iter()
            .chain(&ec)
            .chain(&["-subj", "/CN=localhost", "-keyout"])
            .map(Into::into)
            .chain([key.clone().into(), "-out".into(), file("leaf.csr").into()])
            .collect(),
        ["x509", "-req", "-days", "2", "-CAcreateserial", "-in"]
            .iter()
            .map(Into::into)
            .chain([
                file("leaf.csr").into(),
                "-CA".into(),
                ca.clone().into(),
                "-CAkey".into(),
                file("ca.key").into(),
                "-extfile".into(),
                file("leaf.ext").into(),
                "-out".into(),
                cert.clone().into(),
            ])
            .collect(),
    ];
    for args in steps {
        let made = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .expect("openssl runs");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    let app = spawn_with(|c| {
        c.server.tls_cert_path = Some(cert.clone());
        c.server.tls_key_path = Some(key.clone());
    })
    .await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap())
        .build()
        .unwrap();
    let res = client
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        header(&res, "strict-transport-security").is_some(),
        "HSTS whenever PAKE serves TLS itself"
    );
    // plain HTTP on the TLS port gets no answer
    assert!(app.client.get(app.url("/health")).send().await.is_err());
}
