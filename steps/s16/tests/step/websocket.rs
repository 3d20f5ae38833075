//! The WebSocket (steps 16 to 19), with a real client.

use std::time::{Duration, Instant};

use serde_json::json;
use shared::testing::{TestApp, assert_json_error, client_frame};

/// Waits up to two seconds for `text` to appear in the server's log.
fn logged(app: &TestApp, text: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if app.log().contains(text) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_page_connects_and_its_connect_ack_is_logged() {
    let app = shared::test_app!();
    let mut socket = app.websocket("/ws");
    socket.emit("connect-ack", json!("hello from a test"));
    assert!(
        logged(&app, r#"connect-ack: "hello from a test""#),
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
    assert!(logged(&app, r#"connect-ack: "next one""#));
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
fn only_this_servers_own_pages_may_open_the_socket() {
    let app = shared::test_app!();
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
    let app = shared::test_app!();
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
