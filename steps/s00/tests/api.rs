//! Step 00 against its real binary, on a free port with a temporary database.

use shared::testing::TestApp;

fn start() -> TestApp {
    TestApp::start(env!("CARGO_BIN_EXE_s00"))
}

#[test]
fn the_root_says_hello_with_the_step_version() {
    let reply = start().get("/");
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/plain"));
    assert_eq!(reply.body, "hello, this is a chat app! (version 00)");
}
