//! Driver-error translation and stored-value helpers.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use pake_ports::{Conflict, RepoError};

/// Parses a stored JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, RepoError> {
    serde_json::from_value(value).map_err(RepoError::internal)
}

/// Serialises a value for a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, RepoError> {
    serde_json::to_value(value).map_err(RepoError::internal)
}

/// A `u64` count from PostgreSQL's signed integers.
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Translates diesel errors: unique violations become `Conflict` (by constraint name),
/// foreign-key and row-level-security violations `NotFound` (the object is not in the caller's
/// tenant), lost connections `Unavailable`.
pub(crate) fn map_err(err: DieselError) -> RepoError {
    match err {
        DieselError::NotFound => RepoError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            let conflict = match info.constraint_name() {
                Some("tenants_slug_key") => Conflict::TenantSlug,
                Some("users_username_key") => Conflict::Username,
                Some("users_email_key") => Conflict::Email,
                _ => Conflict::Id,
            };
            RepoError::Conflict(conflict)
        }
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
            RepoError::NotFound
        }
        DieselError::DatabaseError(_, ref info)
            if info.message().contains("row-level security") =>
        {
            RepoError::NotFound
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )
        | DieselError::BrokenTransactionManager => RepoError::unavailable(err),
        // The server going away mid-query (shutdown, restart, failover) is unavailability too.
        DieselError::DatabaseError(_, ref info) if is_connection_loss(info.message()) => {
            RepoError::unavailable(err)
        }
        other => RepoError::internal(other),
    }
}

/// Whether a database error message says the connection or the server went away.
fn is_connection_loss(message: &str) -> bool {
    const SIGNS: [&str; 6] = [
        "terminating connection",
        "server closed the connection",
        "connection refused",
        "the database system is shutting down",
        "the database system is starting up",
        "no connection to the server",
    ];
    let message = message.to_ascii_lowercase();
    SIGNS.iter().any(|s| message.contains(s))
}

/// `Ok` when a write touched a row, [`RepoError::NotFound`] when it touched none (the object is
/// missing, or belongs to another tenant).
pub(crate) fn found(rows: usize) -> Result<(), TxError> {
    if rows == 0 {
        Err(TxError(RepoError::NotFound))
    } else {
        Ok(())
    }
}

/// The error type of transaction bodies: lets `?` take both diesel and port errors.
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
