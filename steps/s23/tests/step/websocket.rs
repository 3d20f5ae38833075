//! The WebSocket (steps 16 to 19), with a real client; from step 20, a
//! logged-in user's page, subscribed to their events from the start.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::testing::{Socket, TestApp, USERS, assert_json_error, client_frame};

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

/// The app with the sample users, logged in as alice (user 1).
fn app_as_alice() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app.log_in_as("alice");
    app
}

/// Pages of the sample user `user_id` (1 to 3), logged in as them, once the
/// server says they are subscribed to their user's events.
fn pages_of(app: &TestApp, user_id: i64, count: usize) -> Vec<Socket> {
    let (_, _, nickname) = USERS[usize::try_from(user_id - 1).expect("a sample user")];
    let client = app.client_as(nickname);
    let mut sockets: Vec<Socket> = (0..count).map(|_| client.websocket("/ws")).collect();
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
    let body = json!({"recipient_id": recipient_id, "content": content});
    let reply = app.post_json("/api/messages", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

#[test]
fn without_a_session_the_socket_is_refused() {
    let app = shared::test_app!();
    app.add_sample_users();
    let refused = app.websocket_with("/ws", &[]).err().expect("refused");
    assert_json_error(&refused, 401, "log in first");
    // A cookie this server did not make is no session either.
    let forged = app.websocket_with("/ws", &[("Cookie", "session=user%3D1")]).err();
    assert_json_error(&forged.expect("refused"), 401, "log in first");
}

#[test]
fn a_page_connects_and_its_connect_ack_is_logged() {
    let app = app_as_alice();
    let mut socket = app.websocket("/ws");
    assert!(
        socket.next_event(Duration::from_secs(2)).is_some(),
        "subscribed"
    );
    socket.emit("connect-ack", json!("hello from a test"));
    assert!(
        logged(&app, r#"connect-ack: "hello from a test""#),
        "{}",
        app.log()
    );
}

#[test]
fn a_frame_that_is_no_event_is_ignored_and_the_connection_goes_on() {
    let app = app_as_alice();
    let mut socket = app.websocket("/ws");
    socket.send_text("not JSON at all");
    socket.send_text(r#"{"event": "no-such-event", "data": 1}"#);
    socket.emit("connect-ack", json!("still here"));
    assert!(
        logged(&app, r#"connect-ack: "still here""#),
        "{}",
        app.log()
    );
    assert!(
        app.log().contains("an event we do not know"),
        "{}",
        app.log()
    );
}

#[test]
fn a_huge_frame_closes_the_connection_saying_why_and_the_server_goes_on() {
    let app = app_as_alice();
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
    assert!(logged(&app, r#"connect-ack: "next one""#));
}

#[test]
fn a_frame_announced_as_huge_is_refused_as_soon_as_its_header_arrives() {
    let app = app_as_alice();
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
fn a_page_is_subscribed_to_its_session_users_events_from_the_start() {
    let app = shared::test_app!();
    app.add_sample_users();
    let mut socket = app.client_as("bob").websocket("/ws");
    assert!(logged(&app, "subscribe: a page of user 2"), "{}", app.log());
    // The server says so first (step 18), then sends nothing until a message comes.
    assert_eq!(
        socket.next_event(Duration::from_secs(1)),
        Some(json!({"event": "subscribed", "data": 2}))
    );
    assert_eq!(socket.next_event(Duration::from_millis(300)), None);
}

#[test]
fn a_page_that_asks_for_another_users_events_still_gets_its_own_only() {
    let app = app_as_alice();
    let mut bob = pages_of(&app, 2, 1).remove(0);
    // The subscription by id of steps 17 to 19: an event the server no
    // longer knows, ignored.
    bob.emit("subscribe", json!({"user_id": 3}));
    assert!(logged(&app, "an event we do not know"), "{}", app.log());
    alice_writes(&app, 3, "for charlie only");
    let to_bob = alice_writes(&app, 2, "for bob");
    assert_eq!(
        bob.next_event(Duration::from_secs(1)),
        Some(json!({"event": "message", "data": to_bob}))
    );
    assert_eq!(bob.next_event(Duration::from_millis(300)), None);
}

#[test]
fn a_new_message_reaches_its_recipients_pages_within_a_second_and_nobody_else() {
    let app = app_as_alice();
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
    let app = app_as_alice();
    let mut pages = pages_of(&app, 2, 3);
    let mut reader = pages.remove(0);
    let mut never_reads = pages.remove(0);
    drop(pages.remove(0)); // gone without a word
    // 1,500 messages of 16 KiB (the longest): more than a page that reads
    // nothing can hold in its queue and its connection's buffers.
    let filler = "x".repeat(16 * 1024 - 8);
    for i in 0..1500 {
        alice_writes(&app, 2, &format!("{i} {filler}"));
        // Each arrives well before a stuck page would be let go (10 s).
        let event = reader
            .next_event(Duration::from_secs(2))
            .unwrap_or_else(|| panic!("message {i} did not arrive"));
        assert!(event["data"]["content"].as_str().unwrap().starts_with(&format!("{i} ")));
    }
    // The page that read nothing got what its queue held, then was let go
    // and told why: 1013, try again later; or 1001, going away, when the
    // heartbeat noticed it first (through Redis, each message takes longer
    // at step 23, and 1,500 of them outlast the 10 s of GONE_AFTER).
    let (received, close) = never_reads.events_then_close(Duration::from_secs(2));
    assert!(received > 0 && received < 1500, "it got {received}");
    let code = close.map(|close| u16::from(close.code));
    assert!(
        matches!(code, Some(1013 | 1001)),
        "it got {received}, then {code:?}"
    );
    assert_eq!(app.get("/api/version").status, 200);
}

#[test]
fn the_authors_other_pages_get_the_message_too() {
    let app = app_as_alice();
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

#[test]
fn only_this_servers_own_pages_may_open_the_socket() {
    let app = app_as_alice();
    let own = format!("http://127.0.0.1:{}", app.port);
    assert!(
        app.websocket_with("/ws", &[("Origin", &own)]).is_ok(),
        "its own page"
    );
    // A page of another program on this machine, and one of another site.
    let other_port = format!("http://127.0.0.1:{}", app.port + 1);
    for origin in [other_port.as_str(), "http://evil.example"] {
        let refused = app.websocket_with("/ws", &[("Origin", origin)]).err();
        assert_json_error(&refused.expect("refused"), 403, origin);
    }
}

#[test]
fn a_step_open_to_other_machines_still_refuses_other_sites_pages() {
    let app = shared::test_app!("--host", "0.0.0.0");
    app.add_sample_users();
    app.log_in_as("alice");
    let own = format!("http://127.0.0.1:{}", app.port);
    assert!(
        app.websocket_with("/ws", &[("Origin", &own)]).is_ok(),
        "its own page"
    );
    let other_port = format!("http://127.0.0.1:{}", app.port + 1);
    for origin in [other_port.as_str(), "http://evil.example", "null"] {
        let refused = app.websocket_with("/ws", &[("Origin", origin)]).err();
        assert_json_error(&refused.expect("refused"), 403, origin);
    }
}

#[test]
fn a_line_break_from_a_page_cannot_forge_a_line_of_the_log() {
    let app = app_as_alice();
    let mut socket = app.websocket("/ws");
    socket.emit("connect-ack", json!("hi\nGET /forged HTTP/1.1 → 200"));
    assert!(
        logged(&app, r#"connect-ack: "hi\nGET /forged"#),
        "{}",
        app.log()
    );
    assert!(
        !app.log().lines().any(|line| line.starts_with("GET /forged")),
        "{}",
        app.log()
    );
}

#[test]
fn the_hub_forgets_each_page_whose_socket_closed() {
    let app = app_as_alice();
    // 300 sockets of bob's, each subscribed, then closed.
    drop(pages_of(&app, 2, 300));
    // Once they are all gone, a new page is the only one in the hub.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = app.log().len();
        let page = pages_of(&app, 1, 1);
        let log = app.log();
        let line = log[seen..].lines().find(|line| line.contains("subscribe: a page of user 1"));
        if line.is_some_and(|line| line.ends_with("(1 open)")) {
            break;
        }
        assert!(Instant::now() < deadline, "the hub kept pages: {line:?}");
        drop(page);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pages_that_never_read_share_one_copy_of_each_event() {
    let app = app_as_alice();
    let silent = pages_of(&app, 2, 20);
    let Some(before) = app.memory_kib() else {
        return; // no /proc here: nothing to measure
    };
    // 300 messages of 16 KiB, the longest: more than the 20 pages'
    // connections take, so each page's queue fills up (64 events). A copy
    // for each page grew the server by 21 MiB; one shared copy, by 5 MiB.
    let filler = "x".repeat(16 * 1024 - 8);
    for i in 0..300 {
        alice_writes(&app, 2, &format!("{i} {filler}"));
    }
    let grown = app.memory_kib().unwrap_or(before).saturating_sub(before);
    eprintln!("20 pages that never read, 300 messages of 16 KiB: the server grew by {grown} KiB");
    assert!(grown < 12 * 1024, "the server grew by {grown} KiB");
    drop(silent);
}
