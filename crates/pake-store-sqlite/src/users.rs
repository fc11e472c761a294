//! `UserRepository` on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use pake_domain::{
    DisplayName, Email, Page, PageRequest, PasswordHash, Role, TenantId, User, UserId, UserStatus,
    Username,
};
use pake_domain::{LockoutRule, LoginAdmission, LoginCounters, LoginSettlement};
use pake_ports::{RepoError, UserRepository};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::convert::{count, found, from_micros, from_micros_opt, to_micros};
use crate::paging::load_page;
use crate::schema::users;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite), treat_none_as_null = true)]
pub(crate) struct UserRow {
    tenant_id: String,
    id: String,
    username: String,
    email: String,
    full_name: Option<String>,
    role: String,
    status: String,
    password_hash: String,
    must_change_password: bool,
    #[diesel(skip_update)]
    failed_login_attempts: i32,
    #[diesel(skip_update)]
    locked_until: Option<i64>,
    tokens_valid_after: i64,
    last_login_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    pub(crate) fn from_domain(u: &User) -> Self {
        Self {
            tenant_id: u.tenant_id.to_string(),
            id: u.id.to_string(),
            username: u.username.as_str().to_owned(),
            email: u.email.as_str().to_owned(),
            full_name: u.full_name.as_ref().map(|n| n.as_str().to_owned()),
            role: u.role.as_str().to_owned(),
            status: u.status.as_str().to_owned(),
            password_hash: u.password_hash.as_str().to_owned(),
            must_change_password: u.must_change_password,
            failed_login_attempts: i32::try_from(u.failed_login_attempts).unwrap_or(i32::MAX),
            locked_until: u.locked_until.map(to_micros),
            tokens_valid_after: to_micros(u.tokens_valid_after),
            last_login_at: u.last_login_at.map(to_micros),
            created_at: to_micros(u.created_at),
            updated_at: to_micros(u.updated_at),
        }
    }

    fn into_domain(self) -> Result<User, RepoError> {
        Ok(User {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(RepoError::corrupt)?,
            id: UserId::parse(&self.id).map_err(RepoError::corrupt)?,
            username: Username::parse(&self.username).map_err(RepoError::corrupt)?,
            email: Email::parse(&self.email).map_err(RepoError::corrupt)?,
            full_name: self
                .full_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()
                .map_err(RepoError::corrupt)?,
            role: Role::parse(&self.role).map_err(RepoError::corrupt)?,
            status: UserStatus::parse(&self.status).map_err(RepoError::corrupt)?,
            password_hash: PasswordHash::new(self.password_hash),
            must_change_password: self.must_change_password,
            failed_login_attempts: u32::try_from(self.failed_login_attempts).unwrap_or(0),
            locked_until: from_micros_opt(self.locked_until)?,
            tokens_valid_after: from_micros(self.tokens_valid_after)?,
            last_login_at: from_micros_opt(self.last_login_at)?,
            created_at: from_micros(self.created_at)?,
            updated_at: from_micros(self.updated_at)?,
        })
    }
}

fn key(tenant: TenantId, id: UserId) -> (String, String) {
    (tenant.to_string(), id.to_string())
}

#[async_trait]
impl UserRepository for SqliteStore {
    async fn create(&self, user: &User, max_users: Option<u32>) -> Result<(), RepoError> {
        let row = UserRow::from_domain(user);
        self.write(move |c| {
            if let Some(max) = max_users {
                let n: i64 = users::table
                    .filter(users::tenant_id.eq(&row.tenant_id))
                    .count()
                    .get_result(c)?;
                if n >= i64::from(max) {
                    return Err(RepoError::LimitReached.into());
                }
            }
            diesel::insert_into(users::table).values(&row).execute(c)?;
            Ok(())
        })
        .await
    }

    async fn find(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, RepoError> {
        let key = key(tenant, id);
        self.read(move |c| {
            let row = users::table
                .find(key)
                .select(UserRow::as_select())
                .first(c)
                .optional()?;
            Ok(row.map(UserRow::into_domain).transpose()?)
        })
        .await
    }

    async fn find_by_login(
        &self,
        tenant: TenantId,
        login: &str,
    ) -> Result<Option<User>, RepoError> {
        let tenant = tenant.to_string();
        let login = login.trim().to_lowercase();
        self.read(move |c| {
            let row = users::table
                .filter(users::tenant_id.eq(tenant))
                .filter(users::username.eq(&login).or(users::email.eq(&login)))
                .select(UserRow::as_select())
                .first(c)
                .optional()?;
            Ok(row.map(UserRow::into_domain).transpose()?)
        })
        .await
    }

    async fn list(&self, tenant: TenantId, page: PageRequest) -> Result<Page<User>, RepoError> {
        let tenant = tenant.to_string();
        self.read(move |c| {
            let query = || {
                users::table
                    .filter(users::tenant_id.eq(&tenant))
                    .into_boxed()
            };
            let order = (users::created_at.asc(), users::id.asc());
            load_page(c, query, order, page, UserRow::into_domain)
        })
        .await
    }

    async fn count(&self, tenant: TenantId) -> Result<u64, RepoError> {
        let tenant = tenant.to_string();
        self.read(move |c| {
            let n: i64 = users::table
                .filter(users::tenant_id.eq(tenant))
                .count()
                .get_result(c)?;
            Ok(count(n))
        })
        .await
    }

    async fn count_active_since(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<u64, RepoError> {
        let tenant = tenant.to_string();
        let since = to_micros(since);
        self.read(move |c| {
            let n: i64 = users::table
                .filter(users::tenant_id.eq(tenant))
                .filter(users::last_login_at.ge(since))
                .count()
                .get_result(c)?;
            Ok(count(n))
        })
        .await
    }

    async fn update(&self, user: &User) -> Result<(), RepoError> {
        let row = UserRow::from_domain(user);
        self.write(move |c| {
            let target = users::table.find((row.tenant_id.clone(), row.id.clone()));
            found(diesel::update(target).set(&row).execute(c)?)
        })
        .await
    }

    async fn delete(&self, tenant: TenantId, id: UserId) -> Result<(), RepoError> {
        let key = key(tenant, id);
        self.write(move |c| found(diesel::delete(users::table.find(key)).execute(c)?))
            .await
    }

    async fn begin_login_attempt(
        &self,
        tenant: TenantId,
        id: UserId,
        now: OffsetDateTime,
        rule: LockoutRule,
    ) -> Result<LoginAdmission, RepoError> {
        let key = key(tenant, id);
        self.write(move |c| {
            let (next, admission) = read_counters(c, &key)?.admit(now, rule);
            write_counters(c, &key, next, None)?;
            Ok(admission)
        })
        .await
    }

    async fn finish_login_attempt(
        &self,
        tenant: TenantId,
        id: UserId,
        now: OffsetDateTime,
        rule: LockoutRule,
        password_matched: bool,
    ) -> Result<LoginSettlement, RepoError> {
        let key = key(tenant, id);
        self.write(move |c| {
            let (next, settled) = read_counters(c, &key)?.settle(now, rule, password_matched);
            let login_at = (settled == LoginSettlement::Succeeded).then_some(now);
            write_counters(c, &key, next, login_at)?;
            Ok(settled)
        })
        .await
    }

    async fn clear_lockout(&self, tenant: TenantId, id: UserId) -> Result<(), RepoError> {
        let key = key(tenant, id);
        self.write(move |c| {
            read_counters(c, &key)?;
            write_counters(c, &key, LoginCounters::default(), None)
        })
        .await
    }
}

/// The lockout counters of a user, inside the caller's write transaction.
fn read_counters(
    c: &mut SqliteConnection,
    key: &(String, String),
) -> Result<LoginCounters, crate::convert::TxError> {
    let (failed, locked, pending, pending_until): (i32, Option<i64>, i32, Option<i64>) =
        users::table
            .find(key.clone())
            .select((
                users::failed_login_attempts,
                users::locked_until,
                users::login_attempts_pending,
                users::login_pending_until,
            ))
            .first(c)?;
    Ok(LoginCounters {
        failed: u32::try_from(failed).unwrap_or(0),
        locked_until: from_micros_opt(locked)?,
        pending: u32::try_from(pending).unwrap_or(0),
        pending_until: from_micros_opt(pending_until)?,
    })
}

fn write_counters(
    c: &mut SqliteConnection,
    key: &(String, String),
    s: LoginCounters,
    login_at: Option<OffsetDateTime>,
) -> Result<(), crate::convert::TxError> {
    let counters = (
        users::failed_login_attempts.eq(i32::try_from(s.failed).unwrap_or(i32::MAX)),
        users::locked_until.eq(s.locked_until.map(to_micros)),
        users::login_attempts_pending.eq(i32::try_from(s.pending).unwrap_or(i32::MAX)),
        users::login_pending_until.eq(s.pending_until.map(to_micros)),
    );
    let target = users::table.find(key.clone());
    match login_at {
        Some(at) => diesel::update(target)
            .set((counters, users::last_login_at.eq(Some(to_micros(at)))))
            .execute(c)?,
        None => diesel::update(target).set(counters).execute(c)?,
    };
    Ok(())
}
