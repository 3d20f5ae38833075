//! Exercise s06-update-a-user: `PUT /api/users/<id>`. Each assertion's
//! message says, in words, what was expected.

use serde_json::{Value, json};
use shared::testing::{TestApp, assert_json_error};

fn liddell() -> Value {
    json!({"name": "Alice Liddell", "email": "alice@wonder.land", "nickname": "alice"})
}

fn app_with_the_sample_users() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app
}

#[test]
fn put_replaces_the_users_fields_and_answers_the_user() {
    let app = app_with_the_sample_users();
    let reply = app.send_json("PUT", "/api/users/1", &liddell());
    assert_eq!(
        reply.status, 200,
        "PUT /api/users/1 with a whole user should answer 200, got {}: {}",
        reply.status, reply.body
    );
    let mut expected = liddell();
    expected["id"] = json!(1);
    assert_eq!(
        reply.json(),
        expected,
        "PUT /api/users/1 should answer the user as now stored, id included"
    );
    assert_eq!(
        app.get("/api/users/1").json(),
        expected,
        "after the PUT, GET /api/users/1 should show the new fields"
    );
}

#[test]
fn the_other_users_are_left_as_they_were() {
    let app = app_with_the_sample_users();
    let before = app.get("/api/users").json();
    let reply = app.send_json("PUT", "/api/users/1", &liddell());
    assert_eq!(
        reply.status, 200,
        "PUT /api/users/1 should answer 200: {}",
        reply.body
    );
    let after = app.get("/api/users").json();
    assert_eq!(
        after.as_array().map(|users| &users[1..]),
        before.as_array().map(|users| &users[1..]),
        "changing user 1 should leave users 2 and 3 as they were"
    );
    assert_eq!(app.count_rows("users"), 3, "a PUT adds no user");
}

#[test]
fn an_unknown_user_is_a_json_404_and_nothing_is_stored() {
    let app = app_with_the_sample_users();
    let reply = app.send_json("PUT", "/api/users/99", &liddell());
    assert_eq!(
        reply.status, 404,
        "PUT /api/users/99 (nobody has id 99) should answer 404, got {}: {}",
        reply.status, reply.body
    );
    assert_json_error(&reply, 404, "no user with id 99");
    assert_eq!(
        app.count_rows("users"),
        3,
        "a PUT to an unknown id must not create a user"
    );
}

#[test]
fn an_empty_field_is_refused_and_nothing_changes() {
    let app = app_with_the_sample_users();
    let before = app.get("/api/users/2").json();
    let mut body = liddell();
    body["nickname"] = json!("  ");
    let reply = app.send_json("PUT", "/api/users/2", &body);
    assert_eq!(
        reply.status, 422,
        "PUT /api/users/2 with a blank nickname should answer 422, got {}: {}",
        reply.status, reply.body
    );
    assert_json_error(&reply, 422, "nickname must not be empty");
    assert_eq!(
        app.get("/api/users/2").json(),
        before,
        "a refused PUT must leave the user as it was"
    );
}

#[test]
fn a_body_without_a_field_gets_the_usual_json_error() {
    let app = app_with_the_sample_users();
    let reply = app.send_json("PUT", "/api/users/2", &json!({"name": "Bob"}));
    assert_eq!(
        reply.status, 422,
        "PUT /api/users/2 with only a name should answer 422 (email and nickname are \
         missing), got {}: {}",
        reply.status, reply.body
    );
    assert_json_error(&reply, 422, "missing field");
}
