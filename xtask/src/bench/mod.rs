//! `cargo xtask bench`: builds the release binary, starts it on a fresh data directory, drives load
//! over loopback and prints one table. Every run measures `/health` first as the in-run baseline,
//! and a bare actix-web server as the yardstick for the middleware's cost. Figures are printed,
//! never asserted.

mod load;
mod login;
mod search;
mod search_speed;
mod server;
mod upstream;

use std::path::Path;
use std::time::Duration;

use load::{Load, RequestSpec, drive};
use login::{login_fairness_scenarios, login_scenarios, login_token};
use search::{fairness_scenarios, search_scenarios};
use server::{RssSampler, Server, build, cpu_ms, rss_kib, start_bare, start_pake};

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

/// One row of the table.
struct Row {
    name: String,
    throughput: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    errors: u64,
    rss_mib: f64,
    /// Server CPU time per successful request, ms (0: not measured).
    cpu_ms: f64,
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
            cpu_ms: 0.0,
            note,
        }
    }
}

/// Measures `spec` on `server`: a closed-loop run for the most it can do, then an open-loop run
/// at 75 % of that for honest latencies.
async fn measure(name: &str, server: &Server, spec: &RequestSpec, o: &Options) -> Row {
    let sampler = RssSampler::start(server.pid());
    let cpu_before = cpu_ms(server.pid());
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
    let answered = (closed.ok + open.ok).max(1) as f64;
    let cpu = (cpu_ms(server.pid()) - cpu_before) / answered;
    Row {
        name: name.to_owned(),
        throughput: closed.throughput(),
        p50: open.percentile_ms(0.50),
        p99: open.percentile_ms(0.99),
        p999: open.percentile_ms(0.999),
        errors: closed.errors + open.errors,
        rss_mib: rss as f64 / 1024.0,
        cpu_ms: cpu,
        note: format!("latency at {rate:.0} req/s"),
    }
}

fn print_table(rows: &[Row], baseline: Option<f64>) {
    println!(
        "\n{:<40} {:>10} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9} {:>9}  note",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "RSS MiB",
        "CPU ms/r",
        "÷/health",
    );
    for r in rows {
        let ratio = baseline.map_or_else(|| "-".to_owned(), |b| format!("{:.3}", r.throughput / b));
        let cpu = if r.cpu_ms > 0.0 {
            format!("{:.3}", r.cpu_ms)
        } else {
            "-".to_owned()
        };
        println!(
            "{:<40} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>8.1} {:>9} {:>9}  {}",
            r.name, r.throughput, r.p50, r.p99, r.p999, r.errors, r.rss_mib, cpu, ratio, r.note
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
    let sink = format!(
        "http://127.0.0.1:{}",
        upstream::mock(upstream::Delays::SLOW).await?
    );
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
        if wanted("search-speed") {
            rows.extend(search_speed::search_speed_scenarios(&pake_bin, workers, &o).await?);
        }
        if wanted("enhance") {
            rows.push(search_speed::enhancement_row()?);
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
