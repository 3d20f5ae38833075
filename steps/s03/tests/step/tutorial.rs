//! The tutorial's commands and the lesson's, typed verbatim into the real
//! httpie and curl clients (`:5001` becomes the test's port).

use serde_json::json;
use shared::testing::httpie_is_installed;

#[test]
fn the_tutorial_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = shared::test_app!();
    assert_eq!(
        app.httpie("http :5001/db/alive"),
        json!({"status": "healthy", "message": "Database connection is alive"})
    );
    assert_eq!(
        app.httpie("http :5001/api/version"),
        json!({"version": "03"})
    );

    let alice = app.httpie(
        r#"http :5001/api/users name="Alice Caroll" email="alice@foo.com" nickname="alice""#,
    );
    let bob =
        app.httpie(r#"http :5001/api/users name="Bob Morane" email="bob@foo.com" nickname="bob""#);
    let charlie = app.httpie(
        r#"http :5001/api/users name="Charlie Chaplin" email="charlie@foo.com" nickname="charlie""#,
    );
    assert_eq!(
        alice,
        json!({"id": 1, "name": "Alice Caroll", "email": "alice@foo.com", "nickname": "alice"})
    );
    assert_eq!(bob["id"], 2);
    assert_eq!(charlie["id"], 3);

    assert_eq!(
        app.httpie("http :5001/api/users"),
        json!([alice, bob, charlie])
    );
}

#[test]
fn the_lesson_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = shared::test_app!();
    app.add_sample_users();
    let users = app.curl("curl localhost:5001/api/users");
    assert!(
        users.starts_with(r#"[{"id":1,"name":"Alice Caroll""#),
        "{users}"
    );
    // A method the path does not answer: 405, saying which ones it does.
    let answer = app.curl("curl -i -X DELETE localhost:5001/api/users");
    assert!(
        answer.starts_with("HTTP/1.1 405 Method Not Allowed"),
        "{answer}"
    );
    assert!(answer.contains("allow: GET, HEAD, POST"), "{answer}");
}
