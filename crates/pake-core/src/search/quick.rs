//! Quick search: the query's abbreviations expanded, and the sources chosen from its words.

use pake_domain::search::SourceId;

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

/// The sources a quick search asks, chosen from the expanded words: PubMed and Europe PMC for
/// biomedical words, arXiv and Semantic Scholar for physics, mathematics and computing, Crossref
/// and OpenAlex for either, the web for news and how-tos; every source when no word says
/// anything. Returns the sources (in `SourceId` order) and the expanded words.
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
        sources.push(SourceId::SemanticScholar);
    }
    if bio > 0 {
        sources.push(SourceId::Pubmed);
        sources.push(SourceId::Europepmc);
    }
    if bio > 0 || pre > 0 {
        // the cross-disciplinary indexes know both kinds
        sources.push(SourceId::Crossref);
        sources.push(SourceId::Openalex);
    }
    sources.sort();
    sources.dedup();
    if sources.is_empty() {
        sources = SourceId::ALL.to_vec();
    }
    (sources, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_search_picks_sources_from_expanded_words() {
        let (s, words) = choose_sources("CRISPR in mice");
        assert_eq!(
            s,
            vec![
                SourceId::Pubmed,
                SourceId::Europepmc,
                SourceId::Crossref,
                SourceId::Openalex
            ]
        );
        assert!(words.contains(&"gene".to_owned()));
        assert_eq!(
            choose_sources("LLM reasoning").0,
            vec![
                SourceId::Arxiv,
                SourceId::Crossref,
                SourceId::Openalex,
                SourceId::SemanticScholar
            ]
        );
        assert_eq!(
            choose_sources("latest news on quantum computing").0,
            vec![
                SourceId::Web,
                SourceId::Arxiv,
                SourceId::Crossref,
                SourceId::Openalex,
                SourceId::SemanticScholar
            ]
        );
        assert_eq!(choose_sources("bees").0, SourceId::ALL.to_vec());
    }
}
