//! Bad input: every endpoint that takes input, against the matrix
//! of `shared::testing::bad_input`: each case is refused with a JSON 4xx that
//! names the problem, or stored and answered exactly as sent; never a 5xx,
//! never a row written for a refused case, and the server answers the next
//! request. Then property tests: any JSON value in any field, any bytes as a
//! body.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use shared::testing::bad_input::{self, Field, ODD_TEXTS};
use shared::testing::{USERS, user_json};

/// The fields of `POST /api/users`.
const NEW_USER: [Field; 3] = [
    Field::Text("name"),
    Field::Text("email"),
    Field::Text("nickname"),
];

#[test]
fn every_bad_body_for_a_new_user_is_refused_or_stored_as_sent() {
    let app = shared::test_app!();
    let cases = bad_input::body_cases(&user_json(USERS[0]), &NEW_USER);
    bad_input::check_body(&app, "/api/users", "users", &cases);
    // What was stored is listed as it was sent.
    bad_input::check_list(&app, "/api/users", "users", &ODD_TEXTS);
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
