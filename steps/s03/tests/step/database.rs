//! The database file (steps 01 and 02).

use std::process::Command;

use rusqlite::Connection;

#[test]
fn the_database_file_is_created_in_wal_mode() {
    let app = shared::test_app!();
    let db = Connection::open(app.db_path()).unwrap();
    let mode: String = db.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_database_that_cannot_be_opened_stops_the_step_with_one_line() {
    // A folder is not a database file.
    let output = Command::new(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))))
        .args(["--port", "0", "--db"])
        .arg(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot open the database"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));
}

#[test]
fn the_users_table_has_the_four_columns() {
    let app = shared::test_app!();
    assert_eq!(
        app.column_names("users"),
        ["id", "name", "email", "nickname"]
    );
}

#[test]
fn the_users_table_is_kept_across_restarts() {
    let app = shared::test_app!();
    Connection::open(app.db_path())
        .unwrap()
        .execute(
            "INSERT INTO users (name, email, nickname) VALUES ('Alice Caroll', 'alice@foo.com', 'alice')",
            [],
        )
        .unwrap();
    let app = app.restart();
    assert_eq!(app.count_rows("users"), 1);
}
