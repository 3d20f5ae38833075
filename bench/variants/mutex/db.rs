//! bench variant `mutex`: s06 before the database thread. One connection
//! behind a `Mutex`, shared by every worker thread; `run` takes the lock and
//! runs the query right away, on the actix worker thread that called it.
//!
//! A whole-file replacement of `steps/s06/src/db.rs` (same public API), used
//! only by `bench/run --db-patterns`; see bench/README.md.

use std::sync::{Mutex, MutexGuard, PoisonError};

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
    /// poisons the mutex; this flavour takes the connection anyway.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
