//! Merging and ranking: duplicates across sources become one result (by DOI, arXiv id, PMID,
//! PMCID, OpenAlex or Semantic Scholar id, a version's DOI, or normalised title plus first
//! author), a preprint and its published version one result with both in `versions`; the
//! filters no source applied are applied to the merged results; results are ordered by BM25
//! relevance to the query over title and abstract, fused with each source's own order and a
//! bounded citation prior (or by date or citations when asked).

use std::collections::{BTreeMap, HashMap, HashSet};

use pake_domain::search::{SourceId, normalise_doi};
use pake_ports::{Filter, OpenAccess, SortOrder, SourceRecord};
use serde::{Deserialize, Serialize};

use super::analysis::{Analysis, Doc, Needs, TermId};

/// One version of a work: its preprint or its published form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// `preprint` or `published`.
    pub kind: VersionKind,
    /// Its DOI, when known.
    pub doi: Option<String>,
    /// Its arXiv id, for an arXiv preprint.
    pub arxiv_id: Option<String>,
    /// Where it is, when known.
    pub url: Option<String>,
    /// Its venue (journal, proceedings, preprint server), when known.
    pub venue: Option<String>,
    /// The source that named it.
    pub source: SourceId,
}

/// Which version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKind {
    /// Before peer review (arXiv, a preprint server).
    Preprint,
    /// The version of record.
    Published,
}

/// What narrows and orders a page of results after the merge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Refine {
    pub(crate) date_from: Option<time::Date>,
    pub(crate) date_to: Option<time::Date>,
    pub(crate) authors: Vec<String>,
    pub(crate) venues: Vec<String>,
    pub(crate) publication_types: Vec<String>,
    pub(crate) open_access_only: bool,
    pub(crate) sort: SortOrder,
    /// Keys of the results earlier pages returned (those are left out of this one).
    pub(crate) seen: Vec<u64>,
}

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
    /// Journal, proceedings or repository.
    #[serde(default)]
    pub venue: Option<String>,
    /// Publication type in the common vocabulary.
    #[serde(default)]
    pub publication_type: Option<String>,
    /// Citations (the most any source counts).
    #[serde(default)]
    pub citation_count: Option<u32>,
    /// Open access (free to read when any source says so).
    #[serde(default)]
    pub open_access: Option<OpenAccess>,
    /// A source marks it retracted.
    #[serde(default)]
    pub retracted: bool,
    /// PubMed Central id.
    #[serde(default)]
    pub pmcid: Option<String>,
    /// OpenAlex work id.
    #[serde(default)]
    pub openalex_id: Option<String>,
    /// Semantic Scholar paper id.
    #[serde(default)]
    pub s2_id: Option<String>,
    /// Its preprint and published versions, when both are known.
    #[serde(default)]
    pub versions: Vec<Version>,
    /// The subject category a source files it under first (arXiv's primary category).
    #[serde(default)]
    pub primary_category: Option<String>,
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
    /// `ln(1 + citations) / ln(1 + most citations in the set)` (0..=1; 0 without counts).
    #[serde(default)]
    pub citation_prior: f64,
    /// Whether the prior took part (some result of the set has a citation count and the order
    /// is by relevance).
    #[serde(default)]
    pub with_citations: bool,
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
            venue: None,
            publication_type: None,
            citation_count: None,
            open_access: None,
            retracted: false,
            pmcid: None,
            openalex_id: None,
            s2_id: None,
            versions: Vec::new(),
            primary_category: None,
        }
    }
}

/// The weight of text relevance in the fused score (the rest is the sources' own order).
const TEXT_WEIGHT: f64 = 0.7;
/// With citation counts: text, the sources' order and the citation prior.
const CITED_WEIGHTS: (f64, f64, f64) = (0.6, 0.3, 0.1);
const RRF_K: f64 = 60.0;

/// How a score is made, as the `score.method` of a result says.
pub fn score_method(with_citations: bool) -> &'static str {
    if with_citations {
        "0.6 × bm25_normalised + 0.3 × source_rank + 0.1 × citation_prior"
    } else {
        "0.7 × bm25_normalised + 0.3 × source_rank"
    }
}

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

/// The merge keys of a record's identity: its DOI (an arXiv DataCite DOI also as its arXiv
/// id), arXiv id, PMID, PMCID, OpenAlex and Semantic Scholar ids, its other versions' DOIs, and
/// its title with first author.
#[expect(
    clippy::too_many_arguments,
    reason = "each is one identifier a record may carry"
)]
fn identity_keys(
    doi: Option<&str>,
    arxiv_id: Option<&str>,
    pmid: Option<&str>,
    pubmed_central: Option<&str>,
    openalex_id: Option<&str>,
    s2_id: Option<&str>,
    other_dois: &[String],
    title: Option<String>,
) -> Vec<String> {
    let mut k = Vec::new();
    for doi in doi.into_iter().chain(other_dois.iter().map(String::as_str)) {
        let doi = doi_key(doi);
        // arXiv's own DOI names the preprint: the same key as its arXiv id
        if let Some(id) = doi.strip_prefix(ARXIV_DOI) {
            k.push(format!("arxiv:{}", arxiv_key(id)));
        }
        k.push(format!("doi:{doi}"));
    }
    if let Some(id) = arxiv_id {
        k.push(format!("arxiv:{}", arxiv_key(id)));
    }
    if let Some(id) = pmid {
        k.push(format!("pmid:{}", id.trim()));
    }
    if let Some(id) = pubmed_central {
        k.push(format!("pmcid:{}", id.trim().to_ascii_uppercase()));
    }
    if let Some(id) = openalex_id {
        k.push(format!("openalex:{}", id.trim().to_ascii_uppercase()));
    }
    if let Some(id) = s2_id {
        k.push(format!("s2:{}", id.trim().to_ascii_lowercase()));
    }
    if let Some(t) = title {
        k.push(format!("title:{t}"));
    }
    k
}

fn keys(r: &SourceRecord) -> Vec<String> {
    identity_keys(
        r.doi.as_deref(),
        r.arxiv_id.as_deref(),
        r.pmid.as_deref(),
        r.pmcid.as_deref(),
        r.openalex_id.as_deref(),
        r.s2_id.as_deref(),
        &r.other_versions,
        title_key(&r.title, r.authors.first()),
    )
}

/// A key as the 64-bit hash earlier pages are remembered by.
fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// The hashed merge keys of a result (what a later page is de-duplicated against).
pub(crate) fn result_keys(r: &SearchResult) -> Vec<u64> {
    result_key_strings(r).iter().map(|k| key_hash(k)).collect()
}

/// The merge keys of a result (`doi:…`, `arxiv:…`, `pmid:…`, …, `title:…`): what a collection
/// holds a paper by.
pub(crate) fn result_key_strings(r: &SearchResult) -> Vec<String> {
    let version_dois: Vec<String> = r.versions.iter().filter_map(|v| v.doi.clone()).collect();
    let mut k = identity_keys(
        r.doi.as_deref(),
        r.arxiv_id.as_deref(),
        r.pmid.as_deref(),
        r.pmcid.as_deref(),
        r.openalex_id.as_deref(),
        r.s2_id.as_deref(),
        &version_dois,
        title_key(&r.title, r.authors.first()),
    );
    k.extend(
        r.versions
            .iter()
            .filter_map(|v| v.arxiv_id.as_deref())
            .map(|id| format!("arxiv:{}", arxiv_key(id))),
    );
    k.sort_unstable();
    k.dedup();
    k
}

/// The merge keys of a paper named by one id (`doi`, `arxiv` or `pmid`).
pub(crate) fn id_keys(kind: &str, id: &str) -> Vec<String> {
    match kind {
        "doi" => identity_keys(Some(id), None, None, None, None, None, &[], None),
        "arxiv" => identity_keys(None, Some(id), None, None, None, None, &[], None),
        "pmid" => identity_keys(None, None, Some(id), None, None, None, &[], None),
        _ => Vec::new(),
    }
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

/// Whether `r` meets the filters of `refine`: each set filter either applied upstream by one of
/// the sources that found it, or met by its merged fields (a result without the field does not
/// meet it).
fn passes(r: &SearchResult, refine: &Refine, applied: &BTreeMap<SourceId, Vec<Filter>>) -> bool {
    let vouched = |f: Filter| {
        r.sources
            .iter()
            .any(|s| applied.get(s).is_some_and(|a| a.contains(&f)))
    };
    let check = |f: Filter, set: bool, local: &dyn Fn() -> bool| !set || vouched(f) || local();
    check(
        Filter::Dates,
        refine.date_from.is_some() || refine.date_to.is_some(),
        &|| {
            r.published.is_some_and(|d| {
                refine.date_from.is_none_or(|f| d >= f) && refine.date_to.is_none_or(|t| d <= t)
            })
        },
    ) && check(Filter::Authors, !refine.authors.is_empty(), &|| {
        refine.authors.iter().any(|wanted| {
            let surname = tokens_all(wanted)
                .into_iter()
                .filter(|w| w.chars().count() >= 2)
                .max_by_key(|w| w.chars().count());
            surname.is_some_and(|s| r.authors.iter().any(|a| tokens_all(a).contains(&s)))
        })
    }) && check(Filter::Venues, !refine.venues.is_empty(), &|| {
        let venue = r
            .venue
            .as_deref()
            .map(|v| format!(" {} ", tokens_all(v).join(" ")));
        venue.is_some_and(|v| {
            refine
                .venues
                .iter()
                .any(|w| v.contains(&format!(" {} ", tokens_all(w).join(" "))))
        })
    }) && check(
        Filter::PublicationTypes,
        !refine.publication_types.is_empty(),
        &|| {
            r.publication_type
                .as_ref()
                .is_some_and(|t| refine.publication_types.contains(t))
        },
    ) && check(Filter::OpenAccess, refine.open_access_only, &|| {
        r.open_access.as_ref().is_some_and(|o| o.is_oa)
    })
}

/// Merges, narrows and orders `records` for `query`: groups whose keys an earlier page
/// returned are left out, then results that miss a filter no source of theirs applied; the
/// rest best first (ties by the sources' order), or newest or most cited first when asked.
/// `applied` is what each source applied upstream. Returns the results and the search's
/// analysis (its docs in the results' order), which the enhancement reads next.
pub(crate) fn rank(
    query: &str,
    records: Vec<(SourceId, SourceRecord)>,
    needs: Needs,
    refine: &Refine,
    applied: &BTreeMap<SourceId, Vec<Filter>>,
) -> (Vec<SearchResult>, Analysis) {
    let seen: HashSet<u64> = refine.seen.iter().copied().collect();
    // the works a retraction notice among the records retracts
    let retracted: HashSet<String> = records
        .iter()
        .flat_map(|(_, r)| r.retracts.iter().map(|d| doi_key(d)))
        .collect();
    let (mut results, rrf): (Vec<SearchResult>, Vec<f64>) = merge(records)
        .into_iter()
        .filter(|g| {
            seen.is_empty()
                || !g
                    .iter()
                    .any(|(_, r)| keys(r).iter().any(|k| seen.contains(&key_hash(k))))
        })
        .map(|g| {
            let rrf: f64 = g
                .iter()
                .map(|(_, r)| 1.0 / (RRF_K + f64::from(r.rank) + 1.0))
                .sum();
            let mut result = combine(&g);
            result.retracted |= g.iter().any(|(_, r)| {
                r.doi
                    .as_deref()
                    .is_some_and(|d| retracted.contains(&doi_key(d)))
            });
            (result, rrf)
        })
        .filter(|(r, _)| passes(r, refine, applied))
        .unzip();
    let mut analysis = Analysis::new(query, &results, needs);
    let text = bm25(&analysis);
    let best_text = text.iter().copied().fold(0.0_f64, f64::max);
    let best_rrf = rrf.iter().copied().fold(0.0_f64, f64::max);
    let most_cited = results
        .iter()
        .filter_map(|r| r.citation_count)
        .max()
        .unwrap_or(0);
    let with_citations = most_cited > 0 && refine.sort == SortOrder::Relevance;
    for (r, (&bm, &rr)) in results.iter_mut().zip(text.iter().zip(&rrf)) {
        let bm25_normalised = if best_text > 0.0 { bm / best_text } else { 0.0 };
        let source_rank = if best_rrf > 0.0 { rr / best_rrf } else { 0.0 };
        let citation_prior = if most_cited > 0 {
            f64::from(r.citation_count.unwrap_or(0)).ln_1p() / f64::from(most_cited).ln_1p()
        } else {
            0.0
        };
        let fused = if with_citations {
            let (t, s, c) = CITED_WEIGHTS;
            t * bm25_normalised + s * source_rank + c * citation_prior
        } else {
            TEXT_WEIGHT * bm25_normalised + (1.0 - TEXT_WEIGHT) * source_rank
        };
        r.relevance_score = (fused * 1e6).round() / 1e6;
        r.score = Score {
            bm25: bm,
            bm25_normalised,
            source_rank,
            citation_prior,
            with_citations,
        };
    }
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&results[a], &results[b]);
        let by_relevance = b
            .relevance_score
            .total_cmp(&a.relevance_score)
            .then(b.score.source_rank.total_cmp(&a.score.source_rank));
        match refine.sort {
            SortOrder::Relevance => by_relevance,
            // unknown dates and counts last
            SortOrder::Date => b.published.cmp(&a.published).then(by_relevance),
            SortOrder::Citations => b.citation_count.cmp(&a.citation_count).then(by_relevance),
        }
    });
    analysis.reorder(&order);
    let mut slots: Vec<Option<SearchResult>> = results.into_iter().map(Some).collect();
    let results = order.iter().filter_map(|&i| slots[i].take()).collect();
    (results, analysis)
}

/// Adds `v` to `versions`, or fills the gaps of the entry naming the same version.
fn add_version(versions: &mut Vec<Version>, v: Version) {
    let same = |o: &Version| {
        o.kind == v.kind
            && ((v.doi.is_some() && o.doi == v.doi)
                || (v.arxiv_id.is_some() && o.arxiv_id == v.arxiv_id))
    };
    match versions.iter_mut().find(|o| same(o)) {
        Some(o) => {
            o.url = o.url.take().or(v.url);
            o.venue = o.venue.take().or(v.venue);
            o.doi = o.doi.take().or(v.doi);
        }
        None => versions.push(v),
    }
}

/// The versions a group's records name: an arXiv id is the preprint; a DOI is the published
/// version, or the preprint of a preprint record from a preprint server; the versions a record
/// names (Crossref `is-preprint-of`/`has-preprint`) are the other kind.
fn versions_of(group: &[(SourceId, SourceRecord)]) -> Vec<Version> {
    let mut versions = Vec::new();
    for (source, r) in group {
        let by_doi = |kind, doi: &str, url: Option<String>, venue: Option<String>| Version {
            kind,
            doi: Some(doi.to_owned()),
            arxiv_id: None,
            url: url.or_else(|| Some(format!("https://doi.org/{doi}"))),
            venue,
            source: *source,
        };
        let on_arxiv = |id: &str, doi: Option<String>| Version {
            kind: VersionKind::Preprint,
            url: Some(format!("https://arxiv.org/abs/{}", arxiv_key(id))),
            arxiv_id: Some(arxiv_key(id)),
            doi,
            venue: Some("arXiv".into()),
            source: *source,
        };
        if let Some(id) = &r.arxiv_id {
            add_version(&mut versions, on_arxiv(id, None));
        }
        if let Some(doi) = r.doi.as_deref().map(doi_key) {
            let v = if let Some(id) = doi.strip_prefix(ARXIV_DOI) {
                on_arxiv(id, Some(doi.clone()))
            } else if r.preprint && r.arxiv_id.is_none() {
                by_doi(
                    VersionKind::Preprint,
                    &doi,
                    Some(r.url.clone()),
                    r.venue.clone(),
                )
            } else if r.preprint {
                // arXiv's `<arxiv:doi>`: the published version of this preprint
                by_doi(VersionKind::Published, &doi, None, None)
            } else {
                by_doi(
                    VersionKind::Published,
                    &doi,
                    Some(r.url.clone()),
                    r.venue.clone(),
                )
            };
            add_version(&mut versions, v);
        }
        for other in &r.other_versions {
            let other = doi_key(other);
            let kind = if r.preprint {
                VersionKind::Published
            } else {
                VersionKind::Preprint
            };
            add_version(&mut versions, by_doi(kind, &other, None, None));
        }
    }
    let has = |k: VersionKind| versions.iter().any(|v| v.kind == k);
    if has(VersionKind::Preprint) && has(VersionKind::Published) {
        versions
    } else {
        Vec::new()
    }
}

/// The result of a group (best-ranked record first): title, link and source from the best
/// ranked; identity, venue and type preferably from the version of record; each gap filled from
/// the others; the most citations, the longest abstract; open access when any says so;
/// retracted when any says so.
fn combine(group: &[(SourceId, SourceRecord)]) -> SearchResult {
    let mut sources: Vec<SourceId> = Vec::new();
    for (s, _) in group {
        if !sources.contains(s) {
            sources.push(*s);
        }
    }
    let versions = versions_of(group);
    let Some((source, first)) = group.first() else {
        return SearchResult {
            sources,
            ..SearchResult::empty()
        };
    };
    // records in preference order for identity fields: versions of record first
    let mut preferred: Vec<&SourceRecord> = group.iter().map(|(_, r)| r).collect();
    preferred.sort_by_key(|r| r.preprint);
    let pick = |f: &dyn Fn(&SourceRecord) -> Option<String>| preferred.iter().find_map(|r| f(r));
    let published_doi = versions
        .iter()
        .find(|v| v.kind == VersionKind::Published)
        .and_then(|v| v.doi.clone());
    let open_access = group
        .iter()
        .filter_map(|(_, r)| r.open_access.as_ref())
        .find(|o| o.is_oa)
        .or_else(|| group.iter().find_map(|(_, r)| r.open_access.as_ref()))
        .cloned();
    SearchResult {
        title: first.title.clone(),
        url: first.url.clone(),
        source: *source,
        authors: group
            .iter()
            .map(|(_, r)| &r.authors)
            .find(|a| !a.is_empty())
            .cloned()
            .unwrap_or_default(),
        published: preferred.iter().find_map(|r| r.published),
        doi: published_doi.or_else(|| pick(&|r| r.doi.clone())),
        arxiv_id: pick(&|r| r.arxiv_id.clone()),
        pmid: pick(&|r| r.pmid.clone()),
        pdf_url: group.iter().find_map(|(_, r)| r.pdf_url.clone()),
        abstract_text: group
            .iter()
            .filter_map(|(_, r)| r.abstract_text.as_ref())
            .fold(None::<&String>, |best, a| match best {
                Some(b) if b.len() >= a.len() => Some(b),
                _ => Some(a),
            })
            .cloned(),
        snippet: group.iter().find_map(|(_, r)| r.snippet.clone()),
        relevance_score: 0.0,
        score: Score::default(),
        summary: None,
        venue: pick(&|r| r.venue.clone()),
        publication_type: pick(&|r| r.publication_type.clone()),
        citation_count: group.iter().filter_map(|(_, r)| r.citation_count).max(),
        open_access,
        retracted: group.iter().any(|(_, r)| r.retracted),
        pmcid: pick(&|r| r.pmcid.clone()),
        openalex_id: pick(&|r| r.openalex_id.clone()),
        s2_id: pick(&|r| r.s2_id.clone()),
        primary_category: group.iter().find_map(|(_, r)| r.primary_category.clone()),
        versions,
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Needs = Needs { sentences: false };

    fn rank(
        query: &str,
        records: Vec<(SourceId, SourceRecord)>,
        needs: Needs,
    ) -> (Vec<SearchResult>, Analysis) {
        super::rank(query, records, needs, &Refine::default(), &BTreeMap::new())
    }

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
    fn a_retraction_notice_marks_the_work_it_retracts() {
        let mut work = rec("A paper later retracted by its journal", 0);
        work.doi = Some("10.5555/gone".into());
        let mut notice = rec("Retraction notice for the gone paper", 1);
        notice.doi = Some("10.5555/notice".into());
        notice.retracts = vec!["10.5555/GONE".into()];
        notice.publication_type = Some("retraction_notice".into());
        let mut other = rec("An unrelated paper that stands", 2);
        other.doi = Some("10.5555/fine".into());
        let (results, _) = rank(
            "paper",
            vec![
                (SourceId::Pubmed, work),
                (SourceId::Crossref, notice),
                (SourceId::Crossref, other),
            ],
            NONE,
        );
        let by_doi = |d: &str| {
            results
                .iter()
                .find(|r| r.doi.as_deref() == Some(d))
                .unwrap()
        };
        assert!(by_doi("10.5555/gone").retracted);
        assert!(
            !by_doi("10.5555/notice").retracted,
            "the notice itself is not retracted"
        );
        assert!(!by_doi("10.5555/fine").retracted);
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
            .map(|r| combine(&[(SourceId::Arxiv, r)]))
            .collect();
        let s = bm25(&Analysis::new("lattice", &results, NONE));
        assert!(s[0] > s[1] && s[1] > s[2], "{s:?}");
    }
}
