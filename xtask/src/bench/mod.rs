//! `cargo xtask bench`: builds the release binary, starts it on a fresh data directory, drives load
//! over loopback and prints one table. Every run measures `/health` first as the in-run baseline,
//! and a bare actix-web server as the yardstick for the middleware's cost. Figures are printed,
//! never asserted.

mod load;
mod search;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use load::{Load, RequestSpec, drive};

use crate::ci::{cargo, root};

struct Options {
    duration: Duration,
    connections: usize,
    scenario: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        duration: Duration::from_secs(5),
        connections: 32,
        scenario: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--duration" => {
                o.duration =
                    Duration::from_secs(value()?.parse().map_err(|_| "--duration takes seconds")?);
            }
            "--connections" => {
                o.connections = value()?
                    .parse()
                    .map_err(|_| "--connections takes a number")?;
            }
            "--scenario" => o.scenario = Some(value()?),
            other => return Err(format!("unknown bench option {other}")),
        }
    }
    Ok(o)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A server process started for the benchmark; killed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: Option<PathBuf>,
}

impl Server {
    fn start(mut cmd: Command, port: u16, dir: Option<PathBuf>) -> Result<Self, String> {
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn addr(&self) -> String {
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
fn get_status(port: u16, path: &str) -> Option<u16> {
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
fn cpu_ms(pid: u32) -> f64 {
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
fn rss_kib(pid: u32) -> Option<u64> {
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
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
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

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// One row of the table.
struct Row {
    name: String,
    throughput: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    errors: u64,
    rss_mib: f64,
    note: String,
}

impl Row {
    /// A row from one run: its throughput and latencies.
    fn from_outcome(name: &str, out: &load::Outcome, server: &Server, note: String) -> Self {
        Self {
            name: name.to_owned(),
            throughput: out.throughput(),
            p50: out.percentile_ms(0.50),
            p99: out.percentile_ms(0.99),
            p999: out.percentile_ms(0.999),
            errors: out.errors,
            rss_mib: rss_kib(server.pid()).unwrap_or(0) as f64 / 1024.0,
            note,
        }
    }
}

/// The bench super admin's password.
const ADMIN_PASSWORD: &str = "Bench-Harbour-Pass-1!";

/// Logs the bench admin in (blocking, one connection) and returns an access token.
fn login_token(port: u16) -> Result<String, String> {
    let body =
        format!(r#"{{"tenant":"platform","username":"admin","password":"{ADMIN_PASSWORD}"}}"#);
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    write!(
        s,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let json = text.split("\r\n\r\n").nth(1).ok_or("no body")?;
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    value["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login failed: {value}"))
}

/// argon2id hashes per second this machine does with every core busy (the release-built
/// `argon2_rate` example): the ceiling of logins per second.
fn argon2_ceiling() -> f64 {
    let binary = target_dir()
        .join("release")
        .join("examples")
        .join("argon2_rate");
    Command::new(binary)
        .arg("3")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Measures `spec` on `server`: a closed-loop run for the most it can do, then an open-loop run
/// at 75 % of that for honest latencies.
async fn measure(name: &str, server: &Server, spec: &RequestSpec, o: &Options) -> Row {
    let sampler = RssSampler::start(server.pid());
    let closed = drive(
        &server.addr(),
        spec,
        Load {
            connections: o.connections,
            duration: o.duration,
            rate: None,
        },
    )
    .await;
    let rate = (closed.throughput() * 0.75).max(1.0);
    let open = drive(
        &server.addr(),
        spec,
        Load {
            connections: o.connections,
            duration: o.duration,
            rate: Some(rate),
        },
    )
    .await;
    let rss = sampler.finish();
    Row {
        name: name.to_owned(),
        throughput: closed.throughput(),
        p50: open.percentile_ms(0.50),
        p99: open.percentile_ms(0.99),
        p999: open.percentile_ms(0.999),
        errors: closed.errors + open.errors,
        rss_mib: rss as f64 / 1024.0,
        note: format!("latency at {rate:.0} req/s"),
    }
}

fn login_spec(username: &str, password: &str) -> RequestSpec {
    let body =
        format!(r#"{{"tenant":"platform","username":"{username}","password":"{password}"}}"#);
    let expect = if password == ADMIN_PASSWORD && username == "admin" {
        200
    } else {
        401
    };
    RequestSpec::new("POST", "/api/v1/auth/login", &[], Some(&body), expect)
}

/// A login storm (closed loop, 8 connections) with `/health` probed at 200 req/s beside it, then
/// single-connection timing of unknown-user against wrong-password logins.
async fn login_scenarios(pake: &Server, o: &Options) -> Vec<Row> {
    let ceiling = argon2_ceiling();
    let storm = Load {
        connections: 8,
        duration: o.duration,
        rate: None,
    };
    let probe = Load {
        connections: 4,
        duration: o.duration,
        rate: Some(200.0),
    };
    let (addr, login, health_spec) = (
        pake.addr(),
        login_spec("admin", ADMIN_PASSWORD),
        RequestSpec::get("/health"),
    );
    let cpu_before = cpu_ms(pake.pid());
    let (logins, health) = tokio::join!(
        drive(&addr, &login, storm),
        drive(&addr, &health_spec, probe)
    );
    let cpu_per_login = (cpu_ms(pake.pid()) - cpu_before) / (logins.ok.max(1) as f64);
    let ratio = logins.throughput() / ceiling * 100.0;
    let mut rows = vec![
        Row::from_outcome(
            "login storm (argon2id 19 MiB, t=2)",
            &logins,
            pake,
            format!(
                "{ratio:.0} % of the machine's {ceiling:.0} argon2 hashes/s; server CPU {cpu_per_login:.1} ms/login"
            ),
        ),
        Row::from_outcome(
            "/health during the login storm",
            &health,
            pake,
            "open loop at 200 req/s".into(),
        ),
    ];
    let one = Load {
        connections: 1,
        duration: o.duration.min(Duration::from_secs(3)),
        rate: None,
    };
    let unknown = drive(&pake.addr(), &login_spec("nobody", ADMIN_PASSWORD), one).await;
    let wrong = drive(
        &pake.addr(),
        &login_spec("admin", "Wrong-Harbour-Pass-1!"),
        one,
    )
    .await;
    let (u, w) = (unknown.percentile_ms(0.5), wrong.percentile_ms(0.5));
    rows.push(Row::from_outcome(
        "login, unknown user (401)",
        &unknown,
        pake,
        "one connection".into(),
    ));
    rows.push(Row::from_outcome(
        "login, wrong password (401)",
        &wrong,
        pake,
        format!(
            "median differs from unknown user by {:.1} %",
            (w - u).abs() / u.max(w) * 100.0
        ),
    ));
    rows
}

fn build() -> Result<(PathBuf, PathBuf), String> {
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

fn start_pake(binary: &Path, workers: usize, env: &[(&str, &str)]) -> Result<Server, String> {
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

fn start_bare(binary: &Path, workers: usize) -> Result<Server, String> {
    let port = free_port()?;
    let mut cmd = Command::new(binary);
    cmd.args([port.to_string(), workers.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Server::start(cmd, port, None)
}

fn print_table(rows: &[Row], baseline: Option<f64>) {
    println!(
        "\n{:<34} {:>10} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9}  note",
        "scenario", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "RSS MiB", "÷/health",
    );
    for r in rows {
        let ratio = baseline.map_or_else(|| "-".to_owned(), |b| format!("{:.2}", r.throughput / b));
        println!(
            "{:<34} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>8.1} {:>9}  {}",
            r.name, r.throughput, r.p50, r.p99, r.p999, r.errors, r.rss_mib, ratio, r.note
        );
    }
}

/// `/auth/me` with the limits (user rate, tenant rate, daily quota) kept in Redis: with local
/// leases (the default `limits.lease_max`) and with one Redis round trip per limit per request
/// (`lease_max = 1`).
/// The server's store stays embedded, so the difference to the in-process row is the limits'.
async fn redis_limit_scenarios(
    binary: &Path,
    workers: usize,
    o: &Options,
) -> Result<Vec<Row>, String> {
    let redis = std::env::var("PAKE_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let mut rows = Vec::new();
    for (name, lease) in [
        ("/api/v1/auth/me, limits in Redis, leased", None),
        ("/api/v1/auth/me, limits in Redis, exact", Some("1")),
    ] {
        let mut env = vec![("REDIS_URL", redis.as_str())];
        env.extend(lease.map(|max| ("PAKE_LIMITS__LEASE_MAX", max)));
        let pake = start_pake(binary, workers, &env)?;
        let token = login_token(pake.port)?;
        let me = RequestSpec::new(
            "GET",
            "/api/v1/auth/me",
            &[("Authorization", format!("Bearer {token}"))],
            None,
            200,
        );
        rows.push(measure(name, &pake, &me, o).await);
    }
    Ok(rows)
}

/// Searches against mock upstreams with known delays: uncached (one at a time, distinct
/// queries) and cached (the same query under load).
async fn search_scenarios(binary: &Path, workers: usize, o: &Options) -> Result<Vec<Row>, String> {
    let upstream = search::mock_upstreams().await?;
    let base = format!("http://127.0.0.1:{upstream}");
    let env = [
        ("PAKE_SEARCH__ARXIV__BASE_URL", base.as_str()),
        ("PAKE_SEARCH__PUBMED__BASE_URL", base.as_str()),
        ("PAKE_SEARCH__WEB__BASE_URL", base.as_str()),
        ("PAKE_SEARCH__WEB__API_KEY", "fc-bench"),
        ("PAKE_SEARCH__ARXIV__INTERVAL_MS", "1"),
        ("PAKE_SEARCH__PUBMED__INTERVAL_MS", "1"),
        ("PAKE_SEARCH__WEB__INTERVAL_MS", "1"),
    ];
    let pake = start_pake(binary, workers, &env)?;
    let port = pake.port;
    let token = tokio::task::spawn_blocking(move || {
        let root = login_token(port)?;
        search::searcher(port, &root)
    })
    .await
    .map_err(|e| e.to_string())??;
    let uncached = {
        let token = token.clone();
        tokio::task::spawn_blocking(move || search::uncached(port, &token, 20))
            .await
            .map_err(|e| e.to_string())??
    };
    let mut sorted = uncached.clone();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let slowest = search::ARXIV_DELAY
        .max(search::PUBMED_DELAY * 3)
        .max(search::WEB_DELAY);
    let sum = search::ARXIV_DELAY + search::PUBMED_DELAY * 3 + search::WEB_DELAY;
    let mut rows = vec![Row {
        name: "search, uncached (3 mock sources)".into(),
        throughput: 1.0 / (uncached.iter().map(Duration::as_secs_f64).sum::<f64>() / 20.0),
        p50: ms(sorted[sorted.len() / 2]),
        p99: ms(sorted[sorted.len() - 1]),
        p999: ms(sorted[sorted.len() - 1]),
        errors: 0,
        rss_mib: 0.0,
        note: format!(
            "one at a time; slowest source {:.0} ms, all sources summed {:.0} ms",
            ms(slowest),
            ms(sum)
        ),
    }];
    let body = r#"{"query":"vortex lattices cached","max_results":10}"#;
    let spec = RequestSpec::new(
        "POST",
        "/api/v1/search/",
        &[("Authorization", format!("Bearer {token}"))],
        Some(body),
        200,
    );
    // warm the cache once
    tokio::task::spawn_blocking(move || {
        search::call(port, "POST", "/api/v1/search/", Some(&token), Some(body))
    })
    .await
    .map_err(|e| e.to_string())??;
    rows.push(measure("search, cached (same query)", &pake, &spec, o).await);
    Ok(rows)
}

/// Fairness at the shared upstreams: a basic tenant's arXiv + PubMed search alone, then during
/// three rounds of 40 concurrent arXiv + PubMed searches of an enterprise tenant. arXiv's
/// production pacing scaled down by ten (one request every 300 ms, one at a time, a 1.2 s
/// budget; in production 3 s and 10 s), NCBI's likewise (34 ms). Prints each probe's source
/// statuses and latency.
async fn fairness_scenarios(binary: &Path, workers: usize) -> Result<Vec<Row>, String> {
    let upstream = search::mock_upstreams().await?;
    let base = format!("http://127.0.0.1:{upstream}");
    let env = [
        ("PAKE_SEARCH__ARXIV__BASE_URL", base.as_str()),
        ("PAKE_SEARCH__PUBMED__BASE_URL", base.as_str()),
        ("PAKE_SEARCH__WEB__BASE_URL", base.as_str()),
        ("PAKE_SEARCH__ARXIV__INTERVAL_MS", "300"),
        ("PAKE_SEARCH__PUBMED__INTERVAL_MS", "34"),
        ("PAKE_SEARCH__BUDGET_MS", "1200"),
    ];
    let pake = start_pake(binary, workers, &env)?;
    let port = pake.port;
    let (flood, basic) = tokio::task::spawn_blocking(move || {
        let root = login_token(port)?;
        Ok::<_, String>((
            search::tenant_admin(port, &root, "deluge", "enterprise")?,
            search::tenant_admin(port, &root, "trickle", "basic")?,
        ))
    })
    .await
    .map_err(|e| e.to_string())??;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\nsearch fairness: a basic tenant's arXiv + PubMed search (budget 1200 ms; arXiv 1 request / 300 ms, one at a time, {} ms per answer)",
        search::ARXIV_DELAY.as_millis()
    );
    let (idle, _) = search::fairness_round(port, &flood, &basic, None).await?;
    println!(
        "  idle upstreams:                 {:>6.0} ms  {}",
        ms(idle.took),
        idle.statuses
    );
    let mut during = Vec::new();
    let mut all_ok = 0;
    for round in 0..3 {
        let (probe, flood_got) = search::fairness_round(port, &flood, &basic, Some(round)).await?;
        println!(
            "  during flood {}: {:>6.0} ms  {}   (the flood's arXiv calls: {} served, {} refused at once, {} other)",
            round + 1,
            ms(probe.took),
            probe.statuses,
            flood_got.ok,
            flood_got.refused,
            flood_got.other
        );
        all_ok += usize::from(probe.all_ok);
        during.push(probe.took);
    }
    during.sort();
    let n = during.len();
    Ok(vec![Row {
        name: "search, basic during a 40× flood".into(),
        throughput: 0.0,
        p50: ms(during[n / 2]),
        p99: ms(during[n - 1]),
        p999: ms(during[n - 1]),
        errors: (n - all_ok) as u64,
        rss_mib: 0.0,
        note: format!(
            "{all_ok}/{n} probes with every source ok; idle {:.0} ms",
            ms(idle.took)
        ),
    }])
}

/// Fairness at the shared hashing permits: a basic tenant's logins (one connection) alone, then
/// while an enterprise tenant floods logins on 16 connections. The hashing permits go round the
/// waiting tenants, so the basic tenant waits for at most one hash per permit, not the queue.
async fn login_fairness_scenarios(
    binary: &Path,
    workers: usize,
    o: &Options,
) -> Result<Vec<Row>, String> {
    let pake = start_pake(
        binary,
        workers,
        &[("PAKE_PLANS__BASIC__REQUESTS_PER_MINUTE", "1000000000")],
    )?;
    let port = pake.port;
    tokio::task::spawn_blocking(move || {
        let root = login_token(port)?;
        search::tenant_admin(port, &root, "deluge", "enterprise")?;
        search::tenant_admin(port, &root, "trickle", "basic")
    })
    .await
    .map_err(|e| e.to_string())??;
    let tenant_login = |tenant: &str| {
        let body = format!(
            r#"{{"tenant":"{tenant}","username":"admin","password":"{}"}}"#,
            search::TENANT_ADMIN_PASSWORD
        );
        RequestSpec::new("POST", "/api/v1/auth/login", &[], Some(&body), 200)
    };
    let (trickle, deluge) = (tenant_login("trickle"), tenant_login("deluge"));
    let one = Load {
        connections: 1,
        duration: o.duration,
        rate: None,
    };
    let flood = Load {
        connections: 16,
        duration: o.duration,
        rate: None,
    };
    let addr = pake.addr();
    let idle = drive(&addr, &trickle, one).await;
    let (during, flooding) =
        tokio::join!(drive(&addr, &trickle, one), drive(&addr, &deluge, flood));
    let (alone, shared) = (idle.percentile_ms(0.5), during.percentile_ms(0.5));
    Ok(vec![
        Row::from_outcome(
            "login, basic tenant alone",
            &idle,
            &pake,
            "one connection".into(),
        ),
        Row::from_outcome(
            "login, enterprise flood",
            &flooding,
            &pake,
            "16 connections, beside the row below".into(),
        ),
        Row::from_outcome(
            "login, basic during the flood",
            &during,
            &pake,
            format!(
                "p50 {:.2}× alone (goal ≤ 2×)",
                shared / alone.max(f64::MIN_POSITIVE)
            ),
        ),
    ])
}

/// `/health` with Prometheus metrics on, then also with OTLP trace export at the default
/// sampling (to a local sink): the cost of observability on the hot path.
async fn observability_scenarios(
    pake_bin: &Path,
    workers: usize,
    o: &Options,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let counted = start_pake(pake_bin, workers, &[("PAKE_METRICS__TOKEN", "bench")])?;
    rows.push(
        measure(
            "/health, Prometheus metrics on",
            &counted,
            &RequestSpec::get("/health"),
            o,
        )
        .await,
    );
    drop(counted);
    // and OTLP trace export at the default sampling, to a local sink
    let sink = format!("http://127.0.0.1:{}", search::mock_upstreams().await?);
    let traced = start_pake(
        pake_bin,
        workers,
        &[
            ("PAKE_METRICS__TOKEN", "bench"),
            ("PAKE_TRACING__OTLP_ENDPOINT", sink.as_str()),
        ],
    )?;
    rows.push(
        measure(
            "/health, metrics + OTLP traces",
            &traced,
            &RequestSpec::get("/health"),
            o,
        )
        .await,
    );
    Ok(rows)
}

/// `cargo xtask bench`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let (pake_bin, bare_bin) = build()?;
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let wanted = |name: &str| o.scenario.as_deref().is_none_or(|s| name.contains(s));
    println!(
        "PAKE bench: {} connections, {} s per phase, {workers} server workers, client and server share this machine",
        o.connections,
        o.duration.as_secs()
    );
    let mut rows = Vec::new();
    runtime.block_on(async {
        let bare = start_bare(&bare_bin, workers)?;
        rows.push(
            measure(
                "bare actix-web /health",
                &bare,
                &RequestSpec::get("/health"),
                &o,
            )
            .await,
        );
        drop(bare);

        let pake = start_pake(&pake_bin, workers, &[])?;
        rows.push(measure("/health", &pake, &RequestSpec::get("/health"), &o).await);
        if wanted("metrics") {
            rows.extend(observability_scenarios(&pake_bin, workers, &o).await?);
        }
        if wanted("ready") {
            rows.push(
                measure(
                    "/health/ready (store ping)",
                    &pake,
                    &RequestSpec::get("/health/ready"),
                    &o,
                )
                .await,
            );
        }
        if wanted("auth") {
            let token = login_token(pake.port)?;
            let me = RequestSpec::new(
                "GET",
                "/api/v1/auth/me",
                &[("Authorization", format!("Bearer {token}"))],
                None,
                200,
            );
            rows.push(measure("/api/v1/auth/me (JWT, revocation)", &pake, &me, &o).await);
        }
        if wanted("login") {
            rows.extend(login_scenarios(&pake, &o).await);
        }
        drop(pake);
        if wanted("search") {
            rows.extend(search_scenarios(&pake_bin, workers, &o).await?);
        }
        if wanted("login-fairness") {
            rows.extend(login_fairness_scenarios(&pake_bin, workers, &o).await?);
        }
        if wanted("search-fairness") {
            rows.extend(fairness_scenarios(&pake_bin, workers).await?);
        }
        if wanted("redis") {
            rows.extend(redis_limit_scenarios(&pake_bin, workers, &o).await?);
        }
        Ok::<(), String>(())
    })?;
    let baseline = rows
        .iter()
        .find(|r| r.name == "/health")
        .map(|r| r.throughput);
    print_table(&rows, baseline);
    if let (Some(bare), Some(health)) = (rows.first(), baseline) {
        println!(
            "\n/health with PAKE's full middleware stack: {:.0} % of a bare actix-web handler's throughput",
            health / bare.throughput * 100.0
        );
    }
    Ok(())
}
