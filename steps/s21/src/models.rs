//! The app's data: its tables in SQLite (`open_db`), and the Rust structs
//! its rows become, with the queries that read them.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::errors::ApiError;

/// Opens (or creates) the database file and creates the tables that are missing.
pub fn open_db(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    // Write-ahead logging: a commit no longer waits for the disk twice, which
    // makes writes about 30 times faster, and readers never wait for writers.
    // NORMAL: a commit survives the step being killed, but a power cut may
    // lose the last few.
    connection.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    // A nickname names one account (UNIQUE), and its password is kept only
    // as a hash (step 20).
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS users (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL,
            email         TEXT NOT NULL,
            nickname      TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL
        )",
    )?;
    // A message refers to two users. With foreign keys on (SQLite checks
    // them only when asked, on each connection), the database itself refuses
    // a message whose author or recipient does not exist.
    connection.execute_batch("PRAGMA foreign_keys = ON;")?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS messages (
            id           INTEGER PRIMARY KEY,
            content      TEXT NOT NULL,
            author_id    INTEGER NOT NULL REFERENCES users (id),
            recipient_id INTEGER NOT NULL REFERENCES users (id),
            date         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )",
    )?;
    // A conversation is found by author and by recipient: an index on each
    // lets SQLite go straight to those rows instead of reading every message.
    // With `id` second, each keeps one user's messages in id order, so a
    // page of them is read straight from it, from `before` down (step 21).
    connection.execute_batch(
        "CREATE INDEX IF NOT EXISTS messages_by_author ON messages (author_id, id);
         CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages (recipient_id, id);",
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
        User::from_columns(row, 0)
    }

    /// Reads a user from four columns of a row (id, name, email, nickname),
    /// starting at column `first`.
    pub fn from_columns(row: &Row, first: usize) -> rusqlite::Result<User> {
        Ok(User {
            id: row.get(first)?,
            name: row.get(first + 1)?,
            email: row.get(first + 2)?,
            nickname: row.get(first + 3)?,
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
    /// Never stored nor answered: only its hash is (step 20).
    pub password: String,
}

/// A user and their password's hash: what logging in checks (step 20).
pub struct Account {
    pub user: User,
    pub password_hash: String,
}

/// The account with this nickname, if there is one.
pub fn select_account(
    connection: &Connection,
    nickname: &str,
) -> rusqlite::Result<Option<Account>> {
    connection
        .query_row(
            "SELECT id, name, email, nickname, password_hash FROM users WHERE nickname = ?1",
            [nickname],
            |row| {
                Ok(Account {
                    user: User::from_row(row)?,
                    password_hash: row.get(4)?,
                })
            },
        )
        .optional()
}

/// A message, as stored and as the API answers it.
#[derive(Serialize)]
pub struct Message {
    pub id: i64,
    pub content: String,
    pub date: String,
    pub author_id: i64,
    pub recipient_id: i64,
}

impl Message {
    /// Reads a row of `SELECT id, content, date, author_id, recipient_id ...`.
    pub fn from_row(row: &Row) -> rusqlite::Result<Message> {
        Ok(Message {
            id: row.get(0)?,
            content: row.get(1)?,
            date: row.get(2)?,
            author_id: row.get(3)?,
            recipient_id: row.get(4)?,
        })
    }
}

/// A message with its author and recipient in full, as a conversation lists it.
#[derive(Serialize)]
pub struct MessageWithUsers {
    pub id: i64,
    pub content: String,
    pub date: String,
    pub author: User,
    pub recipient: User,
}

impl MessageWithUsers {
    /// Reads a row of `MESSAGES_WITH_USERS` (below): the message's columns,
    /// then its author's four, then its recipient's.
    pub fn from_row(row: &Row) -> rusqlite::Result<MessageWithUsers> {
        Ok(MessageWithUsers {
            id: row.get(0)?,
            content: row.get(1)?,
            date: row.get(2)?,
            author: User::from_columns(row, 3)?,
            recipient: User::from_columns(row, 7)?,
        })
    }
}

/// One query for messages and their users: each message joined to its two
/// users, in the columns `MessageWithUsers::from_row` reads. A query adds its
/// own `WHERE`; the values still go as parameters, never into the text.
pub const MESSAGES_WITH_USERS: &str = "
    SELECT m.id, m.content, m.date,
           a.id, a.name, a.email, a.nickname,
           r.id, r.name, r.email, r.nickname
    FROM messages AS m
    JOIN users AS a ON a.id = m.author_id
    JOIN users AS r ON r.id = m.recipient_id";

/// The body `POST /api/messages` takes. The id is any JSON value here, and
/// `parse_user_id` reads it: a number (`2`) or a string of digits (`"2"`), which
/// is what httpie's `recipient_id=2` sends. No author: it is whoever is
/// logged in (step 20); a body that names one is refused, rather than
/// have its `author_id` ignored without a word.
#[derive(Deserialize)]
pub struct NewMessage {
    pub recipient_id: Value,
    pub content: String,
    #[serde(default)]
    pub author_id: Option<Value>,
}

/// All the users, in id order.
pub fn select_users(connection: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut statement =
        connection.prepare("SELECT id, name, email, nickname FROM users ORDER BY id")?;
    statement.query_map([], User::from_row)?.collect()
}

/// The user with this id, if there is one.
pub fn select_user(connection: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    connection
        .query_row(
            "SELECT id, name, email, nickname FROM users WHERE id = ?1",
            [id],
            User::from_row,
        )
        .optional()
}

/// Reads a user id sent as a number (`1`) or as a string of digits (`"1"`).
pub fn parse_user_id(field: &str, value: &Value) -> Result<i64, ApiError> {
    let id = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    };
    id.ok_or_else(|| {
        ApiError::BadInput(format!(
            "{field} must be a user's id: a whole number, like 1 or \"1\""
        ))
    })
}

/// Is there a user with this id?
pub fn user_exists(connection: &Connection, id: i64) -> rusqlite::Result<bool> {
    connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
        [id],
        |row| row.get(0),
    )
}
