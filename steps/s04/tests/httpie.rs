//! The tutorial's own commands, typed verbatim into the real httpie client.

use serde_json::json;
use shared::testing::{TestApp, httpie_is_installed};

#[test]
fn the_tutorial_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = TestApp::start(env!("CARGO_BIN_EXE_s04"));

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
