//! Exercise s03-find-users-by-nickname: `GET /api/users?nickname=NAME`.
//! Each assertion's message says, in words, what was expected.

use serde_json::Value;
use shared::testing::{Reply, assert_json_error};

/// The nicknames of a list of users, in the order the answer gave them.
fn nicknames(reply: &Reply) -> Vec<String> {
    assert_eq!(
        reply.status, 200,
        "the list of users should answer 200, got {}: {}",
        reply.status, reply.body
    );
    let users: Value = reply.json();
    let users = users
        .as_array()
        .unwrap_or_else(|| panic!("the answer should be a JSON list of users, got {users}"));
    users
        .iter()
        .map(|user| user["nickname"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn asking_for_a_nickname_lists_only_that_user() {
    let app = shared::test_app!();
    app.add_sample_users();
    let reply = app.get("/api/users?nickname=bob");
    let found = nicknames(&reply);
    assert_eq!(
        found,
        ["bob"],
        "GET /api/users?nickname=bob should list only bob, got {} users: {found:?}",
        found.len()
    );
    let bob: Value = reply.json();
    assert_eq!(
        bob[0]["id"], 2,
        "bob is the second user created, so his id is 2: {bob}"
    );
    assert_eq!(
        bob[0]["email"], "bob@foo.com",
        "each user is listed whole (id, name, email, nickname): {bob}"
    );
}

#[test]
fn several_users_with_the_same_nickname_are_all_listed_in_id_order() {
    let app = shared::test_app!();
    app.add_sample_users();
    let other_bob =
        serde_json::json!({"name": "Bob Dylan", "email": "dylan@foo.com", "nickname": "bob"});
    assert_eq!(app.post_json("/api/users", &other_bob).status, 201);
    let reply = app.get("/api/users?nickname=bob");
    let ids: Vec<Value> = reply
        .json()
        .as_array()
        .map(|users| users.iter().map(|u| u["id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        ids,
        [2, 4],
        "two users are called bob (ids 2 and 4): GET /api/users?nickname=bob should list \
         both, in id order; it answered {}",
        reply.body
    );
}

#[test]
fn a_nickname_nobody_has_gives_an_empty_list() {
    let app = shared::test_app!();
    app.add_sample_users();
    let found = nicknames(&app.get("/api/users?nickname=zoe"));
    assert!(
        found.is_empty(),
        "nobody is called zoe: GET /api/users?nickname=zoe should answer [], got {found:?}"
    );
}

#[test]
fn the_nickname_must_match_exactly() {
    let app = shared::test_app!();
    app.add_sample_users();
    for almost in ["al", "Alice", "alice%20"] {
        let found = nicknames(&app.get(&format!("/api/users?nickname={almost}")));
        assert!(
            found.is_empty(),
            "?nickname={almost} is not exactly alice's nickname: nobody should be listed, \
             got {found:?}"
        );
    }
}

#[test]
fn sql_in_the_nickname_is_compared_as_plain_text() {
    let app = shared::test_app!();
    app.add_sample_users();
    let found = nicknames(&app.get("/api/users?nickname=%27%20OR%20%271%27%3D%271"));
    assert!(
        found.is_empty(),
        "?nickname=' OR '1'='1 should find nobody (the nickname is a parameter of the \
         query, not a piece of SQL), got {found:?}"
    );
}

#[test]
fn without_a_nickname_every_user_is_still_listed() {
    let app = shared::test_app!();
    app.add_sample_users();
    let found = nicknames(&app.get("/api/users"));
    assert_eq!(
        found,
        ["alice", "bob", "charlie"],
        "GET /api/users without ?nickname= should still list every user"
    );
}

#[test]
fn an_empty_nickname_is_refused_with_a_json_error() {
    let app = shared::test_app!();
    app.add_sample_users();
    let reply = app.get("/api/users?nickname=");
    assert_eq!(
        reply.status, 422,
        "GET /api/users?nickname= (empty) should answer 422, got {}: {}",
        reply.status, reply.body
    );
    assert_json_error(&reply, 422, "nickname must not be empty");
}
