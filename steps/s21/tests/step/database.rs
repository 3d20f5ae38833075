//! The database file (steps 01, 02 and 07).

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
fn the_users_table_has_the_four_columns_and_the_passwords_hash() {
    let app = shared::test_app!();
    assert_eq!(
        app.column_names("users"),
        ["id", "name", "email", "nickname", "password_hash"]
    );
}

#[test]
fn the_users_table_is_kept_across_restarts() {
    let app = shared::test_app!();
    Connection::open(app.db_path())
        .unwrap()
        .execute(
            "INSERT INTO users (name, email, nickname, password_hash)
             VALUES ('Alice Caroll', 'alice@foo.com', 'alice', 'x')",
            [],
        )
        .unwrap();
    let app = app.restart();
    assert_eq!(app.count_rows("users"), 1);
}

#[test]
fn the_messages_table_has_its_five_columns() {
    let app = shared::test_app!();
    assert_eq!(
        app.column_names("messages"),
        ["id", "content", "author_id", "recipient_id", "date"]
    );
}

#[test]
fn a_message_gets_the_date_in_utc_when_stored() {
    let app = shared::test_app!();
    app.add_sample_users();
    let db = Connection::open(app.db_path()).unwrap();
    let date: String = db
        .query_row(
            "INSERT INTO messages (content, author_id, recipient_id) VALUES ('hi', 1, 2)
             RETURNING date",
            [],
            |row| row.get(0),
        )
        .unwrap();
    // RFC 3339, in UTC: 2026-11-26T09:30:00Z
    assert_eq!(date.len(), 20, "{date}");
    assert!(date.ends_with('Z') && date.as_bytes()[10] == b'T', "{date}");
}

#[test]
fn the_database_refuses_a_message_from_or_to_a_user_who_does_not_exist() {
    let app = shared::test_app!();
    app.add_sample_users();
    // The step's own connection checks them: it says so as it starts...
    assert!(app.log().contains("foreign keys on"), "{}", app.log());
    // ...and SQLite then refuses such a message (here on a connection of the
    // test's, with foreign keys on as the step's).
    let db = Connection::open(app.db_path()).unwrap();
    db.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    for (author, recipient) in [(1, 99), (99, 1)] {
        let error = db
            .execute(
                "INSERT INTO messages (content, author_id, recipient_id) VALUES ('hi', ?1, ?2)",
                [author, recipient],
            )
            .unwrap_err();
        assert!(
            error.to_string().contains("FOREIGN KEY constraint failed"),
            "{error}"
        );
    }
    assert_eq!(app.count_rows("messages"), 0);
}
