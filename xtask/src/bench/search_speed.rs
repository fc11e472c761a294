//! Search at the speed of the machine: arXiv + PubMed searches against the bench's own mock
//! upstreams answering in about 1 ms (a local mirror, so `pacing = "off"`), cached (the same
//! query) and uncached (a new query every request), with the server's CPU time per search and
//! its peak memory; and the enhancement micro-benchmark (20 results with abstracts).

use std::path::Path;

use super::load::RequestSpec;
use super::login::login_token;
use super::search::{call, searcher};
use super::server::start_pake;
use super::upstream::{self, Delays};
use super::{Options, Row, measure};
use crate::ci::cargo;

/// The issue's figure for SearXNG (granian, one worker) on the same kind of mock, CPU-ms per
/// search: not run here (it is not in the package registries this machine reaches).
const SEARXNG_CPU_MS: &str = "26–33";

const QUERY: &str = r#""sources":["arxiv","pubmed"],"max_results":10"#;

/// The cached, cached-without-enhancement and uncached rows.
pub(super) async fn search_speed_scenarios(
    binary: &Path,
    workers: usize,
    o: &Options,
) -> Result<Vec<Row>, String> {
    let port = upstream::mock(Delays::MIRROR).await?;
    let base = format!("http://127.0.0.1:{port}");
    let env = [
        ("PAKE_SEARCH__ARXIV__BASE_URL", base.as_str()),
        ("PAKE_SEARCH__PUBMED__BASE_URL", base.as_str()),
        ("PAKE_SEARCH__ARXIV__PACING", "off"),
        ("PAKE_SEARCH__PUBMED__PACING", "off"),
        ("PAKE_PLANS__ENTERPRISE__MAX_CONCURRENT_SEARCHES", "1000"),
        ("PAKE_LOG__LEVEL", "warn"),
    ];
    let pake = start_pake(binary, workers, &env)?;
    let server = pake.port;
    let token = tokio::task::spawn_blocking(move || {
        let root = login_token(server)?;
        let token = searcher(server, &root)?;
        // both sources really answer, and the cache is warm for the cached rows
        for body in [
            format!(r#"{{"query":"vortex lattices",{QUERY}}}"#),
            format!(r#"{{"query":"vortex lattices",{QUERY},"enable_ml_enhancement":false}}"#),
            format!(r#"{{"query":"vortex lattices check",{QUERY}}}"#),
        ] {
            let (status, answer) =
                call(server, "POST", "/api/v1/search/", Some(&token), Some(&body))?;
            let ok = ["arxiv", "pubmed"]
                .iter()
                .all(|s| answer["source_status"][s]["status"] != "error");
            if status != 200 || !ok || answer["total_results"] != 20 {
                return Err(format!("search check: {status} {answer}"));
            }
        }
        Ok::<_, String>(token)
    })
    .await
    .map_err(|e| e.to_string())??;
    let auth = [("Authorization", format!("Bearer {token}"))];
    let search_spec =
        |body: String| RequestSpec::new("POST", "/api/v1/search/", &auth, Some(&body), 200);
    let mut rows = Vec::new();
    let mut cached = measure(
        "search, cached (arXiv + PubMed, 20)",
        &pake,
        &search_spec(format!(r#"{{"query":"vortex lattices",{QUERY}}}"#)),
        o,
    )
    .await;
    cached.note = format!("same query; {}", cached.note);
    rows.push(cached);
    rows.push(
        measure(
            "search, cached, enhancement off",
            &pake,
            &search_spec(format!(
                r#"{{"query":"vortex lattices",{QUERY},"enable_ml_enhancement":false}}"#
            )),
            o,
        )
        .await,
    );
    let unique = RequestSpec::unique(
        "/api/v1/search/",
        &auth,
        &format!(r#"{{"query":"vortex lattices {{n}}",{QUERY}}}"#),
    );
    let mut uncached = measure("search, uncached (arXiv + PubMed)", &pake, &unique, o).await;
    uncached.note = format!(
        "a new query each; 4 upstream calls of ~1 ms; SearXNG {SEARXNG_CPU_MS} CPU ms/search (the issue's figure); {}",
        uncached.note
    );
    rows.push(uncached);
    Ok(rows)
}

/// The enhancement micro-benchmark (`crates/pake-core/benches/enhance.rs`), as a row: its
/// throughput on one core, and the p50 / p99 of one enhancement.
pub(super) fn enhancement_row() -> Result<Row, String> {
    let out = cargo()
        .args([
            "bench",
            "-q",
            "-p",
            "pake-core",
            "--features",
            "test-support",
            "--bench",
            "enhance",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("enhance:"))
        .ok_or_else(|| format!("enhance bench: {}", String::from_utf8_lossy(&out.stderr)))?;
    // "enhance: 20 results, mean 200 µs, p50 196 µs, p99 262 µs"
    let figure = |name: &str| -> f64 {
        line.split(name)
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let mean = figure("mean ");
    Ok(Row {
        name: "enhancement, 20 results (in process)".into(),
        throughput: if mean > 0.0 { 1e6 / mean } else { 0.0 },
        p50: figure("p50 ") / 1000.0,
        p99: figure("p99 ") / 1000.0,
        p999: figure("p99 ") / 1000.0,
        errors: 0,
        rss_mib: 0.0,
        cpu_ms: mean / 1000.0,
        note: format!("one core, rank + summaries + digest + topics (goal ≤ 0.3 ms): {line}"),
    })
}
