//! `--import` (step 22): a SQLite step's database copied into an empty
//! PostgreSQL one, ids kept, the sequences moved past them; refused, with
//! one line, into a database that has rows.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;
use shared::testing::{QUICK_HASHES, TestApp, USERS, account_json};

fn bin() -> &'static str {
    env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")))
}

/// A database as step 21 leaves it (its `open_db`'s tables), in `dir`: the
/// sample users with ids 1, 2 and 5 (3 and 4 were deleted), and messages
/// 3, 4 and 10.
fn step_21_database(dir: &Path) -> PathBuf {
    let path = dir.join("chat.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
             nickname TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL);
         CREATE TABLE messages (id INTEGER PRIMARY KEY, content TEXT NOT NULL,
             author_id INTEGER NOT NULL REFERENCES users (id),
             recipient_id INTEGER NOT NULL REFERENCES users (id),
             date TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));",
    )
    .unwrap();
    for (((name, email, nickname), hash), id) in USERS.into_iter().zip(QUICK_HASHES).zip([1, 2, 5])
    {
        db.execute(
            "INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5)",
            (id, name, email, nickname, hash),
        )
        .unwrap();
    }
    db.execute_batch(
        "INSERT INTO messages VALUES (3, 'trois petits chats', 1, 2, '2026-11-26T09:30:00Z');
         INSERT INTO messages VALUES (4, 'chapeau de paille', 2, 1, '2026-11-26T09:31:00Z');
         INSERT INTO messages VALUES (10, 'hello charlie', 1, 5, '2026-11-26T09:32:00Z');",
    )
    .unwrap();
    path
}

fn import(url: &str, path: &Path) -> Output {
    Command::new(bin())
        .args(["--database-url", url, "--import"])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn a_sqlite_database_is_imported_once_with_its_ids_and_new_rows_come_after() {
    let app = shared::test_app!();
    let dir = tempdir(&app);
    let path = step_21_database(&dir);
    // Step 21's session key, beside its file: imported too.
    let key: Vec<u8> = (0..64).collect();
    std::fs::write(dir.join("session.key"), &key).unwrap();
    let output = import(app.database_url(), &path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("imported 3 users and 3 messages from"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("and its session key"),
        "{stdout}"
    );
    let stored = app.sql("SELECT encode(key, 'hex') FROM session_key");
    let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(stored.trim(), hex);
    assert!(
        !stdout.contains("listening"),
        "--import stops once done: {stdout}"
    );
    assert_eq!(app.sql("SELECT id FROM users ORDER BY id"), "1\n2\n5\n");
    assert_eq!(
        app.sql("SELECT id, date FROM messages WHERE id = 10"),
        "10|2026-11-26T09:32:00Z\n"
    );

    // Their passwords still work, and new rows get the ids after the largest.
    app.log_in_as("alice");
    let reply = app.post_json(
        "/api/messages",
        &json!({"recipient_id": 5, "content": "new"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["id"], 11);
    let dora = account_json(("Dora", "dora@foo.com", "dora"), "dora-password");
    assert_eq!(app.post_json("/api/users", &dora).json()["id"], 6);

    // Again: refused in one line, nothing changed.
    let output = import(app.database_url(), &path);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: this database already has 4 users and 4 messages"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(app.count_rows("messages"), 4);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_file_that_is_no_step_database_is_refused_in_one_line() {
    let app = shared::test_app!();
    let dir = tempdir(&app);
    let missing = dir.join("no-such.db");
    let output = import(app.database_url(), &missing);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: cannot read"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A database of a step before 20: no passwords to import.
    let old = dir.join("s19.db");
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, nickname TEXT)",
        )
        .unwrap();
    let stderr = String::from_utf8_lossy(&import(app.database_url(), &old).stderr).into_owned();
    assert!(stderr.contains("step 20 or later"), "{stderr}");
    assert_eq!(app.count_rows("users"), 0);
    let _ = std::fs::remove_dir_all(dir);
}

/// A folder of the test's own (each test removes it at its end).
fn tempdir(app: &TestApp) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("s23-import-{}-{}", std::process::id(), app.port));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
