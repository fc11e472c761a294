//! What was searched: the history, its analytics and the popular queries, each scoped to what the
//! caller may read.

use pake_domain::search::{HistoryFilter, PopularQuery, SearchRecord, SearchStats};
use pake_domain::{Page, PageRequest, Permission, Reason, UserId};

use super::SearchService;
use super::input::invalid;
use crate::CoreError;
use crate::caller::Caller;

impl SearchService {
    /// The caller's history (admins and managers: the tenant's, optionally one user's).
    ///
    /// # Errors
    /// [`CoreError::Forbidden`].
    pub async fn history(
        &self,
        caller: &Caller,
        user: Option<UserId>,
        page: PageRequest,
    ) -> Result<Page<SearchRecord>, CoreError> {
        let filter = HistoryFilter {
            user_id: self.scope(caller, user)?,
            since: None,
        };
        Ok(self.history.list(caller.tenant_id, &filter, page).await?)
    }

    /// Whose searches a reader sees: admins and managers any user's (or all); others their own.
    fn scope(&self, caller: &Caller, user: Option<UserId>) -> Result<Option<UserId>, CoreError> {
        self.access.authorize(caller, Permission::ReadOwnSearches)?;
        if caller.can(Permission::ReadAllSearches) {
            Ok(user)
        } else if user.is_none_or(|u| u == caller.user_id) {
            Ok(Some(caller.user_id))
        } else {
            Err(CoreError::Forbidden("only your own searches"))
        }
    }

    fn since(&self, days: u32) -> Result<time::OffsetDateTime, CoreError> {
        if !(1..=365).contains(&days) {
            return Err(invalid("days", Reason::OutOfRange { min: 1, max: 365 }));
        }
        let today = self.env.clock.now().date();
        Ok((today - time::Duration::days(i64::from(days) - 1))
            .midnight()
            .assume_utc())
    }

    /// Search analytics over the last `days` days (admins and managers: the tenant's; others
    /// their own).
    ///
    /// # Errors
    /// [`CoreError::Validation`] for `days` outside 1–365.
    pub async fn analytics(&self, caller: &Caller, days: u32) -> Result<SearchStats, CoreError> {
        let filter = HistoryFilter {
            user_id: self.scope(caller, None)?,
            since: Some(self.since(days)?),
        };
        Ok(self.history.stats(caller.tenant_id, &filter).await?)
    }

    /// The most searched queries over the last `days` days (same scope as analytics).
    ///
    /// # Errors
    /// [`CoreError::Validation`] for `days` outside 1–365 or `limit` outside 1–100.
    pub async fn popular(
        &self,
        caller: &Caller,
        days: u32,
        limit: u32,
    ) -> Result<Vec<PopularQuery>, CoreError> {
        if !(1..=100).contains(&limit) {
            return Err(invalid("limit", Reason::OutOfRange { min: 1, max: 100 }));
        }
        let filter = HistoryFilter {
            user_id: self.scope(caller, None)?,
            since: Some(self.since(days)?),
        };
        Ok(self
            .history
            .popular(caller.tenant_id, &filter, limit)
            .await?)
    }
}
