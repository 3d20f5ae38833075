//! `GET /` says hello (step 00).

#[test]
fn the_root_says_hello_with_the_step_version() {
    let reply = shared::test_app!().get("/");
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/plain"));
    assert_eq!(reply.body, "hello, this is a chat app! (version 03)");
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let reply = shared::test_app!().request("HEAD", "/", &[]);
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/plain"));
    assert_eq!(reply.body, "");
}
