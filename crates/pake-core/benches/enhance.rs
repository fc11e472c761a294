//! The enhancement micro-benchmark: 20 results with multi-sentence abstracts (ten from arXiv, ten
//! from PubMed) merged, ranked, summarised, digested and given key topics, as one search does.
//! Prints one line `enhance: <n> results, mean <µs> µs, p50 <µs> µs, p99 <µs> µs`.
//!
//! `cargo bench -p pake-core --features test-support --bench enhance` (`cargo xtask bench` runs
//! it and shows the line in its table).

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use pake_domain::search::SourceId;
use pake_ports::SourceRecord;

const CLAUSES: &[&str] = &[
    "Graph neural networks predict molecular properties from atomic structure",
    "we train the model on two million conformers with a contrastive objective",
    "attention over bonds improves accuracy on the held-out benchmark",
    "the learned embeddings transfer to protein binding affinity",
    "ablations show that message passing depth matters more than width",
    "uncertainty estimates are calibrated with a deep ensemble",
    "the code and the trained weights are released for reuse",
    "clinical trial data confirm the predicted toxicity of two compounds",
    "patients receiving the candidate drug showed fewer adverse events",
    "a randomized cohort of 412 adults was followed for eighteen months",
    "Quantum error correction with surface codes reaches the threshold",
    "the decoder runs in real time on commodity hardware",
];

fn abstract_text(i: usize) -> String {
    (0..8)
        .map(|k| {
            let c = CLAUSES[(i * 3 + k * 7) % CLAUSES.len()];
            let mut s = c[..1].to_uppercase();
            s.push_str(&c[1..]);
            s.push('.');
            s
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn records() -> Vec<(SourceId, SourceRecord)> {
    (0..20)
        .map(|i| {
            let source = if i < 10 {
                SourceId::Arxiv
            } else {
                SourceId::Pubmed
            };
            let record = SourceRecord {
                title: format!("Paper {i}: graph networks for molecules and trials, part {i}"),
                authors: vec![format!("Author {i}"), "Second Author".into()],
                url: format!("https://example.org/paper/{i}"),
                arxiv_id: (i < 10).then(|| format!("2401.{i:05}")),
                pmid: (i >= 10).then(|| format!("3900{i:04}")),
                abstract_text: Some(abstract_text(i)),
                rank: u32::try_from(i % 10).unwrap_or(0),
                ..SourceRecord::default()
            };
            (source, record)
        })
        .collect()
}

fn main() {
    let input = records();
    let query = "graph neural networks for molecular property prediction";
    // warm up, and check the work is real
    let (results, digest, topics) = pake_core::testing::enhance(query, input.clone());
    assert_eq!(results.len(), 20);
    assert!(results.iter().all(|r| r.summary.is_some()));
    assert!(digest.is_some() && !topics.is_empty());
    let runs = 2000;
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let records = input.clone();
        let started = Instant::now();
        black_box(pake_core::testing::enhance(black_box(query), records));
        times.push(started.elapsed());
    }
    times.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let mean =
        times.iter().map(|d| micros(*d)).sum::<f64>() / f64::from(u32::try_from(runs).unwrap_or(1));
    println!(
        "enhance: {} results, mean {mean:.0} µs, p50 {:.0} µs, p99 {:.0} µs",
        results.len(),
        micros(times[runs / 2]),
        micros(times[runs * 99 / 100]),
    );
}
