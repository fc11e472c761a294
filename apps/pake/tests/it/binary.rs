//! The `pake` binary end to end: first start prints the super admin's password exactly once,
//! SIGTERM shuts down gracefully, `pake config` redacts secrets, `pake migrate` migrates.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pake");

fn pake(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("PAKE_BOOTSTRAP_ADMIN_PASSWORD")
        .env("PAKE_SERVER__BIND", "127.0.0.1:0")
        .env("PAKE_SERVER__WORKERS", "1")
        .env("PAKE_PASSWORDS__ARGON2_MEMORY_KIB", "1024")
        .env("PAKE_PASSWORDS__ARGON2_ITERATIONS", "1")
        .env("PAKE_STORE__DATA_DIR", dir.join("data"));
    cmd
}

/// Starts `pake serve`, reads stdout until the listening line, then sends SIGTERM and waits.
/// Returns (stdout lines, stderr text, exit success).
fn serve_once(dir: &std::path::Path) -> (Vec<String>, String, bool) {
    serve_with(pake(dir), |_| {})
}

/// As [`serve_once`] with a prepared command, calling `during` with the port while it serves.
fn serve_with(mut cmd: Command, during: impl FnOnce(u16)) -> (Vec<String>, String, bool) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pake");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let done = line.starts_with("PAKE listening on");
        lines.push(line);
        if done || Instant::now() > deadline {
            break;
        }
    }
    let port = lines
        .last()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0);
    during(port);
    let pid = child.id().to_string();
    let term = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(term.success());
    let output = child.wait_with_output().expect("wait");
    (
        lines,
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.success(),
    )
}

#[test]
fn first_start_prints_the_one_time_password_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (first, stderr, ok) = serve_once(dir.path());
    assert!(ok, "clean exit after SIGTERM: {stderr}");
    let password_lines: Vec<_> = first
        .iter()
        .filter(|l| l.contains("One-time password"))
        .collect();
    assert_eq!(password_lines.len(), 1, "{first:?}");
    let password = password_lines[0]
        .rsplit(": ")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(password.chars().count(), 20);
    assert!(
        !stderr.contains(&password),
        "the password never reaches the logs"
    );
    assert!(stderr.contains("shutdown complete"), "{stderr}");
    assert!(
        first
            .last()
            .unwrap()
            .starts_with("PAKE listening on http://127.0.0.1:")
    );

    let (second, stderr, ok) = serve_once(dir.path());
    assert!(ok, "{stderr}");
    assert!(
        !second.iter().any(|l| l.contains("password")),
        "printed only once: {second:?}"
    );
}

#[test]
fn config_command_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = pake(dir.path())
        .arg("config")
        .env("PAKE_BOOTSTRAP_ADMIN_PASSWORD", "Quiet-Harbour-42!")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[server]") && text.contains("bind = \"127.0.0.1:0\""),
        "{text}"
    );
    assert!(text.contains("admin_password = \"<redacted>\""), "{text}");
    assert!(!text.contains("Quiet-Harbour"), "{text}");
}

#[test]
fn bad_configuration_exits_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = pake(dir.path())
        .arg("config")
        .env("PAKE_SERVER__WORKERS", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid configuration"));
}

#[test]
fn migrate_command_applies_then_finds_nothing_pending() {
    let dir = tempfile::tempdir().unwrap();
    let first = pake(dir.path()).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).starts_with("applied 4 migration(s)"));
    let second = pake(dir.path()).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&second.stdout).starts_with("applied 0 migration(s)"));
}

#[test]
fn json_logs_carry_the_request_id_and_never_a_password() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = pake(dir.path());
    cmd.env("PAKE_LOG__FORMAT", "json")
        .env("PAKE_BOOTSTRAP_ADMIN_PASSWORD", "Quiet-Harbour-42!");
    let (_, stderr, ok) = serve_with(cmd, |port| {
        let body = r#"{"tenant":"platform","username":"admin","password":"Quiet-Harbour-42!"}"#;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-ID: trace-me-123\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    });
    assert!(ok, "{stderr}");
    let access: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "pake::access")
        .collect();
    let line = access
        .iter()
        .find(|v| v["span"]["request_id"] == "trace-me-123")
        .expect("access line with the request id");
    assert_eq!(line["route"], "/api/v1/auth/login");
    assert_eq!(line["status"], 200);
    assert!(
        !stderr.contains("Quiet-Harbour-42!"),
        "no password in the logs"
    );
    assert!(!stderr.contains("eyJ"), "no token in the logs");
}
