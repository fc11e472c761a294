//! Small helpers the services share.

use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, carrying on after a panic elsewhere poisoned it (the guarded data stays usable:
/// every critical section leaves it consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `bytes` as lower-case hex digits.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
