//! Errors as JSON (step 02b): bad input gets a 4xx with `{"error": ...}` and
//! writes nothing; a failing query gets a 500; the server keeps serving.

use serde_json::json;
use shared::testing::{PASSWORDS, USERS, account_json, assert_json_error};

#[test]
fn a_user_with_a_missing_empty_or_mistyped_field_is_rejected_and_nothing_is_written() {
    let app = shared::test_app!();
    let bad_bodies = [
        (
            json!({"name": "Alice", "email": "alice@foo.com"}),
            "missing field `nickname`",
        ),
        (
            json!({"name": "Alice", "email": "alice@foo.com", "nickname": "", "password": "12345678"}),
            "nickname must not be empty",
        ),
        (
            json!({"name": "  ", "email": "alice@foo.com", "nickname": "alice", "password": "12345678"}),
            "name must not be empty",
        ),
        (
            json!({"name": "Alice", "email": 42, "nickname": "alice", "password": "12345678"}),
            "invalid type",
        ),
        (
            json!({"name": null, "email": "alice@foo.com", "nickname": "alice", "password": "12345678"}),
            "invalid type",
        ),
        (
            json!({"name": "Alice", "email": "alice@foo.com", "nickname": "alice"}),
            "missing field `password`",
        ),
        (
            json!({"name": "Alice", "email": "alice@foo.com", "nickname": "alice", "password": "1234567"}),
            "password must be at least 8 characters long",
        ),
        (json!([1, 2, 3]), "invalid type"),
        (json!({}), "missing field"),
    ];
    for (body, hint) in bad_bodies {
        assert_json_error(&app.post_json("/api/users", &body), 422, hint);
    }
    assert_eq!(app.count_rows("users"), 0);
}

#[test]
fn malformed_json_is_rejected_with_a_json_error() {
    let app = shared::test_app!();
    assert_json_error(
        &app.post("/api/users", "application/json", "{\"name\": \"Al"),
        422,
        "invalid JSON body",
    );
    assert_eq!(app.count_rows("users"), 0);
}

#[test]
fn an_empty_body_is_told_to_send_the_fields() {
    let app = shared::test_app!();
    // With or without a Content-Type, as `http POST :5001/api/users` sends it.
    assert_json_error(
        &app.post("/api/users", "application/json", ""),
        422,
        "the body is empty",
    );
    assert_json_error(
        &app.request("POST", "/api/users", &[("Content-Length", "0")]),
        422,
        "the body is empty",
    );
    assert_eq!(app.count_rows("users"), 0);
}

#[test]
fn a_body_that_is_not_json_gets_415() {
    let app = shared::test_app!();
    let form = app.post(
        "/api/users",
        "application/x-www-form-urlencoded",
        "name=Alice&email=alice%40foo.com&nickname=alice",
    );
    assert_json_error(&form, 415, "Content-Type: application/json");
    assert_eq!(app.count_rows("users"), 0);
}

#[test]
fn a_body_over_the_size_limit_gets_a_json_413() {
    let app = shared::test_app!();
    let huge = "x".repeat(3 * 1024 * 1024);
    let body = json!({"name": huge, "email": "alice@foo.com", "nickname": "alice"});
    assert_json_error(
        &app.post_json("/api/users", &body),
        413,
        "larger than allowed",
    );
    assert_eq!(app.count_rows("users"), 0);
}

#[test]
fn the_server_keeps_serving_after_bad_input() {
    let app = shared::test_app!();
    for _ in 0..3 {
        app.post("/api/users", "application/json", "not json");
    }
    let reply = app.post_json("/api/users", &account_json(USERS[0], PASSWORDS[0]));
    assert_eq!(reply.status, 201);
}

#[test]
fn an_unknown_url_gets_a_json_404() {
    let app = shared::test_app!();
    assert_json_error(&app.get("/api/nothing"), 404, "nothing at GET /api/nothing");
}

#[test]
fn a_wrong_method_on_a_known_path_gets_a_json_405_with_allow() {
    let app = shared::test_app!();
    let reply = app.post_json("/api/version", &json!({}));
    assert_json_error(&reply, 405, "POST is not allowed at /api/version");
    assert_eq!(reply.header("allow").as_deref(), Some("GET, HEAD"));
}

#[test]
fn an_unknown_page_asked_for_by_a_browser_is_an_html_404_with_the_way_back() {
    let app = shared::test_app!();
    let browser = [("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
    let reply = app.request("GET", "/front/nothing", &browser);
    assert_eq!(reply.status, 404);
    assert!(
        reply.content_type.starts_with("text/html"),
        "{}",
        reply.content_type
    );
    assert!(reply.body.contains(r#"<a href="/">"#), "{}", reply.body);
    // An API client, which accepts anything, keeps the JSON error.
    let api = app.request("GET", "/front/nothing", &[("Accept", "*/*")]);
    assert_json_error(&api, 404, "nothing at GET /front/nothing");
}
