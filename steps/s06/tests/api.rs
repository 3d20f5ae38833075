//! Step 06 against its real binary, on a free port with a temporary database.

use rusqlite::Connection;
use serde_json::{Value, json};
use shared::testing::{TestApp, USERS, user_json};

fn start() -> TestApp {
    TestApp::start(env!("CARGO_BIN_EXE_s06"))
}

/// Reads the database file directly, as a second opinion on what the API says.
fn count_users(app: &TestApp) -> i64 {
    Connection::open(app.db_path())
        .and_then(|db| db.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0)))
        .expect("read the users table")
}

/// Checks a 4xx answer: its status and a JSON `{"error": "..."}` mentioning `hint`.
fn assert_error(reply: &shared::testing::Reply, status: u16, hint: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.content_type.starts_with("application/json"));
    let error = reply.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains(hint), "{error:?} should mention {hint:?}");
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
    assert_eq!(reply.json(), json!({"version": "06"}));
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
    let app = app.restart(env!("CARGO_BIN_EXE_s06"));
    assert_eq!(count_users(&app), 1);
}

#[test]
fn creating_a_user_answers_201_with_its_id() {
    let app = start();
    let reply = app.post_json("/api/users", &user_json(USERS[0]));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"id": 1, "name": "Alice Caroll", "email": "alice@foo.com", "nickname": "alice"})
    );
    let reply = app.post_json("/api/users", &user_json(USERS[1]));
    assert_eq!(reply.json()["id"], 2);
    assert_eq!(count_users(&app), 2);
}

#[test]
fn sql_in_a_field_is_stored_as_plain_text() {
    let app = start();
    let nickname = "'); DROP TABLE users; --";
    let body = json!({"name": "Bobby", "email": "bobby@foo.com", "nickname": nickname});
    let reply = app.post_json("/api/users", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["nickname"], nickname);
    assert_eq!(
        count_users(&app),
        1,
        "the table is still there, with the row"
    );
}

#[test]
fn a_user_with_a_missing_empty_or_mistyped_field_is_rejected_and_nothing_is_written() {
    let app = start();
    let bad_bodies = [
        (
            json!({"name": "Alice", "email": "alice@foo.com"}),
            "nickname",
        ),
        (
            json!({"name": "Alice", "email": "alice@foo.com", "nickname": ""}),
            "nickname must not be empty",
        ),
        (
            json!({"name": "  ", "email": "alice@foo.com", "nickname": "alice"}),
            "name must not be empty",
        ),
        (
            json!({"name": "Alice", "email": 42, "nickname": "alice"}),
            "invalid type",
        ),
        (
            json!({"name": null, "email": "alice@foo.com", "nickname": "alice"}),
            "invalid type",
        ),
        (json!([1, 2, 3]), "invalid type"),
        (json!({}), "missing field"),
    ];
    for (body, hint) in bad_bodies {
        assert_error(&app.post_json("/api/users", &body), 422, hint);
    }
    assert_eq!(count_users(&app), 0);
}

#[test]
fn malformed_json_is_rejected_with_a_json_error() {
    let app = start();
    assert_error(
        &app.post("/api/users", "application/json", "{\"name\": \"Al"),
        422,
        "invalid JSON body",
    );
    assert_error(
        &app.post("/api/users", "application/json", ""),
        422,
        "invalid JSON body",
    );
    assert_eq!(count_users(&app), 0);
}

#[test]
fn a_body_that_is_not_json_gets_415() {
    let app = start();
    let form = app.post(
        "/api/users",
        "application/x-www-form-urlencoded",
        "name=Alice&email=alice%40foo.com&nickname=alice",
    );
    assert_error(&form, 415, "Content-Type: application/json");
    assert_eq!(count_users(&app), 0);
}

#[test]
fn a_body_over_the_size_limit_gets_a_json_413() {
    let app = start();
    let huge = "x".repeat(3 * 1024 * 1024);
    let body = json!({"name": huge, "email": "alice@foo.com", "nickname": "alice"});
    assert_error(
        &app.post_json("/api/users", &body),
        413,
        "larger than allowed",
    );
    assert_eq!(count_users(&app), 0);
}

#[test]
fn the_server_keeps_serving_after_bad_input() {
    let app = start();
    for _ in 0..3 {
        app.post("/api/users", "application/json", "not json");
    }
    let reply = app.post_json("/api/users", &user_json(USERS[0]));
    assert_eq!(reply.status, 201);
}

#[test]
fn an_unknown_url_gets_a_json_404() {
    let app = start();
    assert_error(&app.get("/api/nothing"), 404, "/api/nothing");
    assert_error(
        &app.post_json("/api/version", &json!({})),
        404,
        "POST /api/version",
    );
}

#[test]
fn users_are_listed_in_id_order() {
    let app = start();
    assert_eq!(app.get("/api/users").json(), json!([]));
    app.add_sample_users();
    let users = app.get("/api/users").json();
    let expected: Vec<Value> = USERS
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let mut user = user_json(*user);
            user["id"] = json!(i + 1);
            user
        })
        .collect();
    assert_eq!(users, json!(expected));
}

#[test]
fn the_users_page_links_each_user_to_their_messages() {
    let app = start();
    app.add_sample_users();
    let page = app.get("/front/users");
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("(version 06)"));
    for (i, (name, email, nickname)) in USERS.iter().enumerate() {
        let id = i + 1;
        assert!(
            page.body.contains(&format!(
                r#"<a href="/front/messages/{id}">{nickname} ({name})</a>"#
            )),
            "{}",
            page.body
        );
        assert!(page.body.contains(&format!(r#"href="mailto:{email}""#)));
    }
    assert!(page.body.contains(r#"href="/static/style.css""#));
}

#[test]
fn the_users_page_shows_markup_in_names_as_text() {
    let app = start();
    let reply = app.post_json(
        "/api/users",
        &json!({"name": "<b>x</b>", "email": "e\"@x.org", "nickname": "<script>alert(1)</script>"}),
    );
    assert_eq!(reply.status, 201);
    let page = app.get("/front/users").body;
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; (&lt;b&gt;x&lt;/b&gt;)"));
    assert!(page.contains(r#"href="mailto:e&quot;@x.org""#));
    assert!(!page.contains("<script>"));
    assert!(!page.contains("<b>x"));
}

#[test]
fn the_stylesheet_is_served_from_the_binary() {
    let reply = start().get("/static/style.css");
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/css"));
    assert!(reply.body.contains("ul.users"));
}

#[test]
fn the_root_redirects_to_the_users_page() {
    let reply = start().get("/");
    assert_eq!(reply.status, 302);
    assert_eq!(reply.location.as_deref(), Some("/front/users"));
}

#[test]
fn one_user_is_found_by_id() {
    let app = start();
    app.add_sample_users();
    let reply = app.get("/api/users/2");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"id": 2, "name": "Bob Morane", "email": "bob@foo.com", "nickname": "bob"})
    );
}

#[test]
fn an_unknown_user_id_gets_404() {
    let app = start();
    app.add_sample_users();
    assert_error(&app.get("/api/users/99"), 404, "no user with id 99");
    assert_error(&app.get("/api/users/abc"), 404, "not found");
    assert_error(&app.get("/api/users/-1"), 404, "no user with id -1");
}
