//! Exercise s18-who-is-online: `GET /api/online`, with real WebSocket
//! clients as the pages. Each assertion's message says, in words, what was
//! expected.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::testing::{Socket, TestApp};

/// A page of `user_id`, subscribed (the server has confirmed it).
fn page_of(app: &TestApp, user_id: i64) -> Socket {
    let mut socket = app.websocket("/ws");
    socket.emit("subscribe", json!({ "user_id": user_id }));
    assert_eq!(
        socket.next_event(Duration::from_secs(2)),
        Some(json!({"event": "subscribed", "data": user_id})),
        "the server should confirm the subscription of a page of user {user_id}"
    );
    socket
}

/// What `GET /api/online` answers, once it answers `expected` (waiting up
/// to two seconds: a closed page takes a moment to be noticed).
fn online(app: &TestApp, expected: Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let reply = app.get("/api/online");
        assert_eq!(
            reply.status, 200,
            "GET /api/online should answer 200, got {}: {}",
            reply.status, reply.body
        );
        let answer = reply.json();
        if answer == expected || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn nobody_is_online_without_pages() {
    let app = shared::test_app!();
    app.add_sample_users();
    let got = online(&app, json!([]));
    assert_eq!(
        got,
        json!([]),
        "no page is open: GET /api/online should answer []"
    );
}

#[test]
fn subscribed_pages_put_their_users_online_in_id_order() {
    let app = shared::test_app!();
    app.add_sample_users();
    let _charlie = page_of(&app, 3);
    let _alice = page_of(&app, 1);
    let got = online(&app, json!([1, 3]));
    assert_eq!(
        got,
        json!([1, 3]),
        "alice (1) and charlie (3) have a page open: GET /api/online should answer [1, 3]"
    );
}

#[test]
fn two_pages_of_one_user_count_once() {
    let app = shared::test_app!();
    app.add_sample_users();
    let _first = page_of(&app, 2);
    let _second = page_of(&app, 2);
    let got = online(&app, json!([2]));
    assert_eq!(
        got,
        json!([2]),
        "bob has two pages open: he should be listed once, [2]"
    );
}

#[test]
fn a_page_that_has_not_subscribed_does_not_count() {
    let app = shared::test_app!();
    app.add_sample_users();
    let _alice = page_of(&app, 1);
    let _anonymous = app.websocket("/ws");
    let got = online(&app, json!([1]));
    assert_eq!(
        got,
        json!([1]),
        "a connected page that did not subscribe belongs to nobody: only alice should be listed"
    );
}

#[test]
fn a_user_whose_last_page_closes_goes_offline() {
    let app = shared::test_app!();
    app.add_sample_users();
    let alice = page_of(&app, 1);
    let first = page_of(&app, 2);
    let second = page_of(&app, 2);
    let got = online(&app, json!([1, 2]));
    assert_eq!(got, json!([1, 2]), "alice and bob have pages open");

    drop(first);
    let got = online(&app, json!([1, 2]));
    assert_eq!(
        got,
        json!([1, 2]),
        "bob closed one of his two pages: he is still online"
    );
    drop(second);
    let got = online(&app, json!([1]));
    assert_eq!(
        got,
        json!([1]),
        "bob closed his last page: within two seconds only alice should be listed"
    );
    drop(alice);
    let got = online(&app, json!([]));
    assert_eq!(got, json!([]), "every page is closed: nobody is online");
}
