//! The database (steps 01, 02 and 07), on PostgreSQL (step 22): the
//! migrations, the tables, and the one line without a server.

use std::process::Command;

use shared::testing::postgres::psql;

fn bin() -> &'static str {
    env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")))
}

#[test]
fn without_a_server_the_step_says_in_one_line_how_to_start_one() {
    // Port 1: nothing listens there.
    let output = Command::new(bin())
        .args([
            "--port",
            "0",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/chat",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: no PostgreSQL answers at postgres://postgres@127.0.0.1:1/chat"),
        "{stderr}"
    );
    assert!(stderr.contains("scripts/services up"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));
}

#[test]
fn without_redis_the_step_says_in_one_line_how_to_start_it() {
    // Step 23: PostgreSQL answers, Redis (port 1) does not.
    let database = shared::testing::postgres::new_database();
    let output = Command::new(bin())
        .args(["--port", "0", "--database-url", &database])
        .args(["--redis-url", "redis://127.0.0.1:1"])
        .output()
        .unwrap();
    shared::testing::postgres::drop_database(&database);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: no Redis answers at redis://127.0.0.1:1: start one with"),
        "{stderr}"
    );
    assert!(stderr.contains("scripts/services up") && stderr.contains("--redis-url"));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn the_url_may_come_from_database_url_and_a_db_file_is_refused() {
    let output = Command::new(bin())
        .args(["--port", "0"])
        .env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/from-the-environment",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("127.0.0.1:1/from-the-environment"),
        "{stderr}"
    );
    let output = Command::new(bin()).args(["--db", "chat.db"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: --db is for the SQLite steps"),
        "{stderr}"
    );
}

#[test]
fn the_migrations_are_applied_once_in_order_and_recorded() {
    let app = shared::test_app!();
    assert!(
        app.log()
            .contains("migrations applied: 001_users_and_messages, 002_session_key")
    );
    let recorded = app.sql("SELECT name FROM migrations ORDER BY applied_at, name");
    assert_eq!(recorded, "001_users_and_messages\n002_session_key\n");
    // Started again: nothing is applied twice.
    let app = app.restart();
    assert_eq!(
        app.log().matches("migrations applied").count(),
        1,
        "{}",
        app.log()
    );
    assert_eq!(app.count_rows("migrations"), 2);
}

#[test]
fn a_migration_that_fails_stops_the_step_with_one_line_and_changes_nothing() {
    let app = shared::test_app!();
    let url = app.database_url().to_string();
    // A database where the first migration cannot run: a table `users`
    // that is not the app's is in the way.
    app.sql("DROP TABLE messages, users, session_key, migrations; CREATE TABLE users (x INT)");
    let output = Command::new(bin())
        .args(["--port", "0", "--database-url", &url])
        .args(["--redis-url", app.redis_url()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot use the database at")
            && stderr.contains("migration 001_users_and_messages failed, and changed nothing")
            && stderr.contains("relation \"users\" already exists"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Nothing of it is left: no table `messages`, no record.
    assert_eq!(app.count_rows("migrations"), 0);
    let tables =
        app.sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1");
    assert_eq!(tables, "migrations\nusers\n");
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
    app.sql(
        "INSERT INTO users (name, email, nickname, password_hash)
         VALUES ('Alice Caroll', 'alice@foo.com', 'alice', 'x')",
    );
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
    let date = app.sql(
        "INSERT INTO messages (content, author_id, recipient_id) VALUES ('hi', 1, 2)
         RETURNING date",
    );
    let date = date.trim();
    // RFC 3339, in UTC: 2026-11-26T09:30:00Z
    assert_eq!(date.len(), 20, "{date}");
    assert!(date.ends_with('Z') && date.as_bytes()[10] == b'T', "{date}");
}

#[test]
fn the_database_refuses_a_message_from_or_to_a_user_who_does_not_exist() {
    let app = shared::test_app!();
    app.add_sample_users();
    // PostgreSQL checks foreign keys on every connection, the test's too.
    for (author, recipient) in [(1, 99), (99, 1)] {
        let error = psql(
            app.database_url(),
            &format!(
                "INSERT INTO messages (content, author_id, recipient_id) \
                 VALUES ('hi', {author}, {recipient})"
            ),
        )
        .unwrap_err();
        assert!(error.contains("violates foreign key constraint"), "{error}");
    }
    assert_eq!(app.count_rows("messages"), 0);
}

#[test]
fn two_copies_starting_at_once_on_a_new_database_migrate_it_once() {
    let url = shared::testing::postgres::new_database();
    let starting: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || shared::testing::TestApp::start_on_database(bin(), &url))
        })
        .collect();
    let apps: Vec<_> = starting.into_iter().map(|app| app.join().unwrap()).collect();
    for app in &apps {
        assert_eq!(app.get("/db/alive").status, 200, "{}", app.log());
    }
    let applied: usize =
        apps.iter().map(|app| app.log().matches("migrations applied").count()).sum();
    assert_eq!(applied, 1, "one of them migrated, the other found it done");
    assert_eq!(apps[0].count_rows("migrations"), 2);
    // Both sign the cookies with the one key stored.
    assert_eq!(apps[0].count_rows("session_key"), 1);
    drop(apps);
    shared::testing::postgres::drop_database(&url);
}
