//! Group commit of the search history: searches hand their record to one writer per store,
//! which commits whatever is queued in one transaction; each search answers only after the batch
//! holding its record committed, so no answered search is missing from the history, and a crash
//! loses only searches that were never answered.
//!
//! A batch is whatever queued while the previous one was committing (at most [`MAX_BATCH`]), so
//! a lone search waits for its own commit only, and under load one commit carries many.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use pake_domain::search::{HistoryFilter, PopularQuery, SearchRecord, SearchStats};
use pake_domain::{Page, PageRequest, TenantId};
use pake_ports::{Conflict, RepoError, SearchHistoryRepository};
use tokio::sync::{mpsc, oneshot};

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
    /// The writer's queue, started with the first record (inside the caller's runtime).
    queue: OnceLock<mpsc::Sender<Pending>>,
}

impl GroupCommit {
    pub(crate) fn new(inner: Arc<dyn SearchHistoryRepository>) -> Self {
        Self {
            inner,
            queue: OnceLock::new(),
        }
    }

    fn queue(&self) -> &mpsc::Sender<Pending> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write(Arc::clone(&self.inner), rx));
            tx
        })
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
            Err(e) if batch.len() > 1 => {
                tracing::debug!(error = %e, n = batch.len(), "history batch refused; one by one");
                for p in batch.drain(..) {
                    let _ = p.done.send(store.append(&p.record).await);
                }
            }
            Err(e) => {
                if let Some(p) = batch.pop() {
                    let _ = p.done.send(Err(e));
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
        if self.queue().send(pending).await.is_err() {
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
