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
        json!({"version": "09"})
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
    assert_eq!(app.httpie("http :5001/api/users/1"), alice);

    let dialog = [
        r#"http :5001/api/messages author_id=1 recipient_id=2 content="trois petits chats""#,
        r#"http :5001/api/messages author_id=2 recipient_id=1 content="chapeau de paille""#,
        r#"http :5001/api/messages author_id=1 recipient_id=2 content="paillasson""#,
        r#"http :5001/api/messages author_id=2 recipient_id=1 content="somnambule""#,
        r#"http :5001/api/messages author_id=1 recipient_id=2 content="bulletin""#,
        r#"http :5001/api/messages author_id=2 recipient_id=1 content="tintamarre""#,
        r#"http :5001/api/messages author_id=2 recipient_id=3 content="not visible by 1""#,
    ];
    for (i, line) in dialog.into_iter().enumerate() {
        let message = app.httpie(line);
        assert_eq!(message["id"], i + 1, "{message}");
        assert!(line.contains(message["content"].as_str().unwrap()));
    }
    assert_eq!(app.count_rows("messages"), 7);

    let all = app.httpie("http :5001/api/messages");
    assert_eq!(all.as_array().map(Vec::len), Some(7), "{all}");
    assert_eq!(all[6]["content"], "not visible by 1");

    let with_1 = app.httpie("http :5001/api/messages/with/1");
    assert_eq!(with_1.as_array().map(Vec::len), Some(3), "{with_1}");
}

#[test]
fn the_lesson_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = shared::test_app!();
    app.add_sample_users();
    assert_eq!(
        app.httpie("http :5001/api/users/42"),
        json!({"error": "no user with id 42"})
    );
    assert_eq!(
        app.httpie("http :5001/api/users/abc"),
        json!({"error": "/api/users/abc not found: ids are whole numbers"})
    );
    let answer = app.curl("curl -i localhost:5001/api/users/1");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with(r#""nickname":"alice"}"#), "{answer}");
    assert_eq!(
        app.httpie("http :5001/api/messages/with/99"),
        json!({"error": "no user with id 99"})
    );
}

#[test]
fn the_messages_lesson_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = shared::test_app!();
    app.add_sample_users();
    assert_eq!(
        app.httpie(r#"http :5001/api/messages author_id=1 recipient_id=99 content="hello?""#),
        json!({"error": "recipient_id: no user with id 99"})
    );
    assert_eq!(
        app.httpie(r#"http :5001/api/messages author_id=alice recipient_id=2 content="hi""#),
        json!({"error": "author_id must be a user's id: a whole number, like 1 or \"1\""})
    );
    let answer = app.curl(
        r#"curl -i localhost:5001/api/messages -H 'Content-Type: application/json' \
     -d '{"author_id": 1, "recipient_id": 2, "content": "trois petits chats"}'"#,
    );
    assert!(answer.starts_with("HTTP/1.1 201 Created"), "{answer}");
    assert_eq!(app.count_rows("messages"), 1);
}
