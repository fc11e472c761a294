//! The servers a bench drives: the release `pake` binary on a fresh data directory, and a bare
//! actix-web handler as the yardstick; their CPU time and resident memory.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::login::ADMIN_PASSWORD;
use crate::ci::{cargo, root};

pub(super) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

pub(super) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A server process started for the benchmark; killed on drop.
pub(super) struct Server {
    child: Child,
    pub(super) port: u16,
    dir: Option<PathBuf>,
}

impl Server {
    pub(super) fn start(mut cmd: Command, port: u16, dir: Option<PathBuf>) -> Result<Self, String> {
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let mut server = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if get_status(port, "/health") == Some(200) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = server
                    .dir
                    .as_ref()
                    .and_then(|d| std::fs::read_to_string(d.join("server.log")).ok())
                    .unwrap_or_default();
                return Err(format!("the server exited at start-up ({status}):\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "the server on port {} did not answer /health within 30 s",
            server.port
        ))
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A blocking one-off GET, for readiness polling.
pub(super) fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// CPU time (user + system) `pid` has used, in milliseconds.
pub(super) fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks * 10.0 // USER_HZ is 100 on Linux
}

/// Resident set size of `pid` in KiB.
pub(super) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Samples the peak RSS of `pid` until dropped.
pub(super) struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    pub(super) fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let (s, p) = (Arc::clone(&stop), Arc::clone(&peak));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    pub(super) fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

pub(super) fn build() -> Result<(PathBuf, PathBuf), String> {
    let status = cargo()
        .args([
            "build",
            "--release",
            "-p",
            "pake",
            "--bin",
            "pake",
            "-p",
            "pake-http",
            "-p",
            "pake-crypto",
            "--example",
            "bare_health",
            "--example",
            "argon2_rate",
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("release build failed".into());
    }
    let release = target_dir().join("release");
    Ok((
        release.join("pake"),
        release.join("examples").join("bare_health"),
    ))
}

pub(super) fn start_pake(
    binary: &Path,
    workers: usize,
    env: &[(&str, &str)],
) -> Result<Server, String> {
    let port = free_port()?;
    let dir = target_dir().join(format!("bench-data-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(binary);
    cmd.current_dir(&dir)
        .env("PAKE_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("PAKE_SERVER__WORKERS", workers.to_string())
        .env("PAKE_STORE__DATA_DIR", dir.join("data"))
        .env("PAKE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        // The wrong-password timing scenario repeats failures on one account: no lockout here.
        .env("PAKE_AUTH__LOCKOUT_THRESHOLD", "1000000000")
        // The load comes from one address and one user: lift the rate limits so the figures show
        // what a request costs (the limit checks still run on every request).
        .env("PAKE_LIMITS__ADDRESS_PER_MINUTE", "1000000000")
        .env("PAKE_PLANS__ENTERPRISE__REQUESTS_PER_MINUTE", "1000000000")
        .env(
            "PAKE_PLANS__ENTERPRISE__MAX_API_CALLS_PER_DAY",
            "1000000000000",
        )
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log);
    Server::start(cmd, port, Some(dir))
}

pub(super) fn start_bare(binary: &Path, workers: usize) -> Result<Server, String> {
    let port = free_port()?;
    let mut cmd = Command::new(binary);
    cmd.args([port.to_string(), workers.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Server::start(cmd, port, None)
}
