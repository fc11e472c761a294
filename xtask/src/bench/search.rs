//! Search latency against local mock upstreams with known delays: uncached searches (should take
//! about the slowest source, not the sum of all), cached ones (throughput and latency), and a
//! basic tenant's search while an enterprise tenant floods the shared upstreams.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use std::path::Path;

use super::load::RequestSpec;
use super::login::login_token;
use super::server::start_pake;
use super::upstream::{self, Delays};
use super::{Options, Row, measure};

/// One blocking JSON request; returns the status and the body.
pub(super) fn call(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, serde_json::Value), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = text.split("\r\n\r\n").nth(1).unwrap_or("");
    Ok((status, serde_json::from_str(json).unwrap_or_default()))
}

/// Creates an enterprise tenant with an admin and returns the admin's token.
pub(super) fn searcher(port: u16, root: &str) -> Result<String, String> {
    tenant_admin(port, root, "bench", "enterprise")
}

/// The password of every bench tenant's `admin`.
pub(super) const TENANT_ADMIN_PASSWORD: &str = "Bench-Searcher-Pass-2!";

/// Creates a tenant `slug` on `plan` with an admin and returns the admin's token.
pub(super) fn tenant_admin(
    port: u16,
    root: &str,
    slug: &str,
    plan: &str,
) -> Result<String, String> {
    let password = TENANT_ADMIN_PASSWORD;
    let body = format!(
        r#"{{"name":"{slug}","display_name":"Bench {slug}","plan":"{plan}","admin_email":"admin@{slug}.example","admin_password":"{password}"}}"#
    );
    let (status, created) = call(port, "POST", "/api/v1/tenants/", Some(root), Some(&body))?;
    if status != 201 {
        return Err(format!("tenant: {status} {created}"));
    }
    let id = created["tenant"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for _ in 0..100 {
        let (_, t) = call(
            port,
            "GET",
            &format!("/api/v1/tenants/{id}"),
            Some(root),
            None,
        )?;
        if t["tenant"]["status"] == "active" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let login = format!(r#"{{"tenant":"{slug}","username":"admin","password":"{password}"}}"#);
    let (_, body) = call(port, "POST", "/api/v1/auth/login", None, Some(&login))?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login: {body}"))
}

/// Latencies of `n` uncached searches (distinct queries), sequentially.
pub(super) fn uncached(port: u16, token: &str, n: usize) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let body = format!(
            r#"{{"query":"vortex lattices uncached {i}","sources":["arxiv","pubmed","web"],"max_results":10}}"#
        );
        let started = Instant::now();
        let (status, answer) = call(port, "POST", "/api/v1/search/", Some(token), Some(&body))?;
        let took = started.elapsed();
        if status != 200 || answer["cache_hit"] != false {
            return Err(format!("uncached search: {status} {answer}"));
        }
        let all_ok = ["arxiv", "pubmed", "web"]
            .iter()
            .all(|s| answer["source_status"][s]["status"] == "ok");
        if !all_ok {
            return Err(format!(
                "a source did not answer: {}",
                answer["source_status"]
            ));
        }
        times.push(took);
    }
    Ok(times)
}

/// Concurrent searches the flooding tenant fires per round.
pub(super) const FLOOD: usize = 40;

/// What one basic-tenant search during (or without) a flood got.
pub(super) struct Probe {
    /// Its latency.
    pub took: Duration,
    /// `arxiv=ok pubmed=ok`.
    pub statuses: String,
    /// Whether every source answered `ok`.
    pub all_ok: bool,
}

/// What the flooding tenant's arXiv calls got in one round.
#[derive(Default)]
pub(super) struct FloodOutcome {
    /// Served.
    pub ok: usize,
    /// Refused at once (the turn would have come after the budget).
    pub refused: usize,
    /// Anything else (timeouts).
    pub other: usize,
}

/// One arXiv + PubMed search of `token`, with its sources' statuses.
fn probe(port: u16, token: &str, query: &str) -> Result<Probe, String> {
    let body = format!(r#"{{"query":"{query}","sources":["arxiv","pubmed"],"max_results":10}}"#);
    let started = Instant::now();
    let (status, answer) = call(port, "POST", "/api/v1/search/", Some(token), Some(&body))?;
    let took = started.elapsed();
    if status != 200 {
        return Err(format!("search: {status} {answer}"));
    }
    let s = &answer["source_status"];
    let state = |src: &str| s[src]["status"].as_str().unwrap_or("?").to_owned();
    let (arxiv, pubmed) = (state("arxiv"), state("pubmed"));
    Ok(Probe {
        took,
        all_ok: arxiv == "ok" && pubmed == "ok",
        statuses: format!("arxiv={arxiv} pubmed={pubmed}"),
    })
}

/// A basic tenant's search on idle upstreams (`round` = `None`), or 150 ms into a round of
/// [`FLOOD`] concurrent arXiv + PubMed searches of the enterprise tenant.
pub(super) async fn fairness_round(
    port: u16,
    flood_token: &str,
    basic_token: &str,
    round: Option<usize>,
) -> Result<(Probe, FloodOutcome), String> {
    let mut flood = Vec::new();
    if let Some(round) = round {
        for i in 0..FLOOD {
            let token = flood_token.to_owned();
            flood.push(tokio::task::spawn_blocking(move || {
                probe(port, &token, &format!("flood {round} topic {i}"))
            }));
        }
        // let the flood queue up at both upstreams
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let token = basic_token.to_owned();
    let query = format!("basic question {}", round.map_or(0, |r| r + 1));
    let basic = tokio::task::spawn_blocking(move || probe(port, &token, &query))
        .await
        .map_err(|e| e.to_string())??;
    let mut outcome = FloodOutcome::default();
    for task in flood {
        let p = task.await.map_err(|e| e.to_string())??;
        if p.statuses.starts_with("arxiv=ok") {
            outcome.ok += 1;
        } else if p.statuses.starts_with("arxiv=rate_limited") {
            outcome.refused += 1;
        } else {
            outcome.other += 1;
        }
    }
    Ok((basic, outcome))
}

/// Searches against mock upstreams with known delays: uncached (one at a time, distinct
/// queries) and cached (the same query under load).
pub(super) async fn search_scenarios(
    binary: &Path,
    workers: usize,
    o: &Options,
) -> Result<Vec<Row>, String> {
    let upstream = upstream::mock(Delays::SLOW).await?;
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
        searcher(port, &root)
    })
    .await
    .map_err(|e| e.to_string())??;
    let uncached = {
        let token = token.clone();
        tokio::task::spawn_blocking(move || uncached(port, &token, 20))
            .await
            .map_err(|e| e.to_string())??
    };
    let mut sorted = uncached.clone();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let slowest = Delays::SLOW
        .arxiv
        .max(Delays::SLOW.pubmed * 3)
        .max(Delays::SLOW.web);
    let sum = Delays::SLOW.arxiv + Delays::SLOW.pubmed * 3 + Delays::SLOW.web;
    let mut rows = vec![Row {
        name: "search, uncached (3 mock sources)".into(),
        throughput: 1.0 / (uncached.iter().map(Duration::as_secs_f64).sum::<f64>() / 20.0),
        p50: ms(sorted[sorted.len() / 2]),
        p99: ms(sorted[sorted.len() - 1]),
        p999: ms(sorted[sorted.len() - 1]),
        errors: 0,
        rss_mib: 0.0,
        cpu_ms: 0.0,
        note: format!(
            "one at a time; slowest source {:.0} ms, all sources summed {:.0} ms",
            ms(slowest),
            ms(sum)
        ),
    }];
    let body =
        r#"{"query":"vortex lattices cached","sources":["arxiv","pubmed","web"],"max_results":10}"#;
    let spec = RequestSpec::new(
        "POST",
        "/api/v1/search/",
        &[("Authorization", format!("Bearer {token}"))],
        Some(body),
        200,
    );
    // warm the cache once
    tokio::task::spawn_blocking(move || {
        call(port, "POST", "/api/v1/search/", Some(&token), Some(body))
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
pub(super) async fn fairness_scenarios(binary: &Path, workers: usize) -> Result<Vec<Row>, String> {
    let upstream = upstream::mock(Delays::SLOW).await?;
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
            tenant_admin(port, &root, "deluge", "enterprise")?,
            tenant_admin(port, &root, "trickle", "basic")?,
        ))
    })
    .await
    .map_err(|e| e.to_string())??;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\nsearch fairness: a basic tenant's arXiv + PubMed search (budget 1200 ms; arXiv 1 request / 300 ms, one at a time, {} ms per answer)",
        Delays::SLOW.arxiv.as_millis()
    );
    let (idle, _) = fairness_round(port, &flood, &basic, None).await?;
    println!(
        "  idle upstreams:                 {:>6.0} ms  {}",
        ms(idle.took),
        idle.statuses
    );
    let mut during = Vec::new();
    let mut all_ok = 0;
    for round in 0..3 {
        let (probe, flood_got) = fairness_round(port, &flood, &basic, Some(round)).await?;
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
        cpu_ms: 0.0,
        note: format!(
            "{all_ok}/{n} probes with every source ok; idle {:.0} ms",
            ms(idle.took)
        ),
    }])
}
