//! The users: `POST /api/users` (step 02b).

use serde_json::json;
use shared::testing::{USERS, user_json};

#[test]
fn creating_a_user_answers_201_with_its_id() {
    let app = shared::test_app!();
    let reply = app.post_json("/api/users", &user_json(USERS[0]));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"id": 1, "name": "Alice Caroll", "email": "alice@foo.com", "nickname": "alice"})
    );
    let reply = app.post_json("/api/users", &user_json(USERS[1]));
    assert_eq!(reply.json()["id"], 2);
    assert_eq!(app.count_rows("users"), 2);
}

#[test]
fn sql_in_a_field_is_stored_as_plain_text() {
    let app = shared::test_app!();
    let nickname = "'); DROP TABLE users; --";
    let body = json!({"name": "Bobby", "email": "bobby@foo.com", "nickname": nickname});
    let reply = app.post_json("/api/users", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["nickname"], nickname);
    assert_eq!(
        app.count_rows("users"),
        1,
        "the table is still there, with the row"
    );
}
