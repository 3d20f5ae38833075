//! The messages: `POST /api/messages` (steps 07b and 15), `GET /api/messages` (step 08),
//! `GET /api/messages/with/<user_id>` (steps 09 to 11); from step 20, each
//! as the logged-in user, who is the author of what they send.

use serde_json::{Value, json};
use shared::testing::{MESSAGES, TestApp, assert_json_error};

/// The app with the tutorial's three users, logged in as alice (user 1).
fn app_as_alice() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app.log_in_as("alice");
    app
}

fn message(recipient_id: Value, content: Value) -> Value {
    json!({"recipient_id": recipient_id, "content": content})
}

#[test]
fn creating_a_message_answers_201_with_the_stored_message_and_its_date() {
    let app = app_as_alice();
    let reply = app.post_json(
        "/api/messages",
        &message(json!(2), json!("trois petits chats")),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let stored = reply.json();
    assert_eq!(stored["id"], 1);
    assert_eq!(stored["content"], "trois petits chats");
    // The users in full (step 15), as a conversation lists them; the
    // author is the logged-in user (step 20).
    assert_eq!(stored["author"], app.get("/api/users/1").json());
    assert_eq!(stored["recipient"], app.get("/api/users/2").json());
    // The server sets the date: UTC, RFC 3339 (2026-11-26T09:30:00Z).
    let date = stored["date"].as_str().unwrap();
    assert_eq!(date.len(), 20, "{date}");
    assert!(date.ends_with('Z') && date.as_bytes()[10] == b'T', "{date}");
    assert_eq!(app.count_rows("messages"), 1);
}

#[test]
fn the_author_is_whoever_is_logged_in() {
    let app = app_as_alice();
    let bob = app.client_as("bob");
    let reply = bob.post_json("/api/messages", &message(json!(1), json!("hi"))).unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["author"]["nickname"], "bob");
    let reply = app.post_json("/api/messages", &message(json!(2), json!("hi")));
    assert_eq!(reply.json()["author"]["nickname"], "alice");
}

#[test]
fn a_body_that_names_an_author_is_refused_whoever_it_names() {
    let app = app_as_alice();
    for author_id in [json!(1), json!(2), json!("2"), json!("bob")] {
        let body = json!({"author_id": author_id, "recipient_id": 3, "content": "as bob?"});
        assert_json_error(
            &app.post_json("/api/messages", &body),
            422,
            "author_id: leave it out, the author is whoever is logged in",
        );
    }
    assert_eq!(app.count_rows("messages"), 0);
}

#[test]
fn without_a_session_nothing_can_be_sent_nor_read() {
    let app = shared::test_app!();
    app.add_sample_users();
    let body = message(json!(2), json!("from nobody"));
    let refused = "log in first: POST /api/login with your nickname and password";
    assert_json_error(&app.post_json("/api/messages", &body), 401, refused);
    assert_json_error(&app.get("/api/messages"), 401, refused);
    assert_json_error(&app.get("/api/messages/with/1"), 401, refused);
    assert_eq!(app.count_rows("messages"), 0);
}

#[test]
fn a_recipient_id_may_come_as_a_number_or_as_a_string_of_digits() {
    let app = app_as_alice();
    let reply = app.post_json("/api/messages", &message(json!("2"), json!("hi")));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["recipient"]["id"], 2, "stored as a number");
    let reply = app.post_json("/api/messages", &message(json!(3), json!("hi")));
    assert_eq!(reply.json()["recipient"]["id"], 3);
}

#[test]
fn a_message_to_an_unknown_user_is_refused_and_nothing_is_stored() {
    let app = app_as_alice();
    assert_json_error(
        &app.post_json("/api/messages", &message(json!("42"), json!("hi"))),
        422,
        "recipient_id: no user with id 42",
    );
    assert_eq!(app.count_rows("messages"), 0);
}

#[test]
fn a_recipient_id_that_is_not_a_whole_number_is_refused() {
    let app = app_as_alice();
    for bad in [
        json!("one"),
        json!("1.0"),
        json!(""),
        json!(1.5),
        json!(null),
        json!([1]),
        json!({"id": 1}),
        json!(true),
        json!("99999999999999999999"),
    ] {
        let reply = app.post_json("/api/messages", &message(bad, json!("hi")));
        assert_json_error(&reply, 422, "recipient_id must be a user's id");
    }
    assert_eq!(app.count_rows("messages"), 0);
}

#[test]
fn a_missing_or_empty_content_or_recipient_is_refused() {
    let app = app_as_alice();
    assert_json_error(
        &app.post_json("/api/messages", &message(json!(2), json!("  "))),
        422,
        "content must not be empty",
    );
    assert_json_error(
        &app.post_json("/api/messages", &message(json!(2), json!(42))),
        422,
        "invalid type",
    );
    assert_json_error(
        &app.post_json("/api/messages", &json!({"recipient_id": 2})),
        422,
        "missing field `content`",
    );
    assert_json_error(
        &app.post_json("/api/messages", &json!({"content": "hi"})),
        422,
        "missing field `recipient_id`",
    );
    assert_json_error(
        &app.post("/api/messages", "application/json", ""),
        422,
        "the body is empty",
    );
    assert_eq!(app.count_rows("messages"), 0);
}

#[test]
fn markup_and_sql_in_a_message_are_stored_as_text() {
    let app = app_as_alice();
    for content in [
        "<img src=x onerror=alert(1)>",
        "'); DROP TABLE messages; --",
    ] {
        let reply = app.post_json("/api/messages", &message(json!(2), json!(content)));
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.json()["content"], content);
    }
    assert_eq!(app.count_rows("messages"), 2);
}

#[test]
fn the_messages_listed_are_the_logged_in_users_in_id_order() {
    let app = app_as_alice();
    assert_eq!(app.get("/api/messages").json(), json!([]));
    app.add_sample_messages_as_their_authors();
    let listed = app.get("/api/messages").json();
    let listed = listed.as_array().unwrap();
    // Alice's six, not bob's message to charlie.
    let hers: Vec<_> = MESSAGES.iter().filter(|(a, r, _)| *a == 1 || *r == 1).collect();
    assert_eq!(listed.len(), hers.len());
    for (message, (author_id, recipient_id, content)) in listed.iter().zip(hers) {
        let keys: Vec<&str> = message.as_object().unwrap().keys().map(String::as_str).collect();
        // serde_json lists the keys in alphabetical order.
        assert_eq!(keys, ["author_id", "content", "date", "id", "recipient_id"]);
        assert_eq!(message["content"], *content);
        assert_eq!(message["author_id"], *author_id);
        assert_eq!(message["recipient_id"], *recipient_id);
    }
    let ids: Vec<i64> = listed.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(ids.is_sorted(), "{ids:?}");
}

/// The contents of a list of messages, in the order listed.
fn contents(messages: &Value) -> Vec<&str> {
    messages
        .as_array()
        .expect("a list of messages")
        .iter()
        .map(|message| message["content"].as_str().unwrap())
        .collect()
}

#[test]
fn the_messages_with_a_user_are_those_sent_to_them_and_by_them_oldest_first() {
    let app = app_as_alice();
    app.add_sample_messages_as_their_authors();
    let with_1 = app.get("/api/messages/with/1").json();
    assert_eq!(
        contents(&with_1),
        [
            "trois petits chats",
            "chapeau de paille",
            "paillasson",
            "somnambule",
            "bulletin",
            "tintamarre"
        ]
    );
    let (alice, bob) = (
        app.get("/api/users/1").json(),
        app.get("/api/users/2").json(),
    );
    for (i, message) in with_1.as_array().unwrap().iter().enumerate() {
        let (author, recipient) = if i % 2 == 0 {
            (&alice, &bob)
        } else {
            (&bob, &alice)
        };
        assert_eq!(&message["author"], author, "{message}");
        assert_eq!(&message["recipient"], recipient, "{message}");
        let mut keys: Vec<&String> = message.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["author", "content", "date", "id", "recipient"]);
    }
    let charlie = app.client_as("charlie");
    let with_3 = charlie.get("/api/messages/with/3").unwrap().json();
    assert_eq!(contents(&with_3), ["not visible by 1"]);
}

#[test]
fn the_messages_with_another_user_are_theirs_only() {
    let app = app_as_alice();
    app.add_sample_messages_as_their_authors();
    for other in [2, 3, 99, 0, -1] {
        assert_json_error(
            &app.get(&format!("/api/messages/with/{other}")),
            403,
            &format!("only user {other} may read their messages"),
        );
    }
    assert_json_error(
        &app.get("/api/messages/with/alice"),
        404,
        "ids are whole numbers",
    );
}

#[test]
fn a_user_without_messages_has_an_empty_list() {
    let app = app_as_alice();
    assert_eq!(app.get("/api/messages/with/1").json(), json!([]));
}

#[test]
fn a_created_message_is_answered_as_its_conversation_lists_it() {
    let app = app_as_alice();
    let stored = app.post_json("/api/messages", &message(json!("3"), json!("salut"))).json();
    assert_eq!(app.get("/api/messages/with/1").json(), json!([stored]));
}
