use std::collections::BTreeMap;

use async_trait::async_trait;
use pake_domain::search::{
    HistoryFilter, PopularQuery, SearchRecord, SearchStats, SnapshotPage, SourceId,
};
use pake_domain::{Page, PageRequest, SavedSearchId, SearchId, TenantId};
use pake_ports::{Conflict, RepoError, SearchHistoryRepository};
use time::OffsetDateTime;

use super::{MemoryStore, State, page_of};

impl State {
    /// The tenant's searches that `filter` selects, in no order.
    fn searches<'s>(
        &'s self,
        tenant: TenantId,
        filter: &'s HistoryFilter,
    ) -> impl Iterator<Item = &'s SearchRecord> {
        self.history
            .iter()
            .filter(move |r| r.tenant_id == tenant)
            .filter(|r| filter.user_id.is_none_or(|u| r.user_id == u))
            .filter(|r| filter.since.is_none_or(|at| r.created_at >= at))
    }
}

impl State {
    /// Keeps the record's first page, when it carries one.
    fn keep(&mut self, r: &SearchRecord) {
        if let Some(body) = &r.snapshot {
            self.snapshots.insert(
                (r.tenant_id, r.id),
                vec![SnapshotPage {
                    page: 1,
                    created_at: r.created_at,
                    body: body.clone(),
                }],
            );
        }
    }
}

impl MemoryStore {
    /// The record as stored: without its snapshot (kept apart).
    fn stored(r: &SearchRecord) -> SearchRecord {
        SearchRecord {
            snapshot: None,
            ..r.clone()
        }
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[async_trait]
impl SearchHistoryRepository for MemoryStore {
    async fn append(&self, record: &SearchRecord) -> Result<(), RepoError> {
        let mut s = self.state();
        if !s.users.contains_key(&(record.tenant_id, record.user_id)) {
            return Err(RepoError::NotFound);
        }
        if s.history
            .iter()
            .any(|r| r.tenant_id == record.tenant_id && r.id == record.id)
        {
            return Err(RepoError::Conflict(Conflict::Id));
        }
        s.keep(record);
        s.history.push(Self::stored(record));
        Ok(())
    }

    async fn append_many(&self, records: &[SearchRecord]) -> Result<(), RepoError> {
        let mut s = self.state();
        for (i, record) in records.iter().enumerate() {
            if !s.users.contains_key(&(record.tenant_id, record.user_id)) {
                return Err(RepoError::NotFound);
            }
            let taken = |r: &SearchRecord| r.tenant_id == record.tenant_id && r.id == record.id;
            if s.history.iter().any(taken) || records[..i].iter().any(taken) {
                return Err(RepoError::Conflict(Conflict::Id));
            }
        }
        for r in records {
            s.keep(r);
        }
        s.history.extend(records.iter().map(Self::stored));
        Ok(())
    }

    async fn get(&self, tenant: TenantId, id: SearchId) -> Result<Option<SearchRecord>, RepoError> {
        let s = self.state();
        Ok(s.history
            .iter()
            .find(|r| r.tenant_id == tenant && r.id == id)
            .cloned())
    }

    async fn add_page(
        &self,
        tenant: TenantId,
        id: SearchId,
        pages: u32,
        paging: &serde_json::Value,
        added: u32,
        snapshot: &SnapshotPage,
    ) -> Result<bool, RepoError> {
        let mut s = self.state();
        let Some(r) = s
            .history
            .iter_mut()
            .find(|r| r.tenant_id == tenant && r.id == id && r.pages == pages)
        else {
            return Ok(false);
        };
        r.pages = pages.saturating_add(1);
        r.paging = Some(paging.clone());
        r.result_count = r.result_count.saturating_add(added);
        let kept = SnapshotPage {
            page: pages.saturating_add(1),
            ..snapshot.clone()
        };
        s.snapshots.entry((tenant, id)).or_default().push(kept);
        Ok(true)
    }

    async fn snapshot(
        &self,
        tenant: TenantId,
        id: SearchId,
    ) -> Result<Vec<SnapshotPage>, RepoError> {
        Ok(self
            .state()
            .snapshots
            .get(&(tenant, id))
            .cloned()
            .unwrap_or_default())
    }

    async fn latest_of_saved(
        &self,
        tenant: TenantId,
        saved: SavedSearchId,
    ) -> Result<Option<SearchRecord>, RepoError> {
        Ok(self
            .state()
            .history
            .iter()
            .filter(|r| r.tenant_id == tenant && r.saved_search_id == Some(saved))
            .max_by_key(|r| (r.created_at, r.id))
            .cloned())
    }

    async fn purge_snapshots(
        &self,
        tenant: TenantId,
        before: OffsetDateTime,
    ) -> Result<u64, RepoError> {
        let mut s = self.state();
        let mut n = 0;
        for ((t, _), pages) in &mut s.snapshots {
            if *t == tenant {
                let was = pages.len();
                pages.retain(|p| p.created_at >= before);
                n += count(was - pages.len());
            }
        }
        s.snapshots.retain(|_, pages| !pages.is_empty());
        Ok(n)
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> Result<Page<SearchRecord>, RepoError> {
        let s = self.state();
        let mut items: Vec<&SearchRecord> = s.searches(tenant, filter).collect();
        items.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
        Ok(page_of(&items, page))
    }

    async fn stats(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
    ) -> Result<SearchStats, RepoError> {
        let s = self.state();
        let found: Vec<&SearchRecord> = s.searches(tenant, filter).collect();
        let hits = found.iter().filter(|r| r.cache_hit).count();
        let ms: u64 = found.iter().map(|r| u64::from(r.execution_ms)).sum();
        let by_source = SourceId::ALL
            .into_iter()
            .map(|source| {
                let n = found.iter().filter(|r| r.sources.contains(&source)).count();
                (source, count(n))
            })
            .collect();
        let mut per_day = BTreeMap::new();
        for r in &found {
            *per_day.entry(r.created_at.date()).or_insert(0_u64) += 1;
        }
        Ok(SearchStats::from_aggregates(
            count(found.len()),
            count(hits),
            ms,
            by_source,
            per_day.into_iter().collect(),
        ))
    }

    /// The most asked queries (grouped as the stores group them, shown by their smallest
    /// spelling), most asked first, ties by the grouping key.
    async fn popular(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        limit: u32,
    ) -> Result<Vec<PopularQuery>, RepoError> {
        let s = self.state();
        let mut groups: BTreeMap<String, (String, u64)> = BTreeMap::new();
        for r in s.searches(tenant, filter) {
            let group = groups
                .entry(r.query.grouping_key())
                .or_insert_with(|| (r.query.as_str().to_owned(), 0));
            if r.query.as_str() < group.0.as_str() {
                r.query.as_str().clone_into(&mut group.0);
            }
            group.1 += 1;
        }
        let mut ranked: Vec<(String, (String, u64))> = groups.into_iter().collect();
        ranked.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(&b.0)));
        Ok(ranked
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(_, (query, count))| PopularQuery { query, count })
            .collect())
    }
}
