//! Enhancement, deterministic and local: extractive summaries by TextRank (sentences ranked by
//! their similarity to the rest of the text), key topics by TF-IDF over the result set, and the
//! query expansion that picks sources for quick searches.

use std::collections::{BTreeMap, HashMap, HashSet};

use pake_domain::search::SourceId;

use super::text::{sentences, tokens};

/// Similarity of two sentences (TextRank's: shared words over the logs of their lengths).
fn similarity(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.len() < 2 || b.len() < 2 {
        return 0.0;
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and milliseconds far below 2^52"
    )]
    let shared = a.intersection(b).count() as f64;
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and milliseconds far below 2^52"
    )]
    let norm = (a.len() as f64).ln() + (b.len() as f64).ln();
    if norm <= 0.0 { 0.0 } else { shared / norm }
}

/// TextRank scores of `items` (PageRank over the similarity graph, damping 0.85), plus a small
/// bonus for sharing words with the query so the summary stays on the user's topic.
fn textrank(items: &[String], query: &HashSet<String>) -> Vec<f64> {
    let sets: Vec<HashSet<String>> = items
        .iter()
        .map(|s| tokens(s).into_iter().collect())
        .collect();
    let n = sets.len();
    let mut weights = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in (i + 1)..n {
            let w = similarity(&sets[i], &sets[j]);
            weights[i][j] = w;
            weights[j][i] = w;
        }
    }
    let out: Vec<f64> = weights.iter().map(|row| row.iter().sum()).collect();
    let mut score = vec![1.0; n];
    for _ in 0..30 {
        let next: Vec<f64> = (0..n)
            .map(|i| {
                let inflow: f64 = (0..n)
                    .filter(|&j| j != i && out[j] > 0.0)
                    .map(|j| weights[j][i] / out[j] * score[j])
                    .sum();
                0.15 + 0.85 * inflow
            })
            .collect();
        score = next;
    }
    score
        .iter()
        .zip(&sets)
        .map(|(s, set)| {
            #[expect(
                clippy::cast_precision_loss,
                reason = "counts and milliseconds far below 2^52"
            )]
            let hits = set.intersection(query).count() as f64;
            s + 0.1 * hits
        })
        .collect()
}

/// The `k` best sentences of `text` for `query`, in their original order.
pub(crate) fn summarise(text: &str, query: &str, k: usize) -> Option<String> {
    let all = sentences(text);
    if all.is_empty() {
        return None;
    }
    if all.len() <= k {
        return Some(all.join(" "));
    }
    let query: HashSet<String> = tokens(query).into_iter().collect();
    let scores = textrank(&all, &query);
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = order.into_iter().take(k).collect();
    chosen.sort_unstable();
    Some(
        chosen
            .into_iter()
            .map(|i| all[i].as_str())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A digest of the whole result set: the `k` best sentences across every text (at most one per
/// text, so the digest covers several results), best first.
pub(crate) fn digest(texts: &[&str], query: &str, k: usize) -> Option<String> {
    let mut items = Vec::new();
    let mut owner = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        for s in sentences(text).into_iter().take(8) {
            items.push(s);
            owner.push(i);
        }
    }
    if items.is_empty() {
        return None;
    }
    let query_set: HashSet<String> = tokens(query).into_iter().collect();
    let scores = textrank(&items, &query_set);
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut used = HashSet::new();
    let picked: Vec<&str> = order
        .into_iter()
        .filter(|&i| used.insert(owner[i]))
        .take(k)
        .map(|i| items[i].as_str())
        .collect();
    Some(picked.join(" "))
}

/// The `k` key topics of a result set: words (and frequent two-word phrases) by TF-IDF across the
/// texts, query words excluded (the user knows them).
pub(crate) fn key_topics(texts: &[&str], query: &str, k: usize) -> Vec<String> {
    let query: HashSet<String> = tokens(query).into_iter().collect();
    let docs: Vec<Vec<String>> = texts.iter().map(|t| tokens(t)).collect();
    let mut tf: BTreeMap<String, f64> = BTreeMap::new();
    let mut df: HashMap<String, f64> = HashMap::new();
    for doc in &docs {
        let mut seen = HashSet::new();
        let grams = doc
            .iter()
            .cloned()
            .chain(doc.windows(2).map(|w| format!("{} {}", w[0], w[1])));
        for g in grams {
            if g.split(' ')
                .any(|w| query.contains(w) || w.chars().all(|c| c.is_ascii_digit()))
            {
                continue;
            }
            *tf.entry(g.clone()).or_default() += 1.0;
            if seen.insert(g.clone()) {
                *df.entry(g).or_default() += 1.0;
            }
        }
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and milliseconds far below 2^52"
    )]
    let n = docs.len().max(1) as f64;
    let mut scored: Vec<(String, f64)> = tf
        .into_iter()
        // in a set of four or more texts a topic must recur; smaller sets keep every term
        .filter(|(g, _)| df.get(g).copied().unwrap_or(0.0) >= if n >= 4.0 { 2.0 } else { 1.0 })
        .map(|(g, f)| {
            let d = df.get(&g).copied().unwrap_or(1.0);
            let phrase = if g.contains(' ') { 1.5 } else { 1.0 };
            let s = f * (1.0 + (n / d).ln()) * phrase;
            (g, s)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<String> = Vec::new();
    for (g, _) in scored {
        // a word already inside a chosen phrase (or the reverse) adds nothing
        if out
            .iter()
            .any(|o| o.split(' ').any(|w| w == g) || g.split(' ').any(|w| w == o))
        {
            continue;
        }
        out.push(g);
        if out.len() == k {
            break;
        }
    }
    out
}

/// Abbreviations and variants, expanded before the source choice (and reported).
const EXPANSIONS: &[(&str, &[&str])] = &[
    ("ml", &["machine", "learning"]),
    ("ai", &["artificial", "intelligence"]),
    ("nlp", &["natural", "language", "processing"]),
    ("llm", &["large", "language", "model"]),
    ("llms", &["large", "language", "models"]),
    ("covid", &["coronavirus", "sars-cov-2"]),
    ("covid19", &["coronavirus", "sars-cov-2"]),
    ("crispr", &["gene", "editing"]),
    ("mrna", &["messenger", "rna", "vaccine"]),
    ("rct", &["randomized", "controlled", "trial"]),
    ("gnn", &["graph", "neural", "network"]),
    ("qec", &["quantum", "error", "correction"]),
];

/// Words that point at biomedical literature (PubMed).
const BIOMEDICAL: &[&str] = &[
    "gene",
    "genes",
    "genetic",
    "genome",
    "protein",
    "proteins",
    "cell",
    "cells",
    "clinical",
    "patient",
    "patients",
    "disease",
    "diseases",
    "cancer",
    "tumor",
    "tumour",
    "drug",
    "drugs",
    "therapy",
    "treatment",
    "trial",
    "trials",
    "vaccine",
    "virus",
    "viral",
    "infection",
    "coronavirus",
    "sars-cov-2",
    "diabetes",
    "cardiac",
    "heart",
    "brain",
    "neuron",
    "neurons",
    "mrna",
    "rna",
    "dna",
    "antibody",
    "immune",
    "immunology",
    "epidemiology",
    "randomized",
    "medicine",
    "medical",
    "health",
    "mice",
    "mouse",
    "syndrome",
    "enzyme",
    "pharmacology",
    "editing",
    "bacteria",
    "microbiome",
    "alzheimer",
    "obesity",
    "pregnancy",
    "surgery",
];

/// Words that point at physics, mathematics and computer science preprints (arXiv).
const PREPRINT: &[&str] = &[
    "quantum",
    "neural",
    "network",
    "networks",
    "learning",
    "machine",
    "algorithm",
    "algorithms",
    "theorem",
    "proof",
    "lattice",
    "galaxy",
    "galaxies",
    "cosmology",
    "physics",
    "particle",
    "boson",
    "graph",
    "optimization",
    "transformer",
    "transformers",
    "language",
    "model",
    "models",
    "reinforcement",
    "topology",
    "manifold",
    "entropy",
    "superconductivity",
    "superfluid",
    "string",
    "gravity",
    "relativity",
    "black",
    "hole",
    "spin",
    "qubit",
    "qubits",
    "intelligence",
    "processing",
    "correction",
    "stochastic",
    "bayesian",
    "statistics",
    "astrophysics",
    "photon",
    "laser",
    "condensed",
    "matter",
    "computation",
    "cryptography",
];

/// Words that point at the open web (news, products, how-tos).
const WEB: &[&str] = &[
    "news",
    "latest",
    "today",
    "how",
    "tutorial",
    "guide",
    "price",
    "company",
    "companies",
    "product",
    "release",
    "announcement",
    "blog",
    "review",
    "best",
    "vs",
    "download",
    "install",
    "documentation",
    "docs",
    "startup",
    "market",
];

/// The query's words with abbreviations expanded.
pub(crate) fn expand(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in query
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
    {
        if let Some((_, more)) = EXPANSIONS.iter().find(|(k, _)| *k == word) {
            out.extend(more.iter().map(|m| (*m).to_owned()));
        }
        out.push(word);
    }
    out.dedup();
    out
}

/// The sources a quick search asks, chosen from the expanded words: PubMed for biomedical words,
/// arXiv for physics, mathematics and computing, the web for news and how-tos; every source
/// when no word says anything. Returns the sources (in `SourceId` order) and the expanded words.
pub(crate) fn choose_sources(query: &str) -> (Vec<SourceId>, Vec<String>) {
    let words = expand(query);
    let hits = |list: &[&str]| words.iter().filter(|w| list.contains(&w.as_str())).count();
    let (bio, pre, web) = (hits(BIOMEDICAL), hits(PREPRINT), hits(WEB));
    let mut sources = Vec::new();
    if web > 0 {
        sources.push(SourceId::Web);
    }
    if pre > 0 {
        sources.push(SourceId::Arxiv);
    }
    if bio > 0 {
        sources.push(SourceId::Pubmed);
    }
    if sources.is_empty() {
        sources = SourceId::ALL.to_vec();
    }
    (sources, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABSTRACT: &str = "Superfluids form vortex lattices when rotated. \
        We measure tidal deformation of vortex lattices in rotating helium. \
        The weather on the day of the experiment was mild. \
        Tidal forces melt the vortex lattice above a critical rotation rate.";

    #[test]
    fn summaries_pick_central_on_topic_sentences_in_order() {
        let s = summarise(ABSTRACT, "tidal vortex lattice", 2).unwrap();
        assert!(!s.contains("weather"), "{s}");
        assert!(s.contains("Tidal forces melt"), "{s}");
        assert_eq!(
            summarise("One sentence only.", "x", 2).as_deref(),
            Some("One sentence only.")
        );
        assert_eq!(summarise("", "x", 2), None);
        assert_eq!(
            summarise(ABSTRACT, "tidal", 2),
            summarise(ABSTRACT, "tidal", 2),
            "deterministic"
        );
    }

    #[test]
    fn digests_take_one_sentence_per_text() {
        let d = digest(
            &[
                ABSTRACT,
                "Vortex lattices in rotating helium melt. Unrelated words here.",
            ],
            "vortex lattice",
            2,
        )
        .unwrap();
        assert_eq!(d.matches('.').count(), 2, "{d}");
    }

    #[test]
    fn key_topics_come_from_several_texts_and_skip_the_query() {
        let topics = key_topics(
            &[
                "Vortex lattices in rotating helium superfluids.",
                "Rotating helium shows vortex lattices again.",
                "Vortex lattices, once more, in helium.",
                "A cooking recipe.",
            ],
            "superfluids",
            3,
        );
        assert!(topics.iter().any(|t| t.contains("vortex")), "{topics:?}");
        assert!(!topics.iter().any(|t| t.contains("superfluids")));
        assert!(!topics.iter().any(|t| t.contains("cooking")), "{topics:?}");
    }

    #[test]
    fn quick_search_picks_sources_from_expanded_words() {
        let (s, words) = choose_sources("CRISPR in mice");
        assert_eq!(s, vec![SourceId::Pubmed]);
        assert!(words.contains(&"gene".to_owned()));
        assert_eq!(choose_sources("LLM reasoning").0, vec![SourceId::Arxiv]);
        assert_eq!(
            choose_sources("latest news on quantum computing").0,
            vec![SourceId::Web, SourceId::Arxiv]
        );
        assert_eq!(choose_sources("bees").0, SourceId::ALL.to_vec());
    }
}
