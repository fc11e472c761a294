//! `SessionRepository` on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use pake_domain::session::{RefreshOutcome, RefreshTokenHash, Session};
use pake_domain::{SessionId, TenantId, UserId};
use pake_ports::{RepoError, SessionRepository};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::convert::{TxError, from_micros, from_micros_opt, to_micros};
use crate::schema::{refresh_tokens, sessions, users};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::sqlite::Sqlite))]
struct SessionRow {
    tenant_id: String,
    id: String,
    user_id: String,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl SessionRow {
    fn from_domain(s: &Session) -> Self {
        Self {
            tenant_id: s.tenant_id.to_string(),
            id: s.id.to_string(),
            user_id: s.user_id.to_string(),
            created_at: to_micros(s.created_at),
            last_used_at: to_micros(s.last_used_at),
            expires_at: to_micros(s.expires_at),
            revoked_at: s.revoked_at.map(to_micros),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
        }
    }

    fn into_domain(self) -> Result<Session, RepoError> {
        Ok(Session {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(RepoError::corrupt)?,
            id: SessionId::parse(&self.id).map_err(RepoError::corrupt)?,
            user_id: UserId::parse(&self.user_id).map_err(RepoError::corrupt)?,
            created_at: from_micros(self.created_at)?,
            last_used_at: from_micros(self.last_used_at)?,
            expires_at: from_micros(self.expires_at)?,
            revoked_at: from_micros_opt(self.revoked_at)?,
            ip: self.ip,
            user_agent: self.user_agent,
        })
    }
}

fn load_session(
    c: &mut SqliteConnection,
    tenant: &str,
    id: &str,
) -> Result<Option<SessionRow>, TxError> {
    Ok(sessions::table
        .find((tenant.to_owned(), id.to_owned()))
        .select(SessionRow::as_select())
        .first(c)
        .optional()?)
}

#[async_trait]
impl SessionRepository for SqliteStore {
    async fn create(
        &self,
        session: &Session,
        first_token: RefreshTokenHash,
    ) -> Result<(), RepoError> {
        let row = SessionRow::from_domain(session);
        self.write(move |c| {
            // Sessions outlive their user (they carry its revocation), so no foreign key checks
            // that the user exists: this does, inside the same write transaction.
            let user: i64 = users::table
                .find((row.tenant_id.clone(), row.user_id.clone()))
                .count()
                .get_result(c)?;
            if user == 0 {
                return Err(RepoError::NotFound.into());
            }
            diesel::insert_into(sessions::table)
                .values(&row)
                .execute(c)?;
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::tenant_id.eq(&row.tenant_id),
                    refresh_tokens::token_hash.eq(first_token.0.to_vec()),
                    refresh_tokens::session_id.eq(&row.id),
                    refresh_tokens::issued_at.eq(row.created_at),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn find(&self, tenant: TenantId, id: SessionId) -> Result<Option<Session>, RepoError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.read(move |c| {
            Ok(load_session(c, &tenant, &id)?
                .map(SessionRow::into_domain)
                .transpose()?)
        })
        .await
    }

    async fn list_active(
        &self,
        tenant: TenantId,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, RepoError> {
        let (tenant, user, now) = (tenant.to_string(), user.to_string(), to_micros(now));
        self.read(move |c| {
            let rows = sessions::table
                .filter(sessions::tenant_id.eq(tenant))
                .filter(sessions::user_id.eq(user))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .order((sessions::created_at.desc(), sessions::id.desc()))
                .select(SessionRow::as_select())
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(SessionRow::into_domain)
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn rotate(
        &self,
        tenant: TenantId,
        presented: RefreshTokenHash,
        next: RefreshTokenHash,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome, RepoError> {
        let tenant = tenant.to_string();
        let now = to_micros(now);
        self.write(move |c| {
            let token: Option<(String, Option<i64>)> = refresh_tokens::table
                .find((tenant.clone(), presented.0.to_vec()))
                .select((refresh_tokens::session_id, refresh_tokens::used_at))
                .first(c)
                .optional()?;
            let Some((session_id, used_at)) = token else {
                return Ok(RefreshOutcome::Invalid);
            };
            let Some(mut session) = load_session(c, &tenant, &session_id)? else {
                return Ok(RefreshOutcome::Invalid);
            };
            if session.revoked_at.is_some() || session.expires_at <= now {
                return Ok(RefreshOutcome::Invalid);
            }
            let target = sessions::table.find((tenant.clone(), session_id.clone()));
            if used_at.is_some() {
                diesel::update(target)
                    .set(sessions::revoked_at.eq(Some(now)))
                    .execute(c)?;
                session.revoked_at = Some(now);
                return Ok(RefreshOutcome::ReuseDetected(session.into_domain()?));
            }
            diesel::update(refresh_tokens::table.find((tenant.clone(), presented.0.to_vec())))
                .set(refresh_tokens::used_at.eq(Some(now)))
                .execute(c)?;
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::tenant_id.eq(&tenant),
                    refresh_tokens::token_hash.eq(next.0.to_vec()),
                    refresh_tokens::session_id.eq(&session_id),
                    refresh_tokens::issued_at.eq(now),
                ))
                .execute(c)?;
            diesel::update(target)
                .set(sessions::last_used_at.eq(now))
                .execute(c)?;
            session.last_used_at = now;
            Ok(RefreshOutcome::Rotated(session.into_domain()?))
        })
        .await
    }

    async fn revoke(
        &self,
        tenant: TenantId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<bool, RepoError> {
        let (tenant, id, now) = (tenant.to_string(), id.to_string(), to_micros(now));
        self.write(move |c| {
            let Some(row) = load_session(c, &tenant, &id)? else {
                return Err(RepoError::NotFound.into());
            };
            if row.revoked_at.is_some() {
                return Ok(false);
            }
            diesel::update(sessions::table.find((tenant, id)))
                .set(sessions::revoked_at.eq(Some(now)))
                .execute(c)?;
            Ok(row.expires_at > now)
        })
        .await
    }

    async fn revoke_all_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, RepoError> {
        let (tenant, user, now) = (tenant.to_string(), user.to_string(), to_micros(now));
        let keep = keep.map(|k| k.to_string()).unwrap_or_default();
        self.write(move |c| {
            let ids: Vec<String> = sessions::table
                .filter(sessions::tenant_id.eq(&tenant))
                .filter(sessions::user_id.eq(&user))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .filter(sessions::id.ne(&keep))
                .select(sessions::id)
                .load(c)?;
            diesel::update(
                sessions::table
                    .filter(sessions::tenant_id.eq(&tenant))
                    .filter(sessions::id.eq_any(&ids)),
            )
            .set(sessions::revoked_at.eq(Some(now)))
            .execute(c)?;
            Ok(session_ids(&ids)?)
        })
        .await
    }

    async fn revoke_all_for_tenant(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, RepoError> {
        let (tenant, now) = (tenant.to_string(), to_micros(now));
        self.write(move |c| {
            let active = sessions::table
                .filter(sessions::tenant_id.eq(&tenant))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now));
            let ids: Vec<String> = active.select(sessions::id).load(c)?;
            diesel::update(active)
                .set(sessions::revoked_at.eq(Some(now)))
                .execute(c)?;
            Ok(session_ids(&ids)?)
        })
        .await
    }

    async fn list_revoked_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<(TenantId, SessionId)>, RepoError> {
        let since = to_micros(since);
        self.read(move |c| {
            let rows: Vec<(String, String)> = sessions::table
                .filter(sessions::revoked_at.ge(since))
                .select((sessions::tenant_id, sessions::id))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(t, s)| {
                    Ok((
                        TenantId::parse(&t).map_err(RepoError::corrupt)?,
                        SessionId::parse(&s).map_err(RepoError::corrupt)?,
                    ))
                })
                .collect::<Result<_, RepoError>>()?)
        })
        .await
    }
}

/// Stored session ids as domain ids (a malformed one is corrupt data).
fn session_ids(ids: &[String]) -> Result<Vec<SessionId>, RepoError> {
    ids.iter()
        .map(|id| SessionId::parse(id).map_err(RepoError::corrupt))
        .collect()
}
