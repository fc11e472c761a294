//! The set-based text functions (strings, hash sets) the id-based analysis replaced, kept as the
//! reference it must equal bit for bit. Tokens, sentences, similarity, TextRank, summaries, key
//! topics and BM25 are the old code as it was; the digest is the new definition (each text's
//! summary sentences) written the old way. Not covered, by design: bodies past
//! `analysis::MAX_SENTENCES`, and BM25 now reading the merged result's own abstract (before:
//! the longest text of its group).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::analysis::is_stop_word;

/// The tokens of `text`: lower-cased runs of letters and digits, at least two characters, no
/// stop words.
pub(super) fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .filter(|w| !is_stop_word(w))
        .collect()
}

/// Sentences of `text`: split after `.`, `!` or `?` followed by whitespace and an upper-case
/// letter or digit (so "e.g. the" and "10.5 mm" stay whole).
pub(super) fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        if matches!(chars[i], '.' | '!' | '?')
            && chars.get(i + 1).is_some_and(|c| c.is_whitespace())
        {
            let mut j = i + 1;
            while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                j += 1;
            }
            if chars
                .get(j)
                .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
            {
                let s: String = chars[start..=i].iter().collect();
                let s = s.trim();
                if !s.is_empty() {
                    out.push(s.to_owned());
                }
                start = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    let rest: String = chars[start.min(chars.len())..].iter().collect();
    let rest = rest.trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// Similarity of two sentences (TextRank's: shared words over the logs of their lengths).
pub(super) fn similarity(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
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

/// The `k` best sentences of `text` for `query` (all when it has no more), in their order.
pub(super) fn summary_sentences(text: &str, query: &str, k: usize) -> Vec<String> {
    let all = sentences(text);
    if all.len() <= k {
        return all;
    }
    let query: HashSet<String> = tokens(query).into_iter().collect();
    let scores = textrank(&all, &query);
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = order.into_iter().take(k).collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| all[i].clone()).collect()
}

/// The `k` best sentences of `text` for `query`, in their original order.
pub(super) fn summarise(text: &str, query: &str, k: usize) -> Option<String> {
    let chosen = summary_sentences(text, query, k);
    (!chosen.is_empty()).then(|| chosen.join(" "))
}

/// A digest of `(title, body)` texts: the `k` best sentences across each text's two summary
/// sentences (its title when the body has none), at most one per text, best first.
pub(super) fn digest(texts: &[(&str, &str)], query: &str, k: usize) -> Option<String> {
    let mut items = Vec::new();
    let mut owner = Vec::new();
    for (i, (title, body)) in texts.iter().enumerate() {
        let mut offered = summary_sentences(body, query, 2);
        if offered.is_empty() {
            offered = sentences(&format!("{title}. {body}"));
        }
        for s in offered {
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
pub(super) fn key_topics(texts: &[&str], query: &str, k: usize) -> Vec<String> {
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

/// BM25 of `query` for each document (k1 = 1.2, b = 0.75, idf over this set).
pub(super) fn bm25(query: &[String], docs: &[Vec<String>]) -> Vec<f64> {
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and milliseconds far below 2^52"
    )]
    let n = docs.len() as f64;
    if docs.is_empty() {
        return Vec::new();
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and milliseconds far below 2^52"
    )]
    let avg = docs.iter().map(Vec::len).sum::<usize>() as f64 / n;
    let mut df: HashMap<&str, f64> = HashMap::new();
    for doc in docs {
        let mut seen: Vec<&str> = doc.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            *df.entry(t).or_default() += 1.0;
        }
    }
    let (k1, b) = (1.2, 0.75);
    docs.iter()
        .map(|doc| {
            #[expect(
                clippy::cast_precision_loss,
                reason = "counts and milliseconds far below 2^52"
            )]
            let len = doc.len() as f64;
            query
                .iter()
                .map(|q| {
                    #[expect(
                        clippy::cast_precision_loss,
                        reason = "counts and milliseconds far below 2^52"
                    )]
                    let tf = doc.iter().filter(|t| *t == q).count() as f64;
                    if tf == 0.0 {
                        return 0.0;
                    }
                    let d = df.get(q.as_str()).copied().unwrap_or(0.0);
                    let idf = ((n - d + 0.5) / (d + 0.5) + 1.0).ln();
                    idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len / avg.max(1.0)))
                })
                .sum()
        })
        .collect()
}
