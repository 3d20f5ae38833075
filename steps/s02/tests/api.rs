//! Step 02 against its real binary, on a free port with a temporary database.

use rusqlite::Connection;
use serde_json::json;
use shared::testing::TestApp;

fn start() -> TestApp {
    TestApp::start(env!("CARGO_BIN_EXE_s02"))
}

/// Reads the database file directly, as a second opinion on what the API says.
fn count_users(app: &TestApp) -> i64 {
    Connection::open(app.db_path())
        .and_then(|db| db.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0)))
        .expect("read the users table")
}

#[test]
fn the_database_file_is_created_in_wal_mode() {
    let app = start();
    assert!(app.db_path().exists());
    let db = Connection::open(app.db_path()).unwrap();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn db_alive_says_healthy() {
    let app = start();
    let reply = app.get("/db/alive");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"status": "healthy", "message": "Database connection is alive"})
    );
}

#[test]
fn version_names_this_step() {
    let reply = start().get("/api/version");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"version": "02"}));
}

#[test]
fn the_users_table_has_the_four_columns() {
    let app = start();
    let db = Connection::open(app.db_path()).unwrap();
    let mut statement = db
        .prepare("SELECT name FROM pragma_table_info('users')")
        .unwrap();
    let columns: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(columns, ["id", "name", "email", "nickname"]);
}

#[test]
fn the_users_table_is_kept_across_restarts() {
    let app = start();
    Connection::open(app.db_path())
        .unwrap()
        .execute(
            "INSERT INTO users (name, email, nickname) VALUES ('Alice Caroll', 'alice@foo.com', 'alice')",
            [],
        )
        .unwrap();
    let app = app.restart(env!("CARGO_BIN_EXE_s02"));
    assert_eq!(count_users(&app), 1);
}

#[test]
fn the_root_says_hello_with_the_step_version() {
    let reply = start().get("/");
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/plain"));
    assert_eq!(reply.body, "hello, this is a chat app! (version 02)");
}
