//! Bad input: every endpoint that takes input, against the matrix
//! of `shared::testing::bad_input`: each case is refused with a JSON 4xx that
//! names the problem, or stored and answered exactly as sent; never a 5xx,
//! never a row written for a refused case, and the server answers the next
//! request. Then property tests: any JSON value in any field, any bytes as a
//! body, any text as an id in a URL.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use shared::testing::bad_input::{self, Answer, Field, ODD_TEXTS};
use shared::testing::{USERS, user_json};

/// The fields of `POST /api/users`.
const NEW_USER: [Field; 3] = [
    Field::Text("name"),
    Field::Text("email"),
    Field::Text("nickname"),
];

/// The fields of `POST /api/messages`.
const NEW_MESSAGE: [Field; 3] = [
    Field::UserId("author_id"),
    Field::UserId("recipient_id"),
    // At most 16 KiB (step 18).
    Field::LimitedText("content", 16 * 1024),
];

#[test]
fn every_bad_body_for_a_new_user_is_refused_or_stored_as_sent() {
    let app = shared::test_app!();
    let cases = bad_input::body_cases(&user_json(USERS[0]), &NEW_USER);
    bad_input::check_body(&app, "/api/users", "users", &cases);
    // What was stored is listed as it was sent.
    bad_input::check_list(&app, "/api/users", "users", &ODD_TEXTS);
    // And shown on the users page as text.
    bad_input::check_page_shows(&app, "/front/users", &ODD_TEXTS);
}

#[test]
fn any_json_value_in_a_field_of_a_new_user_is_stored_as_sent_or_refused() {
    let app = shared::test_app!();
    runner()
        .run(&(0..NEW_USER.len(), any_json()), |(field, value)| {
            let name = NEW_USER[field].name();
            let mut body = user_json(USERS[0]);
            body[name] = value.clone();
            let before = app.count_rows("users");
            let reply = app.post_json("/api/users", &body);
            let added = app.count_rows("users") - before;
            match value.as_str() {
                Some(text) if !text.trim().is_empty() => {
                    prop_assert_eq!(reply.status, 201, "{}", reply.body);
                    prop_assert_eq!(&reply.json()[name], &value);
                    prop_assert_eq!(added, 1);
                }
                _ => {
                    prop_assert_eq!(reply.status, 422, "{}", reply.body);
                    let error = reply.json()["error"].to_string();
                    prop_assert!(
                        error.contains(&format!("{name} must not be empty"))
                            || error.contains("invalid type"),
                        "{}",
                        error
                    );
                    prop_assert_eq!(added, 0);
                }
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn any_bytes_as_the_body_of_a_new_user_get_a_201_or_a_4xx() {
    let app = shared::test_app!();
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..200), |bytes| {
            let before = app.count_rows("users");
            let headers = [("Content-Type", "application/json")];
            let reply = bad_input::send(&app, "POST", "/api/users", &headers, &bytes);
            let added = app.count_rows("users") - before;
            prop_assert!(matches!(reply.status, 201 | 400..500), "{:?}", reply);
            prop_assert_eq!(added, i64::from(reply.status == 201));
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn every_odd_id_in_a_url_gets_the_user_or_a_404_saying_why() {
    let app = shared::test_app!();
    app.add_sample_users();
    bad_input::check_ids(&app, "/api/users/", 1, Answer::Json);
    bad_input::check_ids(&app, "/api/messages/with/", 1, Answer::Json);
    bad_input::check_ids(&app, "/front/messages/", 1, Answer::Page);
}

#[test]
fn any_text_as_the_id_in_a_url_gets_that_user_or_a_json_404() {
    let app = shared::test_app!();
    app.add_sample_users();
    let ids = prop_oneof![any::<String>(), "[-+]?0*[0-9]{1,20}"];
    runner()
        .run(&ids, |id| {
            let path = format!("/api/users/{}", bad_input::percent_encode(&id));
            let reply = bad_input::send(&app, "GET", &path, &[], b"");
            match id.parse::<i64>() {
                Ok(known @ 1..=3) => {
                    prop_assert_eq!(reply.status, 200, "{}", reply.body);
                    prop_assert_eq!(&reply.json()["id"], &Value::from(known));
                }
                _ => {
                    prop_assert_eq!(reply.status, 404, "{}", reply.body);
                    prop_assert!(reply.json()["error"].is_string(), "{}", reply.body);
                }
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn every_bad_body_for_a_new_message_is_refused_or_stored_as_sent() {
    let app = shared::test_app!();
    app.add_sample_users();
    let valid = json!({"author_id": 1, "recipient_id": 2, "content": "trois petits chats"});
    let cases = bad_input::body_cases(&valid, &NEW_MESSAGE);
    bad_input::check_body(&app, "/api/messages", "messages", &cases);
    // What was stored is listed as it was sent.
    bad_input::check_list(&app, "/api/messages", "messages", &ODD_TEXTS);
    // Each stored message is from user 1 to user 2, as the valid body's:
    // user 2's conversation lists them all.
    bad_input::check_list(&app, "/api/messages/with/2", "messages", &ODD_TEXTS);
    // And shown on the messages page as text.
    bad_input::check_page_shows(&app, "/front/messages/1", &ODD_TEXTS);
}

#[test]
fn any_json_value_as_author_or_recipient_is_stored_or_refused_naming_the_field() {
    let app = shared::test_app!();
    app.add_sample_users();
    runner()
        .run(&(any::<bool>(), any_json()), |(author, value)| {
            let name = if author { "author_id" } else { "recipient_id" };
            let mut body = json!({"author_id": 1, "recipient_id": 2, "content": "hi"});
            body[name] = value.clone();
            let before = app.count_rows("messages");
            let reply = app.post_json("/api/messages", &body);
            let added = app.count_rows("messages") - before;
            let id = match &value {
                Value::Number(number) => number.as_i64(),
                Value::String(text) => text.parse::<i64>().ok(),
                _ => None,
            };
            let error = || reply.json()["error"].as_str().map(str::to_string);
            match id {
                Some(known @ 1..=3) => {
                    prop_assert_eq!(reply.status, 201, "{}", reply.body);
                    let stored = bad_input::answered_id(&reply.json(), name);
                    prop_assert_eq!(stored, Value::from(known));
                    prop_assert_eq!(added, 1);
                }
                Some(nobody) => {
                    prop_assert_eq!(reply.status, 422, "{}", reply.body);
                    prop_assert_eq!(error(), Some(format!("{name}: no user with id {nobody}")));
                    prop_assert_eq!(added, 0);
                }
                None => {
                    prop_assert_eq!(reply.status, 422, "{}", reply.body);
                    let expected = format!("{name} must be a user's id");
                    prop_assert!(
                        error().is_some_and(|e| e.starts_with(&expected)),
                        "{}",
                        reply.body
                    );
                    prop_assert_eq!(added, 0);
                }
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn the_lessons_odd_requests_get_the_answers_they_say() {
    let app = shared::test_app!();
    // Step 02b: the values in a list, in the fields' order, read as the object.
    let answer = app.curl(
        r#"curl -i localhost:5001/api/users -H 'Content-Type: application/json' -d '["Dan", "dan@foo.com", "dan"]'"#,
    );
    assert!(answer.starts_with("HTTP/1.1 201 Created"), "{answer}");
    assert!(
        answer.ends_with(r#"{"id":1,"name":"Dan","email":"dan@foo.com","nickname":"dan"}"#),
        "{answer}"
    );
    // Step 06: an id past i64 names nothing.
    let answer = app.curl("curl -i localhost:5001/api/users/99999999999999999999");
    assert!(answer.starts_with("HTTP/1.1 404 Not Found"), "{answer}");
    assert!(
        answer.ends_with(
            r#"{"error":"/api/users/99999999999999999999 not found: ids are whole numbers"}"#
        ),
        "{answer}"
    );
    // A leading + or 0 is read by Rust's i64 parser.
    assert_eq!(app.get("/api/users/+1").json()["name"], "Dan");
    assert_eq!(app.get("/api/users/01").json()["name"], "Dan");
    // Step 07b: an id is a whole number, 1 or "1", not "1.0".
    let answer = app.curl(
        r#"curl -i localhost:5001/api/messages -H 'Content-Type: application/json' -d '{"author_id": "1.0", "recipient_id": 1, "content": "hi"}'"#,
    );
    assert!(answer.starts_with("HTTP/1.1 422"), "{answer}");
    assert!(
        answer.ends_with(
            r#"{"error":"author_id must be a user's id: a whole number, like 1 or \"1\""}"#
        ),
        "{answer}"
    );
}

/// 64 cases a property: enough to meet odd values, quick over HTTP.
fn runner() -> TestRunner {
    TestRunner::new(Config {
        failure_persistence: None,
        ..Config::with_cases(64)
    })
}

/// Any JSON value, nested a little: null, booleans, numbers (small ones
/// too, the sample users' ids among them), any text, strings of digits and
/// blanks, lists and objects of these.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-2_i64..6).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[ 0-9\t+-]{0,4}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}
