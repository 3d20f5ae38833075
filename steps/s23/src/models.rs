//! The app's data: its tables in PostgreSQL (`open_db`, and the SQL files
//! of `migrations/`), and the Rust structs its rows become, with the
//! queries that read them.

use std::time::Duration;

use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_postgres::{NoTls, Row};

use crate::errors::ApiError;
use crate::migrations::migrate;

/// The most connections the app opens to PostgreSQL at once.
const CONNECTIONS: usize = 16;

/// Connects to the database at `url`, as a pool of connections, and brings
/// its tables up to date (migrations.rs). A connection is opened when a
/// request needs one and none is free, then kept for the next.
pub async fn open_db(url: &str) -> Result<Pool, String> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    config.connect_timeout(Duration::from_secs(5));
    // Before it is lent again, a connection is checked: one that broke (the
    // server restarted) is dropped, and another is opened.
    let recycling = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = Manager::from_config(config, NoTls, recycling);
    let pool = Pool::builder(manager)
        .max_size(CONNECTIONS)
        .runtime(Runtime::Tokio1)
        // A request waits at most this long for a connection: then 503.
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| e.to_string())?;
    let mut connection = pool.get().await.map_err(|e| with_reasons(&e))?;
    let applied = migrate(&mut connection).await?;
    if !applied.is_empty() {
        eprintln!("migrations applied: {}", applied.join(", "));
    }
    drop(connection);
    Ok(pool)
}

/// An error's text followed by its causes': "db error: ERROR: ...".
fn with_reasons(e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(reason) => format!("{e}: {}", with_reasons(reason)),
        None => e.to_string(),
    }
}

/// A user, as stored and as the API answers it (serde writes the JSON, and
/// reads it back from Redis: step 23).
#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub nickname: String,
}

impl User {
    /// Reads a row of `SELECT id, name, email, nickname ...` into a `User`.
    pub fn from_row(row: &Row) -> Result<User, tokio_postgres::Error> {
        User::from_columns(row, 0)
    }

    /// Reads a user from four columns of a row (id, name, email, nickname),
    /// starting at column `first`.
    pub fn from_columns(row: &Row, first: usize) -> Result<User, tokio_postgres::Error> {
        Ok(User {
            id: row.try_get(first)?,
            name: row.try_get(first + 1)?,
            email: row.try_get(first + 2)?,
            nickname: row.try_get(first + 3)?,
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
pub async fn select_account(
    connection: &Client,
    nickname: &str,
) -> Result<Option<Account>, tokio_postgres::Error> {
    let row = connection
        .query_opt(
            "SELECT id, name, email, nickname, password_hash FROM users WHERE nickname = $1",
            &[&nickname],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Account {
        user: User::from_row(&row)?,
        password_hash: row.try_get(4)?,
    }))
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
    pub fn from_row(row: &Row) -> Result<Message, tokio_postgres::Error> {
        Ok(Message {
            id: row.try_get(0)?,
            content: row.try_get(1)?,
            date: row.try_get(2)?,
            author_id: row.try_get(3)?,
            recipient_id: row.try_get(4)?,
        })
    }
}

/// A message with its author and recipient in full, as a conversation lists it.
#[derive(Clone, Serialize, Deserialize)]
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
    pub fn from_row(row: &Row) -> Result<MessageWithUsers, tokio_postgres::Error> {
        Ok(MessageWithUsers {
            id: row.try_get(0)?,
            content: row.try_get(1)?,
            date: row.try_get(2)?,
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
pub async fn select_users(connection: &Client) -> Result<Vec<User>, tokio_postgres::Error> {
    let rows = connection
        .query(
            "SELECT id, name, email, nickname FROM users ORDER BY id",
            &[],
        )
        .await?;
    rows.iter().map(User::from_row).collect()
}

/// The user with this id, if there is one.
pub async fn select_user(
    connection: &Client,
    id: i64,
) -> Result<Option<User>, tokio_postgres::Error> {
    let row = connection
        .query_opt(
            "SELECT id, name, email, nickname FROM users WHERE id = $1",
            &[&id],
        )
        .await?;
    row.as_ref().map(User::from_row).transpose()
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
pub async fn user_exists(connection: &Client, id: i64) -> Result<bool, tokio_postgres::Error> {
    let statement = connection
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
        .await?;
    let row = connection.query_one(&statement, &[&id]).await?;
    row.try_get(0)
}
