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
        json!({"version": "04"})
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
    let bob = app.httpie(
        r#"http :5001/api/users name="<b>Bob</b>" email="bob@foo.com" nickname="<script>alert(1)</script>""#,
    );
    assert_eq!(bob["nickname"], "<script>alert(1)</script>");
    let page = app.curl("curl localhost:5001/front/users");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; (&lt;b&gt;Bob&lt;/b&gt;)"),
        "{page}"
    );
    // Until step 12, a user's link answers a small 404 page saying so.
    let answer = app.curl("curl -i localhost:5001/front/messages/1");
    assert!(answer.starts_with("HTTP/1.1 404 Not Found"), "{answer}");
    assert!(
        answer.contains("messages page comes at step 12"),
        "{answer}"
    );
}
