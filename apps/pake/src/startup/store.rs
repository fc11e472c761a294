//! The store the configuration selects: opened, its files kept private, its schema migrated or checked.

use pake_store_postgres::PgStore;
use pake_store_sqlite::SqliteStore;
use secrecy::ExposeSecret;

use crate::config::Config;

use super::StartupError;

/// The store the configuration selects.
pub enum Store {
    /// The embedded SQLite store (the default).
    Embedded(SqliteStore),
    /// PostgreSQL (`DATABASE_URL`).
    Postgres(PgStore),
}

impl Store {
    /// Its repositories.
    pub fn repositories(&self) -> pake_ports::Repositories {
        match self {
            Self::Embedded(s) => s.repositories(),
            Self::Postgres(s) => s.repositories(),
        }
    }
}

/// Opens the store the configuration selects: PostgreSQL when `store.database_url` is set, else
/// the embedded store in the data directory (created if needed).
///
/// # Errors
/// [`StartupError::Store`] when the directory or database cannot be created or opened.
pub fn open_store(config: &Config) -> Result<Store, StartupError> {
    if let Some(url) = &config.store.database_url {
        return PgStore::connect(url.expose_secret(), &config.store.pg_options())
            .map(Store::Postgres)
            .map_err(|e| StartupError::Store(e.to_string()));
    }
    let dir = &config.store.data_dir;
    private_dir(dir).map_err(StartupError::Store)?;
    SqliteStore::open(&dir.join("pake.db"), &config.store.sqlite_options())
        .map(Store::Embedded)
        .map_err(|e| StartupError::Store(e.to_string()))
}

/// Creates `dir` (and missing parents) accessible to this user only (0700), whatever the umask,
/// and tightens it when it exists with a looser mode: the data directory holds password hashes,
/// refresh-token digests, the audit trail and the signing keys. A directory that cannot be
/// tightened (a mount owned by someone else) is a warning, not a refusal to start.
///
/// # Errors
/// A message naming the directory when it cannot be created.
fn private_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mode = std::fs::metadata(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        restrict(dir, 0o700);
    }
    Ok(())
}

/// Sets `path`'s mode, warning when it cannot.
fn restrict(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), error = %e,
            "cannot restrict to the owner; other local users may read it");
    }
}

/// The embedded store's key directory, private (0700) like the data directory, with every key
/// file in it readable by this user only (0600): new key files are created so, older or copied
/// ones are tightened.
///
/// # Errors
/// [`StartupError::Other`] naming the directory when it cannot be created or read.
pub(super) fn private_keys_dir(dir: &std::path::Path) -> Result<(), StartupError> {
    use std::os::unix::fs::PermissionsExt as _;
    private_dir(dir).map_err(StartupError::Other)?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| StartupError::Other(format!("cannot read {}: {e}", dir.display())))?;
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let loose = std::fs::metadata(&path)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o077 != 0);
        if loose {
            restrict(&path, 0o600);
        }
    }
    Ok(())
}

/// Applies pending migrations (blocking); returns the versions applied. PostgreSQL migrations
/// run as the schema owner: `store.migrate_database_url`, else `store.database_url`.
///
/// # Errors
/// [`StartupError::Store`] when a migration fails.
pub fn migrate(config: &Config, store: &Store) -> Result<Vec<String>, StartupError> {
    let result = match store {
        Store::Embedded(s) => s.migrate().map_err(|e| e.to_string()),
        Store::Postgres(_) => {
            let url = config
                .store
                .migrate_url()
                .map(|u| u.expose_secret().to_owned())
                .unwrap_or_default();
            pake_store_postgres::migrate(&url).map_err(|e| e.to_string())
        }
    };
    result.map_err(StartupError::Store)
}

/// Brings the schema up to date (embedded store) or checks that it is (PostgreSQL).
pub(super) async fn prepare_schema(store: &Store) -> Result<(), StartupError> {
    match store {
        // The embedded store migrates itself: it has one user and no operator to ask.
        Store::Embedded(s) => {
            let s = s.clone();
            tokio::task::spawn_blocking(move || s.migrate())
                .await
                .map_err(|e| StartupError::Other(e.to_string()))?
                .map_err(|e| StartupError::Store(e.to_string()))?;
        }
        // PostgreSQL is migrated by the operator (`pake migrate`), never silently at boot.
        Store::Postgres(s) => {
            let pending = s
                .pending_migrations()
                .await
                .map_err(|e| StartupError::Store(e.to_string()))?;
            if !pending.is_empty() {
                return Err(StartupError::Store(format!(
                    "the database schema is behind ({} migration(s) pending: {}); run `pake migrate`",
                    pending.len(),
                    pending.join(", ")
                )));
            }
            match s.check_login_role().await {
                Ok(Some(warning)) => tracing::warn!("{warning}"),
                Ok(None) => {}
                Err(e) => return Err(StartupError::Store(e.to_string())),
            }
        }
    }
    Ok(())
}
