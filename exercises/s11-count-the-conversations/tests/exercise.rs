//! Exercise s11-count-the-conversations: `GET /api/conversations/<user_id>`.
//! Each assertion's message says, in words, what was expected.

use serde_json::{Value, json};
use shared::testing::{TestApp, assert_json_error};

fn app_with_the_sample_data() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app.add_sample_messages();
    app
}

/// (nickname, messages) of each conversation `GET path` lists, in order.
fn summary(app: &TestApp, path: &str) -> Vec<(String, i64)> {
    let reply = app.get(path);
    assert_eq!(
        reply.status, 200,
        "GET {path} should answer 200, got {}: {}",
        reply.status, reply.body
    );
    let conversations: Value = reply.json();
    conversations
        .as_array()
        .unwrap_or_else(|| panic!("GET {path} should answer a JSON list, got {conversations}"))
        .iter()
        .map(|c| {
            (
                c["with"]["nickname"].as_str().unwrap_or_default().to_string(),
                c["messages"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, i64)]) -> Vec<(String, i64)> {
    expected.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

#[test]
fn each_conversation_is_listed_with_its_number_of_messages() {
    let app = app_with_the_sample_data();
    let got = summary(&app, "/api/conversations/2");
    assert_eq!(
        got,
        pairs(&[("alice", 6), ("charlie", 1)]),
        "bob exchanged 6 messages with alice and 1 with charlie: GET /api/conversations/2 \
         should list those two, in id order; got {got:?}"
    );
}

#[test]
fn the_other_person_is_given_in_full() {
    let app = app_with_the_sample_data();
    let reply = app.get("/api/conversations/3");
    assert_eq!(
        reply.json(),
        json!([{
            "with": {"id": 2, "name": "Bob Morane", "email": "bob@foo.com", "nickname": "bob"},
            "messages": 1
        }]),
        "charlie's only conversation is with bob: {{\"with\": bob as a whole user, \
         \"messages\": 1}}; got {}",
        reply.body
    );
}

#[test]
fn a_user_sees_only_their_own_conversations() {
    let app = app_with_the_sample_data();
    let got = summary(&app, "/api/conversations/1");
    assert_eq!(
        got,
        pairs(&[("bob", 6)]),
        "alice talks only with bob (bob and charlie's message is not hers): got {got:?}"
    );
}

#[test]
fn a_new_message_counts_at_once() {
    let app = app_with_the_sample_data();
    let body = json!({"author_id": 3, "recipient_id": 1, "content": "hello alice"});
    assert_eq!(app.post_json("/api/messages", &body).status, 201);
    let got = summary(&app, "/api/conversations/1");
    assert_eq!(
        got,
        pairs(&[("bob", 6), ("charlie", 1)]),
        "after charlie writes to alice, alice has two conversations: got {got:?}"
    );
}

#[test]
fn a_user_without_messages_has_no_conversations() {
    let app = app_with_the_sample_data();
    let dave = json!({"name": "Dave", "email": "dave@foo.com", "nickname": "dave"});
    assert_eq!(app.post_json("/api/users", &dave).status, 201);
    let got = summary(&app, "/api/conversations/4");
    assert!(
        got.is_empty(),
        "dave has no messages: GET /api/conversations/4 should answer [], got {got:?}"
    );
}

#[test]
fn an_unknown_user_is_a_json_404() {
    let app = app_with_the_sample_data();
    let reply = app.get("/api/conversations/99");
    assert_eq!(
        reply.status, 404,
        "GET /api/conversations/99 (nobody has id 99) should answer 404, got {}: {}",
        reply.status, reply.body
    );
    assert_json_error(&reply, 404, "no user with id 99");
}
