//! Exercise s08-page-through-messages: `GET /api/messages?last=N&before=ID`.
//! Each assertion's message says, in words, what was expected.

use serde_json::Value;
use shared::testing::{TestApp, assert_json_error};

fn app_with_the_sample_data() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app.add_sample_messages();
    app
}

/// The ids of the messages that `GET path` lists.
fn ids(app: &TestApp, path: &str) -> Vec<i64> {
    let reply = app.get(path);
    assert_eq!(
        reply.status, 200,
        "GET {path} should answer 200, got {}: {}",
        reply.status, reply.body
    );
    let messages: Value = reply.json();
    messages
        .as_array()
        .unwrap_or_else(|| panic!("GET {path} should answer a JSON list, got {messages}"))
        .iter()
        .map(|m| m["id"].as_i64().unwrap_or_default())
        .collect()
}

#[test]
fn last_gives_the_most_recent_messages_oldest_first() {
    let app = app_with_the_sample_data();
    let got = ids(&app, "/api/messages?last=3");
    assert_eq!(
        got,
        [5, 6, 7],
        "of the 7 messages, ?last=3 should list the 3 most recent (ids 5, 6, 7), in id \
         order; got ids {got:?}"
    );
}

#[test]
fn before_lists_only_older_messages() {
    let app = app_with_the_sample_data();
    let got = ids(&app, "/api/messages?before=3");
    assert_eq!(
        got,
        [1, 2],
        "?before=3 should list the messages older than message 3 (ids 1 and 2); got ids {got:?}"
    );
}

#[test]
fn last_and_before_together_page_back_to_the_first_message() {
    let app = app_with_the_sample_data();
    for (path, expected) in [
        ("/api/messages?last=2&before=6", vec![4, 5]),
        ("/api/messages?last=2&before=4", vec![2, 3]),
        ("/api/messages?before=2&last=2", vec![1]),
        ("/api/messages?last=2&before=1", vec![]),
    ] {
        let got = ids(&app, path);
        assert_eq!(
            got, expected,
            "GET {path} should list the messages with ids {expected:?}, got {got:?}"
        );
    }
}

#[test]
fn without_parameters_every_message_is_still_listed() {
    let app = app_with_the_sample_data();
    let got = ids(&app, "/api/messages");
    assert_eq!(
        got,
        [1, 2, 3, 4, 5, 6, 7],
        "GET /api/messages without parameters should still list all 7 messages"
    );
}

#[test]
fn a_last_out_of_range_is_refused_with_a_json_422() {
    let app = app_with_the_sample_data();
    for last in ["0", "-1", "101"] {
        let reply = app.get(&format!("/api/messages?last={last}"));
        assert_eq!(
            reply.status, 422,
            "?last={last} is outside 1..=100: it should answer 422, got {}: {}",
            reply.status, reply.body
        );
        assert_json_error(&reply, 422, "last");
    }
}

#[test]
fn parameters_that_are_not_numbers_get_a_json_422() {
    let app = app_with_the_sample_data();
    for query in ["last=abc", "before=yesterday"] {
        let reply = app.get(&format!("/api/messages?{query}"));
        assert_eq!(
            reply.status, 422,
            "?{query} is not a number: it should answer 422 with a JSON error, got {}: {}",
            reply.status, reply.body
        );
        assert_json_error(&reply, 422, "");
    }
}
