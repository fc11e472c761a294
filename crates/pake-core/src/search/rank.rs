//! Merging and ranking: duplicates across sources become one result (by DOI, arXiv id, PMID, or
//! normalised title plus first author), and results are ordered by BM25 relevance to the query
//! over title and abstract, fused with each source's own order.

use std::collections::HashMap;

use pake_domain::search::{SourceId, normalise_doi};
use pake_ports::SourceRecord;
use serde::{Deserialize, Serialize};

use super::analysis::{Analysis, Doc, Needs, TermId};

/// A result: one paper or page, possibly found by several sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// Title.
    pub title: String,
    /// Landing page (of the first source that found it).
    pub url: String,
    /// The source that ranked it best.
    pub source: SourceId,
    /// Every source that found it.
    pub sources: Vec<SourceId>,
    /// Authors.
    pub authors: Vec<String>,
    /// Publication date.
    pub published: Option<time::Date>,
    /// DOI (bare, lower case).
    pub doi: Option<String>,
    /// arXiv id without version.
    pub arxiv_id: Option<String>,
    /// PubMed id.
    pub pmid: Option<String>,
    /// PDF link.
    pub pdf_url: Option<String>,
    /// Abstract.
    pub abstract_text: Option<String>,
    /// Snippet (web).
    pub snippet: Option<String>,
    /// The fused score in 0..=1 (see [`Score`]).
    pub relevance_score: f64,
    /// How the score was made.
    pub score: Score,
    /// An extractive summary, when asked.
    pub summary: Option<String>,
}

/// The parts of a result's score.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Score {
    /// BM25 of the query over title (counted twice) and abstract or snippet.
    pub bm25: f64,
    /// BM25 divided by the best BM25 of the result set (0..=1).
    pub bm25_normalised: f64,
    /// Reciprocal-rank fusion of the sources' own positions, `Σ 1/(60 + rank)`, normalised to
    /// the best of the set.
    pub source_rank: f64,
}

impl SearchResult {
    /// A result with no fields set (what a test or a merge starts from).
    pub(crate) fn empty() -> Self {
        Self {
            title: String::new(),
            url: String::new(),
            source: SourceId::Web,
            sources: Vec::new(),
            authors: Vec::new(),
            published: None,
            doi: None,
            arxiv_id: None,
            pmid: None,
            pdf_url: None,
            abstract_text: None,
            snippet: None,
            relevance_score: 0.0,
            score: Score::default(),
            summary: None,
        }
    }
}

/// The weight of text relevance in the fused score (the rest is the sources' own order).
const TEXT_WEIGHT: f64 = 0.7;
const RRF_K: f64 = 60.0;

/// The title key for duplicates: lower-case alphanumeric words.
fn title_key(title: &str, first_author: Option<&String>) -> Option<String> {
    let words = tokens_all(title);
    if words.len() < 3 {
        return None;
    }
    let author = first_author
        .and_then(|a| a.split_whitespace().max_by_key(|w| w.len()))
        .map(str::to_lowercase)
        .unwrap_or_default();
    Some(format!("{}|{author}", words.join(" ")))
}

fn tokens_all(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// An arXiv id as a key: lower case, without its version suffix (`2401.00017v2` → `2401.00017`).
fn arxiv_key(id: &str) -> String {
    let id = id.trim().to_lowercase();
    match id.rsplit_once('v') {
        Some((stem, version))
            if !stem.is_empty()
                && !version.is_empty()
                && version.bytes().all(|b| b.is_ascii_digit()) =>
        {
            stem.to_owned()
        }
        _ => id,
    }
}

/// A DOI as a key: the domain's bare, lower-case form (`https://doi.org/`, `doi:` prefixes
/// removed), or the text lower-cased when it does not look like a DOI.
fn doi_key(doi: &str) -> String {
    normalise_doi(doi).unwrap_or_else(|| doi.trim().to_lowercase())
}

/// The DataCite DOI arXiv gives each preprint.
const ARXIV_DOI: &str = "10.48550/arxiv.";

fn keys(r: &SourceRecord) -> Vec<String> {
    let mut k = Vec::new();
    if let Some(doi) = &r.doi {
        let doi = doi_key(doi);
        // arXiv's own DOI names the preprint: the same key as its arXiv id
        if let Some(id) = doi.strip_prefix(ARXIV_DOI) {
            k.push(format!("arxiv:{}", arxiv_key(id)));
        }
        k.push(format!("doi:{doi}"));
    }
    if let Some(id) = &r.arxiv_id {
        k.push(format!("arxiv:{}", arxiv_key(id)));
    }
    if let Some(id) = &r.pmid {
        k.push(format!("pmid:{id}"));
    }
    if let Some(t) = title_key(&r.title, r.authors.first()) {
        k.push(format!("title:{t}"));
    }
    k
}

fn find(parent: &mut [usize], i: usize) -> usize {
    let mut root = i;
    while parent[root] != root {
        root = parent[root];
    }
    let mut j = i;
    while parent[j] != root {
        let next = parent[j];
        parent[j] = root;
        j = next;
    }
    root
}

/// Merges duplicates across sources: every record sharing a key with another joins its group;
/// a group keeps the best-ranked record's fields and fills the gaps from the others (the longest
/// abstract wins). Returns each group's records, best first.
pub(crate) fn merge(records: Vec<(SourceId, SourceRecord)>) -> Vec<Vec<(SourceId, SourceRecord)>> {
    let n = records.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut owner: HashMap<String, usize> = HashMap::new();
    for (i, (_, r)) in records.iter().enumerate() {
        for key in keys(r) {
            match owner.get(&key) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(key, i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<(SourceId, SourceRecord)>> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    for (i, record) in records.into_iter().enumerate() {
        let root = find(&mut parent, i);
        let g = *index.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(record);
    }
    for group in &mut groups {
        group.sort_by_key(|(_, r)| r.rank);
    }
    groups
}

/// BM25 of the query (its tokens, consecutive repeats once) for each document: its title
/// counted twice and its body (k1 = 1.2, b = 0.75, idf over this set).
pub(crate) fn bm25(a: &Analysis) -> Vec<f64> {
    let docs = &a.docs;
    if docs.is_empty() {
        return Vec::new();
    }
    let mut query = a.query.clone();
    query.dedup();
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let n = docs.len() as f64;
    let len = |d: &Doc| d.tokens.len() + d.title_tokens;
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let avg = docs.iter().map(len).sum::<usize>() as f64 / n;
    // documents holding each query term
    let mut df = vec![0.0_f64; query.len()];
    for doc in docs {
        for (q, d) in query.iter().zip(df.iter_mut()) {
            if doc.tokens.contains(q) {
                *d += 1.0;
            }
        }
    }
    let (k1, b) = (1.2, 0.75);
    docs.iter()
        .map(|doc| {
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            let length = len(doc) as f64;
            query
                .iter()
                .zip(&df)
                .map(|(q, &d)| {
                    let count = |t: &[TermId]| t.iter().filter(|t| *t == q).count();
                    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                    let tf = (count(&doc.tokens) + count(&doc.tokens[..doc.title_tokens])) as f64;
                    if tf == 0.0 {
                        return 0.0;
                    }
                    let idf = ((n - d + 0.5) / (d + 0.5) + 1.0).ln();
                    idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length / avg.max(1.0)))
                })
                .sum()
        })
        .collect()
}

/// Merges and orders `records` for `query`: best first, ties by the sources' order. Returns the
/// results and the search's analysis (its docs in the results' order), which the enhancement
/// reads next.
pub(crate) fn rank(
    query: &str,
    records: Vec<(SourceId, SourceRecord)>,
    needs: Needs,
) -> (Vec<SearchResult>, Analysis) {
    let groups = merge(records);
    let rrf: Vec<f64> = groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|(_, r)| 1.0 / (RRF_K + f64::from(r.rank) + 1.0))
                .sum()
        })
        .collect();
    let mut results: Vec<SearchResult> = groups.into_iter().map(combine).collect();
    let mut analysis = Analysis::new(query, &results, needs);
    let text = bm25(&analysis);
    let best_text = text.iter().copied().fold(0.0_f64, f64::max);
    let best_rrf = rrf.iter().copied().fold(0.0_f64, f64::max);
    for (r, (&bm, &rr)) in results.iter_mut().zip(text.iter().zip(&rrf)) {
        let bm25_normalised = if best_text > 0.0 { bm / best_text } else { 0.0 };
        let source_rank = if best_rrf > 0.0 { rr / best_rrf } else { 0.0 };
        let fused = TEXT_WEIGHT * bm25_normalised + (1.0 - TEXT_WEIGHT) * source_rank;
        r.relevance_score = (fused * 1e6).round() / 1e6;
        r.score = Score {
            bm25: bm,
            bm25_normalised,
            source_rank,
        };
    }
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&results[a], &results[b]);
        b.relevance_score
            .total_cmp(&a.relevance_score)
            .then(b.score.source_rank.total_cmp(&a.score.source_rank))
    });
    analysis.reorder(&order);
    let mut slots: Vec<Option<SearchResult>> = results.into_iter().map(Some).collect();
    let results = order.iter().filter_map(|&i| slots[i].take()).collect();
    (results, analysis)
}

fn combine(group: Vec<(SourceId, SourceRecord)>) -> SearchResult {
    let mut sources: Vec<SourceId> = group.iter().map(|(s, _)| *s).collect();
    sources.dedup();
    let mut it = group.into_iter();
    let Some((source, first)) = it.next() else {
        return SearchResult {
            sources,
            ..SearchResult::empty()
        };
    };
    let mut r = SearchResult {
        title: first.title,
        url: first.url,
        source,
        sources: Vec::new(),
        authors: first.authors,
        published: first.published,
        doi: first.doi,
        arxiv_id: first.arxiv_id,
        pmid: first.pmid,
        pdf_url: first.pdf_url,
        abstract_text: first.abstract_text,
        snippet: first.snippet,
        relevance_score: 0.0,
        score: Score::default(),
        summary: None,
    };
    for (_, other) in it {
        if r.authors.is_empty() {
            r.authors = other.authors;
        }
        r.published = r.published.or(other.published);
        r.doi = r.doi.or(other.doi);
        r.arxiv_id = r.arxiv_id.or(other.arxiv_id);
        r.pmid = r.pmid.or(other.pmid);
        r.pdf_url = r.pdf_url.or(other.pdf_url);
        r.snippet = r.snippet.or(other.snippet);
        if other.abstract_text.as_ref().map_or(0, String::len)
            > r.abstract_text.as_ref().map_or(0, String::len)
        {
            r.abstract_text = other.abstract_text;
        }
    }
    let mut seen = Vec::new();
    for s in sources {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    r.sources = seen;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Needs = Needs { sentences: false };

    fn rec(title: &str, rank: u32) -> SourceRecord {
        SourceRecord {
            title: title.into(),
            url: format!("https://example.org/{rank}"),
            rank,
            ..SourceRecord::default()
        }
    }

    #[test]
    fn duplicates_merge_by_any_shared_key() {
        let mut a = rec("Tidal lattices in rotating superfluids", 0);
        a.arxiv_id = Some("2401.00017".into());
        a.doi = Some("10.5555/x".into());
        let mut b = rec("Tidal lattices in rotating superfluids.", 1);
        b.pmid = Some("39000011".into());
        b.doi = Some("10.5555/x".into());
        b.abstract_text = Some("A longer abstract from PubMed.".into());
        let mut c = rec("Unrelated", 0);
        c.pmid = Some("1".into());
        let (results, _) = rank(
            "tidal lattices",
            vec![
                (SourceId::Arxiv, a),
                (SourceId::Pubmed, b),
                (SourceId::Web, c),
            ],
            NONE,
        );
        assert_eq!(results.len(), 2);
        let merged = &results[0];
        assert_eq!(merged.sources, vec![SourceId::Arxiv, SourceId::Pubmed]);
        assert_eq!(merged.pmid.as_deref(), Some("39000011"));
        assert_eq!(merged.arxiv_id.as_deref(), Some("2401.00017"));
        assert_eq!(
            merged.abstract_text.as_deref(),
            Some("A longer abstract from PubMed.")
        );
    }

    #[test]
    fn arxiv_dois_versions_and_doi_spellings_are_one_paper() {
        let mut preprint = rec("Surface codes at scale", 0);
        preprint.arxiv_id = Some("2401.00017v2".into());
        let mut datacite = rec("Surface codes at scale (DataCite)", 1);
        datacite.doi = Some("10.48550/arXiv.2401.00017".into());
        let mut published = rec("Surface codes at scale, published", 2);
        published.doi = Some("https://doi.org/10.1103/PhysRev.X".into());
        let mut again = rec("Surface codes at scale, again", 3);
        again.doi = Some("doi:10.1103/physrev.x".into());
        let mut other = rec("Another paper on codes", 4);
        other.arxiv_id = Some("2401.00018".into());
        let groups = merge(vec![
            (SourceId::Arxiv, preprint),
            (SourceId::Web, datacite),
            (SourceId::Pubmed, published),
            (SourceId::Web, again),
            (SourceId::Arxiv, other),
        ]);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1], "{groups:?}");
        assert_eq!(arxiv_key("hep-th/9901001v3"), "hep-th/9901001");
        assert_eq!(arxiv_key("2401.00017"), "2401.00017");
        assert_eq!(arxiv_key("v2"), "v2", "nothing before the version: kept");
    }

    #[test]
    fn relevance_beats_source_order_and_is_explained() {
        let (results, _) = rank(
            "quantum error correction",
            vec![
                (SourceId::Arxiv, rec("Cooking with cast iron pans", 0)),
                (
                    SourceId::Arxiv,
                    rec("Quantum error correction with surface codes", 1),
                ),
            ],
            NONE,
        );
        assert!(results[0].title.starts_with("Quantum"));
        assert!(results[0].score.bm25 > 0.0);
        assert!((results[0].score.bm25_normalised - 1.0).abs() < 1e-9);
        assert!(results[1].score.bm25.abs() < f64::EPSILON);
        assert!(results[0].relevance_score > results[1].relevance_score);
        assert!(results[0].relevance_score <= 1.0);
    }

    #[test]
    fn bm25_prefers_rare_terms_and_shorter_documents() {
        let mut docs = vec![
            rec("lattice", 0),
            rec("lattice with many other words around it here", 1),
            rec("nothing relevant", 2),
        ];
        docs[0].abstract_text = Some("lattice".into());
        let results: Vec<SearchResult> = docs
            .into_iter()
            .map(|r| combine(vec![(SourceId::Arxiv, r)]))
            .collect();
        let s = bm25(&Analysis::new("lattice", &results, NONE));
        assert!(s[0] > s[1] && s[1] > s[2], "{s:?}");
    }
}
