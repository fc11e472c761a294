//! Conversions between domain values and their stored forms, and driver-error translation.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use pake_ports::{Conflict, RepoError};
use time::OffsetDateTime;

/// An instant as stored: microseconds since the Unix epoch.
pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// A stored instant back as a UTC time.
pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, RepoError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(RepoError::internal)
}

/// An optional stored instant.
pub(crate) fn from_micros_opt(micros: Option<i64>) -> Result<Option<OffsetDateTime>, RepoError> {
    micros.map(from_micros).transpose()
}

/// Parses a stored JSON column.
pub(crate) fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, RepoError> {
    serde_json::from_str(text).map_err(RepoError::internal)
}

/// Serialises a value for a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, RepoError> {
    serde_json::to_string(value).map_err(RepoError::internal)
}

/// A `u64` count from SQLite's signed integers.
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Translates diesel errors into port errors: unique violations become `Conflict` (by constraint),
/// foreign-key violations `NotFound` (the parent is missing in the tenant), a busy or locked
/// database `Unavailable`.
pub(crate) fn map_err(err: DieselError) -> RepoError {
    match err {
        DieselError::NotFound => RepoError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            let msg = info.message();
            let conflict = if msg.contains("tenants.slug") {
                Conflict::TenantSlug
            } else if msg.contains("users.username") {
                Conflict::Username
            } else if msg.contains("users.email") {
                Conflict::Email
            } else {
                Conflict::Id
            };
            RepoError::Conflict(conflict)
        }
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
            RepoError::NotFound
        }
        DieselError::DatabaseError(_, ref info)
            if info.message().contains("database is locked") || info.message().contains("busy") =>
        {
            RepoError::unavailable(err)
        }
        other => RepoError::internal(other),
    }
}

/// The error type of closures run on a connection: lets `?` take both diesel errors (translated by
/// [`map_err`]) and port errors.
/// `Ok` when a write touched a row, [`RepoError::NotFound`] when it touched none (the object is
/// missing, or belongs to another tenant).
pub(crate) fn found(rows: usize) -> Result<(), TxError> {
    if rows == 0 {
        Err(TxError(RepoError::NotFound))
    } else {
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct TxError(pub RepoError);

impl From<DieselError> for TxError {
    fn from(e: DieselError) -> Self {
        Self(map_err(e))
    }
}

impl From<RepoError> for TxError {
    fn from(e: RepoError) -> Self {
        Self(e)
    }
}
