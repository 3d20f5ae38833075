//! A SQLite step's database copied into PostgreSQL (step 22), once:
//! `cargo run -p s23 -- --import steps/s21/instance/chat.db`. The users and
//! messages keep their ids, so sessions, links and pages still name the
//! same ones; the sequences then start after the largest ids.

use std::path::Path;

use deadpool_postgres::Pool;
use rusqlite::OpenFlags;

/// A user's columns, and a message's, as both databases have them.
type Users = (Vec<i64>, Vec<String>, Vec<String>, Vec<String>, Vec<String>);
type Messages = (Vec<i64>, Vec<String>, Vec<i64>, Vec<i64>, Vec<String>);

/// Copies the users and messages of the SQLite database at `path` into
/// this one, which must have none yet; answers what it did. All or nothing:
/// one transaction.
pub async fn import(db: &Pool, path: &Path) -> Result<String, String> {
    let shown = path.display();
    let (users, messages) = read_sqlite(path).map_err(|e| {
        let hint = if e.to_string().contains("password_hash") {
            " (a database of step 20 or later: the steps before keep no passwords)"
        } else {
            ""
        };
        format!("cannot read {shown}: {e}{hint}")
    })?;
    let fail = |e: tokio_postgres::Error| {
        let why = e.as_db_error().map_or(e.to_string(), |e| e.message().to_string());
        format!("the import of {shown} failed, and changed nothing: {why}")
    };
    let mut connection = db.get().await.map_err(|e| e.to_string())?;
    let transaction = connection.transaction().await.map_err(fail)?;
    // Nobody writes meanwhile; and only into an empty database.
    transaction
        .batch_execute("LOCK TABLE users, messages IN EXCLUSIVE MODE")
        .await
        .map_err(fail)?;
    let row = transaction
        .query_one(
            "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM messages)",
            &[],
        )
        .await
        .map_err(fail)?;
    let (had_users, had_messages): (i64, i64) = (row.get(0), row.get(1));
    if had_users + had_messages > 0 {
        return Err(format!(
            "this database already has {had_users} users and {had_messages} messages: \
             --import copies into an empty one only (nothing was imported)"
        ));
    }
    // Each table in one statement: its columns sent as arrays, made rows
    // again by UNNEST, the ids as they were.
    transaction
        .execute(
            "INSERT INTO users (id, name, email, nickname, password_hash)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])",
            &[&users.0, &users.1, &users.2, &users.3, &users.4],
        )
        .await
        .map_err(fail)?;
    transaction
        .execute(
            "INSERT INTO messages (id, content, author_id, recipient_id, date)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[])",
            &[&messages.0, &messages.1, &messages.2, &messages.3, &messages.4],
        )
        .await
        .map_err(fail)?;
    // The session key beside the SQLite file (step 20 on), if there is one:
    // whoever was logged in stays logged in.
    let key = std::fs::read(path.with_file_name("session.key")).ok();
    if let Some(key) = key.as_ref().filter(|key| key.len() == 64) {
        transaction
            .execute(
                "INSERT INTO session_key (key) VALUES ($1)
                 ON CONFLICT (only_one) DO UPDATE SET key = EXCLUDED.key",
                &[key],
            )
            .await
            .map_err(fail)?;
    }
    // The next id each table gives: one past the largest one imported.
    for table in ["users", "messages"] {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false)
             FROM {table}"
        );
        transaction.execute(&sql, &[]).await.map_err(fail)?;
    }
    transaction.commit().await.map_err(fail)?;
    // Fresh statistics for the planner: without them, the first queries on
    // a large import may be planned as if the tables were empty.
    connection.batch_execute("ANALYZE users, messages").await.map_err(fail)?;
    Ok(format!(
        "imported {} users and {} messages from {shown}, with their ids{}",
        users.0.len(),
        messages.0.len(),
        if key.is_some() {
            ", and its session key"
        } else {
            ""
        }
    ))
}

/// The users (with their passwords' hashes: step 20 on) and the messages of
/// a SQLite step's database, opened read-only.
fn read_sqlite(path: &Path) -> rusqlite::Result<(Users, Messages)> {
    let sqlite = rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut users = Users::default();
    let mut statement =
        sqlite.prepare("SELECT id, name, email, nickname, password_hash FROM users ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        users.0.push(row.get(0)?);
        users.1.push(row.get(1)?);
        users.2.push(row.get(2)?);
        users.3.push(row.get(3)?);
        users.4.push(row.get(4)?);
    }
    let mut messages = Messages::default();
    let mut statement = sqlite
        .prepare("SELECT id, content, author_id, recipient_id, date FROM messages ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        messages.0.push(row.get(0)?);
        messages.1.push(row.get(1)?);
        messages.2.push(row.get(2)?);
        messages.3.push(row.get(3)?);
        messages.4.push(row.get(4)?);
    }
    Ok((users, messages))
}
