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
    let failed =
        |e: tokio_postgres::Error| e.as_db_error().map_or(e.to_string(), |e| e.to_string());
    connection
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS migrations (
                name       TEXT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(failed)?;
    let mut applied = Vec::new();
    for (name, sql) in MIGRATIONS {
        let transaction = connection.transaction().await.map_err(failed)?;
        // Two copies of the app starting at once: one migrates, the other
        // waits here, then finds the migration recorded.
        transaction
            .batch_execute("LOCK TABLE migrations IN SHARE ROW EXCLUSIVE MODE")
            .await
            .map_err(failed)?;
        let done = transaction
            .query_opt("SELECT 1 FROM migrations WHERE name = $1", &[&name])
            .await
            .map_err(failed)?;
        if done.is_none() {
            transaction.batch_execute(sql).await.map_err(|e| {
                format!(
                    "migration {name} failed, and changed nothing: {}",
                    failed(e)
                )
            })?;
            transaction
                .execute("INSERT INTO migrations (name) VALUES ($1)", &[&name])
                .await
                .map_err(failed)?;
            applied.push(name);
        }
        // Until here nothing of it is seen by anyone; now all of it is.
        transaction.commit().await.map_err(failed)?;
    }
    Ok(applied)
}
