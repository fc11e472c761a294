//! Group commit of the search history: searches hand their record to one writer per store,
//! which commits whatever is queued in one transaction; each search answers only after the batch
//! holding its record committed, so no answered search is missing from the history, and a crash
//! loses only searches that were never answered.
//!
//! A batch is whatever queued while the previous one was committing (at most [`MAX_BATCH`]), so
//! a lone search waits for its own commit only, and under load one commit carries many.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pake_domain::search::{HistoryFilter, PopularQuery, SearchRecord, SearchStats};
use pake_domain::{Page, PageRequest, TenantId};
use pake_ports::{Conflict, RepoError, SearchHistoryRepository};
use tokio::sync::{mpsc, oneshot};

use crate::util::lock;

/// Records one transaction carries at most.
pub(crate) const MAX_BATCH: usize = 256;
/// Records waiting for the writer at most; a search finding the queue full waits for room.
const QUEUE: usize = 4 * MAX_BATCH;

struct Pending {
    record: SearchRecord,
    done: oneshot::Sender<Result<(), RepoError>>,
}

/// The history behind a group-committing writer (reads go straight to the store).
pub(crate) struct GroupCommit {
    inner: Arc<dyn SearchHistoryRepository>,
    /// The writer's queue, started with the first record (inside the caller's runtime), and
    /// started again there if that runtime has stopped since.
    queue: Mutex<Option<mpsc::Sender<Pending>>>,
}

impl GroupCommit {
    pub(crate) fn new(inner: Arc<dyn SearchHistoryRepository>) -> Self {
        Self {
            inner,
            queue: Mutex::new(None),
        }
    }

    fn queue(&self) -> mpsc::Sender<Pending> {
        let mut queue = lock(&self.queue);
        match queue.as_ref() {
            Some(tx) if !tx.is_closed() => tx.clone(),
            _ => {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(write(Arc::clone(&self.inner), rx));
                *queue = Some(tx.clone());
                tx
            }
        }
    }
}

/// Whether `e` is about one record (so the others of its batch may still go in), not the store.
fn of_one_record(e: &RepoError) -> bool {
    matches!(
        e,
        RepoError::NotFound | RepoError::Conflict(_) | RepoError::LimitReached
    )
}

/// The same failure again, for the next search of a failed batch.
fn same(e: &RepoError) -> RepoError {
    match e {
        RepoError::NotFound => RepoError::NotFound,
        RepoError::Conflict(c) => RepoError::Conflict(*c),
        RepoError::LimitReached => RepoError::LimitReached,
        RepoError::Unavailable(why) => RepoError::Unavailable(why.to_string().into()),
        RepoError::Internal(why) => RepoError::Internal(why.to_string().into()),
    }
}

/// The writer: takes what is queued, commits it in one transaction, answers each search.
async fn write(store: Arc<dyn SearchHistoryRepository>, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let records: Vec<SearchRecord> = batch.iter().map(|p| p.record.clone()).collect();
        match store.append_many(&records).await {
            Ok(()) => {
                for p in batch.drain(..) {
                    let _ = p.done.send(Ok(()));
                }
            }
            // one bad record must not fail the others: each on its own
            Err(e) if batch.len() > 1 && of_one_record(&e) => {
                tracing::debug!(error = %e, n = batch.len(), "history batch refused; one by one");
                for p in batch.drain(..) {
                    let _ = p.done.send(store.append(&p.record).await);
                }
            }
            // the store itself failed: every search of the batch hears it now (retrying each
            // would keep the queue, and every tenant's searches, waiting a timeout per record)
            Err(e) => {
                for p in batch.drain(..) {
                    let _ = p.done.send(Err(same(&e)));
                }
            }
        }
    }
}

#[async_trait]
impl SearchHistoryRepository for GroupCommit {
    async fn append(&self, record: &SearchRecord) -> Result<(), RepoError> {
        let (done, committed) = oneshot::channel();
        let pending = Pending {
            record: record.clone(),
            done,
        };
        let queue = self.queue();
        if queue.send(pending).await.is_err() {
            // the writer's runtime is gone: write it here
            return self.inner.append(record).await;
        }
        match committed.await {
            Ok(result) => result,
            // the writer stopped holding it (its runtime shut down): the record may or may not
            // be in; write it here, and a duplicate means it was
            Err(_) => match self.inner.append(record).await {
                Err(RepoError::Conflict(Conflict::Id)) => Ok(()),
                other => other,
            },
        }
    }

    async fn append_many(&self, records: &[SearchRecord]) -> Result<(), RepoError> {
        self.inner.append_many(records).await
    }

    async fn get(
        &self,
        tenant: TenantId,
        id: pake_domain::SearchId,
    ) -> Result<Option<SearchRecord>, RepoError> {
        self.inner.get(tenant, id).await
    }

    async fn add_page(
        &self,
        tenant: TenantId,
        id: pake_domain::SearchId,
        pages: u32,
        paging: &serde_json::Value,
        added: u32,
        snapshot: &pake_domain::search::SnapshotPage,
    ) -> Result<bool, RepoError> {
        self.inner
            .add_page(tenant, id, pages, paging, added, snapshot)
            .await
    }

    async fn snapshot(
        &self,
        tenant: TenantId,
        id: pake_domain::SearchId,
    ) -> Result<Vec<pake_domain::search::SnapshotPage>, RepoError> {
        self.inner.snapshot(tenant, id).await
    }

    async fn latest_of_saved(
        &self,
        tenant: TenantId,
        saved: pake_domain::SavedSearchId,
    ) -> Result<Option<SearchRecord>, RepoError> {
        self.inner.latest_of_saved(tenant, saved).await
    }

    async fn purge_snapshots(
        &self,
        tenant: TenantId,
        before: time::OffsetDateTime,
    ) -> Result<u64, RepoError> {
        self.inner.purge_snapshots(tenant, before).await
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> Result<Page<SearchRecord>, RepoError> {
        self.inner.list(tenant, filter, page).await
    }

    async fn stats(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
    ) -> Result<SearchStats, RepoError> {
        self.inner.stats(tenant, filter).await
    }

    async fn popular(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        limit: u32,
    ) -> Result<Vec<PopularQuery>, RepoError> {
        self.inner.popular(tenant, filter, limit).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use pake_domain::search::{QueryText, SourceId};
    use pake_domain::{SearchId, UserId};

    use super::*;

    /// A history whose batches fail with `error`; counts the single appends it is asked for.
    struct Failing {
        error: fn() -> RepoError,
        singles: AtomicUsize,
    }

    #[async_trait]
    impl SearchHistoryRepository for Failing {
        async fn append(&self, _: &SearchRecord) -> Result<(), RepoError> {
            self.singles.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        async fn append_many(&self, _: &[SearchRecord]) -> Result<(), RepoError> {
            Err((self.error)())
        }
        async fn get(&self, _: TenantId, _: SearchId) -> Result<Option<SearchRecord>, RepoError> {
            Err(RepoError::NotFound)
        }
        async fn add_page(
            &self,
            _: TenantId,
            _: SearchId,
            _: u32,
            _: &serde_json::Value,
            _: u32,
            _: &pake_domain::search::SnapshotPage,
        ) -> Result<bool, RepoError> {
            Err(RepoError::NotFound)
        }
        async fn snapshot(
            &self,
            _: TenantId,
            _: SearchId,
        ) -> Result<Vec<pake_domain::search::SnapshotPage>, RepoError> {
            Err(RepoError::NotFound)
        }
        async fn latest_of_saved(
            &self,
            _: TenantId,
            _: pake_domain::SavedSearchId,
        ) -> Result<Option<SearchRecord>, RepoError> {
            Err(RepoError::NotFound)
        }
        async fn purge_snapshots(
            &self,
            _: TenantId,
            _: time::OffsetDateTime,
        ) -> Result<u64, RepoError> {
            Err(RepoError::NotFound)
        }
        async fn list(
            &self,
            _: TenantId,
            _: &HistoryFilter,
            _: PageRequest,
        ) -> Result<Page<SearchRecord>, RepoError> {
            Err(RepoError::NotFound)
        }
        async fn stats(&self, _: TenantId, _: &HistoryFilter) -> Result<SearchStats, RepoError> {
            Err(RepoError::NotFound)
        }
        async fn popular(
            &self,
            _: TenantId,
            _: &HistoryFilter,
            _: u32,
        ) -> Result<Vec<PopularQuery>, RepoError> {
            Err(RepoError::NotFound)
        }
    }

    fn record() -> SearchRecord {
        SearchRecord {
            tenant_id: TenantId::new(),
            id: SearchId::new(),
            user_id: UserId::new(),
            query: QueryText::parse("q").unwrap_or_else(|_| unreachable!()),
            sources: vec![SourceId::Arxiv],
            result_count: 0,
            execution_ms: 1,
            cache_hit: false,
            source_status: serde_json::json!({}),
            saved_search_id: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            pages: 1,
            paging: None,
            snapshot: None,
        }
    }

    /// Appends `n` records at once through the group commit; their results and the singles.
    async fn run(error: fn() -> RepoError, n: usize) -> (Vec<Result<(), RepoError>>, usize) {
        let store = Arc::new(Failing {
            error,
            singles: AtomicUsize::new(0),
        });
        let commit = Arc::new(GroupCommit::new(Arc::clone(&store) as _));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let commit = Arc::clone(&commit);
                tokio::spawn(async move { commit.append(&record()).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap_or_else(|_| Err(RepoError::NotFound)));
        }
        (out, store.singles.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_store_failure_fails_the_batch_at_once() {
        let (results, singles) = run(|| RepoError::Unavailable("pool timed out".into()), 20).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(RepoError::Unavailable(_))))
        );
        assert_eq!(singles, 0, "no record retried on its own");
    }

    #[tokio::test]
    async fn a_record_refused_lets_the_others_in_one_by_one() {
        let (results, singles) = run(|| RepoError::Conflict(Conflict::Id), 20).await;
        // a batch of one fails as it is; larger batches are retried record by record
        let retried = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(retried, singles);
        assert!(
            results
                .iter()
                .all(|r| r.is_ok() || matches!(r, Err(RepoError::Conflict(Conflict::Id))))
        );
    }
}
