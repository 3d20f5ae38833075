//! Step 01 against its real binary, on a free port with a temporary database.

use rusqlite::Connection;
use shared::testing::TestApp;

fn start() -> TestApp {
    TestApp::start(env!("CARGO_BIN_EXE_s01"))
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
fn the_root_says_hello_with_the_step_version() {
    let reply = start().get("/");
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/plain"));
    assert_eq!(reply.body, "hello, this is a chat app! (version 01)");
}
