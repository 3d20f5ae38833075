//! Exercise s08-delete-a-user: `DELETE /api/users/<id>`, with the user's
//! messages. Each assertion's message says, in words, what was expected.

use serde_json::Value;
use shared::testing::{TestApp, assert_json_error};

fn app_with_the_sample_data() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app.add_sample_messages();
    app
}

/// The contents of the messages `GET /api/messages` lists.
fn contents(app: &TestApp) -> Vec<String> {
    let messages: Value = app.get("/api/messages").json();
    messages
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .map(|m| m["content"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn deleting_a_user_answers_204_without_a_body() {
    let app = shared::test_app!();
    app.add_sample_users();
    let reply = app.request("DELETE", "/api/users/3", &[]);
    assert_eq!(
        reply.status, 204,
        "DELETE /api/users/3 should answer 204 No Content, got {}: {}",
        reply.status, reply.body
    );
    assert_eq!(reply.body, "", "a 204 answer has no body");
    assert_json_error(&app.get("/api/users/3"), 404, "no user with id 3");
    assert_eq!(app.count_rows("users"), 2, "two users should be left");
}

#[test]
fn deleting_an_unknown_user_is_a_json_404() {
    let app = shared::test_app!();
    app.add_sample_users();
    let reply = app.request("DELETE", "/api/users/99", &[]);
    assert_eq!(
        reply.status, 404,
        "DELETE /api/users/99 (nobody has id 99) should answer 404, got {}: {}",
        reply.status, reply.body
    );
    assert_json_error(&reply, 404, "no user with id 99");
    assert_eq!(app.count_rows("users"), 3, "nobody should be deleted");
}

#[test]
fn deleting_the_same_user_twice_is_a_404_the_second_time() {
    let app = shared::test_app!();
    app.add_sample_users();
    let first = app.request("DELETE", "/api/users/2", &[]);
    assert_eq!(
        first.status, 204,
        "the first DELETE should answer 204: {}",
        first.body
    );
    let second = app.request("DELETE", "/api/users/2", &[]);
    assert_eq!(
        second.status, 404,
        "bob is gone after the first DELETE: the second should answer 404, got {}: {}",
        second.status, second.body
    );
}

#[test]
fn a_user_with_messages_is_deleted_with_all_their_messages() {
    let app = app_with_the_sample_data();
    let reply = app.request("DELETE", "/api/users/1", &[]);
    assert_eq!(
        reply.status, 204,
        "alice wrote and received messages: DELETE /api/users/1 should still answer 204 \
         (her messages go with her), got {}: {}",
        reply.status, reply.body
    );
    assert_eq!(
        contents(&app),
        ["not visible by 1"],
        "after deleting alice, only the message between bob and charlie should be left"
    );
    assert_eq!(app.count_rows("users"), 2, "alice's row should be gone");
}

#[test]
fn the_other_users_messages_stay() {
    let app = app_with_the_sample_data();
    let reply = app.request("DELETE", "/api/users/3", &[]);
    assert_eq!(
        reply.status, 204,
        "charlie received one message: DELETE /api/users/3 should answer 204, got {}: {}",
        reply.status, reply.body
    );
    assert_eq!(
        app.count_rows("messages"),
        6,
        "deleting charlie should delete only the one message he received, and keep the \
         six between alice and bob"
    );
}

#[test]
fn no_message_can_be_sent_to_a_deleted_user() {
    let app = app_with_the_sample_data();
    let reply = app.request("DELETE", "/api/users/1", &[]);
    assert_eq!(
        reply.status, 204,
        "DELETE /api/users/1 should answer 204: {}",
        reply.body
    );
    let body = serde_json::json!({"author_id": 2, "recipient_id": 1, "content": "still there?"});
    let reply = app.post_json("/api/messages", &body);
    assert_json_error(&reply, 422, "no user with id 1");
}
