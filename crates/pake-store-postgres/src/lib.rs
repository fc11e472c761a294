//! PAKE's production store: every repository port on PostgreSQL.
//!
//! diesel-async over a deadpool pool. Row-level security is the second wall between tenants: every
//! unit of work is one transaction that first sets `app.tenant_id` with `set_config(…, true)`
//! (transaction-local, so nothing leaks through the pool) and the policies of
//! `migrations/postgres` show it only that tenant's rows; without a tenant it sees none. The few
//! platform-wide operations (listing tenants, resolving a slug at login, purging a tenant, reading
//! recent revocations) run in transactions that switch to the `pake_platform` role with
//! `SET LOCAL ROLE` — an explicit path, never RLS switched off.
//!
//! The server logs in as a role that is a member of `pake_app` (see `docs/production.md`); migrations
//! run as the schema owner through [`migrate`].

mod audit;
mod collections;
mod convert;
mod history;
mod keys;
mod paging;
mod saved_searches;
mod schema;
mod sessions;
mod tenants;
#[cfg(feature = "test-support")]
pub mod test_db;
mod usage;
mod users;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::{Connection, PgConnection};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use pake_ports::{RepoError, Repositories, StoreHealth};

use crate::convert::TxError;

/// The PostgreSQL migrations, embedded at build time from `migrations/postgres`.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Opening the store or migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The pool could not be built.
    #[error("cannot build the PostgreSQL pool: {0}")]
    Pool(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Settings of the pool.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in the pool.
    pub pool_size: usize,
    /// How long a caller waits for a connection before the store counts as unavailable.
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Applies pending migrations as the schema owner (`owner_url`); returns the versions applied.
/// Blocking: call it from a blocking thread or before the runtime starts.
///
/// # Errors
/// [`OpenError::Migration`].
pub fn migrate(owner_url: &str) -> Result<Vec<String>, OpenError> {
    let mut conn =
        PgConnection::establish(owner_url).map_err(|e| OpenError::Migration(e.to_string()))?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| OpenError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts every migration as the owner (the round-trip test).
///
/// # Errors
/// [`OpenError::Migration`].
pub fn revert_all(owner_url: &str) -> Result<(), OpenError> {
    let mut conn =
        PgConnection::establish(owner_url).map_err(|e| OpenError::Migration(e.to_string()))?;
    conn.revert_all_migrations(MIGRATIONS)
        .map_err(|e| OpenError::Migration(e.to_string()))?;
    Ok(())
}

/// The production store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
}

impl PgStore {
    /// A pool of connections to `url` (the application role).
    ///
    /// # Errors
    /// [`OpenError::Pool`] for a malformed configuration (connections are made lazily).
    pub fn connect(url: &str, options: &PgOptions) -> Result<Self, OpenError> {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .wait_timeout(Some(options.acquire_timeout))
            .create_timeout(Some(options.acquire_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| OpenError::Pool(e.to_string()))?;
        Ok(Self { pool })
    }

    /// Every repository of this store.
    pub fn repositories(&self) -> Repositories {
        let store = Arc::new(self.clone());
        Repositories {
            tenants: store.clone(),
            users: store.clone(),
            sessions: store.clone(),
            audit: store.clone(),
            history: store.clone(),
            saved_searches: store.clone(),
            collections: store.clone(),
            usage: store.clone(),
            health: store,
        }
    }

    /// The embedded migrations the database has not applied yet (the server refuses to start
    /// on a schema that is behind; `pake migrate` applies them).
    ///
    /// # Errors
    /// Store errors.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, RepoError> {
        use diesel::migration::MigrationSource;
        #[derive(diesel::QueryableByName)]
        struct Version {
            #[diesel(sql_type = diesel::sql_types::Text)]
            version: String,
        }
        let mut conn = self.conn().await?;
        let applied: Vec<Version> =
            match diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
                .load(&mut *conn)
                .await
            {
                Ok(rows) => rows,
                // A database never migrated has no migrations table: everything is pending.
                Err(diesel::result::Error::DatabaseError(_, info))
                    if info.message().contains("does not exist") =>
                {
                    Vec::new()
                }
                Err(e) => return Err(RepoError::unavailable(e)),
            };
        let known = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
            .map_err(RepoError::internal)?;
        Ok(known
            .iter()
            .map(|m| m.name().version().to_string())
            .filter(|v| !applied.iter().any(|a| &a.version == v))
            .collect())
    }

    /// Checks that the login role can take on the application and platform roles, which every
    /// unit of work does (so row-level security holds even for a superuser login). Returns a
    /// warning to log when the login role could bypass row-level security on its own.
    ///
    /// # Errors
    /// [`RepoError::Internal`] naming the role and the fix when it cannot switch roles; store
    /// errors.
    pub async fn check_login_role(&self) -> Result<Option<String>, RepoError> {
        #[derive(diesel::QueryableByName)]
        struct RoleFacts {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
            #[diesel(sql_type = diesel::sql_types::Bool)]
            privileged: bool,
            #[diesel(sql_type = diesel::sql_types::Bool)]
            app: bool,
            #[diesel(sql_type = diesel::sql_types::Bool)]
            platform: bool,
        }
        let mut conn = self.conn().await?;
        let facts: RoleFacts = diesel::sql_query(
            "SELECT r.rolname::text AS name, (r.rolsuper OR r.rolbypassrls OR EXISTS ( \
                 SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND t.tableowner = r.rolname)) AS privileged, \
                 (r.rolsuper OR pg_has_role(r.oid, 'pake_app', 'MEMBER')) AS app, \
                 (r.rolsuper OR pg_has_role(r.oid, 'pake_platform', 'MEMBER')) AS platform \
             FROM pg_roles r WHERE r.rolname = current_user",
        )
        .get_result(&mut *conn)
        .await
        .map_err(RepoError::unavailable)?;
        if !facts.app || !facts.platform {
            return Err(RepoError::internal(format!(
                "the database login role {:?} cannot take on the application role; \
                 run `GRANT pake_app TO {};` as the schema owner (see docs/production.md)",
                facts.name, facts.name
            )));
        }
        Ok(facts.privileged.then(|| {
            format!(
                "the database login role {:?} is a superuser, bypasses row-level security or owns \
                 the tables; every unit of work switches to pake_app / pake_platform so isolation \
                 holds, but a role granted only pake_app is the safer login (docs/production.md)",
                facts.name
            )
        }))
    }

    /// A pooled connection; an unreachable database is [`RepoError::Unavailable`].
    async fn conn(&self) -> Result<Object<AsyncPgConnection>, RepoError> {
        self.pool.get().await.map_err(RepoError::unavailable)
    }
}

#[cfg(feature = "test-support")]
impl PgStore {
    /// How many rows of `table` a unit of work scoped to `tenant` sees when it asks for all of
    /// them (no `WHERE`): only row-level security stands between it and other tenants' rows.
    ///
    /// # Errors
    /// Store errors.
    pub async fn rows_visible_to(
        &self,
        tenant: pake_domain::TenantId,
        table: &'static str,
    ) -> Result<i64, RepoError> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        tenant_tx!(self, tenant.as_uuid(), |c| {
            let row: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
                .get_result(c)
                .await?;
            Ok(row.n)
        })
    }

    /// The `app.tenant_id` each pooled connection carries outside any transaction (holds every
    /// connection of the pool at once). Anything but empty would be a tenant leaking through the
    /// pool.
    ///
    /// # Errors
    /// Store errors.
    pub async fn leftover_tenant_settings(&self) -> Result<Vec<Option<String>>, RepoError> {
        #[derive(diesel::QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            value: Option<String>,
        }
        let mut held = Vec::new();
        for _ in 0..self.pool.status().max_size {
            held.push(self.conn().await?);
        }
        let mut out = Vec::new();
        for conn in &mut held {
            let s: Setting =
                diesel::sql_query("SELECT current_setting('app.tenant_id', true) AS value")
                    .get_result(&mut **conn)
                    .await
                    .map_err(RepoError::internal)?;
            out.push(s.value);
        }
        Ok(out)
    }
}

/// Scopes the current transaction to `tenant` as the application role: `set_config(…, true)`
/// lasts until the transaction ends, so neither setting can outlive it on a pooled connection.
/// Switching to `pake_app` (like `SET LOCAL ROLE`) makes row-level security apply whatever the
/// login role is — a superuser, a BYPASSRLS role or the tables' owner included.
pub(crate) async fn set_tenant(
    c: &mut AsyncPgConnection,
    tenant: uuid::Uuid,
) -> Result<(), TxError> {
    diesel::sql_query(
        "SELECT set_config('role', 'pake_app', true), set_config('app.tenant_id', $1, true)",
    )
    .bind::<diesel::sql_types::Text, _>(tenant.to_string())
    .execute(c)
    .await?;
    Ok(())
}

/// Switches the current transaction to the platform role (only for the platform-wide path).
pub(crate) async fn as_platform(c: &mut AsyncPgConnection) -> Result<(), TxError> {
    c.batch_execute("SET LOCAL ROLE pake_platform").await?;
    Ok(())
}

/// Runs `$body` with the connection bound to `$c` in one transaction scoped to the tenant `$tenant`.
macro_rules! tenant_tx {
    ($store:expr, $tenant:expr, |$c:ident| $body:expr) => {{
        let tenant: uuid::Uuid = $tenant;
        let mut conn = $store.conn().await?;
        let result: Result<_, crate::convert::TxError> =
            diesel_async::AsyncConnection::transaction(
                &mut *conn,
                async move |$c: &mut diesel_async::AsyncPgConnection| {
                    crate::set_tenant($c, tenant).await?;
                    $body
                },
            )
            .await;
        result.map_err(|e| e.0)
    }};
}

/// Runs `$body` in one transaction on the platform role (the explicit platform-wide path).
macro_rules! platform_tx {
    ($store:expr, |$c:ident| $body:expr) => {{
        let mut conn = $store.conn().await?;
        let result: Result<_, crate::convert::TxError> =
            diesel_async::AsyncConnection::transaction(
                &mut *conn,
                async move |$c: &mut diesel_async::AsyncPgConnection| {
                    crate::as_platform($c).await?;
                    $body
                },
            )
            .await;
        result.map_err(|e| e.0)
    }};
}

pub(crate) use {platform_tx, tenant_tx};

#[async_trait]
impl StoreHealth for PgStore {
    async fn ping(&self) -> Result<(), RepoError> {
        let mut conn = self.conn().await?;
        conn.batch_execute("SELECT 1")
            .await
            .map_err(RepoError::unavailable)
    }
    fn pool(&self) -> Option<(u32, u32)> {
        let status = self.pool.status();
        let size = u32::try_from(status.size).unwrap_or(u32::MAX);
        let idle = u32::try_from(status.available).unwrap_or(0);
        Some((size, idle))
    }
}
