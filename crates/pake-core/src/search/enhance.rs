//! Enhancement, deterministic and local, on the search's analysis (term ids, no strings):
//! extractive summaries by TextRank (sentences ranked by their similarity to the rest of the
//! text), a digest of the result set, and key topics by TF-IDF over the result set.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::analysis::{Analysis, Doc, Sentence, TermId, shared};

/// Results the digest and the key topics read (the best ones).
pub(crate) const DIGEST_RESULTS: usize = 20;

/// TextRank's similarity of two sentences (sorted, distinct terms): shared terms over the sum
/// of the logs of their sizes; 0 when either has fewer than two terms.
#[cfg(test)]
pub(crate) fn similarity(a: &[TermId], b: &[TermId]) -> f64 {
    similarity_of(a, ln_len(a), b, ln_len(b))
}

#[expect(clippy::cast_precision_loss, reason = "sentence sizes far below 2^52")]
fn ln_len(a: &[TermId]) -> f64 {
    (a.len() as f64).ln()
}

fn similarity_of(a: &[TermId], ln_a: f64, b: &[TermId], ln_b: f64) -> f64 {
    if a.len() < 2 || b.len() < 2 {
        return 0.0;
    }
    #[expect(clippy::cast_precision_loss, reason = "sentence sizes far below 2^52")]
    let common = shared(a, b) as f64;
    let norm = ln_a + ln_b;
    if norm <= 0.0 { 0.0 } else { common / norm }
}

/// TextRank scores of `items` (PageRank over the similarity graph, damping 0.85, 30 rounds),
/// plus 0.1 per query term a sentence holds, so summaries stay on the user's topic.
///
/// Each round adds every sentence's share in the same order as a row-by-row sum would (so the
/// figures are exactly those of the set-based version), but column by column, which vectorises.
fn textrank(items: &[&Sentence], query: &[TermId]) -> Vec<f64> {
    let n = items.len();
    let logs: Vec<f64> = items.iter().map(|s| ln_len(&s.terms)).collect();
    // weights[j * n + i]: the similarity of j and i
    let mut weights = vec![0.0; n * n];
    for i in 0..n {
        for j in (i + 1)..n {
            let w = similarity_of(&items[i].terms, logs[i], &items[j].terms, logs[j]);
            weights[i * n + j] = w;
            weights[j * n + i] = w;
        }
    }
    // each row becomes j's share to every i: weight / j's total (none when j has no edges)
    for row in weights.chunks_exact_mut(n.max(1)) {
        let out: f64 = row.iter().sum();
        if out > 0.0 {
            for w in row.iter_mut() {
                *w /= out;
            }
        } else {
            row.fill(0.0);
        }
    }
    let mut score = vec![1.0; n];
    let mut inflow = vec![0.0; n];
    for _ in 0..30 {
        inflow.fill(0.0);
        for (row, &s) in weights.chunks_exact(n.max(1)).zip(&score) {
            for (acc, &w) in inflow.iter_mut().zip(row) {
                *acc += w * s;
            }
        }
        for (s, &f) in score.iter_mut().zip(&inflow) {
            *s = 0.15 + 0.85 * f;
        }
    }
    score
        .iter()
        .zip(items)
        .map(|(s, item)| {
            #[expect(clippy::cast_precision_loss, reason = "sentence sizes far below 2^52")]
            let hits = shared(&item.terms, query) as f64;
            s + 0.1 * hits
        })
        .collect()
}

/// Indices of `scores`, best first (ties: the earlier).
fn best_first(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// The `k` best sentences of a result's body for the query (all of them when it has no more
/// than `k`), in their original order.
pub(crate) fn summary_sentences<'d>(doc: &'d Doc, query: &[TermId], k: usize) -> Vec<&'d Sentence> {
    let all = &doc.body_sentences;
    if all.len() <= k {
        return all.iter().collect();
    }
    let items: Vec<&Sentence> = all.iter().collect();
    let scores = textrank(&items, query);
    let mut chosen: Vec<usize> = best_first(&scores).into_iter().take(k).collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| &all[i]).collect()
}

/// `sentences` of `doc` as one text.
pub(crate) fn joined(doc: &Doc, sentences: &[&Sentence]) -> Option<String> {
    (!sentences.is_empty()).then(|| {
        sentences
            .iter()
            .map(|s| &doc.text[s.span.clone()])
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// The summary of a result: its [`summary_sentences`] joined.
#[cfg(test)]
pub(crate) fn summarise(doc: &Doc, query: &[TermId], k: usize) -> Option<String> {
    joined(doc, &summary_sentences(doc, query, k))
}

/// A digest of the result set: the `k` best sentences (by TextRank across the set) among each
/// result's summary sentences (`picks`; a result without a body offers its title), at most one
/// per result, best first. Weighing only the summaries keeps the work linear in the results.
pub(crate) fn digest(
    docs: &[Doc],
    picks: &[Vec<&Sentence>],
    query: &[TermId],
    k: usize,
) -> Option<String> {
    let mut items: Vec<&Sentence> = Vec::new();
    let mut owner = Vec::new();
    for (i, (doc, picked)) in docs.iter().zip(picks).enumerate() {
        let offered: Vec<&Sentence> = if picked.is_empty() {
            doc.sentences.iter().collect()
        } else {
            picked.clone()
        };
        for s in offered {
            items.push(s);
            owner.push(i);
        }
    }
    if items.is_empty() {
        return None;
    }
    let scores = textrank(&items, query);
    let mut used = vec![false; docs.len()];
    let picked: Vec<&str> = best_first(&scores)
        .into_iter()
        .filter(|&i| !std::mem::replace(&mut used[owner[i]], true))
        .take(k)
        .map(|i| &docs[owner[i]].text[items[i].span.clone()])
        .collect();
    Some(picked.join(" "))
}

/// A word (`second` = `None`) or a two-word phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Gram {
    first: TermId,
    second: Option<TermId>,
}

impl Gram {
    fn words(self) -> impl Iterator<Item = TermId> {
        std::iter::once(self.first).chain(self.second)
    }
}

#[derive(Default)]
struct Counts {
    tf: f64,
    df: f64,
    last_doc: usize,
}

/// The `k` key topics of a result set: words (and frequent two-word phrases) by TF-IDF across the
/// texts of `docs`, query words excluded (the user knows them).
pub(crate) fn key_topics(a: &Analysis, docs: &[Doc], k: usize) -> Vec<String> {
    let vocab = &a.vocab;
    let excluded = |t: TermId| a.query_set.binary_search(&t).is_ok() || vocab.is_digits(t);
    let mut counts: HashMap<Gram, Counts, RandomState> = HashMap::default();
    for (d, doc) in docs.iter().enumerate() {
        let unigrams = doc.tokens.iter().map(|&t| Gram {
            first: t,
            second: None,
        });
        let bigrams = doc.tokens.windows(2).map(|w| Gram {
            first: w[0],
            second: Some(w[1]),
        });
        for g in unigrams.chain(bigrams) {
            if g.words().any(excluded) {
                continue;
            }
            let c = counts.entry(g).or_insert(Counts {
                last_doc: usize::MAX,
                ..Counts::default()
            });
            c.tf += 1.0;
            if c.last_doc != d {
                c.last_doc = d;
                c.df += 1.0;
            }
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "at most a page of results")]
    let n = docs.len().max(1) as f64;
    // in a set of four or more texts a topic must recur; smaller sets keep every term
    let min_df = if n >= 4.0 { 2.0 } else { 1.0 };
    let mut scored: Vec<(Gram, f64)> = counts
        .into_iter()
        .filter(|(_, c)| c.df >= min_df)
        .map(|(g, c)| {
            let phrase = if g.second.is_some() { 1.5 } else { 1.0 };
            (g, c.tf * (1.0 + (n / c.df).ln()) * phrase)
        })
        .collect();
    let bytes = |g: Gram| {
        let second = g.second.map(|s| vocab.text(s));
        vocab.text(g.first).bytes().chain(
            second
                .into_iter()
                .flat_map(|s| " ".bytes().chain(s.bytes())),
        )
    };
    scored.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| bytes(x.0).cmp(bytes(y.0))));
    let mut out: Vec<Gram> = Vec::new();
    for (g, _) in scored {
        // a word already inside a chosen phrase (or the reverse) adds nothing
        let overlaps = |o: &Gram| match (o.second, g.second) {
            (Some(_), None) => o.words().any(|w| w == g.first),
            (None, Some(_)) => g.words().any(|w| w == o.first),
            _ => false,
        };
        if out.iter().any(overlaps) {
            continue;
        }
        out.push(g);
        if out.len() == k {
            break;
        }
    }
    out.into_iter()
        .map(|g| match g.second {
            Some(second) => format!("{} {}", vocab.text(g.first), vocab.text(second)),
            None => vocab.text(g.first).to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::analysis::{Analysis, Needs};
    use super::super::rank::SearchResult;
    use super::*;

    const ABSTRACT: &str = "Superfluids form vortex lattices when rotated. \
        We measure tidal deformation of vortex lattices in rotating helium. \
        The weather on the day of the experiment was mild. \
        Tidal forces melt the vortex lattice above a critical rotation rate.";

    pub(crate) fn result(title: &str, body: &str) -> SearchResult {
        SearchResult {
            title: title.into(),
            abstract_text: (!body.is_empty()).then(|| body.into()),
            ..SearchResult::empty()
        }
    }

    fn analyse(query: &str, texts: &[(&str, &str)]) -> Analysis {
        let results: Vec<SearchResult> = texts.iter().map(|(t, b)| result(t, b)).collect();
        Analysis::new(query, &results, Needs { sentences: true })
    }

    fn summary(body: &str, query: &str) -> Option<String> {
        let a = analyse(query, &[("T", body)]);
        summarise(&a.docs[0], &a.query_set, 2)
    }

    #[test]
    fn summaries_pick_central_on_topic_sentences_in_order() {
        let s = summary(ABSTRACT, "tidal vortex lattice").unwrap();
        assert!(!s.contains("weather"), "{s}");
        assert!(s.contains("Tidal forces melt"), "{s}");
        assert_eq!(
            summary("One sentence only.", "x").as_deref(),
            Some("One sentence only.")
        );
        assert_eq!(summary("", "x"), None);
        assert_eq!(
            summary(ABSTRACT, "tidal"),
            summary(ABSTRACT, "tidal"),
            "deterministic"
        );
    }

    #[test]
    fn digests_take_one_sentence_per_text() {
        let a = analyse(
            "vortex lattice",
            &[
                ("Tidal lattices", ABSTRACT),
                (
                    "Helium",
                    "Vortex lattices in rotating helium melt. Unrelated words here.",
                ),
            ],
        );
        let picks: Vec<_> = a
            .docs
            .iter()
            .map(|d| summary_sentences(d, &a.query_set, 2))
            .collect();
        let d = digest(&a.docs, &picks, &a.query_set, 2).unwrap();
        assert_eq!(d.matches('.').count(), 2, "{d}");
    }

    #[test]
    fn key_topics_come_from_several_texts_and_skip_the_query() {
        let a = analyse(
            "superfluids",
            &[
                ("Vortex lattices in rotating helium superfluids", ""),
                ("Rotating helium shows vortex lattices again", ""),
                ("Vortex lattices, once more, in helium", ""),
                ("A cooking recipe", ""),
            ],
        );
        let topics = key_topics(&a, &a.docs, 3);
        assert!(topics.iter().any(|t| t.contains("vortex")), "{topics:?}");
        assert!(!topics.iter().any(|t| t.contains("superfluids")));
        assert!(!topics.iter().any(|t| t.contains("cooking")), "{topics:?}");
    }
}
