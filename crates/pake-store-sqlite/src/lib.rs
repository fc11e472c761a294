//! PAKE's embedded store: every repository port on SQLite.
//!
//! diesel with a bundled SQLite in WAL mode, pooled with r2d2. Every call runs on tokio's blocking
//! pool (`spawn_blocking`), never on the async workers; each unit of work is one transaction, and
//! writes take the write lock up front (`BEGIN IMMEDIATE`) so concurrent writers queue on SQLite's
//! busy timeout instead of failing on a lock upgrade.

mod audit;
mod collections;
mod convert;
mod history;
mod paging;
mod saved_searches;
mod schema;
mod sessions;
mod tenants;
mod usage;
mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use pake_ports::{RepoError, Repositories, StoreHealth};

use crate::convert::TxError;

/// The SQLite migrations, embedded at build time from `migrations/sqlite`.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Opening or migrating the store failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The connection pool could not be built (bad path, permissions).
    #[error("cannot open the SQLite database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// The database could not be prepared or a migration failed.
    #[error("cannot prepare the database: {0}")]
    Migration(String),
}

/// Settings of the embedded store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Connections in the pool (readers run in parallel in WAL mode; writers queue).
    pub pool_size: u32,
    /// How long a caller waits for a pooled connection before the store counts as unavailable.
    pub acquire_timeout: Duration,
    /// How long a writer waits for SQLite's write lock.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            pool_size: 8,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
struct Pragmas {
    busy_timeout_ms: u128,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first, so the pragmas after it wait for a lock instead of failing.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            self.busy_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Creates the database file at `path` readable and writable by this user only (0600) before
/// SQLite would create it with the umask's mode (0644 under the usual umask), and tightens the
/// database and its `-wal`/`-shm` files when they exist with a looser mode: they hold password
/// hashes, refresh-token digests, the audit trail and client addresses. A file that cannot be
/// tightened (owned by someone else) is logged as a warning, not refused.
///
/// # Errors
/// [`OpenError::Migration`] when the database file cannot be created.
fn private_files(path: &Path) -> Result<(), OpenError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| OpenError::Migration(format!("cannot create {}: {e}", path.display())))?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    for file in [path.as_os_str(), &wal, &shm].map(Path::new) {
        let Ok(meta) = std::fs::metadata(file) else {
            continue;
        };
        let loose = meta.permissions().mode() & 0o077 != 0;
        if !loose {
            continue;
        }
        if let Err(e) = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(file = %file.display(), error = %e, "cannot make the database file private (0600)");
        }
    }
    Ok(())
}

/// The embedded store. One value implements every repository port; [`SqliteStore::repositories`]
/// hands them out as trait objects.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<ConnectionManager<SqliteConnection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`. The database and its `-wal` and
    /// `-shm` files are readable by this user only (0600), whatever the umask; looser existing
    /// files are tightened.
    ///
    /// # Errors
    /// [`OpenError::Pool`] when the file cannot be opened.
    pub fn open(path: &Path, options: &SqliteOptions) -> Result<Self, OpenError> {
        private_files(path)?;
        // WAL is a property of the database file: switch it once, from one connection, before the
        // pool opens several at once.
        let mut first = SqliteConnection::establish(&path.to_string_lossy())
            .map_err(|e| OpenError::Migration(e.to_string()))?;
        first
            .batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
            .map_err(|e| OpenError::Migration(e.to_string()))?;
        // SQLite gives the WAL and SHM files the database file's mode; make sure of it
        private_files(path)?;
        drop(first);
        let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
        let pool = Pool::builder()
            .max_size(options.pool_size)
            .connection_timeout(options.acquire_timeout)
            .connection_customizer(Box::new(Pragmas {
                busy_timeout_ms: options.busy_timeout.as_millis(),
            }))
            .build(manager)?;
        Ok(Self { pool })
    }

    /// Applies every pending migration; returns the versions applied.
    ///
    /// # Errors
    /// [`OpenError`] when a connection cannot be had or a migration fails.
    pub fn migrate(&self) -> Result<Vec<String>, OpenError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| OpenError::Migration(e.to_string()))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| OpenError::Migration(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    }

    /// Reverts every applied migration (used by the round-trip test).
    ///
    /// # Errors
    /// [`OpenError`] when a migration's `down` fails.
    pub fn revert_all(&self) -> Result<(), OpenError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| OpenError::Migration(e.to_string()))?;
        conn.revert_all_migrations(MIGRATIONS)
            .map_err(|e| OpenError::Migration(e.to_string()))?;
        Ok(())
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

    /// Runs `work` with a pooled connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, TxError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(RepoError::unavailable)?;
            work(&mut conn).map_err(|e| e.0)
        })
        .await
        .map_err(RepoError::internal)?
    }

    /// Runs `work` in a read transaction.
    async fn read<T, F>(&self, work: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, TxError> + Send + 'static,
    {
        self.run(move |conn| conn.transaction(work)).await
    }

    /// Runs `work` in a write transaction that holds the write lock from its start.
    async fn write<T, F>(&self, work: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, TxError> + Send + 'static,
    {
        self.run(move |conn| conn.immediate_transaction(work)).await
    }
}

#[async_trait]
impl StoreHealth for SqliteStore {
    async fn ping(&self) -> Result<(), RepoError> {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(Into::into))
            .await
    }

    fn pool(&self) -> Option<(u32, u32)> {
        let state = self.pool.state();
        Some((state.connections, state.idle_connections))
    }
}
