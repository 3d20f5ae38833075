//! Bad input: every endpoint that takes input, against the matrix
//! of `shared::testing::bad_input`: each case is refused with a JSON 4xx that
//! names the problem, or stored and answered exactly as sent; never a 5xx,
//! never a row written for a refused case, and the server answers the next
//! request. Then property tests: any JSON value in any field, any bytes as a
//! body, any text as an id in a URL. From step 20, the messages' cases are
//! sent logged in, as alice.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use shared::testing::bad_input::{self, Answer, Case, Expect, Field, ODD_TEXTS};
use shared::testing::{PASSWORDS, TestApp, USERS, account_json, assert_json_error};

/// The fields of `POST /api/users`.
const NEW_USER: [Field; 4] = [
    Field::Text("name"),
    Field::Text("email"),
    Field::Text("nickname"),
    // At least 8 characters; never answered (step 20).
    Field::Password("password", 8),
];

/// The fields of `POST /api/messages`: no author, who is the logged-in user.
const NEW_MESSAGE: [Field; 2] = [
    Field::UserId("recipient_id"),
    // At most 16 KiB (step 18).
    Field::LimitedText("content", 16 * 1024),
];

/// A nickname names one account (step 20), and the matrix stores its valid
/// body many times: each case gets a nickname of its own, as long as
/// "alice" (so that a body of exactly 2 MiB stays so), "a0001"...
fn own_nicknames(cases: &mut [Case]) {
    for (i, case) in cases.iter_mut().enumerate() {
        let nickname = format!("a{i:04}");
        let (from, to) = (br#""alice""#.as_slice(), format!("\"{nickname}\""));
        while let Some(at) = case.body.windows(from.len()).position(|w| w == from) {
            case.body.splice(at..at + from.len(), to.bytes());
        }
        if let Expect::Stored(fields) = &mut case.expect {
            for (name, value) in fields.iter_mut() {
                if *name == "nickname" && value == "alice" {
                    *value = json!(nickname);
                }
            }
        }
    }
}

#[test]
fn every_bad_body_for_a_new_user_is_refused_or_stored_as_sent() {
    let app = shared::test_app!();
    let mut cases = bad_input::body_cases(&account_json(USERS[0], PASSWORDS[0]), &NEW_USER);
    own_nicknames(&mut cases);
    nul_is_refused(&mut cases);
    bad_input::check_body(&app, "/api/users", "users", &cases);
    // What was stored is listed as it was sent.
    bad_input::check_list(&app, "/api/users", "users", &storable());
    // And shown on the users page as text.
    bad_input::check_page_shows(&app, "/front/users", &storable());
}

#[test]
fn any_json_value_in_a_field_of_a_new_user_is_stored_as_sent_or_refused() {
    let app = shared::test_app!();
    runner()
        .run(&(0..3_usize, any_json()), |(field, value)| {
            let name = NEW_USER[field].name();
            let mut body = account_json(USERS[0], PASSWORDS[0]);
            body[name] = value.clone();
            // Each its own nickname (step 20), unless that is the value tried.
            if name != "nickname" {
                body["nickname"] = json!(format!("user {}", app.count_rows("users")));
            }
            let nickname_taken = body["nickname"].as_str().is_some_and(|n| taken(&app, n));
            let before = app.count_rows("users");
            let reply = app.post_json("/api/users", &body);
            let added = app.count_rows("users") - before;
            match value.as_str() {
                Some(text) if !text.trim().is_empty() && !nickname_taken => {
                    prop_assert_eq!(reply.status, 201, "{}", reply.body);
                    prop_assert_eq!(&reply.json()[name], &value);
                    prop_assert_eq!(added, 1);
                }
                Some(text) if !text.trim().is_empty() => {
                    prop_assert_eq!(reply.status, 409, "{}", reply.body);
                    prop_assert_eq!(added, 0);
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

/// Is `nickname` one of a user's already?
fn taken(app: &TestApp, nickname: &str) -> bool {
    // A text in SQL: between single quotes, each one in it doubled.
    let quoted = nickname.replace('\'', "''");
    let query = format!("SELECT EXISTS (SELECT 1 FROM users WHERE nickname = '{quoted}')");
    app.sql(&query).trim() == "t"
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
}

#[test]
fn every_odd_id_in_a_conversations_url_gets_ones_own_or_a_403_or_a_404() {
    let app = shared::test_app!();
    app.add_sample_users();
    app.log_in_as("alice");
    // Alice's id, as Rust's i64 parser reads it: hers.
    for id in ["1", "01", "+1"] {
        assert_eq!(
            app.get(&format!("/api/messages/with/{id}")).status,
            200,
            "{id}"
        );
        let page = bad_input::send(&app, "GET", &format!("/front/messages/{id}"), &[], b"");
        assert_eq!(page.status, 200, "{id}: {}", page.body);
    }
    // Any other whole number, someone's or no one's: not hers.
    for id in [
        "2",
        "0",
        "-1",
        "99",
        "9223372036854775807",
        "-9223372036854775808",
    ] {
        let reply = app.get(&format!("/api/messages/with/{id}"));
        assert_eq!(reply.status, 403, "{id}: {}", reply.body);
        let page = bad_input::send(&app, "GET", &format!("/front/messages/{id}"), &[], b"");
        assert_eq!(page.status, 403, "{id}");
        assert!(
            page.body.contains("Not your messages"),
            "{id}: {}",
            page.body
        );
    }
    // Anything else names no one.
    for id in [
        "abc",
        "1.5",
        "0x1",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "9223372036854775808",
    ] {
        let reply = bad_input::send(&app, "GET", &format!("/api/messages/with/{id}"), &[], b"");
        assert_eq!(reply.status, 404, "{id}: {}", reply.body);
        let page = bad_input::send(&app, "GET", &format!("/front/messages/{id}"), &[], b"");
        assert_eq!(page.status, 404, "{id}");
        assert!(page.body.contains("No such user"), "{id}");
        assert!(!page.body.contains("<script>alert"), "{id}");
    }
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
    app.log_in_as("alice");
    let valid = json!({"recipient_id": 2, "content": "trois petits chats"});
    let mut cases = bad_input::body_cases(&valid, &NEW_MESSAGE);
    nul_is_refused(&mut cases);
    bad_input::check_body(&app, "/api/messages", "messages", &cases);
    // What was stored is listed as it was sent: every message is alice's.
    bad_input::check_list(&app, "/api/messages", "messages", &storable());
    every_page_lists(&app, "messages", &storable());
    // And shown on her messages page as text.
    bad_input::check_page_shows(&app, "/front/messages", &storable());
}

/// PostgreSQL stores no text with the character NUL (SQLite did, until
/// step 21): a body with one is refused with a 422 that says so (step 22).
fn nul_is_refused(cases: &mut [Case]) {
    for case in cases {
        let stored = matches!(case.expect, Expect::Stored(_)) && !case.what.contains("password");
        if stored && case.body.windows(6).any(|w| w == b"\\u0000") {
            case.expect = Expect::Refused(422, "the character NUL".into());
        }
    }
}

/// The odd texts PostgreSQL stores: all but the one with NUL.
fn storable() -> Vec<&'static str> {
    ODD_TEXTS.into_iter().filter(|text| !text.contains('\0')).collect()
}

/// Alice's conversation, page by page (step 21), lists every row of `table`
/// (all hers), with each of `texts` as sent; an odd query gets the newest
/// page, or a 422 naming what is wrong (tests/step/paging.rs tries more).
#[track_caller]
fn every_page_lists(app: &TestApp, table: &str, texts: &[&str]) {
    let mut listed = Vec::new();
    let mut url = Some("/api/messages/with/1?limit=200".to_string());
    while let Some(next) = url {
        let reply = app.get(&next);
        assert_eq!(reply.status, 200, "GET {next}: {}", reply.body);
        listed.extend(reply.json().as_array().cloned().unwrap_or_default());
        url = reply.header("link").map(|link| link[1..link.find('>').unwrap()].to_string());
    }
    assert_eq!(listed.len() as i64, app.count_rows(table));
    for text in texts {
        assert!(
            listed.iter().any(|m| m["content"] == *text),
            "{text:?} is not listed"
        );
    }
    let newest = app.get("/api/messages/with/1").body;
    for query in [
        "?id=abc",
        "?limit=-1&offset=99999999999999999999",
        "?%FF=%3Cb%3E",
        "?'OR'1'='1",
    ] {
        let path = format!("/api/messages/with/1{query}");
        let reply = bad_input::send(app, "GET", &path, &[], b"");
        match reply.status {
            200 => assert_eq!(reply.body, newest, "GET {path}"),
            _ => assert_json_error(&reply, 422, "limit must be"),
        }
    }
}

#[test]
fn any_json_value_as_the_recipient_is_stored_or_refused_naming_the_field() {
    let app = shared::test_app!();
    app.add_sample_users();
    app.log_in_as("alice");
    runner()
        .run(&any_json(), |value| {
            let name = "recipient_id";
            let mut body = json!({"recipient_id": 2, "content": "hi"});
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
    // Step 02b: the values in a list, in the fields' order, read as the
    // object; from step 20 the password comes last, and cannot be left out.
    let answer = app.curl(
        r#"curl -i localhost:5001/api/users -H 'Content-Type: application/json' -d '["Dan", "dan@foo.com", "dan", "dan-password"]'"#,
    );
    assert!(answer.starts_with("HTTP/1.1 201 Created"), "{answer}");
    assert!(
        answer.ends_with(r#"{"id":1,"name":"Dan","email":"dan@foo.com","nickname":"dan"}"#),
        "{answer}"
    );
    let answer = app.curl(
        r#"curl -i localhost:5001/api/users -H 'Content-Type: application/json' -d '["Dan", "dan@foo.com", "dan"]'"#,
    );
    assert!(answer.starts_with("HTTP/1.1 422"), "{answer}");
    assert!(answer.contains("invalid length 3"), "{answer}");
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
    // Step 07b: an id is a whole number, 1 or "1", not "1.0"; logged in,
    // from step 20 (without a session, 401 before anything else).
    let body = json!({"recipient_id": "1.0", "content": "hi"});
    assert_eq!(app.post_json("/api/messages", &body).status, 401);
    assert_eq!(app.log_in("dan", "dan-password").status, 200);
    let reply = app.post_json("/api/messages", &body);
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json()["error"],
        "recipient_id must be a user's id: a whole number, like 1 or \"1\""
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
