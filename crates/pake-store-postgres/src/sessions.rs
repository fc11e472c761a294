//! `SessionRepository` on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use pake_domain::session::{RefreshOutcome, RefreshTokenHash, Session};
use pake_domain::{SessionId, TenantId, UserId};
use pake_ports::{RepoError, SessionRepository};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::convert::TxError;
use crate::schema::{refresh_tokens, sessions, users};
use crate::{PgStore, platform_tx, tenant_tx};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
struct SessionRow {
    tenant_id: Uuid,
    id: Uuid,
    user_id: Uuid,
    created_at: OffsetDateTime,
    last_used_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    revoked_at: Option<OffsetDateTime>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl SessionRow {
    fn from_domain(s: &Session) -> Self {
        Self {
            tenant_id: s.tenant_id.as_uuid(),
            id: s.id.as_uuid(),
            user_id: s.user_id.as_uuid(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
        }
    }

    fn into_domain(self) -> Session {
        Session {
            tenant_id: TenantId::from_uuid(self.tenant_id),
            id: SessionId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            ip: self.ip,
            user_agent: self.user_agent,
        }
    }
}

async fn load_session(
    c: &mut AsyncPgConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<SessionRow>, TxError> {
    Ok(sessions::table
        .find((tenant, id))
        .select(SessionRow::as_select())
        .for_update()
        .first(c)
        .await
        .optional()?)
}

#[async_trait]
impl SessionRepository for PgStore {
    async fn create(
        &self,
        session: &Session,
        first_token: RefreshTokenHash,
    ) -> Result<(), RepoError> {
        let row = SessionRow::from_domain(session);
        tenant_tx!(self, row.tenant_id, |c| {
            // Sessions outlive their user (they carry its revocation), so no foreign key checks
            // that the user exists: this does, holding the user row until the insert commits.
            users::table
                .find((row.tenant_id, row.user_id))
                .select(users::id)
                .for_share()
                .first::<Uuid>(c)
                .await
                .optional()?
                .ok_or(RepoError::NotFound)?;
            diesel::insert_into(sessions::table)
                .values(&row)
                .execute(c)
                .await?;
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::tenant_id.eq(row.tenant_id),
                    refresh_tokens::token_hash.eq(first_token.0.to_vec()),
                    refresh_tokens::session_id.eq(row.id),
                    refresh_tokens::issued_at.eq(row.created_at),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
    }

    async fn find(&self, tenant: TenantId, id: SessionId) -> Result<Option<Session>, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| Ok(load_session(c, t, id)
            .await?
            .map(SessionRow::into_domain)))
    }

    async fn list_active(
        &self,
        tenant: TenantId,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, RepoError> {
        let (t, user) = (tenant.as_uuid(), user.as_uuid());
        tenant_tx!(self, t, |c| {
            let rows = sessions::table
                .filter(sessions::tenant_id.eq(t))
                .filter(sessions::user_id.eq(user))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .order((sessions::created_at.desc(), sessions::id.desc()))
                .select(SessionRow::as_select())
                .load(c)
                .await?;
            Ok(rows.into_iter().map(SessionRow::into_domain).collect())
        })
    }

    async fn rotate(
        &self,
        tenant: TenantId,
        presented: RefreshTokenHash,
        next: RefreshTokenHash,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let token: Option<(Uuid, Option<OffsetDateTime>)> = refresh_tokens::table
                .find((t, presented.0.to_vec()))
                .select((refresh_tokens::session_id, refresh_tokens::used_at))
                .for_update()
                .first(c)
                .await
                .optional()?;
            let Some((session_id, used_at)) = token else {
                return Ok(RefreshOutcome::Invalid);
            };
            let Some(mut session) = load_session(c, t, session_id).await? else {
                return Ok(RefreshOutcome::Invalid);
            };
            if session.revoked_at.is_some() || session.expires_at <= now {
                return Ok(RefreshOutcome::Invalid);
            }
            if used_at.is_some() {
                diesel::update(sessions::table.find((t, session_id)))
                    .set(sessions::revoked_at.eq(Some(now)))
                    .execute(c)
                    .await?;
                session.revoked_at = Some(now);
                return Ok(RefreshOutcome::ReuseDetected(session.into_domain()));
            }
            diesel::update(refresh_tokens::table.find((t, presented.0.to_vec())))
                .set(refresh_tokens::used_at.eq(Some(now)))
                .execute(c)
                .await?;
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::tenant_id.eq(t),
                    refresh_tokens::token_hash.eq(next.0.to_vec()),
                    refresh_tokens::session_id.eq(session_id),
                    refresh_tokens::issued_at.eq(now),
                ))
                .execute(c)
                .await?;
            diesel::update(sessions::table.find((t, session_id)))
                .set(sessions::last_used_at.eq(now))
                .execute(c)
                .await?;
            session.last_used_at = now;
            Ok(RefreshOutcome::Rotated(session.into_domain()))
        })
    }

    async fn revoke(
        &self,
        tenant: TenantId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<bool, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let Some(row) = load_session(c, t, id).await? else {
                return Err(RepoError::NotFound.into());
            };
            if row.revoked_at.is_some() {
                return Ok(false);
            }
            diesel::update(sessions::table.find((t, id)))
                .set(sessions::revoked_at.eq(Some(now)))
                .execute(c)
                .await?;
            Ok(row.expires_at > now)
        })
    }

    async fn revoke_all_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, RepoError> {
        let (t, user) = (tenant.as_uuid(), user.as_uuid());
        let keep = keep.map_or(Uuid::nil(), |k| k.as_uuid());
        tenant_tx!(self, t, |c| {
            let ids: Vec<Uuid> = diesel::update(
                sessions::table
                    .filter(sessions::tenant_id.eq(t))
                    .filter(sessions::user_id.eq(user))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .filter(sessions::id.ne(keep)),
            )
            .set(sessions::revoked_at.eq(Some(now)))
            .returning(sessions::id)
            .get_results(c)
            .await?;
            Ok(ids.into_iter().map(SessionId::from_uuid).collect())
        })
    }

    async fn revoke_all_for_tenant(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let ids: Vec<Uuid> = diesel::update(
                sessions::table
                    .filter(sessions::tenant_id.eq(t))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now)),
            )
            .set(sessions::revoked_at.eq(Some(now)))
            .returning(sessions::id)
            .get_results(c)
            .await?;
            Ok(ids.into_iter().map(SessionId::from_uuid).collect())
        })
    }

    async fn list_revoked_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<(TenantId, SessionId)>, RepoError> {
        platform_tx!(self, |c| {
            let rows: Vec<(Uuid, Uuid)> = sessions::table
                .filter(sessions::revoked_at.ge(since))
                .select((sessions::tenant_id, sessions::id))
                .load(c)
                .await?;
            Ok(rows
                .into_iter()
                .map(|(t, s)| (TenantId::from_uuid(t), SessionId::from_uuid(s)))
                .collect())
        })
    }
}
