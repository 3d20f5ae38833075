//! Migrations (step 22): the schema is a list of SQL files, `migrations/`,
//! applied in order when the app starts, each once, and recorded in the
//! table `migrations`. A file, once released, never changes: a change to
//! the schema is a new file.

use deadpool_postgres::Client;

/// Every migration, in order: its name and its SQL, compiled in.
const MIGRATIONS: [(&str, &str); 2] = [
    (
        "001_users_and_messages",
        include_str!("../migrations/001_users_and_messages.sql"),
    ),
    (
        "002_session_key",
        include_str!("../migrations/002_session_key.sql"),
    ),
];

/// Applies the migrations the database has not recorded, in order, and
/// answers their names. Each runs in a transaction with its record: one
/// that fails changes nothing and stops the app, with PostgreSQL's reason.
pub async fn migrate(connection: &mut Client) -> Result<Vec<&'static str>, String> {
    // Two copies of the app starting at once (step 23): the second waits
    // here, on a lock of PostgreSQL's own (its number is ours to choose),
    // until the first is done, then finds every migration recorded.
    connection.batch_execute("SELECT pg_advisory_lock(22)").await.map_err(reason)?;
    let applied = apply_missing(connection).await;
    connection
        .batch_execute("SELECT pg_advisory_unlock(22)")
        .await
        .map_err(reason)?;
    applied
}

/// The migrations not recorded yet, each in its transaction.
async fn apply_missing(connection: &mut Client) -> Result<Vec<&'static str>, String> {
    connection
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS migrations (
                name       TEXT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(reason)?;
    let mut applied = Vec::new();
    for (name, sql) in MIGRATIONS {
        let transaction = connection.transaction().await.map_err(reason)?;
        let done = transaction
            .query_opt("SELECT 1 FROM migrations WHERE name = $1", &[&name])
            .await
            .map_err(reason)?;
        if done.is_none() {
            transaction.batch_execute(sql).await.map_err(|e| {
                format!(
                    "migration {name} failed, and changed nothing: {}",
                    reason(e)
                )
            })?;
            transaction
                .execute("INSERT INTO migrations (name) VALUES ($1)", &[&name])
                .await
                .map_err(reason)?;
            applied.push(name);
        }
        // Until here nothing of it is seen by anyone; now all of it is.
        transaction.commit().await.map_err(reason)?;
    }
    Ok(applied)
}

/// PostgreSQL's own words for what went wrong, in one line.
fn reason(e: tokio_postgres::Error) -> String {
    e.as_db_error().map_or(e.to_string(), |e| e.to_string())
}
