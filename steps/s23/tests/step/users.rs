//! The users: `POST /api/users` (step 02b, with a password from step 20),
//! `GET /api/users` (step 03), `GET /api/users/<id>` (step 06).

use serde_json::{Value, json};
use shared::testing::{PASSWORDS, USERS, account_json, assert_json_error, user_json};

#[test]
fn creating_a_user_answers_201_with_its_id_and_no_password() {
    let app = shared::test_app!();
    let reply = app.post_json("/api/users", &account_json(USERS[0], PASSWORDS[0]));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"id": 1, "name": "Alice Caroll", "email": "alice@foo.com", "nickname": "alice"})
    );
    assert!(!reply.body.contains("password"), "{}", reply.body);
    let reply = app.post_json("/api/users", &account_json(USERS[1], PASSWORDS[1]));
    assert_eq!(reply.json()["id"], 2);
    assert_eq!(app.count_rows("users"), 2);
}

#[test]
fn sql_in_a_field_is_stored_as_plain_text() {
    let app = shared::test_app!();
    let nickname = "'); DROP TABLE users; --";
    let body = json!({
        "name": "Bobby",
        "email": "bobby@foo.com",
        "nickname": nickname,
        "password": "'); DROP TABLE users; --",
    });
    let reply = app.post_json("/api/users", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["nickname"], nickname);
    assert_eq!(
        app.count_rows("users"),
        1,
        "the table is still there, with the row"
    );
}

#[test]
fn users_are_listed_in_id_order_without_their_passwords() {
    let app = shared::test_app!();
    assert_eq!(app.get("/api/users").json(), json!([]));
    app.add_sample_users();
    let reply = app.get("/api/users");
    let expected: Vec<Value> = USERS
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let mut user = user_json(*user);
            user["id"] = json!(i + 1);
            user
        })
        .collect();
    assert_eq!(reply.json(), json!(expected));
    assert!(!reply.body.contains("password"), "{}", reply.body);
}

#[test]
fn one_user_is_found_by_id() {
    let app = shared::test_app!();
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
    let app = shared::test_app!();
    app.add_sample_users();
    assert_json_error(&app.get("/api/users/99"), 404, "no user with id 99");
    assert_json_error(&app.get("/api/users/abc"), 404, "ids are whole numbers");
    assert_json_error(&app.get("/api/users/-1"), 404, "no user with id -1");
    assert_json_error(
        &app.get("/api/users/99999999999999999999"),
        404,
        "ids are whole numbers",
    );
}
