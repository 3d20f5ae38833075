//! bench variant `per-worker`: one connection per worker thread, never shared,
//! so no lock: each thread opens its own the first time it runs a query, on
//! the file of the connection `main` passed to `start`, with its settings.
//! Queries run on the actix worker thread that asked for them; the workers'
//! connections write to the same file, so SQLite serializes their writes.
//!
//! The old per-worker measurement opened the connections in the `App` factory
//! (once per worker, at start-up); here they open at each worker's first
//! request, which the benchmark's warm-up makes before it measures.
//!
//! A whole-file replacement of `steps/s06/src/db.rs` (same public API), used
//! only by `bench/run --db-patterns`; see bench/README.md.

use std::cell::RefCell;

use rusqlite::Connection;

/// The database: where the file is and how to open it; the connections
/// themselves live in the threads that use them.
pub struct Db {
    path: String,
    /// `PRAGMA journal_mode = ..; PRAGMA synchronous = ..; ...`, read from the
    /// connection `main` opened, so every worker's connection matches it.
    settings: String,
}

thread_local! {
    /// This thread's connection, opened at its first query: (path, connection).
    static CONNECTION: RefCell<Option<(String, Connection)>> = const { RefCell::new(None) };
}

impl Db {
    /// Notes the file and the settings of `connection`, then closes it (main
    /// already created the tables with it).
    pub fn start(connection: Connection) -> Db {
        let path = match connection.path() {
            Some(path) if !path.is_empty() => path.to_owned(),
            _ => panic!("bench per-worker: the database must be a file"),
        };
        let read = |pragma: &str| -> String {
            connection
                .query_row(&format!("PRAGMA {pragma}"), [], |row| {
                    row.get::<_, rusqlite::types::Value>(0)
                })
                .map(|value| match value {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => panic!("bench per-worker: PRAGMA {pragma} = {other:?}"),
                })
                .unwrap_or_else(|e| panic!("bench per-worker: PRAGMA {pragma}: {e}"))
        };
        let settings = [
            "journal_mode",
            "synchronous",
            "busy_timeout",
            "foreign_keys",
        ]
        .map(|pragma| format!("PRAGMA {pragma} = {};", read(pragma)))
        .join(" ");
        Db { path, settings }
    }

    /// Runs `query` on this worker thread, with this thread's own connection.
    pub async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        CONNECTION.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|(path, _)| *path != self.path) {
                let connection = Connection::open(&self.path)?;
                connection.execute_batch(&self.settings)?;
                *slot = Some((self.path.clone(), connection));
            }
            let (_, connection) = slot.as_ref().expect("opened above");
            // Fault injection for the poisoning check: there is no lock to
            // poison; the panic unwinds through this thread's borrow only.
            shared::faults::before_query();
            query(connection)
        })
    }
}
