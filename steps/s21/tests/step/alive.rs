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
fn a_query_that_panics_makes_db_alive_unhealthy_once_and_tells_no_details() {
    let app = shared::test_app!();
    app.make_the_next_query_panic();
    let reply = app.get("/db/alive");
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.json(),
        json!({"status": "unhealthy", "error": "the database does not answer"})
    );
    assert!(
        app.log().contains("the query did not finish"),
        "{}",
        app.log()
    );
    // The database thread lived through the panic: the next query works.
    assert_eq!(app.get("/db/alive").status, 200);
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
