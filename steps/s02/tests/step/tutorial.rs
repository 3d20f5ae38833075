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
        json!({"version": "02"})
    );
}
