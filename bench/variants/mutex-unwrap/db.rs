//! bench variant `mutex-unwrap`: the `mutex` variant (s06 before the
//! database thread) with `.lock().unwrap()` instead of recovering the lock:
//! only for the poisoning check.
//!
//! A whole-file replacement of `steps/s06/src/db.rs` (same public API), used
//! only by `bench/run --db-patterns`; see bench/README.md.

use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

/// The database: one connection, locked by each request in turn.
pub struct Db {
    connection: Mutex<Connection>,
}

impl Db {
    /// Keeps the connection behind a mutex.
    pub fn start(connection: Connection) -> Db {
        Db {
            connection: Mutex::new(connection),
        }
    }

    /// Takes the connection for this request. A panic while the lock was held
    /// poisons the mutex; this flavour panics on a poisoned lock, so after one
    /// panicking query every later request that needs the database panics too.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap()
    }

    /// Runs `query` on this worker thread, holding the lock. Nothing here
    /// awaits: the worker is busy (and the lock held) until the query ends.
    pub async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        let connection = self.lock();
        // Fault injection for the poisoning check: a panic here happens while
        // the lock is held, as a panicking query would.
        shared::faults::before_query();
        query(&connection)
    }
}
