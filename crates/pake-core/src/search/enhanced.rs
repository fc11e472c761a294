//! The enhanced results of a search: merged, ranked, summarised, with the digest and key topics.
//! They are a pure function of the source parts' records, the query and the options, so they are
//! cached per tenant under a key made from exactly those (each part by a hash of its cached
//! bytes): when any part changes the key changes, and a cached search does no text work at all.
//! Identical concurrent computations of a tenant are coalesced into one.

use std::sync::Arc;
use std::time::Duration;

use pake_domain::TenantId;
use pake_domain::search::SourceId;
use pake_ports::{CacheKey, Filter, SourcePage, SourceRecord};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use super::analysis::{Analysis, Needs, Sentence};
use super::rank::{self, Refine, SearchResult};
use super::{Enhancement, SearchService, enhance};
use crate::util::{hex, lock};

/// What the enhancement is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Per-result summaries and the digest.
    pub(crate) summarise: bool,
    /// Key topics.
    pub(crate) topics: bool,
    /// The filters applied after the merge, the order, and what earlier pages returned.
    pub(crate) refine: Refine,
}

/// A search's results as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Enhanced {
    pub(crate) results: Vec<SearchResult>,
    pub(crate) summary: Option<String>,
    pub(crate) key_topics: Vec<String>,
    /// `results` as a history entry keeps them (`snapshot::encode`), made once per enhancement
    /// and shared by every search answered with it (cached searches compress nothing).
    #[serde(skip)]
    pub(crate) kept: std::sync::OnceLock<Vec<u8>>,
}

/// What a part says besides its records: where the source's next page starts and the filters
/// it applied upstream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartHead {
    pub(crate) next: Option<String>,
    pub(crate) applied: Vec<Filter>,
}

/// One source's page as cached: the record count and the head's length (4 bytes each, little
/// endian), the head's JSON, then the records' JSON (the bytes the key hashes). A cached part's
/// records are parsed only when the enhancement is computed.
pub(crate) struct Part {
    pub(crate) source: SourceId,
    pub(crate) count: u32,
    pub(crate) head: PartHead,
    bytes: Vec<u8>,
    /// Where the records' JSON starts in `bytes`.
    body: usize,
    /// Already parsed (a fresh answer), else parsed from `bytes` when needed.
    records: Option<Vec<SourceRecord>>,
}

impl Part {
    /// A fresh answer, and the bytes to cache.
    pub(crate) fn fresh(source: SourceId, page: SourcePage) -> Self {
        let SourcePage {
            records,
            next,
            applied,
        } = page;
        let head = PartHead { next, applied };
        let count = u32::try_from(records.len()).unwrap_or(u32::MAX);
        // both always serialise; an empty body would only make the cached part unreadable
        let head_bytes = serde_json::to_vec(&head).unwrap_or_default();
        let mut bytes = count.to_le_bytes().to_vec();
        bytes.extend_from_slice(
            &u32::try_from(head_bytes.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        bytes.extend_from_slice(&head_bytes);
        let body = bytes.len();
        let _ = serde_json::to_writer(&mut bytes, &records);
        Self {
            source,
            count,
            head,
            bytes,
            body,
            records: Some(records),
        }
    }

    /// Records already parsed, never cached (the micro-benchmark's input).
    #[cfg(feature = "test-support")]
    pub(crate) fn parsed(source: SourceId, records: Vec<SourceRecord>) -> Self {
        Self {
            source,
            count: u32::try_from(records.len()).unwrap_or(u32::MAX),
            head: PartHead::default(),
            bytes: Vec::new(),
            body: 0,
            records: Some(records),
        }
    }

    /// One more record (the micro-benchmark's input).
    #[cfg(feature = "test-support")]
    pub(crate) fn push(&mut self, record: SourceRecord) {
        self.records.get_or_insert_with(Vec::new).push(record);
        self.count += 1;
    }

    /// A cached part; `None` when the bytes are not one.
    pub(crate) fn cached(source: SourceId, bytes: Vec<u8>) -> Option<Self> {
        let count = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
        let head_len = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
        let body = 8usize.checked_add(usize::try_from(head_len).ok()?)?;
        let head = serde_json::from_slice(bytes.get(8..body)?).ok()?;
        Some(Self {
            source,
            count,
            head,
            bytes,
            body,
            records: None,
        })
    }

    /// The bytes to cache.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn into_records(self) -> Vec<SourceRecord> {
        self.records.unwrap_or_else(|| {
            serde_json::from_slice(self.bytes.get(self.body..).unwrap_or_default()).unwrap_or_else(|e| {
                tracing::warn!(source = %self.source, error = %e, "cached part unreadable; left out");
                Vec::new()
            })
        })
    }
}

/// Ranks and enhances the parts' records for `query`: the one place the text work happens.
pub(crate) fn compose(query: &str, parts: Vec<Part>, o: &Options) -> Enhanced {
    let applied: std::collections::BTreeMap<SourceId, Vec<Filter>> = parts
        .iter()
        .map(|p| (p.source, p.head.applied.clone()))
        .collect();
    let records: Vec<(SourceId, SourceRecord)> = parts
        .into_iter()
        .flat_map(|p| {
            let source = p.source;
            p.into_records().into_iter().map(move |r| (source, r))
        })
        .collect();
    let needs = Needs {
        sentences: o.summarise,
    };
    let (mut results, analysis) = rank::rank(query, records, needs, &o.refine, &applied);
    let (summary, key_topics) = enhance_all(o, &analysis, &mut results);
    Enhanced {
        results,
        summary,
        key_topics,
        kept: std::sync::OnceLock::new(),
    }
}

/// Per-result summaries, the digest and the key topics, as asked, from the search's analysis
/// (its docs in the order of `results`).
fn enhance_all(
    o: &Options,
    a: &Analysis,
    results: &mut [SearchResult],
) -> (Option<String>, Vec<String>) {
    let best = &a.docs[..a.docs.len().min(enhance::DIGEST_RESULTS)];
    let summary = if o.summarise {
        let picks: Vec<Vec<&Sentence>> = a
            .docs
            .iter()
            .map(|doc| enhance::summary_sentences(doc, &a.query_set, 2))
            .collect();
        for ((r, doc), picked) in results.iter_mut().zip(&a.docs).zip(&picks) {
            r.summary = enhance::joined(doc, picked);
        }
        enhance::digest(best, &picks[..best.len()], &a.query_set, 3)
    } else {
        None
    };
    let topics = if o.topics {
        enhance::key_topics(a, best, 8)
    } else {
        Vec::new()
    };
    (summary, topics)
}

/// The version of the ranking and enhancement code: part of every key, so results computed by
/// an older release (another replica during a rolling deploy, or Redis after one) are never
/// served. Bump it whenever what `compose` returns changes.
const VERSION: u8 = 5;

/// The cache key of the enhancement of `parts` for `query` and `o`.
fn key(query: &str, parts: &[Part], o: &Options) -> String {
    let mut h = Xxh3::new();
    h.update(&[VERSION, u8::from(o.summarise), u8::from(o.topics)]);
    let refine = serde_json::to_vec(&o.refine).unwrap_or_default();
    h.update(&(refine.len() as u64).to_le_bytes());
    h.update(&refine);
    h.update(&(query.len() as u64).to_le_bytes());
    h.update(query.as_bytes());
    for p in parts {
        h.update(p.source.as_str().as_bytes());
        h.update(&(p.bytes.len() as u64).to_le_bytes());
        h.update(&p.bytes);
    }
    hex(&h.digest128().to_le_bytes())
}

/// Enhancements in flight, by tenant and key.
pub(super) type Flights =
    std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::OnceCell<Arc<Enhanced>>>>>;

/// Removes an enhancement's in-flight entry (if it is still this one) when dropped.
struct Forget<'a> {
    map: &'a Flights,
    key: &'a str,
    cell: &'a Arc<tokio::sync::OnceCell<Arc<Enhanced>>>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let mut map = lock(self.map);
        if map.get(self.key).is_some_and(|c| Arc::ptr_eq(c, self.cell)) {
            map.remove(self.key);
        }
    }
}

impl SearchService {
    /// The enhanced results of `parts`: from the tenant's cache, else computed (once for every
    /// identical concurrent search of the tenant) and cached for as long as the shortest-lived
    /// part involved.
    pub(super) async fn enhanced(
        &self,
        tenant: TenantId,
        query: &str,
        parts: Vec<Part>,
        o: &Options,
    ) -> (Arc<Enhanced>, Enhancement) {
        if parts.is_empty() {
            return (Arc::new(compose(query, parts, o)), Enhancement::Computed);
        }
        let digest = key(query, &parts, o);
        let flight = format!("{tenant}:{digest}");
        let key = CacheKey::tenant(tenant, "enhanced", digest);
        if let Some(found) = self.cached_enhancement(&flight, &key).await {
            return (found, Enhancement::Cached);
        }
        let ttl = parts
            .iter()
            .map(|p| self.setup().ttl(p.source))
            .min()
            .unwrap_or(Duration::from_secs(600));
        let cell = Arc::clone(
            lock(&self.setup().enhancing)
                .entry(flight.clone())
                .or_default(),
        );
        // leaves the map when done, or when this search is dropped half-way (a client gone)
        let _forget = Forget {
            map: &self.setup().enhancing,
            key: &flight,
            cell: &cell,
        };
        let mut how = Enhancement::Shared;
        let enhanced = cell
            .get_or_init(|| async {
                // an identical search may have finished between the lookup above and now
                if let Some(found) = self.cached_enhancement(&flight, &key).await {
                    how = Enhancement::Cached;
                    return found;
                }
                how = Enhancement::Computed;
                let enhanced = Arc::new(compose(query, parts, o));
                if let Ok(bytes) = serde_json::to_vec(&*enhanced) {
                    self.setup()
                        .remember_enhanced(&flight, &enhanced, bytes.len());
                    let _ = self.cache.set(&key, bytes, ttl).await;
                }
                enhanced
            })
            .await
            .clone();
        (enhanced, how)
    }

    /// The enhancement under `key`: from this process's parsed copies (`local` is the tenant
    /// and digest), else from the cache (and then, asked a second time, kept parsed here).
    async fn cached_enhancement(&self, local: &str, key: &CacheKey) -> Option<Arc<Enhanced>> {
        if let Some((found, _)) = self.setup().parsed.get(local) {
            return Some(found);
        }
        let bytes = self.cache.get(key).await.ok()??;
        let found = Arc::new(serde_json::from_slice::<Enhanced>(&bytes).ok()?);
        self.setup().remember_enhanced(local, &found, bytes.len());
        Some(found)
    }
}
