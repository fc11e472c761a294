//! Property tests: on random texts, the id-based analysis gives exactly what the set-based
//! functions it replaced gave (similarity, summaries, digest, key topics, BM25).

use std::collections::HashSet;

use proptest::prelude::*;

use super::analysis::{Analysis, Needs, Vocabulary};
use super::enhance::{self, similarity};
use super::rank::{SearchResult, bm25};
use super::reference;

const WORDS: &[&str] = &[
    "vortex",
    "Vortex",
    "lattice",
    "lattices",
    "helium",
    "the",
    "The",
    "of",
    "a",
    "rotating",
    "superfluid",
    "melts",
    "x",
    "3",
    "2024",
    "10.5",
    "e.g.",
    "Tidal",
    "tidal",
    "forces",
    "rate",
    "critical",
    "über",
    "Ökologie",
    "naïve",
    "CRISPR-Cas9",
    "gene",
    "editing",
    "in",
    "mice",
    "study",
    "results",
    "model",
    "models",
    "quantum",
    "error",
    "correction",
    "codes",
];

fn sentence() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(WORDS), 1..10),
        prop::sample::select(&[".", "!", "?", "", ",", ".", "."][..]),
    )
        .prop_map(|(words, end)| format!("{}{end}", words.join(" ")))
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(sentence(), 0..10).prop_map(|s| s.join(" "))
}

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..5).prop_map(|w| w.join(" "))
}

fn results(texts: &[(String, String)]) -> Vec<SearchResult> {
    texts
        .iter()
        .map(|(title, body)| SearchResult {
            title: title.clone(),
            abstract_text: (!body.is_empty()).then(|| body.clone()),
            ..SearchResult::empty()
        })
        .collect()
}

const ALL: Needs = Needs { sentences: true };

proptest! {
    #[test]
    fn id_similarity_equals_set_similarity(a in sentence(), b in sentence()) {
        let (sa, sb): (HashSet<String>, HashSet<String>) = (
            reference::tokens(&a).into_iter().collect(),
            reference::tokens(&b).into_iter().collect(),
        );
        let mut v = Vocabulary::default();
        let mut ia = v.tokens(&a);
        let mut ib = v.tokens(&b);
        for ids in [&mut ia, &mut ib] {
            ids.sort_unstable();
            ids.dedup();
        }
        let (old, new) = (reference::similarity(&sa, &sb), similarity(&ia, &ib));
        prop_assert_eq!(old.to_bits(), new.to_bits(), "{} vs {}", old, new);
    }

    #[test]
    fn summaries_equal_the_set_based_ones(body in text(), q in query()) {
        let a = Analysis::new(&q, &results(&[("T".into(), body.clone())]), ALL);
        prop_assert_eq!(
            enhance::summarise(&a.docs[0], &a.query_set, 2),
            reference::summarise(&body, &q, 2)
        );
    }

    #[test]
    fn digest_and_topics_equal_the_set_based_ones(
        texts in prop::collection::vec((sentence(), text()), 0..8),
        q in query(),
    ) {
        let a = Analysis::new(&q, &results(&texts), ALL);
        let joined: Vec<String> = texts.iter().map(|(t, b)| format!("{t}. {b}")).collect();
        let refs: Vec<&str> = joined.iter().map(String::as_str).collect();
        let pairs: Vec<(&str, &str)> = texts.iter().map(|(t, b)| (t.as_str(), b.as_str())).collect();
        let picks: Vec<_> = a
            .docs
            .iter()
            .map(|d| enhance::summary_sentences(d, &a.query_set, 2))
            .collect();
        prop_assert_eq!(
            enhance::digest(&a.docs, &picks, &a.query_set, 3),
            reference::digest(&pairs, &q, 3)
        );
        prop_assert_eq!(
            enhance::key_topics(&a, &a.docs, 8),
            reference::key_topics(&refs, &q, 8)
        );
    }

    #[test]
    fn bm25_equals_the_string_based_one(
        texts in prop::collection::vec((sentence(), text()), 1..8),
        q in query(),
    ) {
        let a = Analysis::new(&q, &results(&texts), ALL);
        let docs: Vec<Vec<String>> = texts
            .iter()
            .map(|(t, b)| {
                let mut d = reference::tokens(t);
                d.extend(reference::tokens(t));
                d.extend(reference::tokens(b));
                d
            })
            .collect();
        let mut query = reference::tokens(&q);
        query.dedup();
        let old: Vec<u64> = reference::bm25(&query, &docs).iter().map(|f| f.to_bits()).collect();
        let new: Vec<u64> = bm25(&a).iter().map(|f| f.to_bits()).collect();
        prop_assert_eq!(old, new);
    }
}
