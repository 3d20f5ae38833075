//! The database file under a running step (step 01b): deleted, moved away and
//! back, replaced, made read-only. The database thread notices before each
//! query, and `/db/alive` says so until the file is back.

use std::fs;

use shared::testing::TestApp;

/// `/db/alive` answers 503 unhealthy, and the server's log says `why`.
#[track_caller]
fn unhealthy_because(app: &TestApp, why: &str) {
    let reply = app.get("/db/alive");
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["status"], "unhealthy");
    // The client hears nothing of files; the log names the file and the problem.
    assert!(!reply.body.contains("chat.db"), "{}", reply.body);
    assert!(
        app.log().contains(why),
        "the log should say {why:?}:\n{}",
        app.log()
    );
}

#[test]
fn a_database_file_moved_away_is_noticed_and_used_again_once_it_is_back() {
    let app = shared::test_app!();
    let moved = app.db_path().with_extension("moved");
    fs::rename(app.db_path(), &moved).expect("move the file away");
    unhealthy_because(&app, "is gone (deleted or moved)");
    fs::rename(&moved, app.db_path()).expect("move the file back");
    assert_eq!(app.get("/db/alive").status, 200);
}

#[test]
fn a_deleted_database_file_is_noticed_and_a_restart_starts_a_new_one() {
    let app = shared::test_app!();
    fs::remove_file(app.db_path()).expect("delete the file");
    unhealthy_because(&app, "restart the step for a new one");
    // Another file at the path is not the one the step opened: still refused.
    fs::write(app.db_path(), "").expect("create an empty file there");
    unhealthy_because(&app, "was replaced by another file");
    let app = app.restart();
    assert_eq!(app.get("/db/alive").status, 200);
}

#[test]
fn a_read_only_database_file_is_noticed_until_it_is_writable_again() {
    let app = shared::test_app!();
    app.set_database_read_only(true);
    // Root may write to any file, so only the step's check can refuse here:
    // the test means the same as root and as anyone else.
    unhealthy_because(&app, "is read-only");
    app.set_database_read_only(false);
    assert_eq!(app.get("/db/alive").status, 200);
}
