//! One multiplexed Redis connection shared by every request of a limiter.
//!
//! A multiplexed connection carries concurrent commands on one socket, so the hot path needs no
//! pool checkout (deadpool-redis verifies each checked-out connection with a PING: a second round
//! trip per command). The connection comes from the pool once and is dropped after an error, so
//! the next command gets a fresh one.

use std::sync::Mutex;

use deadpool_redis::Pool;
use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{RedisError, RedisResult};
use pake_ports::LimitError;

pub(crate) struct SharedConnection {
    pool: Pool,
    current: Mutex<Option<MultiplexedConnection>>,
}

impl SharedConnection {
    pub(crate) fn new(pool: Pool) -> Self {
        Self {
            pool,
            current: Mutex::new(None),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        crate::lock(&self.current)
    }

    /// The shared connection, made (through the pool) when there is none.
    pub(crate) async fn get(&self) -> Result<MultiplexedConnection, LimitError> {
        if let Some(conn) = self.slot().clone() {
            return Ok(conn);
        }
        let pooled = self
            .pool
            .get()
            .await
            .map_err(|e| LimitError::Unavailable(Box::new(e)))?;
        let conn: MultiplexedConnection = (*pooled).clone();
        *self.slot() = Some(conn.clone());
        Ok(conn)
    }

    /// Passes `result` on; after an error the connection is dropped and made anew next time.
    pub(crate) fn check<T>(&self, result: RedisResult<T>) -> Result<T, LimitError> {
        result.map_err(|e| self.fail(e))
    }

    /// Drops the connection after `error` (the next command makes a new one).
    pub(crate) fn fail(&self, error: RedisError) -> LimitError {
        *self.slot() = None;
        LimitError::Unavailable(Box::new(error))
    }
}
