//! What a search answered, kept: each page's results in its history entry (compressed, bounded),
//! reopened later, exported, swept when its plan's retention ends; and the marks of the
//! collections already holding a result.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use pake_domain::collection::{CollectionFilter, CollectionRef};
use pake_domain::search::SearchRecord;
use pake_domain::{Permission, SearchId};
use serde::{Deserialize, Serialize};

use super::{SearchResult, SearchService, rank};
use crate::CoreError;
use crate::caller::Caller;

/// The most compressed bytes one kept page takes; results beyond are left out (and counted).
pub(crate) const MAX_PAGE_BYTES: usize = 512 * 1024;
/// How many of the caller's latest history entries a paper added by its id is looked up in.
const RECENT_ENTRIES: u32 = 20;
/// The most bytes a kept page may inflate to when read back.
const MAX_INFLATED_BYTES: u64 = 32 * 1024 * 1024;

/// A kept page as stored (deflated JSON).
#[derive(Serialize, Deserialize)]
struct Kept {
    results: Vec<SearchResult>,
    /// Results left out to stay within [`MAX_PAGE_BYTES`].
    #[serde(default)]
    dropped: u32,
}

fn deflate(kept: &Kept) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::fast());
    // writing to a Vec cannot fail; serialising our own types neither
    if serde_json::to_writer(&mut e, kept).is_err() {
        return Vec::new();
    }
    e.flush().ok();
    e.finish().unwrap_or_default()
}

/// A page's results as kept: deflated JSON, at most [`MAX_PAGE_BYTES`] (the last results left
/// out until it fits).
pub(crate) fn encode(results: &[SearchResult]) -> Vec<u8> {
    let mut n = results.len();
    loop {
        let body = deflate(&Kept {
            results: results[..n].to_vec(),
            dropped: u32::try_from(results.len() - n).unwrap_or(u32::MAX),
        });
        if body.len() <= MAX_PAGE_BYTES || n == 0 {
            return body;
        }
        n /= 2;
    }
}

/// A kept page read back: its results and how many were left out; `None` when unreadable.
fn decode(body: &[u8]) -> Option<(Vec<SearchResult>, u32)> {
    let mut text = Vec::new();
    DeflateDecoder::new(body)
        .take(MAX_INFLATED_BYTES)
        .read_to_end(&mut text)
        .ok()?;
    let kept: Kept = serde_json::from_slice(&text).ok()?;
    Some((kept.results, kept.dropped))
}

/// A history entry reopened.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The search.
    pub record: SearchRecord,
    /// Every kept page's results, first page first.
    pub results: Vec<SearchResult>,
    /// For each result, the caller's readable collections that hold it.
    pub in_collections: Vec<Vec<CollectionRef>>,
    /// Whether the results are kept (false once the plan's retention swept them).
    pub kept: bool,
    /// Results left out of the kept pages to bound their size.
    pub dropped: u32,
}

impl SearchService {
    /// A history entry with its kept results: the caller's own, one run from a public saved
    /// search, or (admins and managers) any of the tenant's.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] (also for another user's entry the caller may not read).
    pub async fn entry(&self, caller: &Caller, id: SearchId) -> Result<Entry, CoreError> {
        self.access.authorize(caller, Permission::ReadOwnSearches)?;
        let record = self
            .history
            .get(caller.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if !self.may_read(caller, &record).await? {
            return Err(CoreError::NotFound);
        }
        let pages = self.history.snapshot(caller.tenant_id, id).await?;
        let kept = !pages.is_empty();
        let mut results = Vec::new();
        let mut dropped = 0u32;
        for page in &pages {
            let (r, d) = decode(&page.body).ok_or(CoreError::InvalidState(
                "the kept results of this search are unreadable",
            ))?;
            results.extend(r);
            dropped = dropped.saturating_add(d);
        }
        let in_collections = self.markers(caller, &results).await;
        Ok(Entry {
            record,
            results,
            in_collections,
            kept,
            dropped,
        })
    }

    async fn may_read(&self, caller: &Caller, record: &SearchRecord) -> Result<bool, CoreError> {
        if record.user_id == caller.user_id || caller.can(Permission::ReadAllSearches) {
            return Ok(true);
        }
        let Some(saved) = record.saved_search_id else {
            return Ok(false);
        };
        Ok(self
            .saved
            .find(caller.tenant_id, saved)
            .await?
            .is_some_and(|s| s.is_public))
    }

    /// The latest run of a saved search, as [`SearchService::entry`] reopens it.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] when it never ran (or the caller may not read it).
    pub(crate) async fn latest_run(
        &self,
        caller: &Caller,
        saved: pake_domain::SavedSearchId,
    ) -> Result<Entry, CoreError> {
        let record = self
            .history
            .latest_of_saved(caller.tenant_id, saved)
            .await?
            .ok_or(CoreError::NotFound)?;
        self.entry(caller, record.id).await
    }

    /// A result the caller's latest searches kept (the last [`RECENT_ENTRIES`] entries the caller
    /// may read) that matches any of `keys`, newest first.
    pub(crate) async fn kept_record(
        &self,
        caller: &Caller,
        keys: &[String],
    ) -> Result<Option<SearchResult>, CoreError> {
        let filter = pake_domain::search::HistoryFilter {
            user_id: (!caller.can(Permission::ReadAllSearches)).then_some(caller.user_id),
            since: None,
        };
        let recent = self
            .history
            .list(
                caller.tenant_id,
                &filter,
                pake_domain::PageRequest::new(Some(RECENT_ENTRIES), Some(0))?,
            )
            .await?;
        for record in recent.items {
            for page in self.history.snapshot(caller.tenant_id, record.id).await? {
                let Some((results, _)) = decode(&page.body) else {
                    continue;
                };
                if let Some(r) = results
                    .into_iter()
                    .find(|r| rank::result_key_strings(r).iter().any(|k| keys.contains(k)))
                {
                    return Ok(Some(r));
                }
            }
        }
        Ok(None)
    }

    /// For each result, the collections the caller may read that hold it (matched by any of its
    /// de-duplication keys), in one store query. A store failure marks nothing (the search still
    /// answers).
    pub(crate) async fn markers(
        &self,
        caller: &Caller,
        results: &[SearchResult],
    ) -> Vec<Vec<CollectionRef>> {
        let keys: Vec<Vec<String>> = results.iter().map(rank::result_key_strings).collect();
        let all: BTreeSet<&String> = keys.iter().flatten().collect();
        if all.is_empty() {
            return vec![Vec::new(); results.len()];
        }
        let all: Vec<String> = all.into_iter().cloned().collect();
        let filter = CollectionFilter {
            reader: (!caller.can(Permission::ReadAllSearches)).then_some(caller.user_id),
        };
        let held = match self
            .collections
            .holding(caller.tenant_id, &all, filter)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "collection marks unavailable");
                Vec::new()
            }
        };
        let mut by_key: HashMap<String, Vec<CollectionRef>> = HashMap::new();
        for (key, c) in held {
            by_key.entry(key).or_default().push(c);
        }
        keys.iter()
            .map(|ks| {
                let set: BTreeSet<CollectionRef> = ks
                    .iter()
                    .filter_map(|k| by_key.get(k))
                    .flatten()
                    .cloned()
                    .collect();
                set.into_iter().collect()
            })
            .collect()
    }

    /// [`SearchService::sweep_snapshots`] now.
    ///
    /// # Errors
    /// As [`SearchService::sweep_snapshots`].
    pub async fn sweep_expired_snapshots(&self) -> Result<u64, CoreError> {
        self.sweep_snapshots(self.env.clock.now()).await
    }

    /// Deletes the kept results each tenant's plan no longer keeps (fetched before `now` minus
    /// its retention). Returns how many pages it deleted.
    ///
    /// # Errors
    /// The store's, after the tenants before the failing one were swept.
    pub async fn sweep_snapshots(&self, now: time::OffsetDateTime) -> Result<u64, CoreError> {
        let mut deleted = 0;
        for tenant in self.access.directory.entries() {
            let plan = self.access.plans.get(tenant.plan);
            let Some(days) = plan.result_retention_days else {
                continue;
            };
            let before = now - time::Duration::days(i64::from(days));
            deleted += self.history.purge_snapshots(tenant.id, before).await?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_trip_and_stay_bounded() {
        let mut r = SearchResult::empty();
        r.title = "Café \u{0} {braces} & 100%".into();
        let body = encode(&[r.clone(), r.clone()]);
        let (back, dropped) = decode(&body).unwrap();
        assert_eq!(back, vec![r.clone(), r]);
        assert_eq!(dropped, 0);
        assert!(decode(b"not deflate").is_none());
        // incompressible abstracts beyond the bound: the tail is left out and counted
        let big: Vec<SearchResult> = (0..64u64)
            .map(|i| {
                let mut r = SearchResult::empty();
                let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                r.abstract_text = Some(
                    (0..20_000)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            char::from(b'a' + u8::try_from(x % 26).unwrap())
                        })
                        .collect(),
                );
                r
            })
            .collect();
        let body = encode(&big);
        assert!(body.len() <= MAX_PAGE_BYTES);
        let (kept, dropped) = decode(&body).unwrap();
        assert_eq!(kept.len() + dropped as usize, big.len());
        assert!(dropped > 0);
    }
}
