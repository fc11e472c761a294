//! The `pake` binary against what a stranger can do to its logs and what other local users could
//! read: requests the HTTP parser refuses never reach the error log and cannot flood it, and the
//! data directory, database and key files are private whatever the umask.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pake");

/// `pake serve` on an ephemeral port under `umask` (through `sh`, so no libc is needed), with
/// the data directory `data` and JSON logs; calls `during` with the port while it serves, then
/// sends SIGTERM. Returns stderr (the log) once the process ended.
fn serve(data: &Path, umask: &str, during: impl FnOnce(u16)) -> String {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" serve"))
        .arg(BIN)
        .env_remove("PAKE_BOOTSTRAP_ADMIN_PASSWORD")
        .env_remove("RUST_LOG")
        .env("PAKE_SERVER__BIND", "127.0.0.1:0")
        .env("PAKE_SERVER__WORKERS", "1")
        .env("PAKE_PASSWORDS__ARGON2_MEMORY_KIB", "1024")
        .env("PAKE_PASSWORDS__ARGON2_ITERATIONS", "1")
        .env("PAKE_STORE__DATA_DIR", data)
        .env("PAKE_LOG__FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pake");
    let stdout = child.stdout.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut port = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("PAKE listening on ") {
            port = rest.rsplit(':').next().unwrap().trim().parse().unwrap();
            break;
        }
        assert!(Instant::now() < deadline, "pake did not start");
    }
    assert_ne!(port, 0, "pake did not start");
    during(port);
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{log}");
    log
}

fn send(port: u16, request: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn parser_rejections_stay_out_of_the_error_log_and_cannot_flood_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = serve(&dir.path().join("data"), "077", |port| {
        let smuggling: [&[u8]; 3] = [
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        ];
        for round in 0..20 {
            let response = send(port, smuggling[round % smuggling.len()]);
            assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        }
        // the server still serves
        let ok = send(
            port,
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    });
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(!lines.is_empty(), "JSON log lines: {log}");
    let errors: Vec<_> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert!(errors.is_empty(), "no ERROR line: {errors:?}");
    assert!(
        !lines
            .iter()
            .any(|l| l["target"] == "actix_http::h1::dispatcher"),
        "actix-http's own line per refusal is gone: {log}"
    );
    let summaries: Vec<_> = lines
        .iter()
        .filter(|l| l["target"] == "pake::http")
        .collect();
    assert!(
        !summaries.is_empty() && summaries.len() <= 2,
        "one or two summary lines for 20 refusals within a few seconds: {summaries:?}"
    );
    for line in &summaries {
        assert_eq!(line["level"], "WARN");
        assert!(
            line["reason"]
                .as_str()
                .unwrap()
                .starts_with("request parse error")
        );
    }
    let counted: u64 = summaries
        .iter()
        .map(|l| l["connections"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 20, "every refusal is counted: {summaries:?}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Asserts the data directory, the database with its WAL/SHM files and the key files are private.
fn assert_private(data: &Path) {
    assert_eq!(mode(data), 0o700, "data directory");
    let keys = data.join("keys");
    assert_eq!(mode(&keys), 0o700, "key directory");
    for name in ["pake.db", "pake.db-wal", "pake.db-shm"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    let mut key_files = 0;
    for entry in std::fs::read_dir(&keys).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        key_files += 1;
    }
    assert!(key_files > 0, "a key file");
}

#[test]
fn files_at_rest_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // first start under a permissive umask: everything is created private
    serve(&data, "022", |_| assert_private(&data));
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("pake.db")), 0o600);

    // files an older version (or an operator) left readable are tightened at the next start
    let loosen = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    loosen(&data, 0o755);
    loosen(&data.join("keys"), 0o755);
    loosen(&data.join("pake.db"), 0o644);
    for entry in std::fs::read_dir(data.join("keys")).unwrap() {
        loosen(&entry.unwrap().path(), 0o644);
    }
    serve(&data, "000", |_| assert_private(&data));
}
