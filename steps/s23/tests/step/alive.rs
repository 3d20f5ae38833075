//! `GET /db/alive` (step 01b), and the database thread behind it.

use serde_json::json;
use shared::testing::assert_json_error;

#[test]
fn db_alive_says_healthy() {
    let reply = shared::test_app!().get("/db/alive");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"status": "healthy", "message": "Database connection is alive"})
    );
}

#[test]
fn a_wrong_method_gets_a_json_405_naming_the_methods_the_path_answers() {
    let app = shared::test_app!();
    let reply = app.request("POST", "/db/alive", &[]);
    assert_json_error(&reply, 405, "POST is not allowed at /db/alive");
    assert_eq!(reply.header("allow").as_deref(), Some("GET, HEAD"));
    // HEAD is answered like GET, without the body.
    assert_eq!(app.request("HEAD", "/db/alive", &[]).status, 200);
}
