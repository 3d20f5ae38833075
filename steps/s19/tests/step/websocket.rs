//! The WebSocket (steps 16 to 19), with a real client.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::testing::{Socket, TestApp, client_frame};

/// Waits up to two seconds for `text` to appear in the server's log.
fn logged(app: &TestApp, text: &str) -> bool {
    logged_times(app, text, 1)
}

/// Waits up to two seconds for `text` to appear `times` times in the log.
fn logged_times(app: &TestApp, text: &str, times: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if app.log().matches(text).count() >= times {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Sockets subscribed to `user_id`'s events, once the server has them.
fn pages_of(app: &TestApp, user_id: i64, count: usize) -> Vec<Socket> {
    let mut sockets: Vec<Socket> = (0..count)
        .map(|_| {
            let mut socket = app.websocket("/ws");
            socket.emit("subscribe", json!({ "user_id": user_id }));
            socket
        })
        .collect();
    for socket in &mut sockets {
        let confirmed = socket.next_event(Duration::from_secs(2));
        assert_eq!(
            confirmed,
            Some(json!({"event": "subscribed", "data": user_id}))
        );
    }
    sockets
}

/// Alice writes `content` to `recipient_id`; answers the stored message.
fn alice_writes(app: &TestApp, recipient_id: i64, content: &str) -> Value {
    let body = json!({"author_id": 1, "recipient_id": recipient_id, "content": content});
    let reply = app.post_json("/api/messages", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

#[test]
fn a_page_connects_and_its_connect_ack_is_logged() {
    let app = shared::test_app!();
    let mut socket = app.websocket("/ws");
    socket.emit("connect-ack", json!("hello from a test"));
    assert!(
        logged(&app, "connect-ack: hello from a test"),
        "{}",
        app.log()
    );
}

#[test]
fn a_frame_that_is_no_event_is_ignored_and_the_connection_goes_on() {
    let app = shared::test_app!();
    let mut socket = app.websocket("/ws");
    socket.send_text("not JSON at all");
    socket.send_text(r#"{"event": "no-such-event", "data": 1}"#);
    socket.emit("connect-ack", json!("still here"));
    assert!(logged(&app, "connect-ack: still here"), "{}", app.log());
    assert!(
        app.log().contains("an event we do not know"),
        "{}",
        app.log()
    );
}

#[test]
fn a_huge_frame_closes_the_connection_saying_why_and_the_server_goes_on() {
    let app = shared::test_app!();
    let mut socket = app.websocket("/ws");
    socket.send_text(&"x".repeat(100 * 1024));
    let close = socket
        .closed_with(Duration::from_secs(2))
        .expect("the server closes the connection");
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
    assert!(!close.reason.is_empty(), "a reason is given");
    assert_eq!(app.get("/api/version").status, 200);
    let mut other = app.websocket("/ws");
    other.emit("connect-ack", json!("next one"));
    assert!(logged(&app, "connect-ack: next one"));
}

#[test]
fn a_frame_announced_as_huge_is_refused_as_soon_as_its_header_arrives() {
    let app = shared::test_app!();
    let mut socket = app.websocket("/ws");
    // A header that announces a terabyte: the server must not wait for all
    // of it, keeping what it receives meanwhile, before refusing it.
    socket.send_raw(&client_frame(0x1, 1 << 40, b"xxxx")).expect("send the header");
    let close = socket
        .closed_with(Duration::from_secs(2))
        .expect("the server closes the connection at once");
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
    assert!(
        close.reason.contains("the limit is 65536 bytes"),
        "{close:?}"
    );
    assert_eq!(app.get("/api/version").status, 200);
}

#[test]
fn a_page_subscribes_to_its_users_events() {
    let app = shared::test_app!();
    app.add_sample_users();
    let mut socket = app.websocket("/ws");
    socket.emit("subscribe", json!({"user_id": 2}));
    assert!(logged(&app, "subscribe: a page of user 2"), "{}", app.log());
    // The server confirms it (step 18), then sends nothing until a message comes.
    assert_eq!(
        socket.next_event(Duration::from_secs(1)),
        Some(json!({"event": "subscribed", "data": 2}))
    );
    assert_eq!(socket.next_event(Duration::from_millis(300)), None);
}

#[test]
fn a_new_message_reaches_its_recipients_pages_within_a_second_and_nobody_else() {
    let app = shared::test_app!();
    app.add_sample_users();
    let mut bobs = pages_of(&app, 2, 2);
    let mut charlie = pages_of(&app, 3, 1).remove(0);
    // (alice, the author, gets it too from step 19 on: see below.)
    let stored = alice_writes(&app, 2, "trois petits chats");
    for bob in &mut bobs {
        let event = bob.next_event(Duration::from_secs(1)).expect("bob's page hears of it");
        // The same JSON as the POST's answer.
        assert_eq!(event, json!({"event": "message", "data": stored}));
    }
    assert_eq!(charlie.next_event(Duration::from_millis(300)), None);
}

#[test]
fn a_page_that_never_reads_or_goes_away_does_not_hold_up_the_others() {
    let app = shared::test_app!();
    app.add_sample_users();
    let mut pages = pages_of(&app, 2, 3);
    let mut reader = pages.remove(0);
    let mut never_reads = pages.remove(0);
    drop(pages.remove(0)); // gone without a word
    // 300 messages of 64 KiB: more than a page that reads nothing can hold
    // in its queue and its connection's buffers.
    let filler = "x".repeat(64 * 1024);
    for i in 0..300 {
        alice_writes(&app, 2, &format!("{i} {filler}"));
        // Each arrives well before a stuck page would be let go (15 s).
        let event = reader
            .next_event(Duration::from_secs(2))
            .unwrap_or_else(|| panic!("message {i} did not arrive"));
        assert!(event["data"]["content"].as_str().unwrap().starts_with(&format!("{i} ")));
    }
    // The page that read nothing was let go, and told why.
    let mut received = 0;
    while never_reads.next_event(Duration::from_millis(500)).is_some() {
        received += 1;
    }
    assert!(received < 300, "it got all {received}: it was never let go");
    assert_eq!(app.get("/api/version").status, 200);
}

#[test]
fn the_authors_other_pages_get_the_message_too() {
    let app = shared::test_app!();
    app.add_sample_users();
    let mut alices = pages_of(&app, 1, 2);
    let mut bob = pages_of(&app, 2, 1).remove(0);
    let stored = alice_writes(&app, 2, "for bob, seen by alice's pages");
    let expected = json!({"event": "message", "data": stored});
    assert_eq!(
        bob.next_event(Duration::from_secs(1)),
        Some(expected.clone())
    );
    for alice in &mut alices {
        assert_eq!(
            alice.next_event(Duration::from_secs(1)),
            Some(expected.clone())
        );
        // Once each.
        assert_eq!(alice.next_event(Duration::from_millis(200)), None);
    }
}
