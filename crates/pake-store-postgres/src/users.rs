//! `UserRepository` on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pake_domain::{
    DisplayName, Email, Page, PageRequest, PasswordHash, Role, TenantId, User, UserId, UserStatus,
    Username,
};
use pake_domain::{LockoutRule, LoginAdmission, LoginCounters, LoginSettlement};
use pake_ports::{RepoError, UserRepository};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::convert::{count, found};
use crate::paging::load_page;
use crate::schema::users;
use crate::{PgStore, tenant_tx};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(crate) struct UserRow {
    tenant_id: Uuid,
    id: Uuid,
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
    locked_until: Option<OffsetDateTime>,
    tokens_valid_after: OffsetDateTime,
    last_login_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl UserRow {
    pub(crate) fn from_domain(u: &User) -> Self {
        Self {
            tenant_id: u.tenant_id.as_uuid(),
            id: u.id.as_uuid(),
            username: u.username.as_str().to_owned(),
            email: u.email.as_str().to_owned(),
            full_name: u.full_name.as_ref().map(|n| n.as_str().to_owned()),
            role: u.role.as_str().to_owned(),
            status: u.status.as_str().to_owned(),
            password_hash: u.password_hash.as_str().to_owned(),
            must_change_password: u.must_change_password,
            failed_login_attempts: i32::try_from(u.failed_login_attempts).unwrap_or(i32::MAX),
            locked_until: u.locked_until,
            tokens_valid_after: u.tokens_valid_after,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }

    fn into_domain(self) -> Result<User, RepoError> {
        Ok(User {
            tenant_id: TenantId::from_uuid(self.tenant_id),
            id: UserId::from_uuid(self.id),
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
            locked_until: self.locked_until,
            tokens_valid_after: self.tokens_valid_after,
            last_login_at: self.last_login_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
impl UserRepository for PgStore {
    async fn create(&self, user: &User, max_users: Option<u32>) -> Result<(), RepoError> {
        let row = UserRow::from_domain(user);
        tenant_tx!(self, row.tenant_id, |c| {
            if let Some(max) = max_users {
                // Serialise creations per tenant so the count and the insert are one step.
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind::<diesel::sql_types::Text, _>(row.tenant_id.to_string())
                    .execute(c)
                    .await?;
                let n: i64 = users::table
                    .filter(users::tenant_id.eq(row.tenant_id))
                    .count()
                    .get_result(c)
                    .await?;
                if n >= i64::from(max) {
                    return Err(RepoError::LimitReached.into());
                }
            }
            diesel::insert_into(users::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(())
        })
    }

    async fn find(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let row = users::table
                .find((t, id))
                .select(UserRow::as_select())
                .first(c)
                .await
                .optional()?;
            Ok(row.map(UserRow::into_domain).transpose()?)
        })
    }

    async fn find_by_login(
        &self,
        tenant: TenantId,
        login: &str,
    ) -> Result<Option<User>, RepoError> {
        let t = tenant.as_uuid();
        let login = login.trim().to_lowercase();
        tenant_tx!(self, t, |c| {
            let row = users::table
                .filter(users::tenant_id.eq(t))
                .filter(users::username.eq(&login).or(users::email.eq(&login)))
                .select(UserRow::as_select())
                .first(c)
                .await
                .optional()?;
            Ok(row.map(UserRow::into_domain).transpose()?)
        })
    }

    async fn list(&self, tenant: TenantId, page: PageRequest) -> Result<Page<User>, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let query = || users::table.filter(users::tenant_id.eq(t)).into_boxed();
            let order = (users::created_at.asc(), users::id.asc());
            load_page(c, query, order, page, UserRow::into_domain).await
        })
    }

    async fn count(&self, tenant: TenantId) -> Result<u64, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let n: i64 = users::table
                .filter(users::tenant_id.eq(t))
                .count()
                .get_result(c)
                .await?;
            Ok(count(n))
        })
    }

    async fn count_active_since(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<u64, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let n: i64 = users::table
                .filter(users::tenant_id.eq(t))
                .filter(users::last_login_at.ge(since))
                .count()
                .get_result(c)
                .await?;
            Ok(count(n))
        })
    }

    async fn update(&self, user: &User) -> Result<(), RepoError> {
        let row = UserRow::from_domain(user);
        tenant_tx!(self, row.tenant_id, |c| {
            found(
                diesel::update(users::table.find((row.tenant_id, row.id)))
                    .set(&row)
                    .execute(c)
                    .await?,
            )
        })
    }

    async fn delete(&self, tenant: TenantId, id: UserId) -> Result<(), RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            found(
                diesel::delete(users::table.find((t, id)))
                    .execute(c)
                    .await?,
            )
        })
    }

    async fn begin_login_attempt(
        &self,
        tenant: TenantId,
        id: UserId,
        now: OffsetDateTime,
        rule: LockoutRule,
    ) -> Result<LoginAdmission, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let (next, admission) = read_counters(c, (t, id)).await?.admit(now, rule);
            write_counters(c, (t, id), next, None).await?;
            Ok(admission)
        })
    }

    async fn finish_login_attempt(
        &self,
        tenant: TenantId,
        id: UserId,
        now: OffsetDateTime,
        rule: LockoutRule,
        password_matched: bool,
    ) -> Result<LoginSettlement, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let (next, settled) =
                read_counters(c, (t, id))
                    .await?
                    .settle(now, rule, password_matched);
            let login_at = (settled == LoginSettlement::Succeeded).then_some(now);
            write_counters(c, (t, id), next, login_at).await?;
            Ok(settled)
        })
    }

    async fn clear_lockout(&self, tenant: TenantId, id: UserId) -> Result<(), RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            read_counters(c, (t, id)).await?;
            write_counters(c, (t, id), LoginCounters::default(), None).await
        })
    }
}

/// The lockout counters of a user, locked for the rest of the caller's transaction.
async fn read_counters(
    c: &mut diesel_async::AsyncPgConnection,
    key: (Uuid, Uuid),
) -> Result<LoginCounters, crate::convert::TxError> {
    let (failed, locked_until, pending, pending_until): (
        i32,
        Option<OffsetDateTime>,
        i32,
        Option<OffsetDateTime>,
    ) = users::table
        .find(key)
        .select((
            users::failed_login_attempts,
            users::locked_until,
            users::login_attempts_pending,
            users::login_pending_until,
        ))
        .for_update()
        .first(c)
        .await?;
    Ok(LoginCounters {
        failed: u32::try_from(failed).unwrap_or(0),
        locked_until,
        pending: u32::try_from(pending).unwrap_or(0),
        pending_until,
    })
}

async fn write_counters(
    c: &mut diesel_async::AsyncPgConnection,
    key: (Uuid, Uuid),
    s: LoginCounters,
    login_at: Option<OffsetDateTime>,
) -> Result<(), crate::convert::TxError> {
    let counters = (
        users::failed_login_attempts.eq(i32::try_from(s.failed).unwrap_or(i32::MAX)),
        users::locked_until.eq(s.locked_until),
        users::login_attempts_pending.eq(i32::try_from(s.pending).unwrap_or(i32::MAX)),
        users::login_pending_until.eq(s.pending_until),
    );
    let target = users::table.find(key);
    match login_at {
        Some(at) => {
            diesel::update(target)
                .set((counters, users::last_login_at.eq(Some(at))))
                .execute(c)
                .await?
        }
        None => diesel::update(target).set(counters).execute(c).await?,
    };
    Ok(())
}
