//! `[store]`: the embedded SQLite store or PostgreSQL, and their pools.

use std::path::PathBuf;

use pake_store_postgres::PgOptions;
use pake_store_sqlite::SqliteOptions;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid, redact};

/// Store settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Where the embedded store keeps its files (and the default key directory).
    pub data_dir: PathBuf,
    /// SQLite connections in the pool.
    pub sqlite_pool_size: u32,
    /// PostgreSQL URL of the application role (also `DATABASE_URL`); when set, PAKE runs on
    /// PostgreSQL instead of the embedded SQLite store.
    #[serde(serialize_with = "redact")]
    pub database_url: Option<SecretString>,
    /// PostgreSQL URL of the schema owner for `pake migrate` (default: `database_url`).
    #[serde(serialize_with = "redact")]
    pub migrate_database_url: Option<SecretString>,
    /// PostgreSQL connections in the pool.
    pub pg_pool_size: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./pake-data"),
            sqlite_pool_size: 8,
            database_url: None,
            migrate_database_url: None,
            pg_pool_size: 16,
        }
    }
}

impl StoreConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.database_url {
            let url = url.expose_secret();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(invalid(
                    "store.database_url (DATABASE_URL) must be a postgres:// URL",
                ));
            }
        }
        if self.sqlite_pool_size == 0 || self.pg_pool_size == 0 {
            return Err(invalid(
                "store.sqlite_pool_size and store.pg_pool_size must be at least 1",
            ));
        }
        Ok(())
    }

    /// The PostgreSQL pool options.
    pub fn pg_options(&self) -> PgOptions {
        PgOptions {
            pool_size: self.pg_pool_size,
            ..PgOptions::default()
        }
    }

    /// The embedded store's options.
    pub fn sqlite_options(&self) -> SqliteOptions {
        SqliteOptions {
            pool_size: self.sqlite_pool_size,
            ..SqliteOptions::default()
        }
    }

    /// The URL `pake migrate` connects with: the schema owner's, else the application's.
    pub fn migrate_url(&self) -> Option<&SecretString> {
        self.migrate_database_url
            .as_ref()
            .or(self.database_url.as_ref())
    }
}
