//! bench variant `block`: the `mutex` variant's one connection behind a
//! `Mutex`, but each query runs inside `web::block`, on actix's pool of
//! blocking threads, so the worker thread is free while it runs.
//!
//! A whole-file replacement of `steps/s06/src/db.rs` (same public API), used
//! only by `bench/run --db-patterns`; see bench/README.md.

use std::sync::{Arc, Mutex, PoisonError};

use actix_web::web;
use rusqlite::Connection;

/// The database: one connection, locked by each query in turn.
pub struct Db {
    connection: Arc<Mutex<Connection>>,
}

impl Db {
    /// Keeps the connection behind a mutex.
    pub fn start(connection: Connection) -> Db {
        Db {
            connection: Arc::new(Mutex::new(connection)),
        }
    }

    /// Runs `query` on a blocking thread, holding the lock, and waits for it
    /// without blocking this worker thread.
    pub async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        let connection = Arc::clone(&self.connection);
        web::block(move || {
            let connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            // Fault injection for the poisoning check: panics holding the lock.
            shared::faults::before_query();
            query(&connection)
        })
        .await
        // The blocking thread panicked: the same error as the shipped `run`.
        .unwrap_or_else(|_| {
            let abort = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT);
            Err(rusqlite::Error::SqliteFailure(
                abort,
                Some("the query did not finish".into()),
            ))
        })
    }
}
